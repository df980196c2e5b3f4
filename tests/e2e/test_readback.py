"""The channel readback finds what the demo generator seeded, with the generator's numbers, and
nothing else.

The generator seeds a retire candidate (amazon_ca), a price inconsistency (FH-VAS-MEDIU 35% below
list on amazon_us), a promo collision (FH-CDL-FIG on shopify_web and amazon_us), a flash-sale day
and monthly push days (shopify_web), and applies the readback rules to its own simulated events
(`demo/truth/readback_*.csv`, orchestration/demo/readback_truth.py). Here the files are landed,
dbt builds the warehouse, and the marts are compared with that truth; the shares behind the retire
flag and the revenue-gap drivers are recomputed from the generator's P&L and KPI truth and the
targets file. shopify_pos and wholesale are clean: they raise no flag at all.
"""

from __future__ import annotations

import calendar
import csv
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest

from connectors.home import build_database
from connectors.lake import Home, land_all
from orchestration.demo import generate
from orchestration.pipeline.dbt import failures, run_dbt

CLEAN = {"shopify_pos", "wholesale"}
SEEDED_CHANNELS = {"amazon_ca", "amazon_us", "shopify_web"}
END = date(2026, 10, 31)
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("readback"))
    generate(home.root, days=120, orders_per_day=40, end=END)
    land_all(home)
    result = run_dbt(home, "build")
    assert result.success, failures(result)
    return home


def query(home: Home, sql: str, params=None) -> list[dict]:
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def truth(home: Home, name: str) -> list[dict]:
    with (home.root / "demo" / "truth" / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def close(a, b, tol=1e-6) -> bool:
    if a in (None, "") or b in (None, ""):
        return a in (None, "") and b in (None, "")
    return abs(float(a) - float(b)) <= tol * max(1.0, abs(float(b)))


def test_flags_equal_the_generators_truth(built):
    expected = {(r["grain"], r["period_start"], r["channel"], r["flag"]): r
                for r in truth(built, "readback_expected.csv")}
    found = {(r["grain"], r["period_start"].isoformat(), r["channel"], r["flag"]): r
             for r in query(built, "select * from marts.channel_flags")}
    assert set(found) == set(expected)
    for key, row in found.items():
        t = expected[key]
        assert row["subject"] == t["subject"], key
        assert row["metric"] == t["metric"], key
        assert close(row["metric_value"], t["metric_value"], 1e-4), (key, row["metric_value"], t["metric_value"])
        assert close(row["reference_value"], t["reference_value"], 1e-4), (
            key, row["reference_value"], t["reference_value"])
        assert row["affected_count"] == int(t["affected_count"]), key
        assert row["evidence"] and row["owner"]


def test_every_flag_is_a_seeded_situation_and_clean_channels_raise_none(built):
    rows = truth(built, "readback_expected.csv")
    assert rows and all(r["seeded"] == "yes" for r in rows), [r for r in rows if r["seeded"] != "yes"]
    flagged = {r["channel"] for r in query(built, "select channel from marts.channel_flags")}
    assert flagged == SEEDED_CHANNELS
    for grain, table in (("month", "channel_readback_monthly"), ("week", "channel_readback_weekly")):
        for r in query(built, f"select * from marts.{table} where channel in ('shopify_pos', 'wholesale')"):
            assert r["flag_count"] == 0 and r["flags"] is None, (grain, r)
            assert r["next_action"].startswith("Keep the course"), r
    anomalies = {(r["channel"], r["date"].isoformat(), r["metric"])
                 for r in query(built, "select * from marts.channel_anomalies_daily where is_anomaly")}
    assert anomalies == {(r["channel"], r["date"], r["metric"]) for r in truth(built, "readback_anomalies.csv")}
    assert not any(channel in CLEAN for channel, _, _ in anomalies)


def pnl_truth(home: Home) -> dict[tuple[str, date], dict[str, Decimal]]:
    out: dict = defaultdict(lambda: defaultdict(Decimal))
    for r in truth(home, "pnl_daily.csv"):
        month = date.fromisoformat(r["date"]).replace(day=1)
        for line in ("net_revenue", "operating_costs", "contribution_after_opex"):
            out[(r["channel"], month)][line] += Decimal(r[line])
    return out


def test_retire_candidate_with_the_generators_numbers(built):
    pnl = pnl_truth(built)
    flags = {r["period_start"]: r for r in query(
        built, "select * from marts.channel_flags where flag = 'retire_candidate'")}
    assert {r for r in {f for f in flags}} == {date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)}  # complete months
    assert all(f["channel"] == "amazon_ca" for f in flags.values())
    for month, flag in flags.items():
        total_rev = sum(v["net_revenue"] for (c, m), v in pnl.items() if m == month)
        total_opex = sum(v["operating_costs"] for (c, m), v in pnl.items() if m == month)
        ca = pnl[("amazon_ca", month)]
        assert abs(flag["metric_value"] - float(ca["net_revenue"] / total_rev)) < 1e-9
        assert abs(flag["reference_value"] - float(ca["operating_costs"] / total_opex)) < 1e-9
        assert ca["contribution_after_opex"] < 0
        assert flag["metric_value"] <= 0.05 and flag["reference_value"] >= 0.10
    october = flags[date(2026, 10, 1)]
    assert october["subject"] == "share_rule+loss_streak" and october["affected_count"] == 3
    assert "negative 3 months running" in october["evidence"]
    assert f"{pnl[('amazon_ca', date(2026, 10, 1))]['contribution_after_opex']:.2f} this month" in october["evidence"]
    action = query(built, "select next_action from marts.channel_readback_monthly "
                          "where channel = 'amazon_ca' and month = date '2026-10-01'")[0]["next_action"]
    assert action.startswith("Review Amazon CA: ") and action.endswith("; owner: Marketplace lead")
    assert "contribution after opex negative 3 months running" in action


def test_price_inconsistency_and_promo_collision_where_seeded(built):
    seeded = truth(built, "readback_seeded.csv")
    cut = next(r for r in seeded if r["situation"] == "price_inconsistency")
    first = date.fromisoformat(cut["first_day"])
    price = query(built, "select * from marts.sku_channel_prices where grain = 'month' and channel = ? and sku = ? "
                         "and period_start = ?", [cut["channel"], cut["subject"], first.replace(day=1)])[0]
    assert price["is_price_outlier"] and price["is_below_map"] and price["price_deviation"] < -0.15
    assert price["lowest_list_price"] == Decimal("31.2000")  # 48.00 × 0.65
    # the lines listed below MAP, counted here from the order lines themselves (the mart counts price points' lines)
    below = query(built, "select count(*) as n from marts.fct_order_lines as l "
                         "join config.minimum_advertised_prices as m on m.sku = l.sku and m.currency = l.currency "
                         "where l.channel = ? and l.sku = ? and date_trunc('month', l.order_date) = ? "
                         "and not l.is_cancelled and l.units > 0 and l.unit_price < m.minimum_advertised_price",
                  [cut["channel"], cut["subject"], first.replace(day=1)])[0]["n"]
    assert price["lines_below_map"] == below > 0
    flag = query(built, "select * from marts.channel_flags where flag = 'price_inconsistency' and grain = 'month'")
    assert [(f["channel"], f["subject"], f["period_start"]) for f in flag] == \
        [(cut["channel"], cut["subject"], first.replace(day=1))]
    assert "below its 42.00 minimum advertised price" in flag[0]["evidence"]

    windows = {r["channel"]: (date.fromisoformat(r["first_day"]), date.fromisoformat(r["last_day"]))
               for r in seeded if r["situation"] == "promo_collision"}
    periods = query(built, "select * from marts.promo_periods where sku = 'FH-CDL-FIG'")
    for channel, (a, b) in windows.items():
        mine = [p for p in periods if p["channel"] == channel and a <= p["promo_start"] <= p["promo_end"] <= b]
        assert len(mine) == 1 and abs(mine[0]["discount_pct"] - 0.10) < 0.001, (channel, periods)
    overlap = (max(w[0] for w in windows.values()), min(w[1] for w in windows.values()))
    promo_flags = query(built, "select * from marts.channel_flags where flag = 'promo_collision' and grain = 'month'")
    assert {(f["channel"], f["subject"], f["period_start"]) for f in promo_flags} == \
        {(c, "FH-CDL-FIG", overlap[0].replace(day=1)) for c in windows}


def test_anomalies_found_with_the_generators_numbers(built):
    seeded = [r for r in truth(built, "readback_seeded.csv") if r["situation"] == "anomaly"]
    spike = next(r for r in seeded if r["subject"] == "orders")
    day = date.fromisoformat(spike["first_day"])
    kpis = {(r["channel"], r["date"]): r for r in truth(built, "kpis_daily.csv")}
    found = {r["metric"]: r for r in query(
        built, "select * from marts.channel_anomalies_daily where channel = 'shopify_web' and date = ?", [day])}
    assert found["orders"]["is_anomaly"] and found["orders"]["direction"] == "spike"
    assert found["orders"]["value"] == float(kpis[("shopify_web", day.isoformat())]["orders"])
    same_weekday = [float(kpis[("shopify_web", (day - timedelta(days=7 * k)).isoformat())]["orders"])
                    for k in range(1, 9)]
    assert found["orders"]["baseline_median"] == sorted(same_weekday)[3] / 2 + sorted(same_weekday)[4] / 2
    assert found["revenue"]["is_anomaly"] and found["orders"]["z_score"] > 4.5
    first_scored = date(2026, 7, 4) + timedelta(days=7 * 6)
    pushes = {date.fromisoformat(r["first_day"]) for r in seeded if r["subject"] == "marketing_spend"}
    spend = {r["date"] for r in query(built, "select date from marts.channel_anomalies_daily where is_anomaly "
                                             "and metric = 'marketing_spend' and channel = 'shopify_web'")}
    assert spend == {d for d in pushes if d >= first_scored}
    pnl = {(r["channel"], r["date"]): Decimal(r["marketing_spend"]) for r in truth(built, "pnl_daily.csv")}
    for d in spend:
        value = query(built, "select value from marts.channel_anomalies_daily where channel = 'shopify_web' "
                             "and date = ? and metric = 'marketing_spend'", [d])[0]["value"]
        assert Decimal(str(value)) == pnl[("shopify_web", d.isoformat())]


def round_half_away(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def test_revenue_gap_drivers_sum_to_the_gap_and_match_the_truth(built):
    rows = query(built, "select * from marts.channel_readback_monthly order by channel, month")
    assert rows
    pnl = pnl_truth(built)
    kpis = defaultdict(lambda: [0, 0, False])
    for r in truth(built, "kpis_daily.csv"):
        k = kpis[(r["channel"], date.fromisoformat(r["date"]).replace(day=1))]
        k[0] += int(r["orders"])
        if r["sessions"]:
            k[1] += int(r["sessions"])
            k[2] = True
    with (built.root / "landing" / "channel_targets" / "channel_targets.csv").open(newline="") as handle:
        targets = {(t["channel"], date.fromisoformat(t["month"] + "-01")): t for t in csv.DictReader(handle)}
    start = date(2026, 7, 4)
    checked = 0
    for r in rows:
        assert r["orders_effect"] + r["aov_effect"] == r["revenue_gap"]
        if r["conversion_effect"] is not None:
            assert r["traffic_effect"] + r["conversion_effect"] == r["orders_effect"]
        month, channel = r["month"], r["channel"]
        t = targets[(channel, month)]
        days = calendar.monthrange(month.year, month.month)[1]
        covered = [month + timedelta(days=i) for i in range(days) if month + timedelta(days=i) >= start
                   and month + timedelta(days=i) <= END]
        cents = int(Decimal(t["net_revenue_target"]) * 100)
        share = int((Decimal(cents) / days).quantize(Decimal(1), ROUND_HALF_UP))
        revenue_target = sum((Decimal(cents - share * (days - 1)) if d.day == days else Decimal(share))
                             for d in covered) / 100
        assert r["revenue_target"] == revenue_target
        actual = pnl[(channel, month)]["net_revenue"]
        assert r["net_revenue"] == actual
        assert r["revenue_gap"] == actual - revenue_target
        orders, sessions, has_sessions = kpis[(channel, month)]
        orders_target = float(t["orders_target"]) * len(covered) / days
        value_per_order = float(revenue_target) / orders_target
        assert abs(float(r["orders_effect"]) - (orders - orders_target) * value_per_order) <= 0.0051
        if t["conversion_rate_target"] and has_sessions:
            conv_target = float(t["conversion_rate_target"])
            assert abs(float(r["conversion_effect"]) - (orders - conv_target * sessions) * value_per_order) <= 0.0051
            assert r["sessions"] == sessions
        else:
            assert r["conversion_effect"] is None
        checked += 1
    assert checked == 5 * 4


# ---- every readback column against the generator's P&L and KPI truth ------------------------------

PNL_LINES = ("net_revenue", "cm3", "contribution_after_opex", "marketing_spend", "operating_costs")


def period_of(grain: str, day: date) -> date:
    return day.replace(day=1) if grain == "month" else day - timedelta(days=day.weekday())


def previous(grain: str, start: date) -> date:
    return (start - timedelta(days=1)).replace(day=1) if grain == "month" else start - timedelta(days=7)


def ratio(num, den) -> float | None:
    return float(Decimal(num) / Decimal(den)) if den else None


def expected_readback(home: Home, grain: str) -> dict[tuple[str, date], dict]:
    """Each channel × period of the readback, recomputed from the generator's truth: the P&L lines
    (pnl_daily.csv, every channel incl. unallocated for the shares), the KPI sums over the days the
    data covers (kpis_extra_daily.csv) and the channel's margin floor."""
    from orchestration.demo.kpi_truth import MARGIN_FLOOR_PCT

    pnl: dict = defaultdict(lambda: defaultdict(Decimal))
    for r in truth(home, "pnl_daily.csv"):
        key = (r["channel"], period_of(grain, date.fromisoformat(r["date"])))
        for line in PNL_LINES:
            pnl[key][line] += Decimal(r[line])
    periods = {p for _c, p in pnl}
    totals = {p: {line: sum(v[line] for (c, q), v in pnl.items() if q == p) for line in PNL_LINES} for p in periods}
    kpis: dict = defaultdict(lambda: {"orders": 0, "sessions": None, "value": Decimal(0)})
    for r in truth(home, "kpis_extra_daily.csv"):
        k = kpis[(r["channel"], period_of(grain, date.fromisoformat(r["date"])))]
        k["orders"] += int(r["orders"])
        k["value"] += (Decimal(r["order_gross_sales"]) - Decimal(r["order_discounts"])
                       + Decimal(r["order_shipping_income"]))
        if r["sessions"]:
            k["sessions"] = (k["sessions"] or 0) + int(r["sessions"])
    out = {}
    for (channel, start), k in kpis.items():
        p = pnl.get((channel, start), defaultdict(Decimal))
        cm3_pct = ratio(p["cm3"], p["net_revenue"])
        prev_start = previous(grain, start)
        prev = pnl.get((channel, prev_start), defaultdict(Decimal)) if prev_start in periods else None
        out[(channel, start)] = {
            **{line: p[line] for line in PNL_LINES},
            "cm3_pct": cm3_pct,
            "revenue_share": ratio(p["net_revenue"], totals[start]["net_revenue"]),
            "contribution_share": ratio(p["contribution_after_opex"], totals[start]["contribution_after_opex"]),
            "operating_cost_share": ratio(p["operating_costs"], totals[start]["operating_costs"]),
            "margin_vs_floor": None if cm3_pct is None else cm3_pct - float(MARGIN_FLOOR_PCT[channel]),
            "prev_net_revenue": None if prev is None else prev["net_revenue"],
            "net_revenue_change_pct": None if prev is None or not prev["net_revenue"] else
            float((p["net_revenue"] - prev["net_revenue"]) / abs(prev["net_revenue"])),
            "contribution_change": None if prev is None else
            p["contribution_after_opex"] - prev["contribution_after_opex"],
            "year_ago_net_revenue": None,  # 120 days of history: no year-ago period
            "orders": k["orders"],
            "sessions": k["sessions"],
            "aov": (k["value"] / k["orders"]).quantize(CENT, ROUND_HALF_UP) if k["orders"] else None,
            "conversion_rate": None if not k["sessions"] else k["orders"] / k["sessions"],
        }
    return out


def expected_targets(home: Home, grain: str) -> dict[tuple[str, date], dict]:
    """The period's coverage and revenue-gap drivers (docs/metrics.md "Revenue against target:
    drivers"), from the targets the generator wrote and its P&L and KPI truth, over the days covered."""
    with (home.root / "landing" / "channel_targets" / "channel_targets.csv").open(newline="") as handle:
        targets = {(t["channel"], t["month"]): t for t in csv.DictReader(handle)}
    days = [date.fromisoformat(r["date"]) for r in truth(home, "kpis_extra_daily.csv")]
    first, last = min(days), max(days)
    acc: dict = defaultdict(lambda: {"covered": set(), "R_t": Decimal(0), "O_t": 0.0, "S_t": 0.0, "has_s": False,
                                     "orders": 0, "sessions": 0})
    for r in truth(home, "kpis_extra_daily.csv"):
        day = date.fromisoformat(r["date"])
        a = acc[(r["channel"], period_of(grain, day))]
        a["covered"].add(day)
        t = targets[(r["channel"], day.strftime("%Y-%m"))]
        dim = calendar.monthrange(day.year, day.month)[1]
        a["R_t"] += Decimal(r["revenue_target"])
        a["O_t"] += float(t["orders_target"]) / dim
        if t["conversion_rate_target"] and float(t["conversion_rate_target"]) > 0:
            a["S_t"] += float(t["orders_target"]) / dim / float(t["conversion_rate_target"])
            a["has_s"] = True
        a["orders"] += int(r["orders"])
        a["sessions"] += int(r["sessions"] or 0)
    pnl: dict = defaultdict(Decimal)
    for r in truth(home, "pnl_daily.csv"):
        pnl[(r["channel"], period_of(grain, date.fromisoformat(r["date"])))] += Decimal(r["net_revenue"])
    out = {}
    for (channel, start), a in acc.items():
        length = calendar.monthrange(start.year, start.month)[1] if grain == "month" else 7
        period = {start + timedelta(days=i) for i in range(length)}
        gap = pnl[(channel, start)] - a["R_t"]
        v_t = float(a["R_t"]) / a["O_t"]
        c_t = a["O_t"] / a["S_t"] if a["has_s"] else None
        orders_effect = round((a["orders"] - a["O_t"]) * v_t, 2)
        conversion_effect = round((a["orders"] - c_t * a["sessions"]) * v_t, 2) if c_t and a["sessions"] else None
        out[(channel, start)] = {
            "days_in_period": length, "covered_days": len(period & {d for d in period if first <= d <= last}),
            "is_complete": period <= {d for d in period if first <= d <= last},
            "revenue_target": a["R_t"], "orders_target": a["O_t"], "sessions_target": a["S_t"] if a["has_s"] else None,
            "conversion_rate_target": c_t, "target_value_per_order": v_t, "revenue_gap": gap,
            "orders_effect": orders_effect, "conversion_effect": conversion_effect,
            "traffic_effect": None if conversion_effect is None else orders_effect - conversion_effect,
            "aov_effect": float(gap) - orders_effect,
        }
    return out


EFFECTS = {"orders_effect", "conversion_effect", "traffic_effect", "aov_effect"}


@pytest.mark.parametrize("grain, table, key", [("month", "channel_readback_monthly", "month"),
                                               ("week", "channel_readback_weekly", "week_start")])
def test_readback_coverage_targets_and_drivers_equal_the_truth(built, grain, table, key):
    want = expected_targets(built, grain)
    got = {(r["channel"], r[key]): r for r in query(built, f"select * from marts.{table}")}
    assert set(got) == set(want)
    mismatches = []
    for k, expected in want.items():
        for column, value in expected.items():
            actual = got[k][column]
            if value is None or actual is None:
                ok = value is None and actual is None
            elif isinstance(value, (bool, int, Decimal)):
                ok = actual == value
            elif column in EFFECTS:  # cents rounded from floating-point products: within half a cent
                ok = abs(float(actual) - value) <= 0.0051
            else:
                ok = abs(float(actual) - value) <= 1e-9 * max(1.0, abs(value))
            if not ok:
                mismatches.append((k[0], k[1].isoformat(), column, value, actual))
    assert mismatches == [], f"{len(mismatches)} mismatches (channel, period, column, truth, mart): {mismatches[:20]}"
    assert any(not v["is_complete"] for v in want.values()) and any(v["is_complete"] for v in want.values())


@pytest.mark.parametrize("grain, table, key", [("month", "channel_readback_monthly", "month"),
                                               ("week", "channel_readback_weekly", "week_start")])
def test_every_readback_column_equals_the_generators_truth(built, grain, table, key):
    want = expected_readback(built, grain)
    rows = query(built, f"select * from marts.{table}")
    got = {(r["channel"], r[key]): r for r in rows}
    assert len(got) == len(rows) and set(got) == set(want), sorted(set(got) ^ set(want))[:10]
    mismatches = []
    for k, expected in want.items():
        for column, value in expected.items():
            actual = got[k][column]
            if value is None or actual is None:
                ok = value is None and actual is None
            elif isinstance(value, Decimal) or isinstance(value, int):
                ok = Decimal(str(actual)) == value
            else:
                ok = abs(float(actual) - value) <= 1e-9 * max(1.0, abs(value))
            if not ok:
                mismatches.append((k[0], k[1].isoformat(), column, value, actual))
    assert mismatches == [], f"{len(mismatches)} mismatches (channel, period, column, truth, mart): {mismatches[:20]}"
    assert len(want) >= 5 * (4 if grain == "month" else 17)
