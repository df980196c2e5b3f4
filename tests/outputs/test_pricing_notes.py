"""The readback's pricing notes (orchestration/outputs/pricing.py): a note where two channels' 95%
intervals of the same subject do not overlap, none where they overlap or an estimate is missing."""

from __future__ import annotations

from orchestration.outputs.pricing import pricing_notes


def estimate(channel: str, level: str, subject: str, elasticity: float | None, low: float | None,
             high: float | None, status: str = "estimated") -> dict:
    return dict(channel=channel, level=level, subject=subject, status=status, elasticity=elasticity,
                ci95_low=low, ci95_high=high)


def test_a_note_where_the_intervals_do_not_overlap_broadest_level_first():
    rows = [
        estimate("shopify_web", "category", "Soy Candle 8oz", -2.1, -2.9, -1.3),
        estimate("amazon_us", "category", "Soy Candle 8oz", -0.4, -1.2, 0.4),
        estimate("shopify_web", "channel", "all SKUs", -1.8, -2.3, -1.35),
        estimate("amazon_us", "channel", "all SKUs", -0.45, -1.1, 0.2),
        estimate("amazon_ca", "channel", "all SKUs", -1.25, -2.5, 0.0),  # overlaps both: no note
    ]
    assert pricing_notes(rows) == [
        "A price rise on amazon_us costs little volume across its range: elasticity -0.5 (95%: -1.1 to 0.2) "
        "against -1.8 (95%: -2.3 to -1.4) on shopify_web.",
        "A price rise on amazon_us costs little volume on Soy Candle 8oz: elasticity -0.4 (95%: -1.2 to 0.4) "
        "against -2.1 (95%: -2.9 to -1.3) on shopify_web.",
    ]


def test_no_note_without_two_estimates_that_differ_materially():
    rows = [
        estimate("shopify_web", "sku", "FH-MUG-SAND", -2.5, -3.5, -1.5),
        estimate("amazon_us", "sku", "FH-MUG-SAND", None, None, None, status="not_enough_variation"),
        estimate("shopify_web", "sku", "FH-PIL-OAT", -1.9, -2.6, -1.2),
        estimate("shopify_pos", "sku", "FH-PIL-OAT", -1.5, -1.2, -0.1),  # touches at -1.2: overlapping
    ]
    assert pricing_notes(rows) == []


def test_a_less_elastic_channel_that_still_loses_volume_costs_less_not_little():
    rows = [estimate("shopify_web", "sku", "FH-THR-OAT", -3.2, -3.9, -2.5),
            estimate("shopify_pos", "sku", "FH-THR-OAT", -1.4, -1.9, -0.9)]
    assert pricing_notes(rows) == [
        "A price rise on shopify_pos costs less volume on FH-THR-OAT: elasticity -1.4 (95%: -1.9 to -0.9) "
        "against -3.2 (95%: -3.9 to -2.5) on shopify_web."]
