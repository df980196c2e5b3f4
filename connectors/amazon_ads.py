"""Amazon Ads: the Sponsored Products campaign report (reporting API v3, daily time unit), as CSV.

Attributed metrics come per attribution window in the header (`purchases7d`, `sales14d`,
`unitsSoldClicks30d`…; windows 1d/7d/14d/30d). The connector reads one window and records it in
`attribution_window`: when a report carries several, it takes 7d (Amazon's default for Sponsored
Products), else 14d, 30d, then 1d. A report whose purchases, sales and units only share no window
is rejected. The currency comes from `campaignBudgetCurrencyCode` when the report has it, else from
the `currency` feed option.

The reporting API delivers the report as gzipped JSON (a list of objects with these keys). The
engine reads delimited text only, so JSON is not accepted here: convert it to CSV first (e.g.
`duckdb -c "COPY (FROM 'report.json.gz') TO 'report.csv'"`).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa

from connectors.ad_platforms import (
    currency_hint,
    fill_levels,
    normalise_currency,
    round_decimals,
    set_constant,
    window_of,
)
from connectors.engine import H, P, FileRejected, VendorFormat
from connectors.registry_helpers import parse_table

FEED = "amazon_ads"
CAMPAIGN_TYPE = "Sponsored Products"
# preference when a report carries several attribution windows
WINDOWS = ("7d", "14d", "30d", "1d")
CURRENCY_HINT = currency_hint(
    FEED, "the report has no 'campaignBudgetCurrencyCode' column, so its currency is unknown "
          "(add the column to the report, or declare the marketplace currency)")


def _windowed(metric: str) -> tuple:
    """`purchases7d` first, then the other windows in order of preference, then any `purchasesNd`."""
    return tuple(P(rf"{metric}(?P<attribution_window>{w})") for w in WINDOWS) + (
        P(rf"{metric}(?P<attribution_window>\d+d)"),)


WINDOWED = {"conversions": "purchases", "conversion_value": "sales", "units_sold": "unitsSoldClicks"}


def _prepare(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    layout = state["layout"]
    if "window" not in state:
        used = {window_of(layout.mapping.get(c)) for c in WINDOWED} - {None}
        if len(used) > 1:
            headers = ", ".join(f"'{layout.mapping[c]}'" for c in WINDOWED if c in layout.mapping)
            raise FileRejected(
                f"{Path(state['path']).name}: the report's attributed metrics use different attribution "
                f"windows ({headers}); export purchases, sales and unitsSoldClicks for one window "
                f"(7d is Amazon's default for Sponsored Products)")
        state["window"] = used.pop() if used else None
    frame = frame.with_columns(pl.lit(state["window"], dtype=pl.String).alias("attribution_window"))
    frame = set_constant(frame, "campaign_type", CAMPAIGN_TYPE)
    frame = fill_levels(frame)
    frame = normalise_currency(frame, state)
    frame = round_decimals(frame, "spend", 6)
    frame = round_decimals(frame, "conversion_value", 2)
    return round_decimals(frame, "campaign_budget_amount", 2)


# other metrics the v3 campaign report offers; known, so they are not reported as schema drift
UNREAD = (
    "campaignBudgetType", "campaignRuleBasedBudgetAmount", "campaignApplicableBudgetRuleId",
    "campaignApplicableBudgetRuleName", "campaignBiddingStrategy", "costPerClick",
    "clickThroughRate", "spend", "topOfSearchImpressionShare", "startDate", "endDate",
    "retailer", "addToList", "qualifiedBorrows", "royaltyQualifiedBorrows",
    *(f"{m}{w}" for w in WINDOWS for m in (
        "purchases", "sales", "unitsSoldClicks", "purchasesSameSku", "salesOtherSku",
        "unitsSoldSameSku", "unitsSoldOtherSku", "attributedSalesSameSku", "purchasesOtherSku",
        "salesSameSku", "kindleEditionNormalizedPagesRead", "kindleEditionNormalizedPagesRoyalties",
    )),
)

SP_CAMPAIGNS_CSV = VendorFormat(
    name="amazon_ads_sp_campaigns_csv",
    label="Amazon Ads Sponsored Products campaign report (CSV)",
    columns={
        "date": H("date"),
        "campaign_id": H("campaignId"),
        "campaign_name": H("campaignName"),
        "currency": H("campaignBudgetCurrencyCode"),
        "spend": H("cost"),
        "impressions": H("impressions"),
        "clicks": H("clicks"),
        "conversions": _windowed("purchases"),
        "conversion_value": _windowed("sales"),
        "campaign_status": H("campaignStatus"),
        "campaign_budget_amount": H("campaignBudgetAmount"),
        "units_sold": _windowed("unitsSoldClicks"),
    },
    derived=("ad_group_name", "ad_name", "campaign_type", "attribution_window"),
    prepare=_prepare,
    options={"currency": CURRENCY_HINT},
    known_headers=UNREAD,
)

FORMATS = {FEED: [SP_CAMPAIGNS_CSV]}


def parse_sp_campaigns(path: Path | str, **options: str) -> pa.Table:
    """Daily Sponsored Products campaign rows (pass currency="USD" when the report has no
    campaignBudgetCurrencyCode column and no feed option declares it)."""
    return parse_table(FEED, path, options)
