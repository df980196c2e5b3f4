"""Google Ads: the campaign report downloaded from the Google Ads UI, and the same figures in the
Google Ads API (GAQL) shape.

UI downloads may start with a report-title line and a date-range line before the header, and end
with `Total: Account`, `Total: Search`… rows: the engine finds the header below the title lines and
this connector counts the total rows as non-data. `--` placeholders are empty values. The API
shape reports cost in micros; it becomes `spend` exactly, in text (`12340000` → `12.340000`).

Every download the UI offers lands the same way: "CSV" (UTF-8, comma-separated), "Excel CSV"
(UTF-16LE with BOM, tab-separated) and a tab-separated UTF-8 file; the engine detects the encoding
and the delimiter. A report must be segmented by `Day` (a report without it has one row per campaign
for the whole range: refused, naming `Day`). The account-level daily report (no `Campaign` column)
lands as campaign `(all)`. Segments that split a campaign's day into several rows (`Device`,
`Network (with search partners)`, `Ad group`…) are kept in `breakdown`; staging sums them to the
campaign and day.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa

from connectors.engine import H, VendorFormat
from connectors.registry_helpers import parse_table
from connectors.vendors.ad_platforms import (
    breakdown_inputs,
    currency_hint,
    fill_campaign,
    fill_levels,
    label_breakdown,
    micros_to_units,
    normalise_currency,
    null_placeholders,
    round_decimals,
)

FEED = "google_ads"
CURRENCY_HINT = currency_hint(
    FEED, "the report has no 'Currency code' column, so its currency is unknown "
          "(add the column to the report, or declare the account currency)")


def _missing(name: str) -> pl.Expr:
    text = pl.col(name).cast(pl.String).str.strip_chars()
    return text.is_null() | (text == "") | (text == "--")


def _total_rows(frame: pl.DataFrame, state: dict) -> pl.Expr:
    """`Total: Account`, `Total: Search`… rows at the end of a UI download.

    The label sits in the report's first column, which may be one this connector does not read
    (e.g. `Campaign status`): a row with neither a day nor a campaign is a total row as well.
    """
    value_cols = [c for c in frame.columns if c != "_line"]
    labelled = pl.any_horizontal(
        [pl.col(c).cast(pl.String).str.contains(r"(?i)^\s*total:").fill_null(False) for c in value_cols])
    if "campaign_name" not in frame.columns:  # account-level report
        return labelled | _missing("date")
    return labelled | (_missing("date") & _missing("campaign_name"))


GRAIN = ("date", "campaign_name")


def _prepare_ui(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    frame = null_placeholders(frame).drop("campaign_or_account")
    return _finish(frame, state)


def _prepare_api(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    frame = frame.with_columns(micros_to_units(pl.col("spend")).alias("spend"))
    return _finish(frame, state)


def _finish(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    frame = fill_campaign(frame)
    frame = fill_levels(frame)
    frame = normalise_currency(frame, state)
    frame = label_breakdown(frame, state, GRAIN)
    return round_decimals(frame, "conversion_value", 2)


# report columns a UI download often carries that the warehouse does not read (ratios it
# recomputes, budget and status details)
UI_UNREAD = (
    "CTR", "Avg. CPC", "Conv. rate", "Cost / conv.", "Campaign status", "Status", "Status reasons",
    "Campaign state", "Budget", "Budget name", "Budget type", "Interactions", "Interaction rate",
    "Interaction types", "Avg. cost", "Avg. CPM", "Optimization score", "Bid strategy type",
    "Bid strategy", "All conv.", "All conv. value", "View-through conv.", "Conv. value / cost",
    "Search impr. share", "Account", "Account name", "Customer ID", "Campaign subtype",
)

UI_CSV = VendorFormat(
    name="google_ads_ui_csv",
    label="Google Ads UI campaign report (CSV)",
    columns={
        "date": H("Day"),
        "campaign_id": H("Campaign ID"),
        "campaign_name": H("Campaign"),
        "campaign_type": H("Campaign type"),
        "currency": H("Currency code"),
        "spend": H("Cost"),
        "impressions": H("Impr."),
        "clicks": H("Clicks"),
        "conversions": H("Conversions"),
        "conversion_value": H("Conv. value"),
        **breakdown_inputs("Ad group", "Device", "Network (with search partners)", "Network",
                           "Top vs. Other", "Hour of the day"),
    },
    # a campaign report, or the account-level daily report (no Campaign: campaign `(all)`)
    reads={"campaign_or_account": (H("Campaign"), H("Account"), H("Account name"), H("Customer ID"))},
    derived=("ad_group_name", "ad_name", "breakdown"),
    non_data=_total_rows,
    # a `Total:` line with fewer cells than the header is a footer too, not a broken record
    non_data_line=lambda text: text.lstrip('\ufeff" ').lower().startswith("total:"),
    prepare=_prepare_ui,
    options={"currency": CURRENCY_HINT},
    known_headers=UI_UNREAD,
)

API_CSV = VendorFormat(
    name="google_ads_api_csv",
    label="Google Ads API campaign report (segments.date, metrics.cost_micros…)",
    columns={
        "date": H("segments.date"),
        "campaign_id": H("campaign.id"),
        "campaign_name": H("campaign.name"),
        "campaign_type": H("campaign.advertising_channel_type"),
        "currency": H("customer.currency_code"),
        "spend": H("metrics.cost_micros"),  # micros → units in _prepare_api
        "impressions": H("metrics.impressions"),
        "clicks": H("metrics.clicks"),
        "conversions": H("metrics.conversions"),
        "conversion_value": H("metrics.conversions_value"),
        **breakdown_inputs("segments.device", "segments.ad_network_type", "ad_group.name"),
    },
    derived=("ad_group_name", "ad_name", "breakdown"),
    prepare=_prepare_api,
    options={"currency": CURRENCY_HINT},
    known_headers=(
        "customer.id", "customer.descriptive_name", "campaign.status", "campaign.resource_name",
        "metrics.ctr", "metrics.average_cpc", "metrics.all_conversions", "metrics.all_conversions_value",
    ),
)

FORMATS = {FEED: [UI_CSV, API_CSV]}


def parse_campaign_report(path: Path | str, **options: str) -> pa.Table:
    """Daily campaign rows of a Google Ads UI download or API-shaped CSV."""
    return parse_table(FEED, path, options)
