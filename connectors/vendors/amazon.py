"""Amazon Seller Central reports: settlements (flat file V2 and legacy flat file), the All Orders
report and the FBA customer returns report. All are tab-separated and never quoted (`quote=''`:
a product name with a `"` is read verbatim).

Settlements. The first data row of each settlement is its summary row (settlement id, period,
deposit date, total-amount, currency; no transaction-type). It is not a component: it is counted
as a non-data row and its values are kept by settlement id, then carried to every component row
(V2 and legacy component rows leave the settlement-level columns empty). A component whose
settlement has no summary row in the file rejects the file. The legacy layout is wide (one
column per kind of amount); each row is unpivoted into one canonical row per non-empty amount, so
both layouts land in one settlement-line table whose components sum exactly to the settlement's
total (`settlement_balance`). In legacy files an order item's first row carries only its
`quantity-purchased` (no amount): that quantity is carried to the item's component rows and the
row is recorded as merged, never quarantined.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa

from connectors import values
from connectors.engine import FileRejected, H, VendorFormat
from connectors.registry_helpers import parse_table

# --------------------------------------------------------------------------------------------
# settlements

# settlement-level columns: filled on the summary row only, carried to every component row
SETTLEMENT_LEVEL = {
    "settlement_start_date": "settlement-start-date",
    "settlement_end_date": "settlement-end-date",
    "deposit_date": "deposit-date",
    "total_amount": "total-amount",
    "currency": "currency",
}
# columns both layouts share (canonical → vendor header)
SETTLEMENT_COMMON = {
    "settlement_id": "settlement-id",
    **SETTLEMENT_LEVEL,
    "transaction_type": "transaction-type",
    "order_id": "order-id",
    "merchant_order_id": "merchant-order-id",
    "adjustment_id": "adjustment-id",
    "shipment_id": "shipment-id",
    "marketplace_name": "marketplace-name",
    "fulfillment_id": "fulfillment-id",
    "posted_date": "posted-date",
    "order_item_code": "order-item-code",
    "merchant_order_item_id": "merchant-order-item-id",
    "merchant_adjustment_item_id": "merchant-adjustment-item-id",
    "sku": "sku",
    "quantity_purchased": "quantity-purchased",
    "promotion_id": "promotion-id",
}
SETTLEMENT_V2_ONLY = {
    "amount_type": "amount-type",
    "amount_description": "amount-description",
    "amount": "amount",
    "posted_date_time": "posted-date-time",
}
# legacy wide amount columns, in component order: (amount column, description column or None,
# amount_type); other-amount is described by the row's transaction-type
LEGACY_AMOUNTS = (
    ("price_amount", "price_type", "ItemPrice"),
    ("item_related_fee_amount", "item_related_fee_type", "ItemFees"),
    ("promotion_amount", "promotion_type", "Promotion"),
    ("shipment_fee_amount", "shipment_fee_type", "ShipmentFees"),
    ("order_fee_amount", "order_fee_type", "OrderFees"),
    ("misc_fee_amount", None, "MiscFee"),
    ("other_fee_amount", "other_fee_reason_description", "OtherFees"),
    ("direct_payment_amount", "direct_payment_type", "DirectPayment"),
    ("other_amount", "transaction_type", "other-transaction"),
)
# every legacy file has these: they tell the layout apart and are required
LEGACY_REQUIRED = ("price_type", "price_amount", "item_related_fee_type", "item_related_fee_amount")
# the other wide columns are optional: a file without one simply has no amount of that kind
# (older legacy files lack the promotion columns). Listed in `columns` under names that are not
# contract columns, which the engine treats as optional reads (a `reads` entry is always required).
LEGACY_OPTIONAL = (
    "promotion_type", "promotion_amount", "shipment_fee_type", "shipment_fee_amount",
    "order_fee_type", "order_fee_amount", "misc_fee_amount", "other_fee_amount",
    "other_fee_reason_description", "direct_payment_type", "direct_payment_amount", "other_amount",
)


def _vendor(name: str) -> str:
    return name.replace("_", "-")


def _is_summary(frame: pl.DataFrame) -> pl.Expr:
    """The summary row: a total-amount and no transaction-type."""
    del frame
    return (values.clean_text(pl.col("transaction_type")).is_null()
            & values.clean_text(pl.col("total_amount")).is_not_null())


# amounts with exactly two decimals after the separator: `53,44` / `1.234,56` vs `53.44` / `1,234.56`
_DECIMAL_COMMA = r"^[-+]?[\d.\s]*\d,\d{2}$"
_DECIMAL_POINT = r"^[-+]?[\d,\s]*\d\.\d{2}$"
# marketplaces whose files write decimal commas: only used when no amount shows two decimals
DECIMAL_COMMA_MARKETPLACES = ("Amazon.de", "Amazon.fr", "Amazon.it", "Amazon.es", "Amazon.nl", "Amazon.se",
                              "Amazon.pl", "Amazon.com.be", "Amazon.com.tr", "Amazon.com.br")


def _amount_columns(frame: pl.DataFrame) -> list[str]:
    names = ["total_amount", "amount", *(c for c, _, _ in LEGACY_AMOUNTS)]
    return [c for c in names if c in frame.columns]


def _decide_decimal_separator(frame: pl.DataFrame, state: dict) -> None:
    """The file's own number convention, decided once per file from its amounts (never from the
    machine's locale): a file whose amounts end in a comma and two digits (`53,44`, `1.234,56`)
    writes decimal commas, one whose amounts end in a dot and two digits writes decimal points;
    a file showing both is rejected. Until an amount decides, a marketplace that writes decimal
    commas (Amazon.de, .fr, .it, .es…) decides; else the amounts are read value by value."""
    if state.get("decimal_comma") is not None:
        return
    texts = pl.concat([frame.select(values.clean_text(pl.col(c)).alias("t")) for c in _amount_columns(frame)])
    commas = texts.filter(pl.col("t").str.contains(_DECIMAL_COMMA))["t"]
    points = texts.filter(pl.col("t").str.contains(_DECIMAL_POINT))["t"]
    if commas.len() and points.len():
        raise FileRejected(
            f"{state['path'].name}: amounts are written both with decimal commas ('{commas[0]}') and with "
            f"decimal points ('{points[0]}'): the file was edited or merged from two exports; "
            "download the settlement report again from Seller Central")
    if commas.len() or points.len():
        state["decimal_comma"] = bool(commas.len())
    elif "marketplace_name" in frame.columns:
        marketplaces = set(frame["marketplace_name"].drop_nulls().str.strip_chars().to_list())
        if marketplaces & set(DECIMAL_COMMA_MARKETPLACES):
            state["decimal_comma"] = True


def _normalise_amounts(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    """Amounts rewritten in the file's convention: `1.234,56` → `1234.56` in a decimal-comma file,
    `1,234.56` → `1234.56` in a decimal-point file (a lone `1,234` is then a thousand, never 1.234)."""
    decimal_comma = state.get("decimal_comma")
    if decimal_comma is None:
        return frame
    text = {c: values.clean_text(pl.col(c)) for c in _amount_columns(frame)}
    # only plain numbers are rewritten: anything else keeps its text, so a quarantined value reads
    # as the file wrote it
    if decimal_comma:
        plain = r"^[-+]?[\d.\s]*\d(,\d+)?$"
        rewrite = {c: t.str.replace_all(r"[.\s]", "").str.replace(",", ".") for c, t in text.items()}
    else:
        plain = r"^[-+]?[\d,\s]*\d(\.\d+)?$"
        rewrite = {c: t.str.replace_all(r"[,\s]", "") for c, t in text.items()}
    return frame.with_columns([pl.when(text[c].str.contains(plain)).then(e).otherwise(text[c]).alias(c)
                               for c, e in rewrite.items()])


def _settlement_non_data(frame: pl.DataFrame, state: dict) -> pl.Expr:
    """Summary rows are not components: remember their values for the component rows."""
    _decide_decimal_separator(frame, state)
    expr = _is_summary(frame)
    mask = frame.select(expr.fill_null(False)).to_series()
    if mask.any():
        _remember_summaries(frame.filter(mask), state)
    return expr


def _remember_summaries(summaries: pl.DataFrame, state: dict) -> None:
    known: dict[str, dict] = state.setdefault("summaries", {})
    cols = ["settlement_id", *SETTLEMENT_LEVEL]
    for row in summaries.select([values.clean_text(pl.col(c)).alias(c) for c in cols]).iter_rows(named=True):
        sid = row.pop("settlement_id")
        if sid is None:
            continue
        previous = known.get(sid)
        if previous is not None and previous != row:
            raise FileRejected(
                f"{state['path'].name}: settlement {sid} has two different summary rows "
                f"(total-amount {previous['total_amount']} and {row['total_amount']}); "
                "download the settlement report again")
        known[sid] = row


def _fill_settlement_level(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    """Carry the summary row's values to the components; reject components without a summary."""
    known: dict[str, dict] = state.get("summaries", {})
    sid = values.clean_text(pl.col("settlement_id"))
    ids = frame.select(sid.unique()).to_series().drop_nulls().to_list()
    orphans = sorted(i for i in ids if i not in known)
    if orphans:
        raise FileRejected(
            f"{state['path'].name}: settlement {', '.join(orphans)} has no summary row (the first data "
            "row of a settlement, carrying its total-amount and currency): the file is incomplete; "
            "download the settlement report again")
    fills = []
    for column in SETTLEMENT_LEVEL:
        lookup = {i: known[i][column] for i in ids}
        from_summary = sid.replace_strict(lookup, default=None, return_dtype=pl.String)
        if column == "total_amount":  # always the settlement's own total
            fills.append(from_summary.alias(column))
        else:
            fills.append(pl.coalesce(from_summary, values.clean_text(pl.col(column))).alias(column))
    return frame.with_columns(fills)


def _unpivot_legacy(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per non-empty amount of each wide legacy row, numbered within the row.

    A row with no amount at all is kept once with an empty amount, so it goes to quarantine
    instead of vanishing. Each amount kind keeps only its own rows before they are put back in file
    order (a row's components in column order): stacking every kind for every row and then sorting
    and filtering that moved nine copies of each row (10M bench legacy file: 280 -> 65 ms)."""
    wide = [c for spec in LEGACY_AMOUNTS for c in spec[:2] if c and c != "transaction_type"]
    wide = [c for c in wide if c in frame.columns]
    amounts = [values.clean_text(pl.col(a)) if a in frame.columns else pl.lit(None, pl.String)
               for a, _, _ in LEGACY_AMOUNTS]
    rows = pl.concat([frame.with_row_index("_row"), _legacy_numbering(frame, amounts)], how="horizontal")
    kept = [c for c in frame.columns if c not in wide and c not in _LEGACY_COMPONENT]
    parts = []
    for k, (amount_col, desc_col, amount_type) in enumerate(LEGACY_AMOUNTS):
        if desc_col is None:
            desc = pl.lit(amount_type)
        elif desc_col in frame.columns:
            desc = values.clean_text(pl.col(desc_col))
        else:
            desc = pl.lit(None, pl.String)
        present = pl.col(f"_present{k}")
        # the first kind also keeps the rows with no amount at all, once, every component empty
        own = rows.filter(present | pl.col("_no_amount")) if k == 0 else rows.filter(present)
        parts.append(own.select(
            "_row", *kept,
            pl.when(present).then(pl.lit(amount_type)).otherwise(None).alias("amount_type"),
            pl.when(present).then(desc.cast(pl.String)).otherwise(None).alias("amount_description"),
            amounts[k].alias("amount"),
            pl.when(present).then(pl.lit(_vendor(amount_col))).otherwise(None).alias("legacy_amount_column"),
            pl.col(f"_number{k}").alias("_number"),
        ))
    order = [c for c in frame.with_columns(*(pl.lit(None).alias(c) for c in _LEGACY_COMPONENT)).columns
             if c not in wide]
    long = pl.concat(parts, how="vertical").sort("_row", maintain_order=True)
    return long.with_columns(
        pl.concat_str([pl.col("_line").cast(pl.String), pl.lit("."), pl.col("_number").cast(pl.String)])
        .alias("line_id")
    ).select(*order, "line_id")


# the columns one legacy amount becomes
_LEGACY_COMPONENT = ("amount_type", "amount_description", "amount", "legacy_amount_column")


def _legacy_numbering(frame: pl.DataFrame, amounts: list[pl.Expr]) -> pl.DataFrame:
    """Per row and amount kind k: `_present{k}` (the amount is there), `_number{k}` (its number among
    the row's amounts: 1 + the amounts before it), and `_no_amount` (the row has none)."""
    flags = frame.select(*(a.is_not_null().alias(f"_present{k}") for k, a in enumerate(amounts)))
    before = pl.lit(0, pl.UInt32)
    numbers = []
    for k in range(len(amounts)):
        numbers.append((before + 1).alias(f"_number{k}"))
        before = before + pl.col(f"_present{k}").cast(pl.UInt32)
    return flags.with_columns(*numbers, (before == 0).alias("_no_amount"))


# what identifies one order item's rows in a legacy file: its quantity row and its components
LEGACY_ITEM_KEY = ("settlement_id", "transaction_type", "order_id", "adjustment_id", "shipment_id")


def _legacy_amount_present(frame: pl.DataFrame) -> pl.Expr:
    amounts = [values.clean_text(pl.col(c)).is_not_null() for c, _, _ in LEGACY_AMOUNTS if c in frame.columns]
    return pl.any_horizontal(amounts) if amounts else pl.lit(False)


def _carry_legacy_quantities(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    """Legacy files give an order item a row of its own carrying `quantity-purchased` and no amount,
    followed by one row per amount component without the quantity. The quantity row is data: its
    quantity is carried to the components that follow it (same settlement, transaction type,
    order, adjustment, shipment and order-item-code, or sku when the code is empty), and the row
    itself is recorded in `state["merged_lines"]` (used, not landed). Keys span batches."""
    clean = {c: values.clean_text(pl.col(c)) for c in (*LEGACY_ITEM_KEY, "order_item_code", "sku",
                                                       "quantity_purchased")}
    item = pl.coalesce(clean["order_item_code"], clean["sku"])
    key = pl.concat_str([*(clean[c].fill_null("") for c in LEGACY_ITEM_KEY), item.fill_null("")],
                        separator="\x1f")
    is_quantity_row = (~_legacy_amount_present(frame) & clean["quantity_purchased"].is_not_null()
                       & clean["transaction_type"].is_not_null() & clean["order_id"].is_not_null()
                       & item.is_not_null())
    frame = frame.with_columns(key.alias("_item"), is_quantity_row.alias("_qty_row"))
    # the quantities of earlier batches, one row per item, joined (not a dict made a Series each batch)
    carried: pl.DataFrame | None = state.get("legacy_quantities")
    if carried is not None:
        frame = frame.join(carried, on="_item", how="left", maintain_order="left")
    from_earlier = pl.col("_carried") if carried is not None else pl.lit(None, pl.String)
    in_batch = (pl.when(pl.col("_qty_row")).then(clean["quantity_purchased"]).otherwise(None)
                .forward_fill().over("_item"))
    frame = frame.with_columns(
        pl.coalesce(clean["quantity_purchased"], in_batch, from_earlier).alias("quantity_purchased"))
    latest = (frame.filter(pl.col("_qty_row")).group_by("_item")
              .agg(pl.col("quantity_purchased").last().alias("_carried")))
    state["legacy_quantities"] = latest if carried is None else (
        pl.concat([carried, latest]).group_by("_item", maintain_order=True).agg(pl.col("_carried").last()))
    merged = frame.filter(pl.col("_qty_row"))["_line"].to_list()
    state.setdefault("merged_lines", set()).update(merged)
    return frame.filter(~pl.col("_qty_row")).drop("_item", "_qty_row", "_carried", strict=False)


def _prepare_settlement(report_layout: str):
    def prepare(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
        if report_layout == "legacy":
            frame = _unpivot_legacy(_carry_legacy_quantities(frame, state))
        else:
            frame = frame.with_columns(pl.col("_line").cast(pl.String).alias("line_id"))
        frame = _normalise_amounts(_fill_settlement_level(frame, state), state)
        return frame.with_columns(pl.lit(report_layout).alias("report_layout"))

    return prepare


SETTLEMENT_V2 = VendorFormat(
    name="amazon_settlement_flat_file_v2",
    label="Amazon settlement report (flat file V2, tab-separated)",
    columns={k: H(v) for k, v in {**SETTLEMENT_COMMON, **SETTLEMENT_V2_ONLY}.items()},
    delimiter="\t",
    quote="",
    derived=("line_id", "report_layout"),
    non_data=_settlement_non_data,
    prepare=_prepare_settlement("v2"),
)

SETTLEMENT_LEGACY = VendorFormat(
    name="amazon_settlement_flat_file_legacy",
    label="Amazon settlement report (legacy flat file, tab-separated)",
    columns={**{k: H(v) for k, v in SETTLEMENT_COMMON.items()},
             **{c: H(_vendor(c)) for c in LEGACY_OPTIONAL}},
    delimiter="\t",
    quote="",
    derived=("amount_type", "amount_description", "amount", "line_id", "report_layout"),
    reads={c: H(_vendor(c)) for c in LEGACY_REQUIRED},
    non_data=_settlement_non_data,
    prepare=_prepare_settlement("legacy"),
)


# The Payments "Date Range Report" (transaction view) is often taken for a settlement report: its
# header is known only to refuse it with a message saying what it is and what to download instead.
# Title lines come first ("Includes Amazon Marketplace, …", "All amounts in USD…", definitions).
DATE_RANGE_REPORT = VendorFormat(
    name="amazon_payments_date_range_report",
    label="Amazon Payments Date Range Report (refused: not a settlement report)",
    columns={},
    delimiter=",",
    reads={"date_time": H("date/time"), "settlement_id_text": H("settlement id"), "type": H("type"),
           "order_id_text": H("order id"), "total": H("total")},
    refusal=(
        "an Amazon Payments 'Date Range Report' (one row per transaction with 'date/time', 'settlement "
        "id', 'type', … 'total'), not a settlement report: it nets each transaction's fees into a few "
        "columns and cannot be reconciled with a payout. In Seller Central open Reports > Payments > All "
        "Statements, pick the settlement period and download its flat file (Flat File V2, or the legacy "
        "flat file): that .txt lands in feed amazon_settlements (`cwh ingest amazon_settlements FILE`)"),
)


def settlement_balance(table: pa.Table) -> pl.DataFrame:
    """Per settlement: its total_amount, the sum of its components and whether they agree exactly.

    Columns: settlement_id, currency, total_amount, components_sum, difference (components_sum −
    total_amount), balanced. A settlement whose lines disagree on the total is never balanced.
    """
    frame = pl.from_arrow(table.select(["settlement_id", "currency", "total_amount", "amount"]))
    assert isinstance(frame, pl.DataFrame)
    out = (
        frame.group_by("settlement_id", maintain_order=True)
        .agg(
            pl.col("currency").first(),
            pl.col("total_amount").first(),
            pl.col("amount").sum().alias("components_sum"),
            (pl.col("total_amount").n_unique() == 1).alias("_one_total"),
            (pl.col("currency").n_unique() == 1).alias("_one_currency"),
        )
        .with_columns((pl.col("components_sum") - pl.col("total_amount")).alias("difference"))
        .with_columns(
            ((pl.col("difference") == 0) & pl.col("_one_total") & pl.col("_one_currency"))
            .fill_null(False).alias("balanced"))
    )
    return out.select("settlement_id", "currency", "total_amount", "components_sum", "difference",
                      "balanced").sort("settlement_id")


# --------------------------------------------------------------------------------------------
# All Orders report

ORDER_COLUMNS = (
    "amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date", "order-status",
    "fulfillment-channel", "sales-channel", "order-channel", "ship-service-level", "product-name",
    "sku", "asin", "item-status", "quantity", "currency", "item-price", "item-tax", "shipping-price",
    "shipping-tax", "gift-wrap-price", "gift-wrap-tax", "item-promotion-discount",
    "ship-promotion-discount", "ship-state", "ship-country", "promotion-ids", "is-business-order",
    "purchase-order-number", "price-designation",
)
# personal or personal-ish: known, never read (variants of the report add buyer/address columns)
UNREAD_ORDER_HEADERS = (
    "ship-city", "ship-postal-code", "buyer-email", "buyer-name", "buyer-phone-number",
    "recipient-name", "ship-address-1", "ship-address-2", "ship-address-3", "ship-phone-number",
    "bill-address-1", "bill-address-2", "bill-address-3", "bill-city", "bill-state",
    "bill-postal-code", "bill-country",
)

def _number_sku_occurrences(frame: pl.DataFrame, state: dict) -> pl.DataFrame:
    """`sku_occurrence`: 1 for the first row of an (order, sku) in the file, 2 for the second…

    One order can list a sku on two rows (two items or shipments, each paid in the settlement), so
    (amazon-order-id, sku) is not a row key; with the occurrence it is. Amazon writes an order's
    items in the same order in every export, so a re-export numbers them the same way (and staging
    replaces a re-exported order whole). Counts carry across batches."""
    order, sku = values.clean_text(pl.col("amazon_order_id")), values.clean_text(pl.col("sku"))
    key = pl.concat_str([order.fill_null(""), sku.fill_null("")], separator="\x1f")
    frame = frame.with_columns(key.alias("_order_sku"))
    # the counts so far, one row per (order, sku), joined: a dict of them grew with the file, was turned into a
    # Series every batch and updated row by row in Python (10M bench All Orders export of 197k rows: landing
    # 1,290 -> 1,170 ms)
    seen: pl.DataFrame | None = state.get("sku_occurrences")
    if seen is not None:
        frame = frame.join(seen, on="_order_sku", how="left", maintain_order="left")
    before = pl.col("_seen").fill_null(0) if seen is not None else pl.lit(0, pl.Int64)
    frame = frame.with_columns(
        (before + pl.int_range(1, pl.len() + 1).over("_order_sku")).alias("_occurrence"))
    counts = frame.group_by("_order_sku").agg(pl.col("_occurrence").max().alias("_seen"))
    state["sku_occurrences"] = counts if seen is None else (
        pl.concat([seen, counts]).group_by("_order_sku").agg(pl.col("_seen").max()))
    return frame.with_columns(pl.col("_occurrence").cast(pl.String).alias("sku_occurrence")).drop(
        "_order_sku", "_occurrence", "_seen", strict=False)


ALL_ORDERS = VendorFormat(
    name="amazon_all_orders_tsv",
    label="Amazon All Orders report (tab-separated)",
    columns={h.replace("-", "_"): H(h) for h in ORDER_COLUMNS},
    delimiter="\t",
    quote="",
    derived=("sku_occurrence",),
    prepare=_number_sku_occurrences,
    known_headers=UNREAD_ORDER_HEADERS,
)

# --------------------------------------------------------------------------------------------
# FBA customer returns

RETURN_COLUMNS = (
    "return-date", "order-id", "sku", "asin", "fnsku", "product-name", "quantity",
    "fulfillment-center-id", "detailed-disposition", "reason", "status", "license-plate-number",
)

FBA_RETURNS = VendorFormat(
    name="amazon_fba_customer_returns_tsv",
    label="Amazon FBA customer returns report (tab-separated)",
    columns={h.replace("-", "_"): H(h) for h in RETURN_COLUMNS},
    delimiter="\t",
    quote="",
    known_headers=("customer-comments",),  # free text that may hold personal data: not read
)

FORMATS = {
    "amazon_settlements": [SETTLEMENT_V2, SETTLEMENT_LEGACY, DATE_RANGE_REPORT],
    "amazon_orders": [ALL_ORDERS],
    "amazon_returns": [FBA_RETURNS],
}


def parse_settlements(path: Path | str) -> pa.Table:
    return parse_table("amazon_settlements", path)


def parse_orders(path: Path | str) -> pa.Table:
    return parse_table("amazon_orders", path)


def parse_returns(path: Path | str) -> pa.Table:
    return parse_table("amazon_returns", path)
