"""Readback ground truth of the demo: the seeded channel situations and every flag they must raise.

The generator calls these hooks while it simulates (an order line is sold, an order charges
shipping) and asks them for the seeded prices, discounts and order volumes; at the end
`write(tdir)` applies the readback rules of docs/metrics.md "Channel readback" to the simulated
events (never to the landing files) with the thresholds of `dbt_project/seeds/readback_config.csv`
and writes what the warehouse must find.

Seeded situations (relative to the window's last day E, so every window of 60 days or more has
them; the anomaly spike needs `anomaly_window_weeks` of history before it to be scored):

- **retire candidate** `amazon_ca`: nothing is added. A dedicated CA marketplace manager (7,400 CAD
  a month, catalog.OPERATING_COSTS) against ~3% of revenue: ~14% of operating costs and a loss after
  opex every month.
- **price inconsistency** `amazon_us`: from E−27 the Amazon.com listing of `PRICE_CUT_SKU` is 35%
  below its list price (and below its minimum advertised price).
- **promo collision**: `PROMO_SKU` 10% off on `shopify_web` (a line discount on every line) from
  E−44 to E−31 and on `amazon_us` (an item promotion on every item) from E−37 to E−24.
- **anomaly**: on E−17 the web store takes four times its orders (a flash sale the marketing
  calendar did not announce); and the web store's Performance Max push day, the 15th of every
  month (9× the campaign's spend, already in the generator), is a marketing-spend spike.

Truth files (`home/demo/truth/`):
- `readback_expected.csv` — every flag the rules raise on the simulated events: flag, grain,
  period_start, channel, subject, metric, metric_value, reference_value, affected_count, seeded
  (`yes` when a seeded situation explains it).
- `readback_anomalies.csv` — every anomalous channel × day × metric: value, baseline median, z,
  seeded.
- `readback_seeded.csv` — the seeded situations: situation, channel, sku or metric, first and
  last day, numbers.

Hooks consume no randomness.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from connectors.home import SEEDS_DIR as SEEDS

PRICE_CUT_SKU, PRICE_CUT_CHANNEL, PRICE_CUT_FACTOR, PRICE_CUT_DAYS = "FH-VAS-MEDIU", "amazon_us", Decimal("0.65"), 28
PROMO_SKU, PROMO_PCT = "FH-CDL-FIG", Decimal("0.10")
PROMO_WINDOWS = {"shopify_web": (44, 31), "amazon_us": (37, 24)}  # channel -> (first, last) days before E
SPIKE_CHANNEL, SPIKE_DAYS_BEFORE_END, SPIKE_FACTOR = "shopify_web", 17, 4
PUSH_DAY, PUSH_CHANNEL = 15, "shopify_web"
METRICS = ("revenue", "orders", "aov", "conversion_rate", "marketing_spend")
D0 = Decimal("0.00")
CENT = Decimal("0.01")


def _config() -> dict[str, float]:
    with (SEEDS / "readback_config.csv").open(newline="") as handle:
        return {row["parameter"]: float(row["value"]) for row in csv.DictReader(handle)}


def _channels() -> dict[str, dict]:
    with (SEEDS / "channels.csv").open(newline="") as handle:
        channels = {row["channel"]: row for row in csv.DictReader(handle)}
    with (SEEDS / "price_compare_channel_types.csv").open(newline="") as handle:
        compared = {row["channel_type"] for row in csv.DictReader(handle) if row["compared"] == "true"}
    for row in channels.values():
        row["compared"] = row["channel_type"] in compared
    return channels


def _maps() -> dict[tuple[str, str], Decimal]:
    with (SEEDS / "minimum_advertised_prices.csv").open(newline="") as handle:
        return {(r["sku"], r["currency"]): Decimal(r["minimum_advertised_price"]) for r in csv.DictReader(handle)}


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _price_flags(grain: str, p0: date, issues: dict[str, list[tuple]]) -> list[dict]:
    """One price_inconsistency per channel: its worst SKU (outliers before MAP-only, deepest first)."""
    out = []
    for ch, items in issues.items():
        items.sort(key=lambda x: (x[0], x[1], x[2]))
        _, _dev, sku, price, ref, _ = items[0]
        out.append(dict(flag="price_inconsistency", grain=grain, period_start=p0, channel=ch, subject=sku,
                        metric="realised_unit_price", metric_value=float(price) if price is not None else None,
                        reference_value=ref, affected_count=len(items)))
    return out


def _margin_flags(grain: str, p0: date, breaches: dict[str, list[tuple]], channels: dict[str, dict]) -> list[dict]:
    """One margin_floor_breach per channel: its lowest-margin SKU."""
    out = []
    for ch, items in breaches.items():
        items.sort()
        out.append(dict(flag="margin_floor_breach", grain=grain, period_start=p0, channel=ch,
                        subject=items[0][1], metric="sku_cm3_pct", metric_value=items[0][0],
                        reference_value=float(channels[ch]["margin_floor_pct"]), affected_count=len(items)))
    return out


def _median(values):
    return statistics.median(values)


class ReadbackTruth:
    def __init__(self, sim) -> None:
        self.sim = sim
        end = sim.end
        self.cut_from = end - timedelta(days=PRICE_CUT_DAYS - 1)
        self.promo = {ch: (end - timedelta(days=a), end - timedelta(days=b)) for ch, (a, b) in PROMO_WINDOWS.items()}
        self.spike_day = end - timedelta(days=SPIKE_DAYS_BEFORE_END)
        # (sku, channel, day) -> [units, net_rc, lines, promo_lines, cogs, sku_discount_local, gross_local]
        self.lines: dict[tuple[str, str, date], list] = {}
        # (sku, channel, day) -> lowest list price with its currency
        self.listed: dict[tuple[str, str, date], tuple[Decimal, str]] = {}
        self.order_ship: dict[tuple[str, date], Decimal] = defaultdict(lambda: D0)

    # ---- seeding (asked by the generator) -------------------------------------------------------
    def order_multiplier(self, channel: str, d: date) -> int:
        return SPIKE_FACTOR if channel == SPIKE_CHANNEL and d == self.spike_day else 1

    def _in_promo(self, channel: str, sku: str, d: date) -> bool:
        window = self.promo.get(channel)
        return sku == PROMO_SKU and window is not None and window[0] <= d <= window[1]

    def line_discount(self, channel: str, d: date, sku: str, gross: Decimal, discount: Decimal) -> Decimal:
        """Shopify line discount: the seeded promotion replaces the random one."""
        if self._in_promo(channel, sku, d):
            return (gross * PROMO_PCT).quantize(CENT, ROUND_HALF_UP)
        return discount

    def list_price(self, channel: str, d: date, sku: str, price: Decimal) -> Decimal:
        if channel == PRICE_CUT_CHANNEL and sku == PRICE_CUT_SKU and d >= self.cut_from:
            return (price * PRICE_CUT_FACTOR).quantize(CENT, ROUND_HALF_UP)
        return price

    def price_ratio(self, channel: str, d: date, sku: str) -> float:
        """The seeded price cut and promotion as one factor on the listed price (demand responds to it)."""
        cut = float(PRICE_CUT_FACTOR) if channel == PRICE_CUT_CHANNEL and sku == PRICE_CUT_SKU and d >= self.cut_from \
            else 1.0
        return cut * (float(1 - PROMO_PCT) if self._in_promo(channel, sku, d) else 1.0)

    def amazon_promo(self, channel: str, d: date, sku: str, item_price: Decimal, promo: Decimal,
                     promo_id: str) -> tuple[Decimal, str]:
        if self._in_promo(channel, sku, d):
            return (item_price * PROMO_PCT).quantize(CENT, ROUND_HALF_UP), f"PLM-{sku}-{int(PROMO_PCT * 100)}OFF"
        return promo, promo_id

    # ---- events ---------------------------------------------------------------------------------
    def line(self, channel: str, d: date, sku: str, units: int, net_rc: Decimal, cogs: Decimal,
             list_price: Decimal, currency: str, sku_discount: Decimal, gross: Decimal) -> None:
        """A non-cancelled order line booked on its order date: units, net sales (reporting
        currency, order-level codes allocated), COGS, the unit list price in its currency and the
        SKU-level discount (line discount / item promotion, not order codes) against its gross."""
        key = (sku, channel, d)
        row = self.lines.get(key)
        if row is None:
            row = self.lines[key] = [0, D0, 0, 0, D0, D0, D0]
        row[0] += units
        row[1] += net_rc
        row[2] += 1
        row[3] += 1 if gross > 0 and sku_discount >= Decimal(str(self.cfg["promo_min_discount_pct"])) * gross else 0
        row[4] += cogs
        row[5] += sku_discount
        row[6] += gross
        low = self.listed.get(key)
        if low is None or list_price < low[0]:
            self.listed[key] = (list_price, currency)

    def shipping(self, channel: str, d: date, amount_rc: Decimal) -> None:
        """Shipping charged by an order placed that day (what AOV counts)."""
        self.order_ship[(channel, d)] += amount_rc

    @property
    def cfg(self) -> dict[str, float]:
        if not hasattr(self, "_cfg"):
            self._cfg = _config()
        return self._cfg

    # ---- the rules ------------------------------------------------------------------------------
    def _periods(self):
        """(grain, period_start, first day, last day, complete) of the window."""
        start, end = self.sim.start, self.sim.end
        out = []
        m = start.replace(day=1)
        while m <= end:
            nxt = (m + timedelta(days=32)).replace(day=1)
            out.append(("month", m, m, nxt - timedelta(days=1), m >= start and nxt - timedelta(days=1) <= end))
            m = nxt
        w = _monday(start)
        while w <= end:
            out.append(("week", w, w, w + timedelta(days=6), w >= start and w + timedelta(days=6) <= end))
            w += timedelta(days=7)
        return out

    def _pnl_period(self, channel: str, first: date, last: date) -> list[Decimal]:
        sums = [D0] * 11
        for (ch, d), row in self.sim.pnl.items():
            if ch == channel and first <= d <= last:
                sums = [a + b for a, b in zip(sums, row, strict=True)]
        return sums

    @staticmethod
    def _lines_of(sums):
        g, disc, ret, ship, cogs, ful, pay, mkt, mktg, opex, reimb = sums
        net_rev = g - disc - ret + ship
        cm2 = net_rev - cogs - ful - pay - mkt + reimb
        return dict(net_revenue=net_rev, cm2=cm2, marketing=mktg, opex=opex, cao=cm2 - mktg - opex,
                    variable=ful + pay + mkt - reimb + mktg)

    def flags(self) -> tuple[list[dict], list[dict]]:
        cfg, channels = self.cfg, _channels()
        sales = [c for c, r in channels.items() if r["channel_type"] != "unallocated" and r["is_dormant"] != "true"]
        everyone = list(channels)
        out: list[dict] = []
        periods = self._periods()
        months = [p for p in periods if p[0] == "month"]
        # retire candidate and attention without contribution (complete months)
        streak = defaultdict(int)
        prev: dict[str, tuple] = {}
        for _, m, first, last, complete in months:
            totals = {c: self._lines_of(self._pnl_period(c, first, last)) for c in everyone}
            t_rev = sum(v["net_revenue"] for v in totals.values())
            t_opex = sum(v["opex"] for v in totals.values())
            for c in sales:
                v = totals[c]
                streak[c] = streak[c] + 1 if complete and v["cao"] < 0 else 0
                if not complete:
                    prev[c] = None
                    continue
                rev_share = float(v["net_revenue"]) / float(t_rev) if t_rev else None
                opex_share = float(v["opex"]) / float(t_opex) if t_opex else None
                share_rule = (rev_share is not None and opex_share is not None
                              and rev_share <= cfg["retire_max_revenue_share"]
                              and opex_share >= cfg["retire_min_operating_cost_share"])
                loss_streak = streak[c] >= cfg["retire_consecutive_months"]
                if share_rule or loss_streak:
                    out.append(dict(flag="retire_candidate", grain="month", period_start=m, channel=c,
                                    subject="share_rule+loss_streak" if share_rule and loss_streak
                                    else "share_rule" if share_rule else "loss_streak",
                                    metric="revenue_share", metric_value=rev_share, reference_value=opex_share,
                                    affected_count=streak[c], contribution_after_opex=v["cao"]))
                p = prev.get(c)
                cost = v["marketing"] + v["opex"]
                if p is not None and p[0] > 0:
                    growth = float(cost) / float(p[0]) - 1
                    cm2_growth = float(v["cm2"] - p[1]) / abs(float(p[1])) if p[1] else None
                    if growth >= cfg["attention_min_cost_growth"] and (cm2_growth is None or cm2_growth < growth):
                        out.append(dict(flag="attention_without_contribution", grain="month", period_start=m,
                                        channel=c, subject="marketing_spend+operating_costs",
                                        metric="attention_cost_growth", metric_value=growth,
                                        reference_value=cm2_growth, affected_count=1))
                prev[c] = (cost, v["cm2"])
        out += self._sku_flags(periods, channels, sales)
        out += self._promo_flags(periods)
        anomalies = self._anomalies(sales)
        for grain, p0, first, last, _ in periods:
            for c in sales:
                days = [a for a in anomalies if a["channel"] == c and first <= a["date"] <= last]
                if days:
                    worst = sorted(days, key=lambda a: (0 if a["z"] is None else 1, -abs(a["z"] or 0), a["date"],
                                                        a["metric"]))[0]
                    out.append(dict(flag="anomaly", grain=grain, period_start=p0, channel=c,
                                    subject=f"{worst['date']} {worst['metric']}", metric=worst["metric"],
                                    metric_value=worst["value"], reference_value=worst["baseline"],
                                    affected_count=len(days), seeded_all=all(a["seeded"] for a in days)))
        return out, anomalies

    def _sku_flags(self, periods, channels, sales) -> list[dict]:
        maps, out, pnl_cache = _maps(), [], {}
        for grain, p0, first, last, _ in periods:
            by_sku, lowest = self._sku_sales(first, last)
            price_issues, margin_breaches = defaultdict(list), defaultdict(list)
            for sku, chans in by_sku.items():
                for ch, issue in self._price_issues(sku, chans, channels, sales, lowest, maps, first, last):
                    price_issues[ch].append(issue)
                if grain == "month":
                    for ch, breach in self._margin_breaches(sku, chans, channels, sales, first, last, pnl_cache):
                        margin_breaches[ch].append(breach)
            out += _price_flags(grain, p0, price_issues)
            out += _margin_flags(grain, p0, margin_breaches, channels)
        return out

    def _sku_sales(self, first: date, last: date) -> tuple[dict, dict]:
        """sku -> channel -> (units, net, cogs) over the period, and each (sku, channel)'s lowest list price."""
        agg: dict[tuple[str, str], list] = {}
        low: dict[tuple[str, str], tuple[Decimal, str]] = {}
        for (sku, ch, d), row in self.lines.items():
            if first <= d <= last:
                a = agg.setdefault((sku, ch), [0, D0, D0])
                a[0] += row[0]
                a[1] += row[1]
                a[2] += row[4]
                lp = self.listed[(sku, ch, d)]
                if (sku, ch) not in low or lp[0] < low[(sku, ch)][0]:
                    low[(sku, ch)] = lp
        by_sku = defaultdict(dict)
        for (sku, ch), (units, net, cogs) in agg.items():
            by_sku[sku][ch] = (units, net, cogs)
        return by_sku, low

    def _price_issues(self, sku, chans, channels, sales, lowest, maps, first, last) -> list[tuple]:
        """(channel, issue) for a SKU sold materially below its cross-channel median or below its MAP."""
        cfg, issues = self.cfg, []
        prices = {ch: (net / units).quantize(Decimal("0.0001"), ROUND_HALF_UP)
                  for ch, (units, net, _) in chans.items()
                  if channels[ch]["compared"] and units >= cfg["price_min_units"]}
        ref = float(_median([float(p) for p in prices.values()])) if len(prices) >= 2 else None
        for ch, (units, net, _cogs) in chans.items():
            if ch not in sales:
                continue
            dev = float(prices[ch]) / ref - 1 if ref and ch in prices else None
            outlier = dev is not None and dev <= -cfg["material_price_difference"]
            _lowest_price, cur = lowest[(sku, ch)]
            mp = maps.get((sku, cur)) if channels[ch]["compared"] else None
            below_map = mp is not None and self._any_below_map(sku, ch, first, last, mp, cur)
            if outlier or below_map:
                realised = (net / units).quantize(Decimal("0.0001"), ROUND_HALF_UP)
                issues.append((ch, (0 if outlier else 1, dev if dev is not None else 0.0, sku,
                                    realised, ref if ch in prices else None, below_map)))
        return issues

    def _margin_breaches(self, sku, chans, channels, sales, first, last, pnl_cache) -> list[tuple]:
        """(channel, (margin, sku)) where the SKU's margin after the channel's variable cost rate is under its floor."""
        breaches = []
        for ch, (units, net, cogs) in chans.items():
            floor = channels[ch]["margin_floor_pct"]
            if ch not in sales or not (net and units >= self.cfg["price_min_units"] and floor):
                continue
            key = (ch, first, last)
            if key not in pnl_cache:
                pnl_cache[key] = self._lines_of(self._pnl_period(ch, first, last))
            v = pnl_cache[key]
            if not v["net_revenue"]:
                continue
            m = float(net - cogs) / float(net) - float(v["variable"]) / float(v["net_revenue"])
            if m < float(floor):
                breaches.append((ch, (m, sku)))
        return breaches

    def _any_below_map(self, sku, ch, first, last, mp, cur) -> bool:
        return any(lp < mp and c == cur for (s, c_, d), (lp, c) in self.listed.items()
                   if s == sku and c_ == ch and first <= d <= last)

    def promo_periods(self) -> list[tuple]:
        cfg, channels = self.cfg, _channels()
        series = defaultdict(list)
        for (sku, ch, d), row in self.lines.items():
            if channels[ch]["compared"]:
                series[(sku, ch)].append((d, row[2], row[3], row[5], row[6]))
        periods = []
        for (sku, ch), days in series.items():
            days.sort()
            run = []
            for d, n, promo, disc, gross in days + [(None, 1, 0, D0, D0)]:
                if d is not None and promo == n:
                    run.append((d, promo, disc, gross))
                    continue
                if run and sum(r[1] for r in run) >= cfg["promo_min_lines"]:
                    depth = float(sum(r[2] for r in run)) / float(sum(r[3] for r in run))
                    periods.append((sku, ch, run[0][0], run[-1][0], depth))
                run = []
        return periods

    def _promo_flags(self, periods) -> list[dict]:
        promos, out = self.promo_periods(), []
        pairs = [(a, b) for a in promos for b in promos
                 if a[0] == b[0] and a[1] != b[1] and b[2] <= a[3] and a[2] <= b[3]]
        for grain, p0, first, last, _ in periods:
            hits = defaultdict(list)
            for a, b in pairs:
                o1, o2 = max(a[2], b[2]), min(a[3], b[3])
                if o1 <= last and first <= o2:
                    hits[a[1]].append((o1, a[0], b[1], (o2 - o1).days + 1, a[4]))
            for ch, items in hits.items():
                items.sort()
                out.append(dict(flag="promo_collision", grain=grain, period_start=p0, channel=ch, subject=items[0][1],
                                metric="overlap_days", metric_value=float(items[0][3]), reference_value=items[0][4],
                                affected_count=len(items)))
        return out

    def daily_metrics(self, sales) -> dict[tuple[str, str], dict[date, float | None]]:
        sim, out = self.sim, defaultdict(dict)
        d = sim.start
        while d <= sim.end:
            for c in sales:
                row = sim.pnl.get((c, d), [D0] * 10)
                g, disc = row[0], row[1]
                orders = sim.kpi.get((c, d), (0, 0, 0))[0]
                sessions = sim.sessions.get((c, d))
                out[(c, "revenue")][d] = float(g - disc + self.order_ship[(c, d)])
                out[(c, "orders")][d] = float(orders)
                aov = None
                if orders:
                    cents = int((g - disc + self.order_ship[(c, d)]) * 100)
                    aov = float((Decimal(cents) / orders / 100).quantize(CENT, ROUND_HALF_UP))
                out[(c, "aov")][d] = aov
                out[(c, "conversion_rate")][d] = orders / sessions if sessions else None
                out[(c, "marketing_spend")][d] = float(row[8])
                out[(c, "sessions")][d] = sessions
            d += timedelta(days=1)
        return out

    def _anomalies(self, sales) -> list[dict]:
        cfg = self.cfg
        window, min_hist, zc = int(cfg["anomaly_window_weeks"]) * 7, cfg["anomaly_min_history"], cfg["anomaly_z"]
        data = self.daily_metrics(sales)
        transform = {
            "revenue": lambda v: math.copysign(math.log1p(abs(v)), v),
            "aov": lambda v: math.log1p(v),
            "marketing_spend": lambda v: math.copysign(math.log1p(abs(v)), v),
            "orders": lambda v: 2 * math.sqrt(v + 0.375),
            "conversion_rate": lambda v: math.asin(math.sqrt(v)),
        }
        found = []
        for c in sales:
            orders = data[(c, "orders")]
            for metric in METRICS:
                series, f = data[(c, metric)], transform[metric]
                for d, x in series.items():
                    if x is None:
                        continue
                    hist = [(j, v) for j, v in series.items() if v is not None and 0 < (d - j).days <= window]
                    same = [f(v) for j, v in hist if (d - j).days % 7 == 0]
                    if len(same) < min_hist:
                        continue
                    base_t = _median(same)
                    residuals = []
                    for wd in range(7):
                        group = [f(v) for j, v in hist if j.weekday() == wd]
                        if group:
                            med = _median(group)
                            residuals += [v - med for v in group]
                    center = _median(residuals)
                    mad = _median([abs(r - center) for r in residuals])
                    robust = (1.4826 * mad if mad > 0
                              else 1.253314 * statistics.fmean([abs(r - center) for r in residuals]))
                    same_mad = _median([abs(v - base_t) for v in same])
                    robust = max(robust, 1.4826 * same_mad if same_mad > 0
                                 else 1.253314 * statistics.fmean([abs(v - base_t) for v in same]))
                    if metric == "orders":
                        floor = 1.0
                    elif metric == "conversion_rate":
                        floor = 1 / (2 * math.sqrt(data[(c, "sessions")][d]))
                    elif metric == "marketing_spend":
                        floor = 0.0
                    else:
                        mo = _median([orders[j] for j, _ in hist
                                      if (d - j).days % 7 == 0 and orders.get(j) is not None])
                        floor = 1 / math.sqrt(max(mo, 1))
                    scale = max(robust, floor)
                    t = f(x)
                    z = (t - base_t) / scale if scale > 0 else None
                    if (abs(z) > zc) if z is not None else t != base_t:
                        seeded = (c == SPIKE_CHANNEL and d == self.spike_day and metric in ("revenue", "orders")) \
                            or (c == PUSH_CHANNEL and d.day == PUSH_DAY and metric == "marketing_spend")
                        found.append(dict(channel=c, date=d, metric=metric, value=x,
                                          baseline=_median([v for j, v in hist if (d - j).days % 7 == 0]),
                                          z=z, seeded=seeded))
        return found

    # ---- truth files ------------------------------------------------------------------------------
    def seeded(self, flag: dict) -> bool:
        c, f = flag["channel"], flag["flag"]
        if f == "retire_candidate":
            return c == "amazon_ca"
        if f == "price_inconsistency":
            return c == PRICE_CUT_CHANNEL and flag["subject"] == PRICE_CUT_SKU
        if f == "promo_collision":
            return c in PROMO_WINDOWS and flag["subject"] == PROMO_SKU
        if f == "anomaly":
            return flag.get("seeded_all", False)
        return False

    def write(self, tdir: Path) -> None:
        flags, anomalies = self.flags()
        fmt = lambda v: "" if v is None else (f"{v:.10g}" if isinstance(v, float) else str(v))  # noqa: E731
        with open(tdir / "readback_expected.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["flag", "grain", "period_start", "channel", "subject", "metric", "metric_value",
                        "reference_value", "affected_count", "seeded"])
            for r in sorted(flags, key=lambda r: (r["grain"], r["period_start"], r["channel"], r["flag"])):
                w.writerow([r["flag"], r["grain"], r["period_start"], r["channel"], r["subject"], r["metric"],
                            fmt(r["metric_value"]), fmt(r["reference_value"]), r["affected_count"],
                            "yes" if self.seeded(r) else "no"])
        with open(tdir / "readback_anomalies.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["channel", "date", "metric", "value", "baseline_median", "z_score", "seeded"])
            for a in sorted(anomalies, key=lambda a: (a["channel"], a["date"], a["metric"])):
                w.writerow([a["channel"], a["date"], a["metric"], fmt(a["value"]), fmt(float(a["baseline"])),
                            fmt(a["z"]), "yes" if a["seeded"] else "no"])
        sim = self.sim
        with open(tdir / "readback_seeded.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["situation", "channel", "subject", "first_day", "last_day", "detail"])
            w.writerow(["retire_candidate", "amazon_ca", "operating_costs", sim.start, sim.end,
                        "dedicated CA marketplace manager against ~3% of revenue"])
            w.writerow(["price_inconsistency", PRICE_CUT_CHANNEL, PRICE_CUT_SKU, max(self.cut_from, sim.start), sim.end,
                        f"list price x {PRICE_CUT_FACTOR}"])
            for ch, (a, b) in self.promo.items():
                w.writerow(["promo_collision", ch, PROMO_SKU, a, b, f"{PROMO_PCT * 100:.0f}% off every line"])
            w.writerow(["anomaly", SPIKE_CHANNEL, "orders", self.spike_day, self.spike_day, f"orders x {SPIKE_FACTOR}"])
            d = sim.start
            while d <= sim.end:
                if d.day == PUSH_DAY:
                    w.writerow(["anomaly", PUSH_CHANNEL, "marketing_spend", d, d, "Performance Max push day (9x)"])
                d += timedelta(days=1)


TRUTH_README = """
## Readback (orchestration/demo/readback_truth.py)

Seeded: `amazon_ca` a retire candidate (small revenue share, large operating-cost share, a loss
after opex every month); `amazon_us` sells FH-VAS-MEDIU 35% below list from E−27 (a price
inconsistency, below its minimum advertised price); FH-CDL-FIG 10% off on `shopify_web` E−44..E−31
and on `amazon_us` E−37..E−24 (a promo collision); `shopify_web` takes 4× its orders on E−17 and
pushes Performance Max spend on every 15th (anomalies). `shopify_pos` and `wholesale` are clean.

- `readback_expected.csv` — every flag the readback rules (docs/metrics.md "Channel readback",
  thresholds of dbt_project/seeds/readback_config.csv) raise on the simulated events, per grain,
  period and channel, with the evidence numbers and whether a seeded situation explains it.
- `readback_anomalies.csv` — every anomalous channel × day × metric (value, baseline, z).
- `readback_seeded.csv` — the seeded situations and their days.
"""
