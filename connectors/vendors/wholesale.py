"""Wholesale / B2B: ERP invoice and credit-note lines in our documented CSV template
(docs/templates.md; there is no vendor standard).

One row per document line. Credit notes carry positive units and amounts and name the invoice they
credit; `restock` (yes/no) says whether the returned units went back to stock. Columns beyond the
template are accepted (reported as schema drift, never loaded), so an ERP export with extra fields
lands as it is. The optional buyer contact email is kept only as a keyed hash.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa

from connectors.engine import H, VendorFormat
from connectors.registry_helpers import parse_table
from connectors.vendors.finance import upper_case

# canonical column → template header (the template uses the canonical names)
TEMPLATE_COLUMNS = (
    "document_type", "document_number", "line_number", "original_document_number",
    "customer_account", "customer_name", "payment_terms", "sku", "units", "unit_price", "discount",
    "tax_amount", "currency", "invoice_date", "ship_date", "due_date", "paid_date", "restock",
)


def _prepare(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    # `Credit Note`, `credit-note`, ` INVOICE ` → credit_note / invoice
    doc_type = pl.col("document_type").str.strip_chars().str.to_lowercase().str.replace_all(r"[\s\-]+", "_")
    return upper_case(frame.with_columns(doc_type.alias("document_type")), "currency")


INVOICE_LINES_CSV = VendorFormat(
    name="wholesale_invoice_lines_csv",
    label="wholesale invoice lines template (document_type, document_number, line_number, …)",
    columns={**{c: H(c) for c in TEMPLATE_COLUMNS}, "contact_email_hash": H("contact_email")},
    prepare=_prepare,
)

FORMATS = {"wholesale_invoices": [INVOICE_LINES_CSV]}


def parse_wholesale_invoices(path: Path | str) -> pa.Table:
    return parse_table("wholesale_invoices", path)
