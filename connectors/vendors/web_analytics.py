"""Sessions per channel and day: our template (`date, channel, sessions`), GA4 and Shopify
analytics exports (`Day`/`Date`, `Sessions`), and Amazon Business Reports' "Detail Page Sales and
Traffic by Date" export (`Date`, `Sessions - Total`).

Analytics exports describe one storefront and carry no channel column: the channel is then the
`channel` option (`cwh ingest sessions FILE --option channel=amazon_us`, or
`sessions: {channel: amazon_us}` in config/feed_options.yml). GA4 writes dates as `20260501`;
they are read too, and its `# …` preamble lines are skipped.

A report split by a dimension (GA4's "Traffic acquisition: Session default channel group", source /
medium, device…) has several rows per day: the dimension is kept in `breakdown` and staging sums
the rows of the latest landed file to the channel and day (one storefront's sessions are the sum of
its channel groups). A `Grand total` / `Total` row is not data.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa

from connectors.engine import H, VendorFormat
from connectors.registry_helpers import parse_table
from connectors.vendors.ad_platforms import breakdown_inputs, label_breakdown

CHANNEL_HINT = ("this sessions export has no 'channel' column: say which sales channel it is for, "
                "e.g. `cwh ingest sessions FILE --option channel=amazon_us`, or set "
                "`sessions: {channel: amazon_us}` in config/feed_options.yml")
GRAIN = ("date", "channel")
# GA4 report dimensions that split one storefront's day into several rows
GA4_BREAKDOWNS = (
    "Session default channel group", "Session primary channel group (Default channel group)",
    "Session primary channel group", "Default channel group", "First user default channel group",
    "Session source / medium", "Session source", "Session medium", "Session campaign",
    "Device category", "Country", "Landing page", "Landing page + query string",
)


def _total_rows(frame: pl.DataFrame, state: dict) -> pl.Expr:
    label = pl.col("date").str.strip_chars().str.to_lowercase()
    return label.is_in(["total", "totals", "grand total"]).fill_null(False)


def _prepare(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    # GA4 exports dates as YYYYMMDD
    compact = pl.col("date").str.strip_chars()
    frame = frame.with_columns(
        pl.when(compact.str.contains(r"^\d{8}$"))
        .then(compact.str.replace(r"^(\d{4})(\d{2})(\d{2})$", "$1-$2-$3"))
        .otherwise(pl.col("date")).alias("date"))
    return label_breakdown(frame, state, GRAIN)


SESSIONS_CSV = VendorFormat(
    name="sessions_csv",
    label="sessions CSV (date, channel, sessions; GA4 / Shopify analytics export)",
    columns={"date": (H("date"), H("Day")), "channel": H("channel"), "sessions": H("sessions"),
             **breakdown_inputs(*GA4_BREAKDOWNS)},
    derived=("breakdown",),
    non_data=_total_rows,
    prepare=_prepare,
    options={"channel": CHANNEL_HINT},
    # Shopify's "Sessions over time" export and GA4 reports add these
    known_headers=("Online store visitors", "Visitors", "Engaged sessions", "Total users",
                   "Active users", "New users", "Views", "Conversions", "Sessions (previous period)",
                   "Engagement rate", "Average engagement time per session", "Events per session",
                   "Event count", "Key events", "Session key event rate", "Total revenue"),
)

# Amazon Seller Central → Reports → Business Reports → Detail Page Sales and Traffic (by date)
AMAZON_REPORT_HEADERS = (
    "Ordered Product Sales", "Ordered Product Sales - B2B", "Units Ordered", "Units Ordered - B2B",
    "Total Order Items", "Total Order Items - B2B", "Average Sales per Order Item",
    "Average Sales per Order Item - B2B", "Average Units per Order Item",
    "Average Units per Order Item - B2B", "Average Selling Price", "Average Selling Price - B2B",
    "Sessions - Total - B2B", "Sessions - Browser", "Sessions - Browser - B2B",
    "Sessions - Mobile App", "Sessions - Mobile App - B2B",
    "Order Item Session Percentage", "Order Item Session Percentage - B2B",
    "Unit Session Percentage", "Unit Session Percentage - B2B", "Average Offer Count",
    "Average Parent Items", "Page Views - Total", "Page Views - Total - B2B", "Page Views - Browser",
    "Page Views - Browser - B2B", "Page Views - Mobile App", "Page Views - Mobile App - B2B",
    "Featured Offer (Buy Box) Percentage", "Featured Offer (Buy Box) Percentage - B2B",
    "Buy Box Percentage", "Buy Box Percentage - B2B", "Shipped Product Sales", "Units Shipped",
    "Orders Shipped", "Units Refunded", "Refund Rate", "Feedback Received", "Negative Feedback Received",
    "Received Negative Feedback Rate", "A-to-z Claims Granted", "Claims Amount",
)

AMAZON_BUSINESS_REPORT = VendorFormat(
    name="amazon_business_report_by_date",
    label="Business Reports export of Amazon Seller Central (Detail Page Sales and Traffic by Date)",
    columns={"date": H("Date"), "sessions": H("Sessions - Total")},
    derived=("breakdown",),
    prepare=lambda frame, state: label_breakdown(frame, state, GRAIN),
    options={"channel": CHANNEL_HINT},
    known_headers=AMAZON_REPORT_HEADERS,
)

FORMATS = {"sessions": [AMAZON_BUSINESS_REPORT, SESSIONS_CSV]}


def parse_sessions(path: Path | str, channel: str | None = None) -> pa.Table:
    return parse_table("sessions", path, {"channel": channel} if channel else None)
