"""The Amazon dialects real sellers download, written into the messy demo (`cwh demo --messy`).

The simulation writes every Amazon file in one tidy shape; here, once the files are closed, some of
them are rewritten the way Seller Central really delivers them. Each rewrite keeps the money, the
units and the dates of every event, so the truth the simulation booked still holds (the P&L truth
test checks it through revenue, fees and COGS = units × cost); only the bookkeeping of the files
(data rows per file, settlement component counts, the lines of planted defects) follows along:

- **repeated items**: an Amazon.com order item of 2 units becomes two rows of 1 unit with the same
  (amazon-order-id, sku), as when the units ship apart, in the All Orders report and as two order
  items in the settlement (flat file V2);
- **legacy quantity rows**: in the Amazon.ca legacy settlements each order item starts with a row
  carrying only `quantity-purchased`, its component rows carry no quantity;
- **European amounts**: one legacy settlement writes decimal commas and dot thousands
  (`1.234,56`), as Amazon's European files do (its dates are already dd.mm.yyyy);
- **quoted CSV in Windows-1252**: the first month's All Orders report is saved as Seller
  Central's .csv download: comma-separated, every field quoted, CRLF, cp1252, and product names
  written with an en dash and a trade mark sign (`Stoneware Mug™ – Ocean`).
"""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from . import writers as W

CENT = Decimal("0.01")
ORDER = {h: i for i, h in enumerate(W.AMAZON_ORDERS)}
V2 = {h: i for i, h in enumerate(W.SETTLEMENT_V2)}
# legacy amount columns (both legacy headers name them the same way)
LEGACY_AMOUNTS = ("total-amount", "shipment-fee-amount", "order-fee-amount", "price-amount",
                  "item-related-fee-amount", "misc-fee-amount", "other-fee-amount", "promotion-amount",
                  "direct-payment-amount", "other-amount")
LEGACY_ITEM_COLUMNS = ("transaction-type", "order-id", "adjustment-id", "shipment-id", "order-item-code")
# what an item's own quantity row leaves empty: every amount and what describes it
LEGACY_COMPONENT_COLUMNS = (*LEGACY_AMOUNTS, "shipment-fee-type", "order-fee-type", "price-type",
                            "item-related-fee-type", "other-fee-reason-description", "promotion-id",
                            "promotion-type", "direct-payment-type")


def write_messy_dialects(sim) -> None:
    """Rewrite the simulation's Amazon files into the real dialects (see the module docstring)."""
    split = _split_repeated_items(sim)
    _split_settled_items(sim, split)
    legacy = [s for s in _settlement_sinks(sim) if _read(s.path)[0] != W.SETTLEMENT_V2]
    for sink in legacy:
        _add_legacy_quantity_rows(sink.path)
    if legacy:
        _european_amounts(legacy[min(1, len(legacy) - 1)].path)
    _quoted_cp1252_orders(sim)


# ---- files -------------------------------------------------------------------------------------

def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle, delimiter="\t"))


def _write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter="\t", lineterminator="\n").writerows(rows)


def _settlement_sinks(sim) -> list:
    return sorted((s for s in sim.reg.sinks if s.feed == "amazon_settlements"), key=lambda s: s.path.name)


def _halves(amount: str) -> tuple[str, str]:
    """An amount split in two parts that add up to it exactly (the first rounded half up)."""
    whole = Decimal(amount)
    first = (whole / 2).quantize(CENT, rounding=ROUND_HALF_UP)
    return f"{first:.2f}", f"{whole - first:.2f}"


# ---- repeated (order, sku) items ---------------------------------------------------------------

def _split_repeated_items(sim) -> set[tuple[str, str]]:
    """Shipped Amazon.com items of 2 units → two rows of 1 unit (same order, same sku). Shipping
    stays on the first row; prices, tax and promotions are split in exact halves."""
    split: set[tuple[str, str]] = set()
    for sink in (s for s in sim.reg.sinks if s.feed == "amazon_orders"):
        rows = _read(sink.path)
        out, new_line = [rows[0]], {}
        for number, row in enumerate(rows[1:], start=2):
            new_line[number] = len(out) + 1
            order_id, sku = row[ORDER["amazon-order-id"]], row[ORDER["sku"]]
            if not (order_id and row[ORDER["sales-channel"]] == "Amazon.com"
                    and row[ORDER["order-status"]] == "Shipped" and row[ORDER["quantity"]] == "2"):
                out.append(row)
                continue
            first, second = list(row), list(row)
            first[ORDER["quantity"]] = second[ORDER["quantity"]] = "1"
            for column in ("item-price", "item-tax", "item-promotion-discount"):
                first[ORDER[column]], second[ORDER[column]] = _halves(row[ORDER[column]])
            for column in ("shipping-price", "shipping-tax", "ship-promotion-discount"):
                second[ORDER[column]] = "0.00"
            out += [first, second]
            split.add((order_id, sku))
        _write(sink.path, out)
        sink.rows += len(out) - len(rows)
        _move_defect_lines(sim, "amazon_orders", sink.path.name, new_line)
    return split


def _split_settled_items(sim, split: set[tuple[str, str]]) -> None:
    """The same items in the V2 settlements: two order items of 1 unit each (the second with its
    own order-item-code), each with its share of every component; shipping stays on the first."""
    counts: dict[str, int] = {}
    for sink in _settlement_sinks(sim):
        rows = _read(sink.path)
        if rows[0] != W.SETTLEMENT_V2:
            continue
        out, start = rows[:2], 2  # header, summary
        while start < len(rows):
            key = _split_key(rows[start], split)
            end = start + 1
            while key and end < len(rows) and _split_key(rows[end], split) == key:
                end += 1
            out += _two_items(rows[start:end]) if key else rows[start:end]
            start = end
        _write(sink.path, out)
        sink.rows += len(out) - len(rows)
        counts[rows[1][V2["settlement-id"]]] = len(out) - 2
    for stream in sim.settle.values():
        stream.summaries = [(*s[:7], counts.get(s[0], s[7])) for s in stream.summaries]


def _split_key(row: list[str], split: set[tuple[str, str]]) -> tuple[str, str] | None:
    key = (row[V2["order-id"]], row[V2["sku"]])
    return key if row[V2["transaction-type"]] == "Order" and key in split else None


def _two_items(components: list[list[str]]) -> list[list[str]]:
    first_item, second_item = [], []
    for row in components:
        first, second = list(row), list(row)
        first[V2["quantity-purchased"]] = second[V2["quantity-purchased"]] = "1"
        second[V2["order-item-code"]] = str(int(row[V2["order-item-code"]]) + 1)
        if "Shipping" not in row[V2["amount-description"]]:
            first[V2["amount"]], second[V2["amount"]] = _halves(row[V2["amount"]])
            if Decimal(second[V2["amount"]]):
                second_item.append(second)
        first_item.append(first)
    return first_item + second_item


def _move_defect_lines(sim, feed: str, file: str, new_line: dict[int, int]) -> None:
    sim.defects = [(f, name, new_line.get(line, line) if (f, name) == (feed, file) else line, *rest)
                   for f, name, line, *rest in sim.defects]


# ---- legacy settlements ------------------------------------------------------------------------

def _add_legacy_quantity_rows(path: Path) -> None:
    """Each order item's components follow a row of their own that carries only its quantity."""
    rows = _read(path)
    col = {h: i for i, h in enumerate(rows[0])}
    out, previous = rows[:2], None
    for row in rows[2:]:
        item = tuple(row[col[c]] for c in LEGACY_ITEM_COLUMNS)
        quantity = row[col["quantity-purchased"]]
        if not (quantity and row[col["order-id"]] and row[col["order-item-code"]]
                and row[col["transaction-type"]] in ("Order", "Refund")):
            out.append(row)
            previous = None
            continue
        if item != previous:
            quantity_row = list(row)
            for column in LEGACY_COMPONENT_COLUMNS:
                if column in col:
                    quantity_row[col[column]] = ""
            out.append(quantity_row)
            previous = item
        component = list(row)
        component[col["quantity-purchased"]] = ""
        out.append(component)
    _write(path, out)


def _european_amounts(path: Path) -> None:
    """Decimal commas and dot thousands in every amount: -8.77 → -8,77, 1234.56 → 1.234,56."""
    rows = _read(path)
    col = {h: i for i, h in enumerate(rows[0])}
    for row in rows[1:]:
        for column in LEGACY_AMOUNTS:
            if column in col and row[col[column]]:
                row[col[column]] = f"{Decimal(row[col[column]]):,.2f}".translate(str.maketrans(",.", ".,"))
    _write(path, rows)


# ---- quoted CSV in Windows-1252 ----------------------------------------------------------------

def _quoted_cp1252_orders(sim) -> None:
    """The first month's All Orders report as Seller Central's .csv download."""
    sinks = sorted((s for s in sim.reg.sinks if s.feed == "amazon_orders"), key=lambda s: s.path.name)
    if not sinks:
        return
    sink = sinks[0]
    rows = _read(sink.path)
    for row in rows[1:]:
        row[ORDER["product-name"]] = row[ORDER["product-name"]].replace(" - ", "\u2122 \u2013 ", 1)
    target = sink.path.with_suffix(".csv")
    with target.open("w", newline="", encoding="cp1252") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    sink.path.unlink()
    old_name, sink.path = sink.path.name, target
    sim.defects = [(f, target.name if (f, name) == ("amazon_orders", old_name) else name, *rest)
                   for f, name, *rest in sim.defects]
