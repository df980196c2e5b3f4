"""Shopify: the orders export CSV (web, app, draft and POS orders) and the Shopify Payments
transactions export CSV.

The orders export has one row per line item and fills the order-level fields (email, totals,
dates, source…) on the first row of each order only; this connector carries them down to every
line of the order, across batch boundaries, and numbers the lines within the order. Names,
addresses and phones are not read at all; the email is kept only as a keyed hash.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa

from connectors.engine import H, VendorFormat
from connectors.registry_helpers import content_key, parse_table

# canonical column → Shopify header; order-level columns are forward-filled within an order
ORDER_LEVEL = {
    "order_id": "Id",
    "email_hash": "Email",
    "financial_status": "Financial Status",
    "paid_at": "Paid at",
    "fulfillment_status": "Fulfillment Status",
    "fulfilled_at": "Fulfilled at",
    "accepts_marketing": "Accepts Marketing",
    "currency": "Currency",
    "subtotal": "Subtotal",
    "shipping": "Shipping",
    "taxes": "Taxes",
    "total": "Total",
    "discount_code": "Discount Code",
    "discount_amount": "Discount Amount",
    "shipping_method": "Shipping Method",
    "created_at": "Created at",
    "cancelled_at": "Cancelled at",
    "payment_method": "Payment Method",
    "refunded_amount": "Refunded Amount",
    "outstanding_balance": "Outstanding Balance",
    "source": "Source",
    "location": "Location",
    "shipping_country": "Shipping Country",
    "shipping_province": "Shipping Province",
    "tags": "Tags",
    "risk_level": "Risk Level",
}
LINE_LEVEL = {
    "order_name": "Name",
    "lineitem_quantity": "Lineitem quantity",
    "lineitem_name": "Lineitem name",
    "lineitem_price": "Lineitem price",
    "lineitem_compare_at_price": "Lineitem compare at price",
    "lineitem_sku": "Lineitem sku",
    "lineitem_requires_shipping": "Lineitem requires shipping",
    "lineitem_taxable": "Lineitem taxable",
    "lineitem_fulfillment_status": "Lineitem fulfillment status",
    "lineitem_discount": "Lineitem discount",
    "vendor": "Vendor",
}


def _fill_orders(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    """Carry order-level fields to every line of the order and number the lines 1..n.

    Rows of one order are consecutive; an order may straddle two batches, so the last line of the
    previous batch is carried in front of this one and dropped again after filling.
    """
    order_cols = [c for c in ORDER_LEVEL if c in frame.columns]
    carry: pl.DataFrame | None = state.get("carry")
    frame = frame.with_columns(pl.lit(False).alias("_carried"))
    base_line = 0
    if carry is not None and frame.height and frame["order_name"][0] == carry["order_name"][0]:
        base_line = carry["line_number"][0] - 1
        frame = pl.concat([carry.select(frame.columns), frame], how="vertical_relaxed")
    # a new order starts where the name changes; ids number the orders within the batch
    starts = (pl.col("order_name") != pl.col("order_name").shift(1)).fill_null(True)
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    frame = frame.with_columns(starts.cum_sum().alias("_order_seq"),
                               pl.when(starts).then(row).forward_fill().alias("_order_start"))
    # a forward fill within the order: the whole column's, kept where the value it carries is on a
    # row of the same order (one linear pass per column, no grouping)
    start = pl.col("_order_start")
    frame = frame.with_columns(
        [pl.when(pl.when(pl.col(c).is_not_null()).then(row).forward_fill() >= start)
         .then(pl.col(c).forward_fill()).alias(c) for c in order_cols]
        + [(row - start + 1).alias("line_number")]
    )
    first_seq = frame["_order_seq"][0] if frame.height else None
    frame = frame.with_columns(
        pl.when(pl.col("_order_seq") == first_seq).then(pl.col("line_number") + base_line)
        .otherwise(pl.col("line_number")).cast(pl.String).alias("line_number")
    )
    if frame.height:
        state["carry"] = frame.tail(1).with_columns(
            pl.col("line_number").cast(pl.Int64), pl.lit(True).alias("_carried"))
    return frame.filter(~pl.col("_carried")).drop("_carried", "_order_seq", "_order_start")


# headers of the export this connector deliberately does not read (personal data, notes, POS
# device details): known, so they are not reported as schema drift
UNREAD_ORDER_HEADERS = (
    "Billing Name", "Billing Street", "Billing Address1", "Billing Address2", "Billing Company",
    "Billing City", "Billing Zip", "Billing Province", "Billing Country", "Billing Phone",
    "Shipping Name", "Shipping Street", "Shipping Address1", "Shipping Address2", "Shipping Company",
    "Shipping City", "Shipping Zip", "Shipping Phone", "Notes", "Note Attributes",
    "Payment Reference", "Employee", "Device ID", "Phone", "Receipt Number", "Duties",
    "Billing Province Name", "Shipping Province Name", "Payment ID", "Payment Terms Name",
    "Next Payment Due At", "Payment References",
    *(f"Tax {i} {part}" for i in range(1, 6) for part in ("Name", "Value")),
)

ORDERS_CSV = VendorFormat(
    name="shopify_orders_csv",
    label="Shopify orders export (CSV)",
    columns={k: H(v) for k, v in {**LINE_LEVEL, **ORDER_LEVEL}.items()},
    derived=("line_number",),
    prepare=_fill_orders,
    known_headers=UNREAD_ORDER_HEADERS,
)

PAYMENTS_COLUMNS = {
    "transaction_date": "Transaction Date",
    "transaction_type": "Type",
    "order_name": "Order",
    "card_brand": "Card Brand",
    "card_source": "Card Source",
    "payout_status": "Payout Status",
    "payout_date": "Payout Date",
    "payout_id": "Payout ID",
    "available_on": "Available On",
    "amount": "Amount",
    "fee": "Fee",
    "net": "Net",
    "checkout": "Checkout",
    "payment_method_name": "Payment Method Name",
    "presentment_amount": "Presentment Amount",
    "presentment_currency": "Presentment Currency",
    "currency": "Currency",
    "vat": "VAT",
}


# the payout columns change after the transaction (pending → paid, payout date and id filled in):
# a re-export of the same period must give the same key, so they are not part of it
PAYOUT_COLUMNS = ("payout_status", "payout_date", "payout_id", "available_on")


def _payout_from_date(frame: pl.DataFrame) -> pl.DataFrame:
    """The 16-column export (POS + online shops) has no `Payout ID`: Shopify pays the balance out once
    a day per currency, so the payout is named by its date (`date:2023-09-29`) and payout
    reconciliation still groups the transactions by payout. A file with the column keeps its ids."""
    if "payout_id" in frame.columns:
        return frame
    day = pl.col("payout_date").str.strip_chars()
    return frame.with_columns(
        pl.when(day.is_not_null() & (day != "")).then(pl.lit("date:") + day).otherwise(None).alias("payout_id"))


def _key_payments(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    # the export carries no transaction id: the key is a hash of the row's lasting content
    frame = _payout_from_date(frame)
    return content_key(frame, "transaction_key", [c for c in PAYMENTS_COLUMNS if c not in PAYOUT_COLUMNS], state)


PAYMENTS_CSV = VendorFormat(
    name="shopify_payments_transactions_csv",
    label="Shopify Payments transactions export (CSV)",
    columns={k: H(v) for k, v in PAYMENTS_COLUMNS.items()},
    derived=("transaction_key",),
    prepare=_key_payments,
    known_headers=("Business Entity Name", "Business Entity ID"),
)

FORMATS = {
    "shopify_orders": [ORDERS_CSV],
    "shopify_payments": [PAYMENTS_CSV],
}


def parse_orders(path: Path | str) -> pa.Table:
    return parse_table("shopify_orders", path)


def parse_payments(path: Path | str) -> pa.Table:
    return parse_table("shopify_payments", path)
