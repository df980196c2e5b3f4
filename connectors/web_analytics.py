"""Sessions per channel and day: our template (`date, channel, sessions`), GA4 and Shopify
analytics exports (`Day`/`Date`, `Sessions`), and Amazon Business Reports' "Detail Page Sales and
Traffic by Date" export (`Date`, `Sessions - Total`).

Analytics exports describe one storefront and carry no channel column: the channel is then the
`channel` option (`cwh ingest sessions FILE --channel amazon_us`, or
`sessions: {channel: amazon_us}` in config/feed_options.yml). GA4 writes dates as `20260501`;
they are read too.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa

from connectors.engine import H, VendorFormat
from connectors.registry_helpers import parse_table

CHANNEL_HINT = ("this sessions export has no 'channel' column: say which sales channel it is for "
                "with --channel (e.g. --channel amazon_us), or set sessions: {channel: …} in "
                "config/feed_options.yml")


def _prepare(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    # GA4 exports dates as YYYYMMDD
    compact = pl.col("date").str.strip_chars()
    return frame.with_columns(
        pl.when(compact.str.contains(r"^\d{8}$"))
        .then(compact.str.replace(r"^(\d{4})(\d{2})(\d{2})$", "$1-$2-$3"))
        .otherwise(pl.col("date")).alias("date"))


SESSIONS_CSV = VendorFormat(
    name="sessions_csv",
    label="sessions CSV (date, channel, sessions; GA4 / Shopify analytics export)",
    columns={"date": (H("date"), H("Day")), "channel": H("channel"), "sessions": H("sessions")},
    prepare=_prepare,
    options={"channel": CHANNEL_HINT},
    # Shopify's "Sessions over time" export and GA4 reports add these
    known_headers=("Online store visitors", "Visitors", "Engaged sessions", "Total users",
                   "Active users", "New users", "Views", "Conversions", "Sessions (previous period)"),
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
    options={"channel": CHANNEL_HINT},
    known_headers=AMAZON_REPORT_HEADERS,
)

FORMATS = {"sessions": [AMAZON_BUSINESS_REPORT, SESSIONS_CSV]}


def parse_sessions(path: Path | str, channel: str | None = None) -> pa.Table:
    return parse_table("sessions", path, {"channel": channel} if channel else None)
