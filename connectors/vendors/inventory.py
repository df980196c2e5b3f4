"""Inventory snapshots (stock per day, location and SKU) from three layouts:

- our template `date, location, sku, on_hand, sellable, inbound` (+ optional `snapshot_at`, when
  the source system took the snapshot, to measure sync latency) — also what a 3PL stock report is
  mapped to;
- Amazon's FBA Manage Inventory report (tab-separated): `afn-warehouse-quantity` → on_hand,
  `afn-fulfillable-quantity` → sellable, inbound = `afn-inbound-shipped-quantity` +
  `afn-inbound-receiving-quantity`; the date is `snapshot-date` where the report has it;
- Shopify's inventory export CSV (Products → Inventory → Export, all quantity types): `On hand`,
  `Available` → sellable, `Incoming` → inbound, per `Location`; rows marked `not stocked` are not
  stock positions and are dropped (counted as non-data rows).

A file that does not state the date or the location takes it from the `date` / `location`
options (the Shopify export has no date, the FBA report no location); without them it is rejected
with a hint.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa

from connectors.engine import H, VendorFormat
from connectors.registry_helpers import parse_table

# one example for both hints: a file may lack both, and a fact the file states is ignored
INGEST_EXAMPLE = "`cwh ingest inventory_snapshots FILE --date 2026-05-31 --location \"Amazon FBA US\"`"
DATE_HINT = ("this inventory file has no 'date' column: give the day the snapshot was taken with --date "
             "(and its stock location with --location if it has no 'location' column either), e.g. "
             + INGEST_EXAMPLE)
LOCATION_HINT = ("this inventory file has no 'location' column: say which stock location it is with --location "
                 "(and the day with --date if it has no 'date' column either), e.g. " + INGEST_EXAMPLE)
OPTIONS = {"date": DATE_HINT, "location": LOCATION_HINT}

TEMPLATE_CSV = VendorFormat(
    name="inventory_template_csv",
    label="stock snapshot template (date, location, sku, on_hand, sellable, inbound)",
    columns={c: H(c) for c in ("date", "location", "sku", "on_hand", "sellable", "inbound", "snapshot_at")},
    options=OPTIONS,
)


# ---- Shopify inventory export --------------------------------------------------------------

def _not_stocked(frame: pl.DataFrame, state: dict) -> pl.Expr:
    marks = [pl.col(c).str.strip_chars().str.to_lowercase() == "not stocked"
             for c in ("on_hand", "sellable", "inbound") if c in frame.columns]
    return pl.any_horizontal(marks)


SHOPIFY_INVENTORY_CSV = VendorFormat(
    name="shopify_inventory_export_csv",
    label="Shopify inventory export (CSV)",
    columns={
        "sku": H("SKU"),
        "location": H("Location"),
        # recent exports suffix the read-only columns with "(not editable)" and split On hand in
        # "(current)" and "(new)" for re-import
        "on_hand": (H("On hand"), H("On hand (current)")),
        "sellable": (H("Available"), H("Available (not editable)")),
        "inbound": (H("Incoming"), H("Incoming (not editable)")),
    },
    non_data=_not_stocked,
    options=OPTIONS,
    known_headers=(
        "Handle", "Title", "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value",
        "Option3 Name", "Option3 Value", "HS Code", "COO", "Bin name", "Unavailable", "Committed",
        "Unavailable (not editable)", "Committed (not editable)", "On hand (new)",
    ),
)


# ---- Amazon FBA Manage Inventory report ----------------------------------------------------

INBOUND_PARTS = ("afn_inbound_shipped", "afn_inbound_receiving")


def _fba_inbound(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    """inbound = shipped + receiving. When a part is unreadable, inbound becomes a text naming
    both vendor columns and their values, so the row is quarantined with a reason that says which
    column held what (`afn-inbound-shipped-quantity=abc + afn-inbound-receiving-quantity=3`)."""
    parts = [pl.col(c).str.strip_chars() for c in INBOUND_PARTS]
    numbers = [p.cast(pl.Int64, strict=False) for p in parts]
    readable = pl.all_horizontal([(n.is_not_null() | p.is_null() | (p == ""))
                                  for n, p in zip(numbers, parts, strict=True)])
    both_empty = pl.all_horizontal([(p.is_null() | (p == "")) for p in parts])
    total = pl.sum_horizontal([n.fill_null(0) for n in numbers]).cast(pl.String)
    headers = state["layout"].mapping
    raw = pl.concat_str([pl.lit(f"{headers[c]}=") + p.fill_null("") for c, p in zip(INBOUND_PARTS, parts, strict=True)],
                        separator=" + ")
    # the parts stay in the frame so a quarantined row shows them under their vendor headers
    return frame.with_columns(
        pl.when(both_empty).then(None).when(readable).then(total).otherwise(raw).alias("inbound"))


FBA_MANAGE_INVENTORY = VendorFormat(
    name="fba_manage_inventory_txt",
    label="FBA Manage Inventory report (Amazon, tab-separated)",
    delimiter="\t",
    quote="",  # Amazon flat files do not quote; product names may contain `"`
    columns={
        "date": H("snapshot-date"),
        "location": H("location"),
        "sku": H("sku"),
        "on_hand": H("afn-warehouse-quantity"),
        "sellable": H("afn-fulfillable-quantity"),
    },
    reads={"afn_inbound_shipped": H("afn-inbound-shipped-quantity"),
           "afn_inbound_receiving": H("afn-inbound-receiving-quantity")},
    derived=("inbound",),
    prepare=_fba_inbound,
    options=OPTIONS,
    known_headers=(
        "fnsku", "asin", "product-name", "condition", "your-price", "mfn-listing-exists",
        "mfn-fulfillable-quantity", "afn-listing-exists", "afn-unsellable-quantity",
        "afn-reserved-quantity", "afn-total-quantity", "per-unit-volume", "afn-inbound-working-quantity",
        "afn-researching-quantity", "afn-reserved-future-supply", "afn-future-supply-buyable",
        "afn-fulfillable-quantity-local", "afn-fulfillable-quantity-remote", "store",
    ),
)

FORMATS = {"inventory_snapshots": [TEMPLATE_CSV, SHOPIFY_INVENTORY_CSV, FBA_MANAGE_INVENTORY]}


def parse_inventory_snapshots(path: Path | str, date: str | None = None, location: str | None = None) -> pa.Table:
    options = {k: v for k, v in {"date": date, "location": location}.items() if v}
    return parse_table("inventory_snapshots", path, options or None)
