"""Inventory ground truth of the demo: stockouts, lost sales, dead stock, mismatches, oversells.

The generator calls these hooks as it simulates (a unit is sold on a channel, a replenishment lot
arrives, a stock snapshot is written); the truth is computed from those events and the simulated
stock, never by reading the landing files back, following docs/metrics.md "Inventory health".

It also plants the four inventory situations of the demo (windows of 40 days or more; dead stock
in every window, though it only counts as dead once 90 days of sales history exist):

- **stockout** (`Amazon FBA US`): the day `days - 30`, the SKU that sold most on Amazon US in the
  28 days before is found damaged at the fulfilment centre (on hand → 0) and its replenishment lot
  arrives only `STOCKOUT_DAYS` later. Amazon sells nothing it does not hold: the SKU's Amazon US
  orders of those days are lost (the generator draws them and drops them, so demand continued).
- **dead stock** (`Amazon FBA CA`): the Amazon.ca listing of `DEAD_SKU` is suppressed for the
  whole window, so its units at FBA CA never sell (the SKU sells on every other channel).
- **persistent mismatch with oversells** (`3PL - ShipBob Reno` vs its Shopify mirror): the day
  `days - 15`, the 3PL writes off every unit of the SKU it holds most of (a damaged lot) and its
  replenishment arrives `MISMATCH_DAYS` later; the write-off never syncs to Shopify, whose count
  of the SKU stays at its last synced value minus its own web sales. Shopify and wholesale keep
  accepting orders of a SKU the 3PL no longer has: oversells.
- **tight supply** (`3PL - ShipBob Reno`): on the last day, a cycle count leaves the 3PL SKU with
  the highest demand (other than the mismatch SKU) with about 3 days of its demand, its next lot
  still 10 days out (the replenishment lead time is 14 days).

Truth files (`home/demo/truth/`):
- `inventory_expected.csv` — the planted situations: situation, location, sku, metric, value.
- `inventory_stockouts.csv` — every stockout day (sellable 0 on an active SKU-day) of a stock
  location with, per channel the location serves, the lost-sales estimate: location, channel, sku,
  date, episode_start, velocity_units (pre-stockout units ÷ days), units_sold, lost_units, lost_sales_value.
- `inventory_oversells.csv` — every order line accepted while the location's sellable stock was 0
  at the previous day's close and still 0 at that day's close.
- `inventory_mismatch.csv` — every day on which Shopify's sellable count differs from the 3PL's.
- `inventory_last_day.csv` — per stock location and SKU on the last day: stock, value, units sold
  in the trailing 28 / 90 days, history days, units received over the window, dead stock flag,
  open wholesale order units.
- `inventory_channel_units.csv` — per channel and SKU: units and net sales of the trailing 28 days
  to the last day.
- `inventory_contribution.csv` — per channel and SKU: the allocation's contribution per unit over
  the 90 days to the last day, with its parts.
- `inventory_daily.csv` — per stock location × SKU × day: units sold and received, sell-through,
  stock value and its 28-day average, COGS and turnover of the trailing 28 days.

Hooks consume no randomness; the suppressed Amazon items are drawn exactly like sold ones.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from .catalog import SKUS

LOCATIONS = ("3PL - ShipBob Reno", "Amazon FBA US", "Amazon FBA CA")  # the sim's stock locations
MIRROR = "Shopify - Main warehouse"  # Shopify's view of the 3PL's stock (not a stock location)
# channel -> location it ships from: the sim's own stock flows (seeds/inventory_locations.csv maps them back)
SERVES = {"shopify_web": 0, "wholesale": 0, "amazon_us": 1, "amazon_ca": 2}
WINDOW = 28  # trailing days of demand velocity
DEAD_DAYS = 90  # no sale in this many days with stock on hand = dead stock
STOCKOUT_DAYS = 7
MISMATCH_DAYS = 6
DEAD_SKU = 29  # FH-LMP-TERRA: its Amazon.ca listing is suppressed
LEAD_TIME_DAYS = 14  # the default of dbt_project/seeds/replenishment.csv
SNAPSHOT_TIME = {"3PL - ShipBob Reno": "23:40:00", MIRROR: "23:55:00", "Amazon FBA US": "22:10:00",
                 "Amazon FBA CA": "22:25:00"}  # when each system takes its daily snapshot (UTC)
D0 = Decimal("0.00")
ALLOCATION_DAYS = 90  # trailing days of an allocation's contribution per unit
CONTRIBUTION_HEADER = ["channel", "sku", "units_90d", "net_sales_90d", "cogs_90d", "channel_units_90d",
                       "channel_fees_90d", "contribution_per_unit"]


def cents(value: Fraction) -> Decimal:
    """round(value, 2) half away from zero, exactly: value ≥ 0 is a ratio of integers."""
    num, den = value.numerator * 100, value.denominator
    return Decimal((2 * num + den) // (2 * den)) / 100


class InventoryTruth:
    def __init__(self, sim):
        self.sim = sim
        self.start, self.days = sim.start, sim.days
        enabled = sim.days >= 40
        self.i_stockout = sim.days - 30 if enabled else None
        self.i_mismatch = sim.days - 15 if enabled else None
        self.i_tight = sim.days - 1 if enabled else None
        self.stockout_sku: int | None = None
        self.mismatch_sku: int | None = None
        self.tight_sku: int | None = None
        self.stale: list[int] | None = None  # Shopify's [on_hand, sellable] of the mismatch SKU
        # (channel, si, ordinal) -> [units, net sales USD]
        self.sales: dict[tuple[str, int, int], list] = {}
        # (location name, si) -> {ordinal: (on_hand, sellable, inbound)}
        self.stock: dict[tuple[str, int], dict[int, tuple[int, int, int]]] = defaultdict(dict)
        self.received: dict[tuple[int, int], int] = defaultdict(int)
        self.received_on: dict[tuple[int, int, int], int] = defaultdict(int)  # (loc, si, ordinal) -> units
        self.open_orders: dict[int, int] = defaultdict(int)  # si -> wholesale units not shipped by the end
        self.candidates: list[tuple] = []  # (loc, si, channel, order_id, units, ordinal)
        self.oversells: list[tuple] = []

    # ---- hooks ---------------------------------------------------------------------------------
    def _i(self, d: date) -> int:
        return (d - self.start).days

    def unavailable(self, channel: str, si: int, d: date) -> bool:
        """True when the channel cannot sell the SKU that day (its stock or listing is gone)."""
        if channel == "amazon_ca" and si == DEAD_SKU:
            return True
        return (channel == "amazon_us" and si == self.stockout_sku
                and self.i_stockout <= self._i(d) < self.i_stockout + STOCKOUT_DAYS)

    def sale(self, channel: str, d: date, si: int, units: int, net: Decimal, order_id: str) -> None:
        """A non-cancelled order line, booked on its order date (the warehouse's units sold)."""
        key = (channel, si, d.toordinal())
        row = self.sales.get(key)
        if row is None:
            row = self.sales[key] = [0, D0]
        row[0] += units
        row[1] += net
        loc = SERVES.get(channel)
        if loc is not None:
            prev = self.stock[(LOCATIONS[loc], si)].get(d.toordinal() - 1)
            if prev is not None and prev[1] == 0:
                self.candidates.append((loc, si, channel, order_id, units, d.toordinal()))

    def open_order(self, si: int, units: int) -> None:
        self.open_orders[si] += units

    def receive(self, loc: int, si: int, units: int) -> None:
        self.received[(loc, si)] += units
        self.received_on[(loc, si, self.sim.ordinal)] += units

    def snapshot_at(self, location: str, d: date) -> str:
        return f"{d.isoformat()}T{SNAPSHOT_TIME[location]}Z"

    def _units(self, channels, si: int, first: int, last: int) -> int:
        return sum(self.sales.get((ch, si, o), (0,))[0] for ch in channels for o in range(first, last + 1))

    def before_snapshot(self, i: int) -> None:
        """Plant the tight-supply SKU before the last day's snapshot."""
        if i != self.i_tight:
            return
        o = (self.start + timedelta(days=i)).toordinal()
        served = ("shopify_web", "wholesale")
        skip = {self.mismatch_sku}
        u28 = {si: self._units(served, si, o - WINDOW + 1, o) for si in range(len(SKUS)) if si not in skip}
        t = max(u28, key=lambda si: (u28[si], -si))
        self.tight_sku = t
        history = min(WINDOW, i + 1)
        target = max(1, 3 * u28[t] // history)
        st = self.sim.inv[0][t]
        st[0] = target + self.sim.sold[0][t]  # after today's shipments: `target` units left
        if st[1] == 0:
            st[1] = st[4]
        st[2] = i + 10

    def shopify_view(self, si: int, i: int, on_hand: int, sellable: int) -> tuple[int, int]:
        """Shopify's count of the mismatch SKU while the 3PL's write-off has not synced."""
        if si != self.mismatch_sku or not (self.i_mismatch <= i < self.i_mismatch + MISMATCH_DAYS):
            return on_hand, sellable
        o = (self.start + timedelta(days=i)).toordinal()
        sold = self.sales.get(("shopify_web", si, o), (0,))[0]
        self.stale = [max(0, self.stale[0] - sold), max(0, self.stale[1] - sold)]
        return self.stale[0], self.stale[1]

    def record(self, location: str, si: int, d: date, on_hand: int, sellable: int, inbound: int) -> None:
        self.stock[(location, si)][d.toordinal()] = (on_hand, sellable, inbound)

    def after_snapshot(self, d: date, i: int) -> None:
        """Confirm the day's oversells; plant the stockout and the mismatch for tomorrow."""
        o = d.toordinal()
        keep = []
        for cand in self.candidates:
            loc, si, _ch, _oid, _units, day = cand
            if day == o:
                if self.stock[(LOCATIONS[loc], si)][o][1] == 0:
                    self.oversells.append(cand)
            elif day > o:
                keep.append(cand)
        self.candidates = keep
        if i + 1 == self.i_stockout:
            u28 = {si: self._units(("amazon_us",), si, o - WINDOW + 1, o)
                   for si in range(len(SKUS)) if si != DEAD_SKU}
            a = max(u28, key=lambda si: (u28[si], -si))
            self.stockout_sku = a
            self._write_off(1, a, self.i_stockout + STOCKOUT_DAYS)
        if i + 1 == self.i_mismatch:
            # the SKU the 3PL holds most of (not one of the two SKUs Shopify always counts a bit off)
            held = {si: self.stock[(LOCATIONS[0], si)][o][0] for si in range(len(SKUS)) if si not in (5, 17)}
            b = max(held, key=lambda si: (held[si], -si))
            self.mismatch_sku = b
            shown = self.stock[(MIRROR, b)][o]
            self.stale = [shown[0], shown[1]]
            self._write_off(0, b, self.i_mismatch + MISMATCH_DAYS)

    def _write_off(self, loc: int, si: int, arrival: int) -> None:
        st = self.sim.inv[loc][si]
        st[0] = 0
        if st[1] == 0:
            st[1] = st[4]
        st[2] = arrival

    # ---- truth -----------------------------------------------------------------------------------
    def _history_days(self, o: int) -> int:
        """Days of sales data up to and including ordinal `o` (data start on the window's first day)."""
        return max(0, min(WINDOW, o - self.start.toordinal() + 1))

    def _net(self, channel: str, si: int, first: int, last: int) -> Decimal:
        return sum((self.sales.get((channel, si, o), (0, D0))[1] for o in range(first, last + 1)), D0)

    def _channels(self, loc: int) -> list[str]:
        return [ch for ch, lo in SERVES.items() if lo == loc]

    def _active(self, loc: int, si: int, o: int) -> bool:
        on_hand, _sellable, inbound = self.stock[(LOCATIONS[loc], si)][o]
        return on_hand > 0 or inbound > 0 or self._units(self._channels(loc), si, o - WINDOW + 1, o) > 0

    def stockout_rows(self) -> list[list]:
        rows = []
        self.lost_exact: dict[tuple[str, str, str, str], Fraction] = {}  # (location, channel, sku, day)
        for loc, name in enumerate(LOCATIONS):
            for si, s in enumerate(SKUS):
                days = self.stock[(name, si)]
                episode = None
                for o in sorted(days):
                    if days[o][1] != 0 or not self._active(loc, si, o):
                        episode = None
                        continue
                    if episode is None:
                        episode = o
                    for ch in self._channels(loc):
                        hd = self._history_days(episode - 1)
                        units_pre = self._units((ch,), si, episode - WINDOW, episode - 1) if hd else 0
                        velocity = Fraction(units_pre, hd) if hd else Fraction(0)
                        sold = self.sales.get((ch, si, o), (0,))[0]
                        lost = max(Fraction(0), velocity - sold)
                        self.lost_exact[(name, ch, s.sku, date.fromordinal(o).isoformat())] = lost
                        value = D0
                        if lost and units_pre:
                            value = cents(lost * Fraction(self._net(ch, si, episode - WINDOW, episode - 1))
                                          / units_pre)
                        rows.append([name, ch, s.sku, date.fromordinal(o).isoformat(),
                                     date.fromordinal(episode).isoformat(), f"{float(velocity):.6f}", sold,
                                     f"{float(lost):.6f}", f"{value:.2f}"])
        return rows

    def contribution_rows(self) -> list[list]:
        """Per channel and SKU sold in the 90 days ending on the last day: the allocation's
        contribution per unit = (net sales − COGS at the order date's cost) ÷ units − the channel's
        fulfilment, payment and marketplace fees of those days (truth P&L) ÷ its units (every SKU)."""
        end = self.sim.end.toordinal()
        first = end - ALLOCATION_DAYS + 1
        days = [date.fromordinal(o) for o in range(first, end + 1)]
        rows = []
        for ch in sorted({k[0] for k in self.sales}):
            fees = sum((sum(self.sim.pnl[(ch, d)][i] for i in (5, 6, 7)) for d in days if (ch, d) in self.sim.pnl), D0)
            ch_units = sum(u for (c, _si, o), (u, _n) in self.sales.items() if c == ch and o >= first)
            for si, s in enumerate(SKUS):
                units = self._units((ch,), si, first, end)
                if not units:
                    continue
                net = self._net(ch, si, first, end)
                cogs = sum((self.sales.get((ch, si, o), (0,))[0] * self.sim.unit_cost(si, date.fromordinal(o))
                            for o in range(first, end + 1)), D0)
                cpu = (Fraction(net - cogs) / units) - (Fraction(fees) / ch_units)
                rows.append([ch, s.sku, units, f"{net:.2f}", f"{cogs:.2f}", ch_units, f"{fees:.2f}", repr(float(cpu))])
        return rows

    def daily_rows(self) -> list[list]:
        """Per stock location, SKU and day: units sold that day on the location's channels, units
        received in the trailing 28 days (the lots that arrived), sell-through, stock value at the
        day's unit cost, its 28-day average (cents, half away), COGS of the 28 days' sales at their
        order dates' cost and the turnover (COGS ÷ the unrounded average stock value)."""
        rows = []
        first = self.start.toordinal()
        for loc, name in enumerate(LOCATIONS):
            chans = self._channels(loc)
            for si, s in enumerate(SKUS):
                days = self.stock[(name, si)]
                for o in sorted(days):
                    window = range(max(first, o - WINDOW + 1), o + 1)
                    sold_28 = self._units(chans, si, o - WINDOW + 1, o)
                    received = sum(self.received_on.get((loc, si, x), 0) for x in window)
                    values = [days[x][0] * self.sim.unit_cost(si, date.fromordinal(x)) for x in window if x in days]
                    total = sum(values, D0)
                    cogs = sum((self.sales.get((ch, si, x), (0,))[0] * self.sim.unit_cost(si, date.fromordinal(x))
                                for ch in chans for x in window), D0)
                    sold = sum(self.sales.get((ch, si, o), (0,))[0] for ch in chans)
                    rows.append([name, s.sku, date.fromordinal(o).isoformat(), days[o][0],
                                 self.received_on.get((loc, si, o), 0),
                                 f"{sold * self.sim.unit_cost(si, date.fromordinal(o)):.2f}", sold, received,
                                 repr(float(Fraction(sold_28, received))) if received else "",
                                 f"{values[-1]:.2f}", f"{cents(Fraction(total) / len(values)):.2f}", f"{cogs:.2f}",
                                 repr(float(Fraction(cogs) * len(values) / Fraction(total))) if total else ""])
        return rows

    def write(self, tdir: Path) -> None:
        end = self.sim.end.toordinal()
        stockouts = self.stockout_rows()
        _write(tdir / "inventory_stockouts.csv",
               ["location", "channel", "sku", "date", "episode_start", "velocity_units", "units_sold",
                "lost_units", "lost_sales_value"], stockouts)
        _write(tdir / "inventory_oversells.csv", ["location", "channel", "order_id", "sku", "date", "units"],
               [[LOCATIONS[loc], ch, oid, SKUS[si].sku, date.fromordinal(o).isoformat(), units]
                for loc, si, ch, oid, units, o in self.oversells])
        mismatch = []
        for si, s in enumerate(SKUS):
            mirror, ref = self.stock[(MIRROR, si)], self.stock[(LOCATIONS[0], si)]
            for o in sorted(mirror):
                if mirror[o][1] != ref[o][1]:
                    mismatch.append([s.sku, date.fromordinal(o).isoformat(), mirror[o][1], ref[o][1]])
        _write(tdir / "inventory_mismatch.csv", ["sku", "date", "shopify_sellable", "threepl_sellable"], mismatch)
        last = []
        for loc, name in enumerate(LOCATIONS):
            chans = self._channels(loc)
            for si, s in enumerate(SKUS):
                on_hand, sellable, inbound = self.stock[(name, si)][end]
                u90 = self._units(chans, si, end - DEAD_DAYS + 1, end)
                dead = on_hand > 0 and u90 == 0 and end - self.start.toordinal() + 1 >= DEAD_DAYS
                last.append([name, s.sku, self.sim.end.isoformat(), on_hand, sellable, inbound,
                             self._units(chans, si, end - WINDOW + 1, end), self._history_days(end), u90,
                             f"{on_hand * self.sim.unit_cost(si, self.sim.end):.2f}", self.received[(loc, si)],
                             "true" if dead else "false", self.open_orders[si] if loc == 0 else 0])
        _write(tdir / "inventory_last_day.csv",
               ["location", "sku", "date", "on_hand", "sellable", "inbound", "units_28d", "history_days",
                "units_90d", "stock_value", "units_received", "is_dead_stock", "open_order_units"], last)
        _write(tdir / "inventory_channel_units.csv", ["channel", "sku", "units_28d", "net_sales_28d"],
               [[ch, s.sku, self._units((ch,), si, end - WINDOW + 1, end),
                 f"{self._net(ch, si, end - WINDOW + 1, end):.2f}"]
                for ch in SERVES for si, s in enumerate(SKUS)])
        _write(tdir / "inventory_contribution.csv", CONTRIBUTION_HEADER, self.contribution_rows())
        _write(tdir / "inventory_daily.csv", ["location", "sku", "date", "on_hand", "units_received", "cogs",
                                              "units_sold", "units_received_28d",
                                              "sell_through_28d", "stock_value", "avg_stock_value_28d", "cogs_28d",
                                              "inventory_turnover_28d"], self.daily_rows())
        expected = []
        if self.stockout_sku is not None:
            a, name = self.stockout_sku, LOCATIONS[1]
            rows = [r for r in stockouts if r[0] == name and r[2] == SKUS[a].sku]
            first = self.start + timedelta(days=self.i_stockout)
            expected += [["stockout", name, SKUS[a].sku, "first_day", first.isoformat()],
                         ["stockout", name, SKUS[a].sku, "stockout_days", len({r[3] for r in rows})],
                         ["stockout", name, SKUS[a].sku, "lost_units",  # exact: not a sum of rounded days
                          f"{float(sum(self.lost_exact[tuple(r[:4])] for r in rows)):.6f}"],
                         ["stockout", name, SKUS[a].sku, "lost_sales_value",
                          f"{sum((Decimal(r[8]) for r in rows), D0):.2f}"]]
        name = LOCATIONS[2]
        on_hand = self.stock[(name, DEAD_SKU)][end][0]
        expected += [["dead_stock", name, SKUS[DEAD_SKU].sku, "on_hand", on_hand],
                     ["dead_stock", name, SKUS[DEAD_SKU].sku, "stock_value",
                      f"{on_hand * self.sim.unit_cost(DEAD_SKU, self.sim.end):.2f}"]]
        if self.mismatch_sku is not None:
            b, sku = self.mismatch_sku, SKUS[self.mismatch_sku].sku
            first = self.start + timedelta(days=self.i_mismatch)
            o = first.toordinal()
            over = [r for r in self.oversells if r[1] == b and r[0] == 0]
            expected += [["mismatch", MIRROR, sku, "first_day", first.isoformat()],
                         ["mismatch", MIRROR, sku, "days", MISMATCH_DAYS],
                         ["mismatch", MIRROR, sku, "first_day_difference",
                          self.stock[(MIRROR, b)][o][1] - self.stock[(LOCATIONS[0], b)][o][1]],
                         ["oversell", LOCATIONS[0], sku, "order_lines", len(over)],
                         ["oversell", LOCATIONS[0], sku, "units", sum(r[4] for r in over)]]
        if self.tight_sku is not None:
            t, name = self.tight_sku, LOCATIONS[0]
            on_hand, sellable, inbound = self.stock[(name, t)][end]
            expected += [["tight_supply", name, SKUS[t].sku, "on_hand", on_hand],
                         ["tight_supply", name, SKUS[t].sku, "sellable", sellable],
                         ["tight_supply", name, SKUS[t].sku, "units_28d",
                          self._units(self._channels(0), t, end - WINDOW + 1, end)],
                         ["tight_supply", name, SKUS[t].sku, "lead_time_days", LEAD_TIME_DAYS]]
        _write(tdir / "inventory_expected.csv", ["situation", "location", "sku", "metric", "value"], expected)


def _write(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


TRUTH_README = """
## Inventory (orchestration/demo/inventory_truth.py)

- `inventory_expected.csv` — the planted situations (stockout, dead stock, mismatch + oversell,
  tight supply): situation, location, sku, metric, value.
- `inventory_stockouts.csv` — every stockout day per stock location, channel served and SKU, with
  the lost-sales estimate (pre-stockout velocity − units sold that day, at the pre-stockout average
  net price).
- `inventory_oversells.csv` — order lines accepted while the location's sellable stock was already 0.
- `inventory_mismatch.csv` — days on which Shopify's sellable count of a SKU differs from the 3PL's.
- `inventory_last_day.csv`, `inventory_channel_units.csv` — stock, velocity, dead stock and open
  wholesale orders on the last day.
- `inventory_contribution.csv` — per channel and SKU sold in the 90 days to the last day: units, net
  sales (after line and order discounts), COGS, the channel's units and fulfilment + payment +
  marketplace fees, and the allocation's contribution per unit (unrounded).
- `inventory_daily.csv` — per stock location, SKU and day: on hand, units received, COGS of the
  day's sales, units sold, units received in 28 days, sell-through, stock value, its 28-day
  average, COGS of 28 days' sales and the turnover.
"""
