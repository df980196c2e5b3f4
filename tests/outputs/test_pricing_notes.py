"""The readback's pricing notes (orchestration/outputs/pricing.py): a note where two channels'
elasticities of the same category or range differ significantly (|e1 − e2| ≥ 1.96 × √(se1² + se2²)),
clearest first; none where they do not, an estimate is missing or the subject is a single SKU."""

from __future__ import annotations

from orchestration.outputs.pricing import pricing_notes


def estimate(channel: str, level: str, subject: str, elasticity: float | None, low: float | None,
             high: float | None, status: str = "estimated") -> dict:
    """An estimate with its 80% interval; its standard error from the interval's half width."""
    se = None if low is None else (high - low) / 2 / 1.2816
    return dict(channel=channel, level=level, subject=subject, status=status, elasticity=elasticity,
                std_error=se, ci80_low=low, ci80_high=high)


def test_a_note_where_the_intervals_do_not_overlap_broadest_level_first():
    rows = [
        estimate("shopify_web", "category", "Soy Candle 8oz", -2.1, -2.6, -1.6),
        estimate("amazon_us", "category", "Soy Candle 8oz", -0.4, -0.9, 0.1),
        estimate("shopify_pos", "category", "Soy Candle 8oz", -1.2, -2.5, 0.1),  # apart from neither: no note
        estimate("shopify_web", "channel", "all SKUs", -1.8, -2.3, -1.35),
        estimate("amazon_us", "channel", "all SKUs", -0.45, -1.1, 0.2),
        estimate("amazon_ca", "channel", "all SKUs", -1.25, -2.5, 0.0),  # too uncertain to differ: no note
    ]
    assert pricing_notes(rows) == [
        "A price rise on amazon_us costs little volume across its range: elasticity -0.5 (80%: -1.1 to 0.2) "
        "against -1.8 (80%: -2.3 to -1.4) on shopify_web.",
        "A price rise on amazon_us costs little volume on Soy Candle 8oz: elasticity -0.4 (80%: -0.9 to 0.1) "
        "against -2.1 (80%: -2.6 to -1.6) on shopify_web.",
    ]


def test_no_note_without_two_estimates_that_differ_materially():
    rows = [
        estimate("shopify_web", "category", "Stoneware Vase", -2.5, -3.5, -1.5),
        estimate("amazon_us", "category", "Stoneware Vase", None, None, None, status="not_enough_variation"),
        estimate("shopify_web", "category", "Seagrass Basket", -1.9, -2.6, -1.2),
        estimate("shopify_pos", "category", "Seagrass Basket", -0.65, -1.2, -0.1),  # 1.8 standard errors apart
        estimate("shopify_web", "sku", "FH-PIL-OAT", -3.0, -3.5, -2.5),
        estimate("amazon_us", "sku", "FH-PIL-OAT", -0.2, -0.5, 0.1),  # a SKU: too noisy to make a note
    ]
    assert pricing_notes(rows) == []


def test_a_less_elastic_channel_that_still_loses_volume_costs_less_not_little():
    rows = [estimate("shopify_web", "category", "Waffle Knit Throw", -3.2, -3.9, -2.5),
            estimate("shopify_pos", "category", "Waffle Knit Throw", -1.4, -1.9, -0.9)]
    assert pricing_notes(rows) == [
        "A price rise on shopify_pos costs less volume on Waffle Knit Throw: elasticity -1.4 (80%: -1.9 to -0.9) "
        "against -3.2 (80%: -3.9 to -2.5) on shopify_web."]
