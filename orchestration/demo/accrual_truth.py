"""Truth of the accrued Amazon fees (docs/metrics.md "Accrued fees"), computed from the simulated
events, never from the files.

An Amazon order item sold but not in any written settlement has its marketplace and fulfilment fees
accrued on its order day: the marketplace fees as a share of its principal, the fulfilment fees per
unit, at the rates of the same SKU and marketplace's settled items posted in the 90 days through the
marketplace's settlement coverage end (the last settled day); a SKU without settled items there takes
the marketplace's rate over all its SKUs; a marketplace without any takes none. Cents are exact
integers, rounded half away from zero. The accruals are booked into the sim's P&L truth (so every
truth built on it includes them); `fees_unsettled.csv` lists each unsettled item with its accrual
and the real fees the sim drew for it, which a later settlement would bring.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Protocol


class Ledger(Protocol):
    """What the accruals need of the simulation (generator._Sim), named here so neither module imports
    the other's internals: the last day settlements cover, its FX conversion and its P&L truth."""

    settled_until: date

    def conv(self, amount: Decimal, cur: str, d: date) -> Decimal: ...

    def add(self, ch: str, d: date, line: int, amount: Decimal) -> None: ...

RATE_WINDOW_DAYS = 90
HEADER = ["channel", "order_id", "sku", "order_date", "posted_date", "currency", "units", "principal",
          "accrued_marketplace_fees", "accrued_fulfillment_costs", "actual_marketplace_fees",
          "actual_fulfillment_costs", "accrued_marketplace_fees_usd", "accrued_fulfillment_costs_usd"]


def _halves(principal: Decimal) -> list[tuple[Decimal, int]]:
    """(principal, units) of the two one-unit rows a split item is written as."""
    first = (principal / 2).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return [(first, 1), (principal - first, 1)]


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


def _scaled(n: int, numerator: int, denominator: int) -> int:
    """n × numerator ÷ denominator rounded half away from zero, exactly (n, numerator >= 0)."""
    return (2 * n * numerator + denominator) // (2 * denominator)


class AccrualTruth:
    def __init__(self, sim: Ledger, marketplace_line: int, fulfillment_line: int):
        self.sim = sim
        self.lines = (marketplace_line, fulfillment_line)  # the sim's P&L line indexes
        # (channel, sku) -> [principal cents, marketplace fee cents, units, fulfilment fee cents]
        self.history: dict[tuple[str, str], list[int]] = {}
        self.items: list[dict] = []

    def settled(self, ch: str, sku: str, posted: date, qty: int, principal: Decimal, mkt: Decimal,
                ful: Decimal) -> None:
        """A sold item written into a settlement: its rates count if posted within the window."""
        if posted < self.sim.settled_until - timedelta(days=RATE_WINDOW_DAYS):
            return
        h = self.history.setdefault((ch, sku), [0, 0, 0, 0])
        h[0] += _cents(principal)
        h[1] += _cents(mkt)
        h[2] += qty
        h[3] += _cents(ful)

    def unsettled(self, ch: str, oid: str, sku: str, d: date, posted: date, cur: str, qty: int,
                  principal: Decimal, mkt: Decimal, ful: Decimal, *, split: bool = False) -> None:
        """`split`: the messy files write the item as two rows of one unit (dialects_amazon.py, the
        principal in halves, the first rounded half up): the warehouse accrues each row on its own."""
        self.items.append(dict(channel=ch, order_id=oid, sku=sku, order_date=d, posted_date=posted, currency=cur,
                               units=qty, principal=principal, actual_marketplace_fees=mkt,
                               actual_fulfillment_costs=ful, split=split))

    def _rates(self, ch: str, sku: str) -> list[int] | None:
        own = self.history.get((ch, sku))
        if own and own[0] and own[2]:
            return own
        sums = [0, 0, 0, 0]
        for (channel, _), h in self.history.items():
            if channel == ch:
                sums = [a + b for a, b in zip(sums, h, strict=True)]
        return sums if sums[0] and sums[2] else None

    def book(self) -> None:
        """Accrue every unsettled item into the sim's P&L truth, on its order day."""
        for item in self.items:
            rates = self._rates(item["channel"], item["sku"])
            mkt = ful = Decimal("0.00")
            if rates:
                rows = _halves(item["principal"]) if item["split"] else [(item["principal"], item["units"])]
                mkt = Decimal(sum(_scaled(_cents(principal), rates[1], rates[0]) for principal, _ in rows)) / 100
                ful = Decimal(sum(_scaled(units, rates[3], rates[2]) for _, units in rows)) / 100
            d, cur, ch = item["order_date"], item["currency"], item["channel"]
            item.update(accrued_marketplace_fees=mkt, accrued_fulfillment_costs=ful,
                        accrued_marketplace_fees_usd=self.sim.conv(mkt, cur, d),
                        accrued_fulfillment_costs_usd=self.sim.conv(ful, cur, d))
            self.sim.add(ch, d, self.lines[0], item["accrued_marketplace_fees_usd"])
            self.sim.add(ch, d, self.lines[1], item["accrued_fulfillment_costs_usd"])

    def write(self, tdir: Path) -> None:
        with open(tdir / "fees_unsettled.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(HEADER)
            for item in sorted(self.items, key=lambda i: (i["channel"], i["order_id"], i["sku"])):
                w.writerow([item[c] if not isinstance(item[c], Decimal) else f"{item[c]:.2f}" for c in HEADER])


README = """
- `fees_unsettled.csv` — every Amazon order item sold but in no written settlement (its posting day
  is on or after the settled-through day): units, principal, the fees accrued for it (docs/metrics.md
  "Accrued fees": marketplace fees as a share of principal, fulfilment per unit, at the rates of the
  SKU's settled items posted in the 90 days before the settled-through day, else the marketplace's),
  in its currency and in USD as booked on its order day (pnl_daily.csv includes them), and the real
  fees the sim drew, which its settlement will bring on `posted_date`.
"""
