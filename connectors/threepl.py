"""3PL billing: ShipBob-style transaction exports (one row per charge or credit).

Shipping, pick/pack and receiving charges post daily; storage is billed once a month. The
export's `currency_code` lands as the canonical `currency`. A row whose amount is not a number
(ShipBob writes `N/A` for charges still being rated) is quarantined with its line and reason;
the rest of the file loads.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from connectors.engine import H, VendorFormat
from connectors.finance import upper_case
from connectors.registry_helpers import parse_table

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

FORMATS = {"threepl_billing": [TRANSACTIONS_CSV]}


def parse_threepl_billing(path: Path | str) -> pa.Table:
    return parse_table("threepl_billing", path)
