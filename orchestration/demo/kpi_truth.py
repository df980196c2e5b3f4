"""KPI ground truth of the demo: every column of channel_kpis_daily / channel_kpis_monthly.

The generator calls these hooks as it simulates (an order's lines, its shipment, a money refund, a
month's targets); the truth is computed from those events, the simulated sessions and the truth
P&L, never by reading the landing files back, following docs/metrics.md "KPIs".

It also plants the on-time boundary: some web orders ship exactly at the promised handling time
(on time: cycle ≤ promise) and some one second after it (late), so `<` instead of `<=`, or an
on-time rate that counts every shipped order, shows.

Truth files (`home/demo/truth/`): `kpis_extra_daily.csv` (sales channel × day, every day of the
window) and `kpis_extra_monthly.csv` (sales channel × calendar month): the KPI columns below, empty
where the KPI is null (docs/metrics.md says when); `platform_roas_daily.csv` (channel × ad platform
× day: spend, the platform's conversion value, impressions, clicks, conversions, ROAS).

Hooks consume no randomness.
"""

from __future__ import annotations

import calendar
import csv
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

from .catalog import SALES_CHANNELS

# dbt_project/seeds/channels.csv: a copy on purpose, the sim ships orders exactly at (and 1 s past) the
# promise it knows, independently of the seed (tests/e2e/test_kpi_truth.py checks the seed still says so)
PROMISED_HANDLING_HOURS = {"shopify_web": 48, "shopify_pos": 0, "amazon_us": 48, "amazon_ca": 48, "wholesale": 120}
MARGIN_FLOOR_PCT = {"shopify_web": Decimal("0.25"), "shopify_pos": Decimal("0.20"), "amazon_us": Decimal("0.15"),
                    "amazon_ca": Decimal("0.15"), "wholesale": Decimal("0.10")}
BOUNDARY_EVERY = 23  # web order numbers ≡ 0 (mod 23) ship exactly at the promise, ≡ 11 one second late

COLUMNS = ["orders", "units", "order_gross_sales", "order_discounts", "order_shipping_income", "aov", "sessions",
           "conversion_rate", "new_customers", "marketing_spend", "cac", "net_revenue", "mer",
           "cohort_units_returned", "cohort_returns", "cohort_return_rate_units", "cohort_return_rate_value",
           "timed_refunds", "refund_processing_days", "shipped_orders", "on_time_shipped_orders",
           "on_time_ship_rate", "order_cycle_hours", "revenue_target", "revenue_vs_target",
           "conversion_rate_target", "conversion_vs_target", "cm3_pct", "margin_floor_pct", "margin_vs_floor"]


def cents_div(amount: Decimal, n: int) -> Decimal:
    """amount ÷ n rounded half away from zero to cents (amount ≥ 0 in the demo)."""
    q = (Decimal(amount) / n).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if amount >= 0 else \
        -((-Decimal(amount)) / n).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return q


def median(values: list[Fraction]) -> Fraction | None:
    if not values:
        return None
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def ratio(num, den) -> Fraction | None:
    return Fraction(num) / Fraction(den) if den else None


class KpiTruth:
    def __init__(self, sim):
        self.sim = sim
        # (channel, order_id) -> [order date, units, gross, discounts, shipping, ordered_ts, shipped_ts]
        self.orders: dict[tuple[str, str], list] = {}
        # (channel, order date) -> [units returned (None = not tracked), returns]
        self.cohort: dict[tuple[str, date], list] = defaultdict(lambda: [0, Decimal("0.00")])
        self.untracked: set[str] = set()
        self.refund_days: dict[tuple[str, date], list[Fraction]] = defaultdict(list)  # by refund date
        self.targets: dict[tuple[str, str], tuple[Decimal, Decimal | None]] = {}  # (channel, YYYY-MM)
        # (channel, platform, day) -> [spend, conversion value (reporting currency), impressions, clicks, conversions]
        self.ads: dict[tuple[str, str, date], list] = {}

    # ---- hooks ---------------------------------------------------------------------------------
    @staticmethod
    def handling_time(channel: str, seq: int, ordered_ts: int, shipped_ts: int) -> int:
        """Plant the promise boundary: a web order shipped exactly at, or one second past, its promise."""
        if channel != "shopify_web":
            return shipped_ts
        promise = PROMISED_HANDLING_HOURS[channel] * 3600
        if seq % BOUNDARY_EVERY == 0:
            return ordered_ts + promise
        if seq % BOUNDARY_EVERY == BOUNDARY_EVERY // 2:
            return ordered_ts + promise + 1
        return shipped_ts

    def order(self, channel: str, d: date, order_id: str, units: int, gross: Decimal, discounts: Decimal,
              shipping: Decimal, ordered_ts: int | None = None, shipped_ts: int | None = None) -> None:
        """A non-cancelled order (or one more of its lines: amounts add up) placed on day d (UTC);
        shipped_ts = the instant its last line shipped, None while not every line has shipped."""
        row = self.orders.get((channel, order_id))
        if row is None:
            row = self.orders[(channel, order_id)] = [d, 0, Decimal("0.00"), Decimal("0.00"), Decimal("0.00"),
                                                       ordered_ts, shipped_ts]
        row[1] += units
        row[2] += gross
        row[3] += discounts
        row[4] += shipping
        row[6] = shipped_ts

    def refund(self, channel: str, order_day: date, refund_day: date, returns: Decimal, units: int | None,
               processing_days: Fraction | None = None) -> None:
        """A money refund of an order placed on order_day (its cohort); units None when the refund
        does not say how many units came back; processing_days when receipt and refund are timed."""
        row = self.cohort[(channel, order_day)]
        row[1] += returns
        if units is None:
            self.untracked.add(channel)
        else:
            row[0] += units
        if processing_days is not None:
            self.refund_days[(channel, refund_day)].append(processing_days)

    def ad(self, platform: str, channel: str, d: date, spend_rc: Decimal, value, impressions: int, clicks: int,
           conversions) -> None:
        """One ad platform row as the platform reports it (value and conversions as written, value
        already in the reporting currency when `value` is a Decimal)."""
        row = self.ads.get((channel, platform, d))
        if row is None:
            row = self.ads[(channel, platform, d)] = [Decimal("0.00"), Decimal("0.00"), 0, 0, Decimal("0")]
        row[0] += spend_rc
        row[1] += Decimal(value)
        row[2] += impressions
        row[3] += clicks
        row[4] += Decimal(conversions)

    def target(self, month: str, channel: str, revenue: str, conversion_rate: str) -> None:
        self.targets[(channel, month)] = (Decimal(revenue), Decimal(conversion_rate) if conversion_rate else None)

    # ---- truth -----------------------------------------------------------------------------------
    def _pnl(self, channel: str, days: list[date]) -> tuple[Decimal, Decimal, Decimal, bool]:
        """(net_revenue, marketing_spend, cm3, any P&L row) of the channel over the days (truth P&L)."""
        net = spend = cm3 = Decimal("0.00")
        seen = False
        for d in days:
            row = self.sim.pnl.get((channel, d))
            if row is None:
                continue
            g, disc, ret, ship, cogs, ful, pay, mkt, mktg, _opex, reimb = row
            seen = True
            n = g - disc - ret + ship
            net += n
            spend += mktg
            cm3 += n - cogs - ful - pay - mkt + reimb - mktg
        return net, spend, cm3, seen

    def _daily_revenue_target(self, channel: str, d: date) -> Decimal | None:
        t = self.targets.get((channel, f"{d.year:04d}-{d.month:02d}"))
        if t is None:
            return None
        dim = calendar.monthrange(d.year, d.month)[1]
        share = cents_div(t[0], dim)
        return share if d.day < dim else t[0] - share * (dim - 1)

    def _row(self, channel: str, days: list[date], month: bool) -> dict:
        day_set = set(days)
        orders = [o for (ch, _oid), o in self.orders.items() if ch == channel and o[0] in day_set]
        kpi = [self.sim.kpi.get((channel, d), (0, 0, 0)) for d in days]
        sess = [self.sim.sessions[(channel, d)] for d in days if (channel, d) in self.sim.sessions]
        r: dict = {"orders": sum(k[0] for k in kpi), "units": sum(k[1] for k in kpi)}
        assert r["orders"] == len(orders) and r["units"] == sum(o[1] for o in orders), (channel, days[0])
        gross, disc, ship = (sum((o[i] for o in orders), Decimal("0.00")) for i in (2, 3, 4))
        r.update(order_gross_sales=gross, order_discounts=disc, order_shipping_income=ship)
        r["aov"] = cents_div(gross - disc + ship, len(orders)) if orders else None
        r["sessions"] = sum(sess) if sess else None
        r["conversion_rate"] = ratio(r["orders"], r["sessions"]) if r["sessions"] else None
        identified = not channel.startswith("amazon")
        r["new_customers"] = sum(k[2] for k in kpi) if identified else None
        net, spend, cm3, seen = self._pnl(channel, self._month_days(days) if month else days)
        r["marketing_spend"], r["net_revenue"] = spend, net
        r["cac"] = cents_div(spend, r["new_customers"]) if r["new_customers"] else None
        r["mer"] = ratio(net, spend) if spend else None
        cohorts = [self.cohort[(channel, d)] for d in days if (channel, d) in self.cohort]
        r["cohort_units_returned"] = None if channel in self.untracked else sum(c[0] for c in cohorts)
        r["cohort_returns"] = sum((c[1] for c in cohorts), Decimal("0.00"))
        r["cohort_return_rate_units"] = ratio(r["cohort_units_returned"], r["units"]) \
            if r["units"] and r["cohort_units_returned"] is not None else None
        r["cohort_return_rate_value"] = ratio(r["cohort_returns"], gross) if gross else None
        timed = [x for d in days for x in self.refund_days.get((channel, d), ())]
        r["timed_refunds"], r["refund_processing_days"] = len(timed), median(timed)
        promise = PROMISED_HANDLING_HOURS[channel]
        cycles = [Fraction(o[6] - o[5], 3600) for o in orders if o[6] is not None]
        r["shipped_orders"] = len(cycles)
        r["on_time_shipped_orders"] = sum(1 for c in cycles if c <= promise)
        r["on_time_ship_rate"] = ratio(r["on_time_shipped_orders"], len(cycles)) if cycles else None
        r["order_cycle_hours"] = median(cycles)
        if month:
            t = self.targets.get((channel, f"{days[0].year:04d}-{days[0].month:02d}"))
            r["revenue_target"] = t[0] if t else None
        else:
            r["revenue_target"] = self._daily_revenue_target(channel, days[0])
        conv_target = self.targets.get((channel, f"{days[0].year:04d}-{days[0].month:02d}"), (None, None))[1]
        r["revenue_vs_target"] = net - r["revenue_target"] if r["revenue_target"] is not None else None
        r["conversion_rate_target"] = conv_target
        r["conversion_vs_target"] = r["conversion_rate"] - Fraction(conv_target) \
            if r["conversion_rate"] is not None and conv_target is not None else None
        r["cm3_pct"] = ratio(cm3, net) if seen and net else None
        r["margin_floor_pct"] = MARGIN_FLOOR_PCT[channel]
        r["margin_vs_floor"] = r["cm3_pct"] - Fraction(MARGIN_FLOOR_PCT[channel]) if r["cm3_pct"] is not None else None
        return r

    def _month_days(self, days: list[date]) -> list[date]:
        """Every day of the month (the monthly P&L also has the days before the window's start)."""
        first = days[0].replace(day=1)
        dim = calendar.monthrange(first.year, first.month)[1]
        return [first + timedelta(days=i) for i in range(dim)]

    def write(self, tdir: Path) -> None:
        sim = self.sim
        window = [sim.start + timedelta(days=i) for i in range(sim.days)]
        months: dict[date, list[date]] = defaultdict(list)
        for d in window:
            months[d.replace(day=1)].append(d)
        daily = [[ch, d.isoformat(), *_fmt(self._row(ch, [d], False))] for ch in SALES_CHANNELS for d in window]
        monthly = [[ch, m.isoformat(), *_fmt(self._row(ch, days, True))]
                   for ch in SALES_CHANNELS for m, days in sorted(months.items())]
        with open(tdir / "platform_roas_daily.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["channel", "platform", "date", "spend_rc", "conversion_value_rc", "impressions", "clicks",
                        "conversions", "platform_roas"])
            for (ch, platform, d), (spend, value, impressions, clicks, conv) in sorted(self.ads.items()):
                roas = repr(float(Fraction(value) / Fraction(spend))) if spend else ""
                w.writerow([ch, platform, d.isoformat(), f"{spend:.2f}", f"{value:.2f}", impressions, clicks, conv,
                            roas])
        for name, key, rows in (("kpis_extra_daily.csv", "date", daily), ("kpis_extra_monthly.csv", "month", monthly)):
            with open(tdir / name, "w", newline="") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(["channel", key, *COLUMNS])
                w.writerows(rows)


def _fmt(row: dict) -> list[str]:
    out = []
    for col in COLUMNS:
        v = row[col]
        if v is None:
            out.append("")
        elif isinstance(v, Fraction):
            out.append(repr(float(v)) if v.denominator != 1 else str(v.numerator))
        elif isinstance(v, Decimal):
            out.append(f"{v:.2f}" if col not in ("conversion_rate_target", "margin_floor_pct") else str(v))
        else:
            out.append(str(v))
    return out


TRUTH_README = """
## KPIs (orchestration/demo/kpi_truth.py)

- `kpis_extra_daily.csv` / `kpis_extra_monthly.csv` — every column of channel_kpis_daily / _monthly
  per sales channel × day of the window / calendar month, from the simulated orders (amounts,
  order and shipment instants), money refunds (order cohort, units where the refund says them,
  receipt-to-refund days where both are timed), sessions, targets and the truth P&L (net revenue,
  marketing spend, cm3). Ratios as floats (repr), money with 2 decimals, empty = null. Web orders
  numbered ≡ 0 (mod 23) ship exactly at the 48 h promise (on time), ≡ 11 one second later (late).
- `platform_roas_daily.csv` — channel × ad platform × day as channel_platform_roas_daily: spend and
  the platform's own conversion value in USD (Amazon CA converted per row at the day's rate),
  impressions, clicks, conversions, platform ROAS (value ÷ spend).
"""
