"""The KPI marts reproduce the demo generator's ground truth: generate a demo brand into a fresh
home, land every file, build the whole dbt project (models and their tests), and compare
channel_kpis_daily with demo/truth/kpis_daily.csv on every channel × day — orders, units, sessions
and new customers as exact integers — and channel_kpis_monthly with the sums of the days."""

import csv
from collections import defaultdict
from datetime import date

import duckdb
import pytest

from connectors.demo_data import generate
from connectors.lake import Home, land_all
from orchestration.dbt_runner import build_database, failures, run_dbt

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
    actual = {(ch, d): dict(zip(KPIS, values)) for ch, d, *values in daily}
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
