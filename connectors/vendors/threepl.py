"""3PL billing: ShipBob-style transaction exports (one row per charge or credit).

Two layouts of the same charges:
- the ShipBob API / transactions export (`transaction_id, amount, currency_code, charge_date, …`);
- the invoice download from ShipBob's Billing page, saved as CSV (`Invoice Number, Invoice Date,
  Invoice Type, Charge Date, Fee Type, Reference ID, Reference Type, Fulfillment Center, Amount`):
  amounts as `$ 6.01`, storage charges with 4 decimals (`$ 12.3456`), a `Total:` row and footnote
  lines (`* Storage is billed…`) that are not data. It has no transaction id: the key is a hash of
  the row's content (`sb-…`, `#2` for identical rows), so a re-download of the same invoice replaces
  its rows. Its currency is the `Currency` column or an `Amount (USD)` header, else US dollars
  (ShipBob bills in USD). Invoice types are read in ShipBob's words and named like the API export
  (`WarehouseStorage` → Storage, `Inbound Fee` → Receiving, `AdditionalFee` → Additional Fees).

Shipping, pick/pack and receiving charges post daily; storage is billed once a month. Amounts keep
their sub-cent precision (decimal(18,4)) until the P&L converts each charge to the reporting
currency, rounded to cents. A row whose amount is not a number (ShipBob writes `N/A` for charges
still being rated) is quarantined with its line and reason; the rest of the file loads.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa

from connectors.engine import H, P, VendorFormat
from connectors.registry_helpers import content_key, parse_table
from connectors.vendors.finance import upper_case

COLUMNS = {
    "transaction_id": "transaction_id",
    "amount": "amount",
    "currency": "currency_code",
    "charge_date": "charge_date",
    "invoice_id": "invoice_id",
    "invoice_date": "invoice_date",
    "invoice_type": "invoice_type",
    "transaction_fee": "transaction_fee",
    "reference_id": "reference_id",
    "reference_type": "reference_type",
    "fulfillment_center": "fulfillment_center",
}

TRANSACTIONS_CSV = VendorFormat(
    name="shipbob_transactions_csv",
    label="3PL billing transactions export (ShipBob layout)",
    columns={k: H(v) for k, v in COLUMNS.items()},
    prepare=lambda frame, state: upper_case(frame, "currency"),
    # ShipBob's API adds these to every transaction; nothing downstream needs them
    known_headers=("invoiced_status", "taxes", "additional_details"),
)

# ShipBob's invoice types (API and Billing page) → the names the API export and the contract use
INVOICE_TYPES = {
    "warehousestorage": "Storage", "storage": "Storage", "inbound fee": "Receiving",
    "warehouseinboundfee": "Receiving", "receiving": "Receiving", "additionalfee": "Additional Fees",
    "additional fees": "Additional Fees", "shipping": "Shipping", "returnsfee": "Returns", "return": "Returns",
    "returns": "Returns", "credits": "Credits", "credit": "Credits",
}
# money written with a symbol in the download, and the currency it stands for
SYMBOLS = {"$": "USD", "US$": "USD", "CA$": "CAD", "C$": "CAD", "A$": "AUD", "AU$": "AUD", "£": "GBP", "€": "EUR"}
DOWNLOAD_KEY_COLUMNS = ["invoice_id", "invoice_type", "charge_date", "transaction_fee", "reference_id",
                        "reference_type", "fulfillment_center", "amount", "currency"]


def _footer_rows(frame: pl.DataFrame, state: dict) -> pl.Expr:
    """`Total:` rows and footnotes (`* Storage is billed…`): no charge date and no amount, or a
    cell that says so."""
    cells = [c for c in frame.columns if c != "_line"]
    labelled = pl.any_horizontal([pl.col(c).cast(pl.String).str.strip_chars().str.contains(r"(?i)^(total:|\*)")
                                  .fill_null(False) for c in cells])
    empty = lambda c: pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "")  # noqa: E731
    return labelled | (empty("charge_date") & empty("amount"))


def _download_currency(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    if "currency_column" in frame.columns:
        return upper_case(frame.rename({"currency_column": "currency"}), "currency")
    constant = state["layout"].constants.get("currency")
    if constant:
        return frame.with_columns(pl.lit(constant.upper()).alias("currency"))
    symbol = pl.col("amount").str.extract(r"^\s*-?\s*([A-Z]{0,2}\$|£|€)", 1)
    return frame.with_columns(symbol.replace_strict(SYMBOLS, default="USD").fill_null("USD").alias("currency"))


def _prepare_download(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    frame = _download_currency(frame, state)
    kind = pl.col("invoice_type").str.strip_chars()
    frame = frame.with_columns(
        kind.str.to_lowercase().replace_strict(INVOICE_TYPES, default=None).fill_null(kind).alias("invoice_type"))
    frame = content_key(frame, "row_hash", DOWNLOAD_KEY_COLUMNS, state)
    ids = pl.col("vendor_transaction_id") if "vendor_transaction_id" in frame.columns else pl.lit(None, pl.String)
    return frame.with_columns(pl.coalesce(ids, pl.lit("sb-") + pl.col("row_hash")).alias("transaction_id")).drop(
        [c for c in ("row_hash", "vendor_transaction_id") if c in frame.columns])


INVOICE_DOWNLOAD_CSV = VendorFormat(
    name="shipbob_invoice_download_csv",
    label="ShipBob invoice download (Billing page, saved as CSV)",
    columns={
        "invoice_id": (H("Invoice Number"), H("Invoice ID"), H("Invoice #")),
        "invoice_date": H("Invoice Date"),
        "invoice_type": H("Invoice Type"),
        "charge_date": (H("Charge Date"), H("Transaction Date"), H("Date")),
        "transaction_fee": (H("Fee Type"), H("Transaction Type"), H("Charge Type")),
        "reference_id": (H("Reference ID"), H("Order ID"), H("Shipment ID")),
        "reference_type": H("Reference Type"),
        "fulfillment_center": (H("Fulfillment Center"), H("FC Name")),
        "amount": (H("Amount"), P(r"Amount \((?P<currency>[A-Za-z]{3})\)"), H("Invoice Amount")),
        "currency_column": H("Currency"),  # optional: the download usually states no currency
        "vendor_transaction_id": H("Transaction ID"),
    },
    derived=("transaction_id", "currency"),
    non_data=_footer_rows,
    non_data_line=lambda text: text.lstrip('\ufeff" ').lower().startswith(("total", "*")),
    prepare=_prepare_download,
    known_headers=("Merchant Name", "Store Order ID", "Tracking Number", "Notes", "Invoice Status"),
)

FORMATS = {"threepl_billing": [TRANSACTIONS_CSV, INVOICE_DOWNLOAD_CSV]}


def parse_threepl_billing(path: Path | str) -> pa.Table:
    return parse_table("threepl_billing", path)
