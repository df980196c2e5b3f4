"""Incremental builds equal a full refresh, row for row, and re-running a day changes nothing.

The demo's lake is replayed day by day into a second home: every event feed's rows arrive on their
own event date (a settlement report whole, on its last posting day), reference feeds (FX, COGS, opex,
targets, inventory, sessions) up front. The warehouse is built once, then incrementally for each new
day, as the nightly run does (`orchestration.incremental` plans the window, dbt re-processes each
feed's late-arriving days). Then late data arrives — refunds of month-old orders, a refund export
withheld for 25 days (older than any late-arriving window), and ad platforms revising their last
four days of spend — and the last day is built again. Every table dbt builds (staging, intermediate,
marts) must then equal what a full refresh of the same lake builds, and building the same day once
more must leave every table unchanged.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from connectors.contracts import load_contracts
from connectors.demo_data import generate
from connectors.lake import Home, land_all
from orchestration import incremental
from orchestration.dbt_runner import build_database, failures, run_dbt

LAST_DAY = date(2026, 10, 31)
FIRST_INCREMENTAL_DAY = LAST_DAY - timedelta(days=11)
REFERENCE_FEEDS = {"cogs", "fx_rates", "operating_costs", "channel_targets", "inventory_snapshots", "sessions"}
BUILT_SCHEMAS = ("staging", "intermediate", "marts", "config")


def _event_date(feed: str) -> str:
    contract = load_contracts()[feed]
    column = contract.event_time_column
    if contract.column(column).type == "timestamp":
        return f"cast(timezone('UTC', {column}) as date)"
    return column


def _arrival_days(con: duckdb.DuckDBPyConnection, feed: str, lake: Path) -> list[date]:
    files = f"read_parquet('{lake}/*.parquet', union_by_name = true)"
    if feed == "amazon_settlements":  # a settlement report arrives whole, after its last posting
        query = f"select distinct max(posted_date) over (partition by _source_file) from {files}"
    else:
        query = f"select distinct {_event_date(feed)} from {files}"
    return sorted(d for (d,) in con.execute(query).fetchall() if d is not None)


def _write_slice(con, feed: str, source: Path, target: Path, day: date, where: str) -> None:
    """The feed's rows of one arrival day as one landed file, stamped as landed now."""
    stamp = datetime.now(UTC)
    target.mkdir(parents=True, exist_ok=True)
    name = f"{feed}-{day.isoformat()}"
    con.execute(f"""
        copy (
            select * replace (
                '{name}' as _source_file, '{name}' as _source_sha256,
                cast('{stamp.isoformat()}' as timestamp with time zone) as _loaded_at)
            from read_parquet('{source}/*.parquet', union_by_name = true)
            where {where}
        ) to '{target / name}.parquet' (format parquet)""")


def replay_until(source: Home, replay: Home, day: date) -> None:
    """Land into `replay` every event feed's rows that arrived on `day` (or up to it, first time)."""
    first = not replay.raw("shopify_orders").exists()
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        for feed in load_contracts():
            lake, target = source.raw(feed), replay.raw(feed)
            if not any(lake.glob("*.parquet")):
                continue
            if feed in REFERENCE_FEEDS:
                if first:
                    _write_slice(con, feed, lake, target, day, "true")
                continue
            for arrival in _arrival_days(con, feed, lake):
                if arrival == day or (first and arrival < day):
                    if feed == "amazon_settlements":
                        where = f"""_source_file in (select _source_file from read_parquet('{lake}/*.parquet')
                                    group by _source_file having max(posted_date) = date '{arrival}')"""
                    else:
                        where = f"{_event_date(feed)} = date '{arrival}'"
                    _write_slice(con, feed, lake, target, arrival, where)


def _refunds(con, payments: Path, name: str, refund_day: date, order_day: date) -> None:
    """Partial refunds (40%) of five charges of `order_day`, dated `refund_day`, as one landed file."""
    con.execute(f"""
        copy (
            select * replace (
                '{name}-' || transaction_key as transaction_key, 'refund' as transaction_type,
                cast('{refund_day} 15:00:00+00' as timestamp with time zone) as transaction_date,
                -round(amount * 0.4, 2) as amount, cast(0 as decimal(18, 2)) as fee,
                -round(amount * 0.4, 2) as net, '{name}' as _source_file, '{name}' as _source_sha256,
                cast('{datetime.now(UTC).isoformat()}' as timestamp with time zone) as _loaded_at)
            from read_parquet('{payments}/*.parquet', union_by_name = true)
            where transaction_type = 'charge' and cast(timezone('UTC', transaction_date) as date) = date '{order_day}'
            order by transaction_key
            limit 5
        ) to '{payments}/{name}.parquet' (format parquet)""")


def land_late_data(replay: Home) -> None:
    """Refunds of month-old orders; a refund export 25 days late; revised ad spend of the last four days."""
    stamp = datetime.now(UTC).isoformat()
    payments, google = replay.raw("shopify_payments"), replay.raw("google_ads")
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        _refunds(con, payments, "late-refund", LAST_DAY - timedelta(days=1), LAST_DAY - timedelta(days=30))
        _refunds(con, payments, "withheld-refund", LAST_DAY - timedelta(days=25), LAST_DAY - timedelta(days=35))
        revised = con.execute(f"""
            copy (
                select * replace (
                    cast(spend * 1.25 as decimal(18, 6)) as spend, 'revision' as _source_file,
                    'revision' as _source_sha256, cast('{stamp}' as timestamp with time zone) as _loaded_at)
                from read_parquet('{google}/*.parquet', union_by_name = true)
                where date > date '{LAST_DAY - timedelta(days=4)}'
            ) to '{google}/revision.parquet' (format parquet)""").fetchall()
        assert revised[0][0] > 0, "the replay has no recent Google Ads rows to revise"


def build(home: Home, *options: str, **variables: str) -> None:
    result = run_dbt(home, *options, "--vars", json.dumps(variables))
    assert result.success, failures(result)


def build_night(home: Home, day: date, *options: str) -> incremental.BuildWindow:
    """The nightly build of one day: the planned window, then dbt, then the record of it."""
    window = incremental.plan(home, day, day)
    landed = {"landed_after": window.landed_after.isoformat()} if window.landed_after else {}
    build(home, *options, min_date=window.first_day.isoformat(), max_date=window.last_day.isoformat(), **landed)
    incremental.record(home, window)
    return window


def _comparable(row: tuple) -> tuple:
    # doubles (ratios, averages) to 12 significant digits: a float sum's last bits depend on the
    # order DuckDB's threads add in; money is decimal and compared exactly
    return tuple(float(f"{v:.12g}") if isinstance(v, float) else v for v in row)


def snapshot(home: Home) -> dict[str, list[tuple]]:
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in {BUILT_SCHEMAS} and table_type = 'BASE TABLE' order by all").fetchall()
        return {f"{schema}.{name}": [_comparable(row) for row in
                                     con.execute(f'select * from {schema}."{name}" order by all').fetchall()]
                for schema, name in tables}


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    source = Home(tmp_path_factory.mktemp("incremental_source"))
    generate(source.root, days=45, orders_per_day=30)
    land_all(source)
    replay = Home(tmp_path_factory.mktemp("incremental_replay"))
    replay_until(source, replay, FIRST_INCREMENTAL_DAY)
    build_night(replay, FIRST_INCREMENTAL_DAY, "build")
    day = FIRST_INCREMENTAL_DAY
    while day < LAST_DAY - timedelta(days=1):
        day += timedelta(days=1)
        replay_until(source, replay, day)
        # the incremental models and what they read; the other models are rebuilt whole every night
        build_night(replay, day, "run", "--select", "+tag:daily")
    replay_until(source, replay, LAST_DAY)
    land_late_data(replay)
    # the last night: every model and every data test (unique keys, reconciliations) on the increments
    window = build_night(replay, LAST_DAY, "build")
    return replay, snapshot(replay), window


def _assert_same(built: dict[str, list[tuple]], expected: dict[str, list[tuple]]) -> None:
    assert built.keys() == expected.keys()
    different = {name: (len(built[name]), len(expected[name]))
                 for name in expected if built[name] != expected[name]}
    assert not different, f"tables that differ (rows built, rows expected): {different}"


def test_the_replay_built_incrementally(replayed):
    replay, tables, window = replayed
    # the withheld export widened the last night's build back to its first refund
    assert window.first_day == LAST_DAY - timedelta(days=25)
    assert any("shopify_payments" in reason for reason in window.reasons)
    with duckdb.connect(str(build_database(replay)), read_only=True) as con:
        materialized = dict(con.execute(
            "select table_name, table_type from information_schema.tables "
            "where table_name in ('int_order_lines', 'stg_shopify__order_lines')").fetchall())
    assert materialized == {"int_order_lines": "BASE TABLE", "stg_shopify__order_lines": "BASE TABLE"}
    for name in ("late-refund-", "withheld-refund-"):
        assert sum(name in row[0] for row in tables["intermediate.int_refunds"]) == 5, f"{name}: not booked"
    assert len(tables["marts.fct_order_lines"]) > 1000


def test_rebuilding_the_same_day_changes_nothing(replayed):
    replay, tables, _ = replayed
    build(replay, "run", min_date=LAST_DAY.isoformat(), max_date=LAST_DAY.isoformat())
    _assert_same(snapshot(replay), tables)


def test_incremental_equals_a_full_refresh(replayed):
    replay, tables, _ = replayed
    build(replay, "run", "--full-refresh", max_date=LAST_DAY.isoformat())
    _assert_same(snapshot(replay), tables)
