"""Meta (Facebook / Instagram) Ads: the Ads Manager export and the Marketing API insights shape.

Ads Manager exports carry the account currency in the spend header (`Amount spent (USD)`); the
connector reads it from there. Exports come at campaign, ad set or ad level: a level the export
does not break down by holds `(all)`. Only `Day`, `Campaign name` and `Amount spent` are needed;
every other column is optional, and a renamed optional column (`Reach (estimated)`) is reported as
schema drift while the file still loads.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa

from connectors.ad_platforms import currency_hint, fill_levels, normalise_currency, round_decimals
from connectors.engine import H, P, VendorFormat
from connectors.registry_helpers import parse_table

FEED = "meta_ads"
CURRENCY_HINT = currency_hint(
    FEED, "the spend column has no currency (expected a header like 'Amount spent (USD)')")


def _prepare(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    frame = fill_levels(frame)
    frame = normalise_currency(frame, state)
    return round_decimals(frame, "conversion_value", 2)


MANAGER_UNREAD = (
    "Campaign delivery", "Ad set delivery", "Ad delivery", "Attribution setting", "Results",
    "Result indicator", "Result type", "Cost per result", "Cost per results", "Frequency", "Starts",
    "Ends", "Ad set budget", "Ad set budget type", "Campaign budget", "Campaign budget type",
    "Clicks (all)", "CTR (all)", "CTR (link click-through rate)", "Quality ranking",
    "Engagement rate ranking", "Conversion rate ranking", "Account name", "Account ID", "Ad set ID",
    "Ad ID", "Bid strategy",
)

MANAGER_CSV = VendorFormat(
    name="meta_ads_manager_csv",
    label="Meta Ads Manager export (CSV)",
    columns={
        "date": H("Day"),
        "campaign_id": H("Campaign ID"),
        "campaign_name": H("Campaign name"),
        "ad_group_name": H("Ad set name"),
        "ad_name": H("Ad name"),
        "campaign_type": H("Objective"),
        "currency": H("Currency"),
        # `Amount spent (USD)`: the named group makes the currency a constant of the file
        "spend": (H("Amount spent"), P(r"Amount spent \((?P<currency>[A-Z]{3})\)")),
        "impressions": H("Impressions"),
        "reach": H("Reach"),
        "clicks": H("Link clicks"),
        "conversions": H("Purchases"),
        "conversion_value": H("Purchases conversion value"),
        "reporting_starts": H("Reporting starts"),
        "reporting_ends": H("Reporting ends"),
    },
    prepare=_prepare,
    options={"currency": CURRENCY_HINT},
    known_headers=MANAGER_UNREAD,
)

API_CSV = VendorFormat(
    name="meta_ads_api_csv",
    label="Meta Marketing API insights (date_start, campaign_name, spend…)",
    columns={
        "date": H("date_start"),
        "campaign_id": H("campaign_id"),
        "campaign_name": H("campaign_name"),
        "ad_group_name": H("adset_name"),
        "ad_name": H("ad_name"),
        "campaign_type": H("objective"),
        "currency": H("account_currency"),
        "spend": H("spend"),
        "impressions": H("impressions"),
        "reach": H("reach"),
        # link clicks when the export has them (comparable with Ads Manager), else all clicks
        "clicks": (H("inline_link_clicks"), H("clicks")),
        "reporting_starts": H("date_start"),
        "reporting_ends": H("date_stop"),
    },
    prepare=_prepare,
    options={"currency": CURRENCY_HINT},
    known_headers=(
        "account_id", "account_name", "adset_id", "ad_id", "clicks", "cpc", "cpm", "ctr", "cpp",
        "frequency", "actions", "action_values", "cost_per_action_type", "attribution_setting",
    ),
)

FORMATS = {FEED: [MANAGER_CSV, API_CSV]}


def parse_insights(path: Path | str, **options: str) -> pa.Table:
    """Daily campaign / ad set / ad rows of a Meta Ads Manager export or API-shaped CSV."""
    return parse_table(FEED, path, options)
