"""Meta (Facebook / Instagram) Ads: the Ads Manager export and the Marketing API insights shape.

Ads Manager exports carry the account currency in the spend header (`Amount spent (USD)`); the
connector reads it from there. Exports come at campaign, ad set or ad level: a level the export
does not break down by holds `(all)`; an account-level export (no `Campaign name`) lands as campaign
`(all)`. Only `Amount spent` and the day are needed; every other column is optional, and a renamed
optional column (`Reach (estimated)`) is reported as schema drift while the file still loads.

The day is `Day` (Breakdown → By time → Day). A daily export without `Day` whose rows each cover
one day (`Reporting starts` = `Reporting ends`) lands on that day; a row covering several days is
not daily data and the file is refused, saying which export to make.

Meta computes spend in floating point and some exports print 8 decimals (`12.34000001`): spend is
rounded half-up to the contract's 6 decimals here, conversion value to cents (never quarantined).
Breakdown exports (Age, Gender, Placement…) keep the breakdown in `breakdown`; staging sums the rows
to the campaign / ad set / ad and day.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa

from connectors.engine import FileRejected, H, P, VendorFormat
from connectors.registry_helpers import parse_table
from connectors.vendors.ad_platforms import (
    breakdown_inputs,
    currency_hint,
    fill_campaign,
    fill_levels,
    label_breakdown,
    normalise_currency,
    round_decimals,
)

FEED = "meta_ads"
CURRENCY_HINT = currency_hint(
    FEED, "the spend column has no currency (expected a header like 'Amount spent (USD)')")


GRAIN = ("date", "campaign_name", "ad_group_name", "ad_name")
DAILY_EXPORT = ("in Ads Manager, export the report again with Breakdown → By time → Day "
                "(one row per day; the `Day` column)")


def _day_from_reporting_range(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    """A daily export without `Day`: each row's `Reporting starts` = `Reporting ends` is its day."""
    name = Path(state["path"]).name
    starts, ends = pl.col("reporting_starts").str.strip_chars(), pl.col("reporting_ends").str.strip_chars()
    multi_day = frame.filter(starts.is_not_null() & ends.is_not_null() & (starts != ends))
    if multi_day.height:
        first = multi_day.row(0, named=True)
        raise FileRejected(
            f"{name}: line {first['_line']} covers {first['reporting_starts']} to {first['reporting_ends']} "
            f"and the export has no 'Day' column, so its spend cannot be put on a day: {DAILY_EXPORT}")
    return frame.with_columns(starts.alias("date"))


def _prepare(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    if "date" not in frame.columns:
        frame = _day_from_reporting_range(frame, state)
    frame = fill_campaign(frame)
    frame = fill_levels(frame)
    frame = normalise_currency(frame, state)
    frame = label_breakdown(frame, state, GRAIN)
    frame = round_decimals(frame, "spend", 6)
    return round_decimals(frame, "conversion_value", 2)


# Ads Manager breakdowns (Breakdown → By delivery / By time): several rows per ad and day
BREAKDOWNS = breakdown_inputs(
    "Age", "Gender", "Country", "Region", "DMA region", "Placement", "Platform", "Device platform",
    "Impression device", "Time of day (ad account time zone)", "Time of day (viewer's time zone)")


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
        **BREAKDOWNS,
    },
    derived=("breakdown",),
    prepare=_prepare,
    options={"currency": CURRENCY_HINT},
    known_headers=MANAGER_UNREAD,
)

# the same export without `Day`: each row must cover one day (Reporting starts = Reporting ends)
MANAGER_RANGE_CSV = VendorFormat(
    name="meta_ads_manager_range_csv",
    label="Meta Ads Manager export without a Day column (CSV)",
    columns={k: v for k, v in MANAGER_CSV.columns.items() if k not in ("date", "reporting_starts", "reporting_ends")},
    reads={"reporting_starts": H("Reporting starts"), "reporting_ends": H("Reporting ends")},
    derived=("date", "breakdown"),
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
        **breakdown_inputs("age", "gender", "country", "region", "publisher_platform",
                           "platform_position", "device_platform", "impression_device"),
    },
    derived=("breakdown",),
    prepare=_prepare,
    options={"currency": CURRENCY_HINT},
    known_headers=(
        "account_id", "account_name", "adset_id", "ad_id", "clicks", "cpc", "cpm", "ctr", "cpp",
        "frequency", "actions", "action_values", "cost_per_action_type", "attribution_setting",
    ),
)

FORMATS = {FEED: [MANAGER_CSV, MANAGER_RANGE_CSV, API_CSV]}


def parse_insights(path: Path | str, **options: str) -> pa.Table:
    """Daily campaign / ad set / ad rows of a Meta Ads Manager export or API-shaped CSV."""
    return parse_table(FEED, path, options)
