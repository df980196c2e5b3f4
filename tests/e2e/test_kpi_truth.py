"""The KPI marts reproduce the demo generator's ground truth: generate a demo brand into a fresh
home, land every file, build the whole dbt project (models and their tests), and compare
channel_kpis_daily with demo/truth/kpis_daily.csv on every channel × day — orders, units, sessions
and new customers as exact integers — and channel_kpis_monthly with the sums of the days.
Then every KPI column (AOV, conversion, CAC, MER, cohort return rates, refund days, order cycle,
on-time rate, targets, margin against the floor …) of every channel × day and channel × month is
compared with demo/truth/kpis_extra_daily.csv / _monthly.csv, which the generator computes from its
own simulated events (orchestration/demo/kpi_truth.py), never from the marts; and
channel_platform_roas_daily with the ad rows it simulated (platform_roas_daily.csv)."""

import csv
import math
import os
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from connectors.home import build_database
from connectors.lake import Home, land_all
from orchestration.demo import generate
from orchestration.demo.kpi_truth import COLUMNS as KPI_TRUTH_COLUMNS
from orchestration.demo.kpi_truth import MARGIN_FLOOR_PCT, PROMISED_HANDLING_HOURS
from orchestration.pipeline.dbt import DBT_DIR, failures, run_dbt

KPIS = ("orders", "units", "sessions", "new_customers")
NO_IDENTITY = {"amazon_us", "amazon_ca"}  # Amazon orders carry no buyer identity: no new-customer count


@pytest.fixture(scope="module")
def built(tmp_path_factory, monkeypatch_module):
    home = Home(tmp_path_factory.mktemp("kpi_truth"))
    monkeypatch_module.setenv("CWH_HOME", str(home.root))
    generate(home.root, days=60, orders_per_day=40)
    results = land_all(home)
    assert [r for r in results if r.status != "loaded"] == []
    result = run_dbt(home, "build")
    assert result.success, failures(result)
    # dbt-duckdb keeps its in-process database open: connect with the same (default) configuration
    with duckdb.connect(str(build_database(home))) as con:
        daily = con.execute(
            f"select channel, date, {', '.join(KPIS)} from marts.channel_kpis_daily").fetchall()
        monthly = con.execute(
            f"select channel, month, {', '.join(KPIS)} from marts.channel_kpis_monthly").fetchall()
        channels = {r[0] for r in con.execute(
            "select channel from marts.dim_channel where channel_type <> 'unallocated'").fetchall()}
    with (home.root / "demo" / "truth" / "kpis_daily.csv").open() as handle:
        truth = list(csv.DictReader(handle))
    return daily, monthly, channels, truth


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def absent_row(channel: str) -> dict:
    """A channel × day with no row: nothing sold, no sessions reported, nobody new."""
    return {"orders": 0, "units": 0, "sessions": None, "new_customers": None if channel in NO_IDENTITY else 0}


def as_int(value: str) -> int | None:
    return None if value == "" else int(value)


def test_daily_kpis_equal_the_truth_for_every_channel_and_day(built):
    daily, _, channels, truth = built
    actual = {(ch, d): dict(zip(KPIS, values, strict=True)) for ch, d, *values in daily}
    expected = {(r["channel"], date.fromisoformat(r["date"])): {k: as_int(r[k]) for k in KPIS} for r in truth}
    assert len(actual) == len(daily), "channel_kpis_daily has duplicate channel × day rows"
    assert {ch for ch, _ in expected} <= channels
    # every truth day is in the marts' date range, and the marts have no other channels
    assert {ch for ch, _ in actual} == channels
    mismatches = []
    for key in sorted(set(actual) | set(expected)):
        want = expected.get(key, absent_row(key[0]))
        got = actual.get(key, absent_row(key[0]))
        for kpi in KPIS:
            if got[kpi] != want[kpi] or type(got[kpi]) is not type(want[kpi]):
                mismatches.append((key[0], key[1].isoformat(), kpi, want[kpi], got[kpi]))
    assert mismatches == [], f"{len(mismatches)} mismatches (channel, day, kpi, truth, mart): {mismatches[:20]}"
    # the comparison is not vacuous
    assert sum(v["orders"] for v in expected.values()) > 60 * 30
    assert sum(v["new_customers"] or 0 for v in expected.values()) > 0


def test_monthly_kpis_are_the_sums_of_the_days(built):
    daily, monthly, _, truth = built
    sums: dict[tuple, dict] = defaultdict(lambda: {"orders": 0, "units": 0, "new_customers": None})
    for ch, d, orders, units, _sessions, new in daily:
        row = sums[(ch, d.replace(day=1))]
        row["orders"] += orders
        row["units"] += units
        if new is not None:
            row["new_customers"] = (row["new_customers"] or 0) + new
    truth_sums: dict[tuple, dict] = defaultdict(lambda: {"orders": 0, "units": 0, "new_customers": 0})
    for r in truth:
        row = truth_sums[(r["channel"], date.fromisoformat(r["date"]).replace(day=1))]
        for kpi in ("orders", "units", "new_customers"):
            row[kpi] += as_int(r[kpi]) or 0
    actual = {(ch, m): {"orders": o, "units": u, "new_customers": n} for ch, m, o, u, _s, n in monthly}
    assert len(actual) == len(monthly)
    assert actual == dict(sums)
    for key, want in truth_sums.items():
        got = actual[key]
        assert (got["orders"], got["units"]) == (want["orders"], want["units"]), key
        assert got["new_customers"] == (None if key[0] in NO_IDENTITY else want["new_customers"]), key


# ---- every KPI column against the generator's own events -----------------------------------------

EXACT = {"orders", "units", "sessions", "new_customers", "cohort_units_returned", "timed_refunds",
         "shipped_orders", "on_time_shipped_orders"}
MONEY = {"order_gross_sales", "order_discounts", "order_shipping_income", "aov", "marketing_spend", "cac",
         "net_revenue", "cohort_returns", "revenue_target", "revenue_vs_target"}


def kpi_columns() -> list[str]:
    return list(KPI_TRUTH_COLUMNS)


def parse(column: str, text: str):
    if text == "":
        return None
    if column in EXACT:
        return int(text)
    if column in MONEY:
        return Decimal(text)
    return float(text)


def same(column: str, want, got) -> bool:
    if want is None or got is None:
        return want is None and got is None
    if column in EXACT:
        return int(got) == want and float(got) == got
    if column in MONEY:
        return Decimal(str(got)) == want
    return math.isclose(float(got), want, rel_tol=1e-9, abs_tol=1e-12)


def compare(home: Path, truth_file: str, mart: str, key: str) -> tuple[list, dict]:
    cols = kpi_columns()
    with (home / "demo" / "truth" / truth_file).open() as handle:
        truth = {(r["channel"], r[key]): {c: parse(c, r[c]) for c in cols} for r in csv.DictReader(handle)}
    with duckdb.connect(str(build_database(Home(home))), read_only=True) as con:
        cur = con.execute(f"select channel, {key}, {', '.join(cols)} from marts.{mart}")
        rows = cur.fetchall()
    actual = {(ch, k.isoformat()): dict(zip(cols, vals, strict=True)) for ch, k, *vals in rows}
    assert len(actual) == len(rows)
    assert set(actual) == set(truth), (sorted(set(actual) ^ set(truth))[:10])
    mismatches = [(ch, k, c, truth[(ch, k)][c], actual[(ch, k)][c]) for ch, k in sorted(truth) for c in cols
                  if not same(c, truth[(ch, k)][c], actual[(ch, k)][c])]
    return mismatches, truth


@pytest.fixture(scope="module")
def home_root(built) -> Path:
    return Path(os.environ["CWH_HOME"])  # set by `built` for the module


def test_every_daily_kpi_column_equals_the_generators_truth(home_root):
    mismatches, truth = compare(home_root, "kpis_extra_daily.csv", "channel_kpis_daily", "date")
    assert mismatches == [], (f"{len(mismatches)} mismatches (channel, day, column, truth, mart): "
                              f"{mismatches[:20]}")
    # not vacuous: every column has a value somewhere, and the rates are not trivially 0 or 1
    for column in kpi_columns():  # (the demo's timed refunds take 0 days: FBA receipt = refund instant)
        blank = (None,) if column == "refund_processing_days" else (None, 0)
        assert any(r[column] not in blank for r in truth.values()), column
    web = [r for (ch, _d), r in truth.items() if ch == "shopify_web"]
    assert sum(r["shipped_orders"] for r in web) > sum(r["on_time_shipped_orders"] for r in web) > 0


def test_every_monthly_kpi_column_equals_the_generators_truth(home_root):
    mismatches, truth = compare(home_root, "kpis_extra_monthly.csv", "channel_kpis_monthly", "month")
    assert mismatches == [], (f"{len(mismatches)} mismatches (channel, month, column, truth, mart): "
                              f"{mismatches[:20]}")
    assert len(truth) == 5 * 2


def test_the_promise_boundary_is_in_the_data_and_judged_on_time(home_root):
    """Web orders shipped exactly at the 48 h promise are on time, one second later late; POS orders
    handed over at the till (cycle 0 h, promise 0 h) are on time."""
    with duckdb.connect(str(build_database(Home(home_root))), read_only=True) as con:
        cycles = con.execute("""
            select channel, epoch(max(shipped_at)) - epoch(min(ordered_at)) as seconds
            from intermediate.int_order_lines
            where not is_cancelled and channel in ('shopify_web', 'shopify_pos')
            group by channel, order_id having count(shipped_at) = count(*)""").fetchall()
    at_promise = [s for ch, s in cycles if ch == "shopify_web" and s == 48 * 3600]
    just_late = [s for ch, s in cycles if ch == "shopify_web" and s == 48 * 3600 + 1]
    assert len(at_promise) >= 10 and len(just_late) >= 10
    assert {s for ch, s in cycles if ch == "shopify_pos"} == {0}


def test_the_truths_promises_and_floors_are_the_seeded_ones():
    with (DBT_DIR / "seeds" / "channels.csv").open(newline="") as handle:
        seeded = {r["channel"]: r for r in csv.DictReader(handle) if r["channel"] != "unallocated"}
    assert {ch: int(r["promised_handling_hours"]) for ch, r in seeded.items()} == PROMISED_HANDLING_HOURS
    assert {ch: Decimal(r["margin_floor_pct"]) for ch, r in seeded.items()} == MARGIN_FLOOR_PCT


def test_platform_roas_equals_the_generators_ad_rows(home_root):
    """channel_platform_roas_daily: every channel × platform × day, its spend and the platform's own
    conversion value (reporting currency), impressions, clicks, conversions and ROAS."""
    with (home_root / "demo" / "truth" / "platform_roas_daily.csv").open() as handle:
        truth = {(r["channel"], r["platform"], r["date"]): r for r in csv.DictReader(handle)}
    with duckdb.connect(str(build_database(Home(home_root))), read_only=True) as con:
        rows = con.execute("select channel, platform, date, spend_rc, conversion_value_rc, impressions, clicks, "
                           "conversions, platform_roas from marts.channel_platform_roas_daily").fetchall()
    actual = {(ch, p, d.isoformat()): rest for ch, p, d, *rest in rows}
    assert len(actual) == len(rows) and set(actual) == set(truth), sorted(set(actual) ^ set(truth))[:10]
    assert {p for _c, p, _d in truth} == {"google_ads", "meta_ads", "pinterest_ads", "amazon_ads"}
    mismatches = []
    for key, want in truth.items():
        spend, value, impressions, clicks, conversions, roas = actual[key]
        ok = (spend == Decimal(want["spend_rc"]) and value == Decimal(want["conversion_value_rc"])
              and impressions == int(want["impressions"]) and clicks == int(want["clicks"])
              and math.isclose(conversions, float(want["conversions"]), rel_tol=1e-12, abs_tol=1e-12)
              and (roas is None if want["platform_roas"] == "" else
                   math.isclose(roas, float(want["platform_roas"]), rel_tol=1e-9)))
        if not ok:
            mismatches.append((key, want, actual[key]))
    assert mismatches == [], f"{len(mismatches)} mismatches: {mismatches[:10]}"
