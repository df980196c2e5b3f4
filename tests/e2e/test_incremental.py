"""Incremental builds equal a full refresh, row for row, and re-running a day changes nothing.

The demo's lake is replayed day by day into a second home: every event feed's rows arrive on their
own event date (a settlement report whole, on its last posting day), reference feeds (FX, COGS, opex,
targets, inventory, sessions) up front. The warehouse is built once, then incrementally for each new
day, as the nightly run does (`orchestration.pipeline.incremental` plans the window, dbt re-processes each
feed's late-arriving days). Then late data arrives — refunds of month-old orders, a refund export
withheld for 25 days (older than any late-arriving window), ad platforms revising their last
four days of spend, and Amazon re-issuing its oldest settlement (a line dropped, its amount moved to
another line) — and the last day is built again. Every table dbt builds (staging, intermediate,
marts) must then equal what a full refresh of the same lake builds, and building the same day once
more must leave every table unchanged.

The late-arriving window is also tested on its own (below): dbt alone, without the plan's widening,
must re-process late data at exactly the window's first day, and the plan must widen for data one day
older and say why.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from connectors.contracts import load_contracts
from connectors.home import build_database, business_timezone
from connectors.lake import Home, land_all
from orchestration.demo import generate
from orchestration.pipeline import incremental, publish
from orchestration.pipeline.dbt import failures, run_dbt

LAST_DAY = date(2026, 10, 31)
ZONE = "America/New_York"  # the demo shop's business time zone: event dates are its local days
FIRST_INCREMENTAL_DAY = LAST_DAY - timedelta(days=11)
REFERENCE_FEEDS = {"cogs", "fx_rates", "operating_costs", "channel_targets", "inventory_snapshots", "sessions"}
BUILT_SCHEMAS = ("staging", "intermediate", "marts", "config")


def _event_date(feed: str) -> str:
    contract = load_contracts()[feed]
    column = contract.event_time_column
    if contract.column(column).type == "timestamp":
        return f"cast(timezone('{ZONE}', {column}) as date)"
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
            where transaction_type = 'charge'
                and cast(timezone('{ZONE}', transaction_date) as date) = date '{order_day}'
            order by transaction_key
            limit 5
        ) to '{payments}/{name}.parquet' (format parquet)""")


def _reissue_oldest_settlement(con, lake: Path) -> dict:
    """Amazon re-issues the oldest settlement: its first fulfilment-fee line is dropped and its amount
    added to the commission line of the same order item (the settlement's total unchanged), landed
    now as a new file. Returns the settlement, its first posting day, and the lines changed."""
    files = f"read_parquet('{lake}/*.parquet', union_by_name = true)"
    settlement, first_day = con.execute(
        f"select settlement_id, min(cast(posted_date as date)) from {files} "
        "group by settlement_id order by 2, 1 limit 1").fetchone()
    dropped, order_item, fee = con.execute(
        f"select line_id, order_item_code, amount from {files} where settlement_id = $s "
        "and amount_description = 'FBAPerUnitFulfillmentFee' and transaction_type = 'Order' "
        "order by line_id limit 1", {"s": settlement}).fetchone()
    (raised,) = con.execute(
        f"select line_id from {files} where settlement_id = $s and order_item_code = $item "
        "and amount_description = 'Commission' and transaction_type = 'Order'",
        {"s": settlement, "item": order_item}).fetchone()
    con.execute(f"""
        copy (
            select * replace (
                case when line_id = $raised then amount + $fee else amount end as amount,
                'reissued-settlement' as _source_file, 'reissued-settlement' as _source_sha256,
                cast('{datetime.now(UTC).isoformat()}' as timestamp with time zone) as _loaded_at)
            from {files}
            where settlement_id = $s and line_id <> $dropped
        ) to '{lake}/reissued-settlement.parquet' (format parquet)""",
        {"s": settlement, "raised": raised, "fee": fee, "dropped": dropped})
    return {"settlement_id": settlement, "first_day": first_day, "dropped": dropped, "raised": raised}


def land_late_data(replay: Home) -> dict:
    """Refunds of month-old orders; a refund export 25 days late; revised ad spend of the last four
    days; the oldest settlement re-issued (returned: `_reissue_oldest_settlement`)."""
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
        return _reissue_oldest_settlement(con, replay.raw("amazon_settlements"))


def build(home: Home, *options: str, **variables: str):
    """dbt with these vars, which must succeed → its result."""
    result = run_dbt(home, *options, "--vars", json.dumps(variables))
    assert result.success, failures(result)
    return result


def night(home: Home, day: date, *options: str):
    """The nightly build of one day: the planned window, then dbt (with the plan's window alone, as a
    night: no late-arriving days added), then the record of it → (the window, dbt's result)."""
    window = incremental.plan(home, day, day)
    landed = {"landed_after": window.landed_after.isoformat()} if window.landed_after else {}
    planned = {"window_planned": "true"} if window.planned else {}
    result = build(home, *options, min_date=window.first_day.isoformat(), max_date=window.last_day.isoformat(),
                   **landed, **planned)
    incremental.record(home, window)
    return window, result


def build_night(home: Home, day: date, *options: str) -> incremental.BuildWindow:
    """`night`'s window."""
    return night(home, day, *options)[0]


def failing_rows(result, test: str) -> int:
    """The rows a dbt result's test `test` failed or warned on."""
    return sum(r.failures or 0 for r in result.result.results if r.node.name == test)


def _comparable(row: tuple) -> tuple:
    # doubles (ratios, averages) to 12 significant digits: a float sum's last bits depend on the
    # order DuckDB's threads add in; money is decimal and compared exactly
    return tuple(float(f"{v:.12g}") if isinstance(v, float) else v for v in row)


def snapshot(home: Home) -> dict[str, list[tuple]]:
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            # the facts are views over the event models (event_view_config): compared as the tables they publish as
            f"where table_schema in {BUILT_SCHEMAS} and table_type in ('BASE TABLE', 'VIEW') "
            # a group-incremental model's list of the groups its build re-computed (not data: a full
            # build lists every group)
            "and not ends_with(table_name, '__groups') order by all").fetchall()
        return {f"{schema}.{name}": [_comparable(row) for row in
                                     con.execute(f'select * from {schema}."{name}" order by all').fetchall()]
                for schema, name in tables}


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    source = Home(tmp_path_factory.mktemp("incremental_source"))
    generate(source.root, days=45, orders_per_day=30, timezone=ZONE)
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
    reissued = land_late_data(replay)
    # the last night: every model and every data test (unique keys, reconciliations) on the increments
    window = build_night(replay, LAST_DAY, "build")
    return replay, snapshot(replay), window, reissued


def _assert_same(built: dict[str, list[tuple]], expected: dict[str, list[tuple]]) -> None:
    assert built.keys() == expected.keys()
    different = {name: (len(built[name]), len(expected[name]))
                 for name in expected if built[name] != expected[name]}
    assert not different, f"tables that differ (rows built, rows expected): {different}"


def test_the_replay_built_incrementally(replayed):
    replay, tables, window, reissued = replayed
    # the withheld export and the re-issued settlement widened the last night's build to the older
    # of their first events, and the plan says which
    withheld = LAST_DAY - timedelta(days=25)
    assert window.first_day == min(withheld, reissued["first_day"])
    widened_by = "amazon_settlements" if reissued["first_day"] < withheld else "shopify_payments"
    assert any(widened_by in reason for reason in window.reasons), window.reasons
    with duckdb.connect(str(build_database(replay)), read_only=True) as con:
        materialized = dict(con.execute(
            "select table_name, table_type from information_schema.tables "
            "where table_name in ('int_order_lines', 'stg_shopify__order_lines', 'fct_order_lines')").fetchall())
    assert materialized == {"int_order_lines": "BASE TABLE", "stg_shopify__order_lines": "BASE TABLE",
                            "fct_order_lines": "VIEW"}
    for name in ("late-refund-", "withheld-refund-"):
        assert sum(name in row[0] for row in tables["intermediate.int_refunds"]) == 5, f"{name}: not booked"
    assert len(tables["marts.fct_order_lines"]) > 1000


def test_the_build_keeps_every_event_marts_day_sums_as_its_rows_give_them(replayed):
    """dbt_state.event_day_sums (macros/day_sums.sql), re-summed each night only on the days the night may
    have changed, equals every day's (rows, sum of row hashes) of each event-grain mart — after nights of
    late data, a re-issued settlement and accruals settled — and again after a full refresh. Publish
    patches the published file by these sums (test_publish.py)."""
    replay, _, _, _ = replayed

    def kept_and_summed() -> dict[str, tuple[set, set]]:
        with duckdb.connect(str(build_database(replay)), read_only=True) as con:
            pairs = {}
            for table, column in publish.event_date_columns(replay).items():
                if not table.startswith("marts."):
                    continue
                kept = set(con.execute('select "day", "rows", row_hash_sum from dbt_state.event_day_sums '
                                       "where table_name = ?", [table]).fetchall())
                summed = set(con.execute(f"select cast({column} as varchar), count(*), sum(hash(*COLUMNS(*))) "
                                         f"from {table} group by {column}").fetchall())
                pairs[table] = (kept, summed)
            return pairs

    pairs = kept_and_summed()
    assert {"marts.fct_order_lines", "marts.fct_fees", "marts.fct_refunds"} <= pairs.keys()
    for table, (kept, summed) in pairs.items():
        assert kept == summed and len(summed) > 20, table
    # publish trusts them: dbt's column signature and day sums are publish's own (macros/day_sums.sql)
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{build_database(replay)}' AS build (READ_ONLY)")
        for table, column in publish.event_date_columns(replay).items():
            if table in pairs:
                assert publish._kept_day_sums(con, *table.split("."), column), table
                assert set(con.execute(f"select * from {publish.BUILD_DAYS}").fetchall()) == set(con.execute(
                    publish._days_of_table(f"build.{table}", column)).fetchall())
    with duckdb.connect(str(build_database(replay)), read_only=True) as con:  # accruals of older days re-rated
        assert con.execute("select count(distinct fee_date) from marts.fct_fees where is_accrued").fetchone()[0] > 1


def test_an_accrual_re_rated_on_a_day_before_the_window_is_re_summed(replayed, tmp_path):
    """fct_fees re-inserts every current accrual whatever its date (a new settlement re-rates them all): an
    unsettled item ordered before the night's window keeps its row count but not its amount, so its day
    is re-summed too (`also_days_where`), not only the window's days and the days whose count moved."""
    replay, _, window, _ = replayed
    home = Home(tmp_path / "home")
    shutil.copytree(replay.root, home.root)
    with duckdb.connect(str(build_database(home))) as con:
        fee_line_id, fee_date = con.execute(
            "select fee_line_id, fee_date from marts.fct_fees where is_accrued and fee_date < ? "
            "order by fee_date, fee_line_id limit 1", [LAST_DAY]).fetchone()
        # as a settlement landed tonight would re-rate it
        con.execute("update intermediate.int_fee_accruals set amount = amount + 1, amount_rc = amount_rc + 1 "
                    "where fee_line_id = ?", [fee_line_id])
    build(home, "run", "--select", "fct_fees", min_date=LAST_DAY.isoformat(), max_date=LAST_DAY.isoformat(),
          landed_after=window.landed_after.isoformat(), window_planned="true")
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        assert con.execute("select amount_rc from marts.fct_fees where fee_line_id = ?", [fee_line_id]).fetchone()[0] \
            == con.execute("select amount_rc from intermediate.int_fee_accruals where fee_line_id = ?",
                           [fee_line_id]).fetchone()[0]
        kept = con.execute('select "rows", row_hash_sum from dbt_state.event_day_sums '
                           "where table_name = 'marts.fct_fees' and \"day\" = ?", [str(fee_date)]).fetchone()
        summed = con.execute("select count(*), sum(hash(*COLUMNS(*))) from marts.fct_fees where fee_date = ?",
                             [fee_date]).fetchone()
    assert kept == summed


def test_the_accruals_look_among_their_lines_and_the_changed_days_and_everywhere_when_a_settlement_is_gone(
        replayed, tmp_path):
    """int_fee_accruals looks for the unsettled items among the lines it stored and those of the days whose
    order lines changed since it last read them; a line elsewhere is not read again (here, an accrual
    deleted from the stored rows stays away). When a settlement file it read is gone (re-issued,
    unlanded), every line is read again and the rows are those of a whole build."""
    replay, _, window, _ = replayed
    home = Home(tmp_path / "home")
    shutil.copytree(replay.root, home.root)
    night_vars = {"min_date": LAST_DAY.isoformat(), "max_date": LAST_DAY.isoformat(),
                  "landed_after": window.landed_after.isoformat(), "window_planned": "true"}

    def accruals() -> set[tuple]:
        with duckdb.connect(str(build_database(home)), read_only=True) as con:
            return set(con.execute("select order_line_id, * exclude (order_line_id) "
                                   "from intermediate.int_fee_accruals").fetchall())

    whole = accruals()
    with duckdb.connect(str(build_database(home))) as con:
        lines = con.execute("select distinct fee_date, order_line_id from intermediate.int_fee_accruals "
                            "where fee_date < ? order by all", [LAST_DAY]).fetchall()
        changed_day, changed_line = lines[0]
        kept_line = next(line for day, line in lines if day > changed_day)  # on another day
        con.execute("delete from intermediate.int_fee_accruals where order_line_id in (?, ?)",
                    [changed_line, kept_line])
        # the order lines of `changed_day` changed since the accruals read their sums
        con.execute("update dbt_state.event_day_sums_read set row_hash_sum = row_hash_sum + 1 "
                    "where reader = 'int_fee_accruals' and \"day\" = ?", [str(changed_day)])
    build(home, "run", "--select", "int_fee_accruals", **night_vars)
    found = accruals()
    assert changed_line in {row[0] for row in found} and kept_line not in {row[0] for row in found}
    assert found == {row for row in whole if row[0] != kept_line}

    with duckdb.connect(str(build_database(home))) as con:  # a settlement re-issued since the accruals read it
        con.execute("update dbt_state.settlement_files_read set _source_sha256 = 'an older file' "
                    "where reader = 'int_fee_accruals' and settlement_id = "
                    "(select min(settlement_id) from dbt_state.settlement_files_read)")
    build(home, "run", "--select", "int_fee_accruals", **night_vars)
    assert accruals() == whole


def test_the_daily_pnl_re_sums_the_days_whose_facts_changed_and_keeps_the_others(replayed, tmp_path):
    """channel_pnl_daily re-sums only the days whose facts' sums changed since its last build
    (macros/day_sums.sql, changed_fact_days): an accrual re-rated on an older day (fct_fees, kept sums) and
    an operating cost changed on another (int_operating_costs_daily, summed by the reader) reach their
    days; a day whose facts did not change keeps its stored lines (altered here, to see that it is not
    re-summed); a full refresh re-sums every day. The night: the last day's window (LAST_DAY)."""
    replay, _, window, _ = replayed
    home = Home(tmp_path / "home")
    shutil.copytree(replay.root, home.root)
    lines = "gross_sales, marketplace_fees, fulfillment_costs, operating_costs, accrued_marketplace_fees, " \
            "accrued_fulfillment_costs, contribution_after_opex"

    def pnl(con, channel, day) -> dict:
        row = con.execute(f"select {lines} from marts.channel_pnl_daily where channel = ? and date = ?",
                          [channel, day]).fetchone()
        return dict(zip(lines.split(", "), row, strict=True))

    with duckdb.connect(str(build_database(home))) as con:
        fee_line_id, fee_date, fee_channel, pnl_line = con.execute(
            "select fee_line_id, fee_date, channel, pnl_line from marts.fct_fees where is_accrued and fee_date < ? "
            "order by fee_date, fee_line_id limit 1", [LAST_DAY]).fetchone()
        con.execute("update intermediate.int_fee_accruals set amount = amount + 1, amount_rc = amount_rc + 1 "
                    "where fee_line_id = ?", [fee_line_id])
        cost_date, cost_channel, cost_type = con.execute(
            "select cost_date, channel, cost_type from intermediate.int_operating_costs_daily "
            "where cost_date < ? order by cost_date, channel, cost_type limit 1", [fee_date]).fetchone()
        con.execute("update intermediate.int_operating_costs_daily set amount_rc = amount_rc + 2 "
                    "where cost_date = ? and channel = ? and cost_type = ?", [cost_date, cost_channel, cost_type])
        kept_date, kept_channel = con.execute(
            "select date, channel from marts.channel_pnl_daily where gross_sales > 0 and date not in (?, ?) "
            "and date < ? order by date, channel limit 1", [fee_date, cost_date, LAST_DAY]).fetchone()
        con.execute("update marts.channel_pnl_daily set gross_sales = gross_sales + 100 where date = ? and channel = ?",
                    [kept_date, kept_channel])
        before = {"fee": pnl(con, fee_channel, fee_date), "cost": pnl(con, cost_channel, cost_date),
                  "kept": pnl(con, kept_channel, kept_date)}
    build(home, "run", "--select", "fct_fees", "channel_pnl_daily", min_date=LAST_DAY.isoformat(),
          max_date=LAST_DAY.isoformat(), landed_after=window.landed_after.isoformat(), window_planned="true")
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        after = {"fee": pnl(con, fee_channel, fee_date), "cost": pnl(con, cost_channel, cost_date),
                 "kept": pnl(con, kept_channel, kept_date)}
    assert after["fee"][pnl_line] == before["fee"][pnl_line] + 1
    assert after["fee"][f"accrued_{pnl_line}"] == before["fee"][f"accrued_{pnl_line}"] + 1
    assert after["cost"]["operating_costs"] == before["cost"]["operating_costs"] + 2
    # not re-summed: the altered stored line stays, and the derived lines are recomputed from it
    assert after["kept"]["gross_sales"] == before["kept"]["gross_sales"]
    assert after["kept"]["contribution_after_opex"] == before["kept"]["contribution_after_opex"] + 100
    build(home, "run", "--full-refresh", "--select", "channel_pnl_daily", max_date=LAST_DAY.isoformat())
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        refreshed = {"fee": pnl(con, fee_channel, fee_date), "cost": pnl(con, cost_channel, cost_date),
                     "kept": pnl(con, kept_channel, kept_date)}
    assert refreshed["fee"] == after["fee"] and refreshed["cost"] == after["cost"]
    assert refreshed["kept"]["gross_sales"] == before["kept"]["gross_sales"] - 100


def test_a_dbt_command_on_another_time_zone_stops_before_any_model(replayed, tmp_path, monkeypatch):
    """A dbt command run on another business time zone than the build's (by hand, without the zone `cwh`
    sets) would re-date the window's events on that clock and keep the older days on the first, every
    test passing (macros/build_zone.sql): it stops before any model and says which zone the database was
    built on; a full refresh of every model rebuilds every day on the new zone and keeps it."""
    replay, _, window, _ = replayed
    home = Home(tmp_path / "home")
    shutil.copytree(replay.root, home.root)
    rows = "select order_date, count(*) from marts.fct_order_lines group by all order by all"
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        before = con.execute(rows).fetchall()
    built_on = business_timezone(home)
    other = "Asia/Tokyo" if built_on != "Asia/Tokyo" else "UTC"
    monkeypatch.setenv("CWH_TIMEZONE", other)  # as a dbt command run by hand on the wrong zone
    night = {"min_date": LAST_DAY.isoformat(), "max_date": LAST_DAY.isoformat(),
             "landed_after": window.landed_after.isoformat(), "window_planned": "true"}
    result = run_dbt(home, "run", "--select", "+fct_order_lines", "--vars", json.dumps(night))
    assert not result.success
    assert any(f"built on the business time zone {built_on}" in line and f"CWH_BUSINESS_TIMEZONE={built_on}" in line
               for line in failures(result)), failures(result)
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        assert con.execute(rows).fetchall() == before
    build(home, "run", "--full-refresh", max_date=LAST_DAY.isoformat())
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        assert con.execute("select value from dbt_state.build_settings where name = 'business_timezone'").fetchall() \
            == [(other,)]
        assert con.execute(rows).fetchall() != before  # the days re-dated on the new zone
    build(home, "run", "--select", "+fct_order_lines", **night)  # the new zone's nights go on


def test_a_reissued_settlement_replaces_its_lines(replayed):
    """int_settlement_lines re-processes only the settlements whose file changed: the re-issued one
    holds the new file's lines (the dropped line gone, the raised one raised), the others are kept."""
    replay, _, _, reissued = replayed
    with duckdb.connect(str(build_database(replay)), read_only=True) as con:
        lines = dict(con.execute(
            "select line_id, _source_sha256 from intermediate.int_settlement_lines where settlement_id = $s",
            {"s": reissued["settlement_id"]}).fetchall())
        others = con.execute("select count(distinct _source_sha256) from intermediate.int_settlement_lines "
                             "where settlement_id <> $s", {"s": reissued["settlement_id"]}).fetchone()[0]
    assert reissued["dropped"] not in lines and reissued["raised"] in lines
    assert set(lines.values()) == {"reissued-settlement"}
    assert others > 1  # the other settlements keep the files they were built from


SETTLED_ITEMS = """
    select settlement_id, channel, currency, order_id, sku, min(posted_date), max(posted_date),
           sum(case when category = 'sales_principal' then quantity_purchased else 0 end),
           sum(case when category = 'sales_principal' then round(amount * 100) else 0 end),
           sum(case when category = 'marketplace_fees' then -round(amount * 100) else 0 end),
           sum(case when category = 'fulfillment_costs' then -round(amount * 100) else 0 end),
           sum(case when category is null then 1 else 0 end), min(_source_sha256)
    from intermediate.int_settlement_lines
    where transaction_type = 'Order' and order_id is not null
    group by all"""


def test_settled_items_re_compute_the_settlements_whose_file_changed_is_gone_or_is_unclassified(replayed, tmp_path):
    """int_settlement_items re-computes a settlement whose stored file differs from its lines', one its
    lines no longer have (its stored rows go), and one whose rows count an unclassified line; a
    settlement whose stored file is its lines' is left as stored (here, a wrong sum it keeps)."""
    replay, _, window, _ = replayed
    home = Home(tmp_path / "home")
    shutil.copytree(replay.root, home.root)
    with duckdb.connect(str(build_database(home))) as con:
        changed, unclassified, untouched = [s for (s,) in con.execute(
            "select distinct settlement_id from intermediate.int_settlement_items order by 1 limit 3").fetchall()]
        stale = "update intermediate.int_settlement_items set principal_cents = principal_cents + 1"
        con.execute(f"{stale}, _source_sha256 = 'an older file' where settlement_id = ?", [changed])
        con.execute(f"{stale}, unclassified_lines = 1 where settlement_id = ?", [unclassified])
        con.execute(f"{stale} where settlement_id = ?", [untouched])
        con.execute("insert into intermediate.int_settlement_items select 'unlanded', channel, currency, order_id, "
                    "sku, first_posted_date, last_posted_date, units, principal_cents, marketplace_cents, "
                    "fulfillment_cents, unclassified_lines, _source_sha256 from intermediate.int_settlement_items "
                    "where settlement_id = ?", [untouched])
    build(home, "run", "--select", "int_settlement_items", min_date=LAST_DAY.isoformat(),
          max_date=LAST_DAY.isoformat(), landed_after=window.landed_after.isoformat(), window_planned="true")
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        stored = set(con.execute("select * from intermediate.int_settlement_items").fetchall())
        truth = {(*row[:8], *(int(v) for v in row[8:12]), row[12]) for row in con.execute(SETTLED_ITEMS).fetchall()}
        groups = {s for (s,) in con.execute(
            "select settlement_id from intermediate.int_settlement_items__groups").fetchall()}
    assert {changed, unclassified, "unlanded"} <= groups and untouched not in groups
    wrong = {row for row in stored if row[0] == untouched}
    assert stored - wrong == {row for row in truth if row[0] != untouched}  # re-computed; the unlanded gone
    assert {(*row[:8], row[8] - 1, *row[9:]) for row in wrong} == {row for row in truth if row[0] == untouched}


def test_rebuilding_the_same_day_changes_nothing(replayed):
    replay, tables, _, _ = replayed
    build(replay, "run", min_date=LAST_DAY.isoformat(), max_date=LAST_DAY.isoformat())
    _assert_same(snapshot(replay), tables)


def test_incremental_equals_a_full_refresh(replayed):
    replay, tables, _, _ = replayed
    with duckdb.connect(str(build_database(replay)), read_only=True) as con:
        day_sums = set(con.execute("select * from dbt_state.event_day_sums").fetchall())
    build(replay, "run", "--full-refresh", max_date=LAST_DAY.isoformat())
    _assert_same(snapshot(replay), tables)
    with duckdb.connect(str(build_database(replay)), read_only=True) as con:  # re-summed whole, the same
        assert set(con.execute("select * from dbt_state.event_day_sums").fetchall()) == day_sums


def test_a_whole_build_in_buckets_equals_one_in_one_piece(replayed, tmp_path):
    """int_payout_items built whole in buckets of groups (macro full_build_buckets; forced here by a small
    rows-per-bucket) holds the very rows it holds built in one piece: each bucket created or inserted
    once, none lost, none twice."""
    replay, tables, _, _ = replayed
    home = Home(tmp_path / "home")
    shutil.copytree(replay.root, home.root)
    build(home, "run", "--select", "int_payout_items", "--full-refresh", max_date=LAST_DAY.isoformat(),
          full_build_rows_per_bucket="2000")
    statement = (home.root / "dbt" / "target" / "run" / "channel_contribution" / "models" / "intermediate"
                 / "int_payout_items.sql").read_text()
    buckets = statement.count("set variable cwh_full_build_bucket =")
    assert buckets > 2, statement[:2000]
    assert statement.count("insert into") == buckets - 1
    built = snapshot(home)["intermediate.int_payout_items"]
    assert built == tables["intermediate.int_payout_items"]

    # transactions without an order (the demo's all have one): a bucket takes the fees of its orders, and
    # an orderless transaction's fee is found by its transaction, in the transaction's own bucket
    with duckdb.connect(str(build_database(home))) as con:
        orderless = [key for (key,) in con.execute("""
            update staging.stg_shopify__payment_transactions set order_name = null
            where transaction_key in (select transaction_key from staging.stg_shopify__payment_transactions
                                      where fee <> 0 and transaction_type = 'charge' order by all limit 6)
            returning transaction_key""").fetchall()]
        con.execute("update intermediate.int_fees set order_id = null, channel = 'unallocated' "
                    "where fee_line_id in (select 'shopify_payments:' || unnest($keys))", {"keys": orderless})
    assert len(orderless) == 6
    build(home, "run", "--select", "int_payout_items", "--full-refresh", max_date=LAST_DAY.isoformat())
    in_one_piece = snapshot(home)["intermediate.int_payout_items"]
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        fees = con.execute("select count(*) from intermediate.int_payout_items "
                           "where item_kind = 'fee' and item_key in (select unnest($keys)) and fact is not null",
                           {"keys": orderless}).fetchone()[0]
    assert fees == len(orderless)
    build(home, "run", "--select", "int_payout_items", "--full-refresh", max_date=LAST_DAY.isoformat(),
          full_build_rows_per_bucket="2000")
    assert snapshot(home)["intermediate.int_payout_items"] == in_one_piece


def test_a_night_reads_the_lines_of_its_items_in_settlements_it_leaves_alone(replayed, tmp_path):
    """A night of int_payout_items builds item keys only for the settlement lines whose order or settlement
    one of its group keys names (read off the key); an id holding a colon cannot be read off, so its lines
    always pass. Here two items of the night's newest settlement lines have one more line each in the oldest
    settlement, which the night leaves alone, and the order id of one holds a colon: the night finds both
    lines, as a whole build does."""
    replay, _, window, _ = replayed
    homes = {kind: Home(tmp_path / kind) for kind in ("night", "whole")}
    for home in homes.values():
        shutil.copytree(replay.root, home.root)
        with duckdb.connect(str(build_database(home))) as con:
            items = con.execute("""
                select l.order_id, l.sku, l.posted_date, o.payout_id, o.period_start
                from intermediate.int_settlement_lines as l,
                     (select payout_id, period_start from intermediate.int_payouts
                      where source = 'amazon_settlement' order by period_end, payout_id limit 1) as o
                where l.transaction_type = 'Order' and l.category = 'sales_principal' and l.posted_date <= $last
                  and l.settlement_id <> o.payout_id
                qualify row_number() over (partition by l.order_id order by l.settlement_line_id) = 1
                order by l.posted_date desc, l.settlement_line_id limit 2""", {"last": LAST_DAY}).fetchall()
            keys = []
            for (order_id, sku, _, oldest, oldest_day), renamed in zip(items, ("{}", "colon:{}"), strict=True):
                renamed = renamed.format(order_id)
                con.execute("""
                    insert into intermediate.int_settlement_lines by name
                    select * replace ('amazon_settlement:' || $oldest || ':extra:' || $order as settlement_line_id,
                                      $oldest as settlement_id, $oldest_day as posted_date)
                    from intermediate.int_settlement_lines
                    where order_id = $order and sku = $sku and category = 'sales_principal' limit 1""",
                            {"oldest": oldest, "oldest_day": oldest_day, "order": order_id, "sku": sku})
                for table, key in (("int_settlement_lines", None), ("int_order_lines", "order_line_id"),
                                   ("int_refunds", "refund_line_id"), ("int_fees", None)):
                    renamed_key = f", {key} = replace({key}, $order, $renamed)" if key else ""
                    con.execute(f"update intermediate.{table} set order_id = $renamed{renamed_key} "
                                "where order_id = $order", {"order": order_id, "renamed": renamed})
                keys.append(f"amazon:{renamed}:{sku}")
    night_day, oldest, oldest_day = min(item[2] for item in items), items[0][3], items[0][4]
    assert night_day > oldest_day + timedelta(days=14), "the night would reach into the oldest settlement"
    # a night of the newest lines' days: their settlements' groups (these items' among them), not the oldest's
    night = {"min_date": night_day.isoformat(), "max_date": LAST_DAY.isoformat(),
             "landed_after": window.landed_after.isoformat(), "window_planned": "true"}
    build(homes["night"], "run", "--select", "int_payout_items", **night)
    build(homes["whole"], "run", "--select", "int_payout_items", "--full-refresh", max_date=LAST_DAY.isoformat())
    with duckdb.connect(str(build_database(homes["night"])), read_only=True) as con:
        found = con.execute("select count(*) from intermediate.int_payout_items where payout_id = $oldest "
                            "and item_key in (select unnest($keys))", {"oldest": oldest, "keys": keys}).fetchone()[0]
        oldest_left_alone = con.execute(
            "select count(*) = 0 from intermediate.int_payout_items__groups "
            "where starts_with(group_key, 'amazon_settlement:' || $oldest || ':')", {"oldest": oldest}).fetchone()[0]
    assert found == 2
    assert oldest_left_alone
    assert snapshot(homes["night"])["intermediate.int_payout_items"] \
        == snapshot(homes["whole"])["intermediate.int_payout_items"]


def _reconcile_sales(home: Home, **variables: str) -> list[tuple[str, int]]:
    """dbt test reconcile_sales_staging_to_pnl with these vars → its (status, failing rows)."""
    result = run_dbt(home, "test", "--select", "reconcile_sales_staging_to_pnl", "--vars", json.dumps(variables))
    return [(str(r.status), r.failures) for r in result.result.results if r.node.name.startswith("reconcile_")]


def test_the_reconciliations_check_the_nights_days_and_a_full_build_every_day(replayed, tmp_path):
    """On an incremental night the staging-to-P&L reconciliations read the dates the night re-processed
    (from min_date less the longest late-arriving days of their feeds, macro reconciled_dates): a fact
    broken on such a day fails them; one broken before, left alone by every incremental build, is the
    full build's to find — and it does."""
    replay, _, window, _ = replayed
    home = Home(tmp_path / "home")
    shutil.copytree(replay.root, home.root)
    night = {"min_date": LAST_DAY.isoformat(), "max_date": LAST_DAY.isoformat(),
             "landed_after": window.landed_after.isoformat()}
    since = LAST_DAY - timedelta(days=max(VENDOR_LATENESS.values()))
    assert _reconcile_sales(home, **night) == [("pass", 0)]

    def break_a_line(day: date) -> None:
        with duckdb.connect(str(build_database(home))) as con:
            changed = con.execute("""
                update intermediate.int_order_lines set gross_sales_rc = gross_sales_rc + 1
                where order_line_id = (select min(order_line_id) from marts.fct_order_lines
                                       where order_date = $day and not is_cancelled)""", {"day": day}).fetchone()[0]
        assert changed == 1, f"no order line on {day} to break"

    break_a_line(since - timedelta(days=3))  # older than any date the night re-processed
    assert _reconcile_sales(home, **night) == [("pass", 0)]
    assert _reconcile_sales(home, max_date=LAST_DAY.isoformat()) == [("fail", 1)]
    break_a_line(since)  # the night's first date
    assert _reconcile_sales(home, **night) == [("fail", 1)]
    # a night whose window the plan drew adds no late-arriving days: it checks from min_date itself
    planned = {**night, "window_planned": "true"}
    assert _reconcile_sales(home, **planned) == [("pass", 0)]
    break_a_line(LAST_DAY)
    assert _reconcile_sales(home, **planned) == [("fail", 1)]



def _dbt_test(home: Home, name: str, **variables: str) -> list[tuple[str, int]]:
    """dbt test `name` with these vars → its (status, failing rows)."""
    result = run_dbt(home, "test", "--select", name, "--vars", json.dumps(variables))
    return [(str(r.status), r.failures) for r in result.result.results if r.node.name == name]


def test_the_customer_check_compares_the_customers_the_night_could_change(replayed, tmp_path):
    """kpis_customers_in_dim_customer on a planned night compares the customers with an order line in its
    window or a dim_customer row last ordered in it: a missing row of such a customer fails it; the
    missing row of a customer who last ordered before the window is the full build's to find."""
    replay, _, window, _ = replayed
    home = Home(tmp_path / "home")
    shutil.copytree(replay.root, home.root)
    night = {"min_date": LAST_DAY.isoformat(), "max_date": LAST_DAY.isoformat(),
             "landed_after": window.landed_after.isoformat(), "window_planned": "true"}
    check = "kpis_customers_in_dim_customer"
    assert _dbt_test(home, check, **night) == [("pass", 0)]

    def drop_a_customer(where: str) -> None:
        with duckdb.connect(str(build_database(home))) as con:
            dropped = con.execute(f"""delete from marts.dim_customer where customer_key = (
                select min(customer_key) from marts.dim_customer where {where})""").fetchone()[0]
        assert dropped == 1, f"no customer where {where}"

    drop_a_customer(f"last_order_date < date '{LAST_DAY - timedelta(days=3)}'")  # outside the night's window
    assert _dbt_test(home, check, **night) == [("pass", 0)]
    assert _dbt_test(home, check, max_date=LAST_DAY.isoformat())[0][0] == "fail"
    drop_a_customer(f"last_order_date = date '{LAST_DAY}'")
    assert _dbt_test(home, check, **night)[0][0] == "fail"


def _payments_without_their_order(home: Home) -> set[str]:
    """The warning's truth: every Shopify charge or refund whose order is in no order line of history."""
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        return {key for (key,) in con.execute("""
            select transaction_key from staging.stg_shopify__payment_transactions
            where transaction_type in ('charge', 'refund') and (order_name is null or order_name not in (
                select order_id from intermediate.int_order_lines where source = 'shopify'))""").fetchall()}


def test_the_payments_warning_lists_every_transaction_without_its_order_until_the_order_lands(replayed, tmp_path):
    """assert_shopify_payments_have_their_order takes a paid transaction's match with the orders from
    int_payout_items (re-computed by a night for every order and transaction it could change) and looks up
    the pending ones itself. A charge of a payout 20 days old, re-landed under an order not landed yet, and
    a new pending charge of another: the night lists both, besides those the replay already has, as the
    whole-history anti-join finds them. Their orders then land late, dated 20 days back: the next night
    lists neither."""
    replay, _, _, _ = replayed
    home = Home(tmp_path / "home")
    shutil.copytree(replay.root, home.root)
    check = "assert_shopify_payments_have_their_order"
    lake, payments = home.raw("shopify_orders"), home.raw("shopify_payments")
    old_day = LAST_DAY - timedelta(days=20)
    # the replay's own: the last evening's charges, whose orders fall on the day after the build in its zone (UTC)
    already = _payments_without_their_order(home)

    def stamped(name: str) -> str:
        return f"'{name}' as _source_file, '{name}' as _source_sha256, " \
               f"cast('{datetime.now(UTC).isoformat()}' as timestamp with time zone) as _loaded_at"

    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        files = f"read_parquet('{payments}/*.parquet', union_by_name = true)"
        charge, order = con.execute(
            f"select transaction_key, order_name from {files} where transaction_type = 'charge' "
            f"and payout_id is not null and cast(timezone('{ZONE}', transaction_date) as date) = date '{old_day}' "
            "order by transaction_key limit 1").fetchone()
        con.execute(f"""
            copy (
                select * replace ('LATE-A' as order_name, {stamped('orphans')})
                from {files} where transaction_key = $charge
                union all
                select * replace ('pending-' || transaction_key as transaction_key, 'LATE-P' as order_name,
                                  cast('{LAST_DAY} 15:00:00+00' as timestamp with time zone) as transaction_date,
                                  'pending' as payout_status, cast(null as date) as payout_date,
                                  cast(null as varchar) as payout_id, cast(null as date) as available_on,
                                  {stamped('orphans')})
                from {files} where transaction_key = $charge
            ) to '{payments}/orphans.parquet' (format parquet)""", {"charge": charge})
    orphans = {charge, f"pending-{charge}"}
    warned = failing_rows(night(home, LAST_DAY, "build")[1], check)
    assert _payments_without_their_order(home) == already | orphans
    assert warned == len(already | orphans)
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        assert con.execute("select payout_id is null from staging.stg_shopify__payment_transactions "
                           "where transaction_key = $k", {"k": f"pending-{charge}"}).fetchone() == (True,)

    with duckdb.connect() as con:  # the two orders land late: copies of the charge's order, dated on its day
        con.execute("set timezone = 'UTC'")
        con.execute(f"""
            copy (
                select * replace (late.name as order_name, order_id || late.suffix as order_id,
                                  {stamped('late-orders')})
                from read_parquet('{lake}/*.parquet', union_by_name = true),
                     (values ('LATE-A', '8'), ('LATE-P', '9')) as late(name, suffix)
                where order_name = $order
            ) to '{lake}/late-orders.parquet' (format parquet)""", {"order": order})
    assert failing_rows(night(home, LAST_DAY, "build")[1], check) == len(already)
    assert _payments_without_their_order(home) == already


FACT_KEYS = {  # each fact (a view) → (the event model whose rows it exposes, its event date)
    "fct_order_lines": ("intermediate.int_order_lines", "order_date"),
    "fct_refunds": ("intermediate.int_refunds", "refund_date"),
    "fct_fees": ("intermediate.int_fees", "fee_date"),
    "fct_marketing_spend": ("intermediate.int_marketing_spend", "spend_date"),
}


def _fact_key_checks(home: Home, **variables: str) -> dict[str, str]:
    """The facts' primary-key checks with these vars → {fact: status}."""
    manifest = json.loads((incremental.DBT_DIR / "target" / "manifest.json").read_text())
    checks = {node["name"]: fact for node in manifest["nodes"].values() for fact in FACT_KEYS
              if node["name"].startswith(f"primary_key_{fact}_")}
    assert sorted(checks.values()) == sorted(FACT_KEYS)
    result = run_dbt(home, "test", "--select", *checks, "--vars", json.dumps(variables))
    return {checks[r.node.name]: str(r.status) for r in result.result.results if r.node.name in checks}


def test_the_facts_are_views_whose_key_checks_read_the_nights_days(replayed, tmp_path):
    """Each fact is a view over the event model whose rows it exposes (`event_view_config`): the build keeps
    those rows once. On an incremental night its key check reads the days the night re-processed, as the
    model's own checks do: a key repeated on such a day fails it; one repeated before them, on a day every
    build since left alone (its rows as the build that wrote them tested them), is the full build's to find."""
    replay, _, window, _ = replayed
    home = Home(tmp_path / "home")
    shutil.copytree(replay.root, home.root)
    with duckdb.connect(str(build_database(home))) as con:
        kinds = dict(con.execute("select table_name, table_type from information_schema.tables "
                                 "where table_schema = 'marts' and table_name like 'fct_%'").fetchall())
        newest = min(con.execute(f"select max({day}) from {model} where {day} <= $last",
                                 {"last": LAST_DAY}).fetchone()[0] for model, day in FACT_KEYS.values())
    assert {fact: kinds.get(fact) for fact in FACT_KEYS} == dict.fromkeys(FACT_KEYS, "VIEW")
    night = {"min_date": newest.isoformat(), "max_date": LAST_DAY.isoformat(),
             "landed_after": window.landed_after.isoformat(), "window_planned": "true"}
    assert _fact_key_checks(home, **night) == dict.fromkeys(FACT_KEYS, "pass")

    def repeat_a_row(on_or_before: date) -> None:
        with duckdb.connect(str(build_database(home))) as con:
            for model, day in FACT_KEYS.values():
                # one row of the latest day with rows on or before `on_or_before`, inserted a second time
                repeated = con.execute(f"""insert into {model} select * from {model} where rowid = (
                    select min(rowid) from {model} where {day} = (
                        select max({day}) from {model} where {day} <= $day))""", {"day": on_or_before}).fetchone()[0]
                assert repeated == 1, f"no row of {model} on or before {on_or_before} to repeat"

    repeat_a_row(newest - timedelta(days=3))  # before the night's window
    assert _fact_key_checks(home, **night) == dict.fromkeys(FACT_KEYS, "pass")
    assert _fact_key_checks(home, max_date=LAST_DAY.isoformat()) == dict.fromkeys(FACT_KEYS, "fail")
    repeat_a_row(LAST_DAY)  # the night's window
    assert _fact_key_checks(home, **night) == dict.fromkeys(FACT_KEYS, "fail")


@pytest.mark.parametrize(("model", "table", "group"), [
    ("int_payout_items", "intermediate.int_payout_items", "group_key"),  # replace_listed_groups
    ("dim_customer", "marts.dim_customer", "customer_key"),  # replace_since
])
def test_the_key_check_reads_the_groups_the_night_re_computed(replayed, tmp_path, model, table, group):
    """The row tests of a model incremental by group (int_payout_items by item group, dim_customer by
    customer) on an incremental night read only the groups its build re-computed, which it keeps in
    `intermediate.<model>__groups`: a repeated key in such a group fails the primary key; one in a group
    every night since left alone (its rows as the build that wrote them tested them) is the full build's
    to find."""
    replay, _, window, _ = replayed
    home = Home(tmp_path / "home")
    shutil.copytree(replay.root, home.root)
    night = {"min_date": LAST_DAY.isoformat(), "max_date": LAST_DAY.isoformat(),
             "landed_after": window.landed_after.isoformat(), "window_planned": "true"}
    build(home, "run", "--select", model, **night)  # the last night's build of the model
    manifest = json.loads((incremental.DBT_DIR / "target" / "manifest.json").read_text())
    check = next(node["name"] for node in manifest["nodes"].values()
                 if node["name"].startswith(f"primary_key_{model}_"))
    groups = f"intermediate.{model}__groups"
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        listed, every = con.execute(f"""
            select (select count(*) from {groups} where {group} is not null),
                   (select count(distinct {group}) from {table})""").fetchone()
    assert 0 < listed < every, (listed, every)  # the last night re-computed some groups, not all
    assert _dbt_test(home, check, **night) == [("pass", 0)]

    def repeat_a_row(in_the_nights_groups: bool) -> None:
        listed = "in" if in_the_nights_groups else "not in"
        with duckdb.connect(str(build_database(home))) as con:
            added = con.execute(f"""
                insert into {table}
                select * from {table} where {group} = (
                    select min({group}) from {table} where {group} {listed} (select {group} from {groups}))
                limit 1""").fetchone()[0]
        assert added == 1

    repeat_a_row(in_the_nights_groups=False)
    assert _dbt_test(home, check, **night) == [("pass", 0)]
    assert _dbt_test(home, check, max_date=LAST_DAY.isoformat()) == [("fail", 1)]
    repeat_a_row(in_the_nights_groups=True)
    assert _dbt_test(home, check, **night) == [("fail", 1)]

# ---------------------------------------------------------------------------------------------------
# The late-arriving window on its own. Above, `plan` widens the last night back to the first event
# of every file landed since the last build, so a wrong window would pass unseen. Here dbt builds the
# night alone (min_date = max_date = the day, no widening): late data at exactly the window's first
# day must be re-processed by the window itself, and data one day before it is left to the plan,
# which widens the build and says why.

# How many days late each vendor delivers or revises a feed's events (the promise each contract's
# `late_arriving_days` must keep; docs/incremental.md): written here by hand from the vendors'
# behaviour, never read from the contracts, so a window cut short fails.
VENDOR_LATENESS = {
    "amazon_settlements": 21,  # a 14-day settlement period, its report a week after it closes
    "amazon_orders": 14, "amazon_returns": 14,  # status changes and returns posted up to two weeks on
    "shopify_orders": 14,  # edits, cancellations and fulfilment of recent orders
    "wholesale_invoices": 14,  # invoices keyed in days after the shipment
    "threepl_billing": 7,  # a week of charges on each invoice
    "google_ads": 7, "meta_ads": 7, "pinterest_ads": 7, "amazon_ads": 7,  # attribution revises a week
    "shopify_payments": 3, "fx_rates": 3,  # transactions settle, rates are published, within days
    "cogs": 0,  # a cost change is dated when it lands (a retroactive one widens the build)
}
WINDOW_DAY = LAST_DAY  # the night's single event day


def _daily_models() -> dict[str, set[str]]:
    """Each event-grain (tag `daily`) model and the feeds upstream of it, from the dbt manifest."""
    manifest = json.loads((incremental.DBT_DIR / "target" / "manifest.json").read_text())
    graph = {**manifest["nodes"], **manifest["sources"]}

    def feeds(uid: str, seen: set[str]) -> set[str]:
        found = set()
        for parent in graph[uid].get("depends_on", {}).get("nodes", []):
            if parent not in seen and parent in graph:
                seen.add(parent)
                found |= {graph[parent]["name"]} if parent.startswith("source.") else feeds(parent, seen)
        return found

    return {node["name"]: feeds(uid, set()) for uid, node in manifest["nodes"].items()
            if "daily" in node.get("tags", [])}


def _window_days(model: str) -> int:
    """The days before the night a model must re-process: its upstream vendors' longest lateness."""
    return max(VENDOR_LATENESS[feed] for feed in _daily_models()[model])


def test_every_feeds_window_covers_its_vendors_lateness():
    contracts = load_contracts()
    upstream = set().union(*_daily_models().values())
    assert upstream == set(VENDOR_LATENESS), "a feed upstream of the event models needs its vendor's lateness here"
    short = {feed: contracts[feed].late_arriving_days for feed in upstream
             if contracts[feed].late_arriving_days < VENDOR_LATENESS[feed]}
    assert not short, f"late_arriving_days shorter than the vendor's lateness: {short}"
    # dbt reads each window from the sources generated from the contracts (orchestration.pipeline.dbt_sources)
    generated = {table["name"]: table.get("meta", {}).get("late_arriving_days")
                 for path in (incremental.DBT_DIR / "models" / "staging").glob("*/_*__sources.yml")
                 for source in yaml.safe_load(path.read_text())["sources"] for table in source["tables"]}
    assert {feed: generated.get(feed) for feed in upstream} == \
        {feed: contracts[feed].late_arriving_days for feed in upstream}


def _late_orders(con, home: Home, name: str, day: date, orders: int = 3) -> None:
    """Shopify orders created on `day` (copies of that day's first orders under new names) and their
    charges, landed now: order lines, payment fees and revenue of `day` arriving late."""
    stamp = datetime.now(UTC).isoformat()
    lake, payments = home.raw("shopify_orders"), home.raw("shopify_payments")
    picked = f"""(select distinct order_name from read_parquet('{lake}/*.parquet', union_by_name = true)
                  where cast(timezone('{ZONE}', created_at) as date) = date '{day}'
                  order by order_name limit {orders})"""
    stamped = f"'{name}' as _source_file, '{name}' as _source_sha256, " \
              f"cast('{stamp}' as timestamp with time zone) as _loaded_at"
    con.execute(f"""
        copy (select * replace (order_name || '-{name}' as order_name, order_id || '9' as order_id, {stamped})
              from read_parquet('{lake}/*.parquet', union_by_name = true) where order_name in {picked}
        ) to '{lake}/{name}.parquet' (format parquet)""")
    con.execute(f"""
        copy (select * replace (order_name || '-{name}' as order_name, '{name}-' || transaction_key as transaction_key,
                                {stamped})
              from read_parquet('{payments}/*.parquet', union_by_name = true)
              where transaction_type = 'charge' and order_name in {picked}
        ) to '{payments}/{name}-charges.parquet' (format parquet)""")


def _revised_spend(con, home: Home, name: str, day: date) -> None:
    """Google Ads re-exports `day` with a quarter more spend (the latest file per day and campaign wins)."""
    google = home.raw("google_ads")
    con.execute(f"""
        copy (select * replace (cast(spend * 1.25 as decimal(18, 6)) as spend, '{name}' as _source_file,
                                '{name}' as _source_sha256,
                                cast('{datetime.now(UTC).isoformat()}' as timestamp with time zone) as _loaded_at)
              from read_parquet('{google}/*.parquet', union_by_name = true) where date = date '{day}'
        ) to '{google}/{name}.parquet' (format parquet)""")


def _night_alone(home: Home, *options: str) -> None:
    """The night of WINDOW_DAY as dbt builds it without the plan: the day, each model's late-arriving
    window before it, and the files landed since the last build."""
    state = json.loads(incremental.state_path(home).read_text())
    build(home, *options, min_date=WINDOW_DAY.isoformat(), max_date=WINDOW_DAY.isoformat(),
          landed_after=state["started_at"])


def _count(home: Home, sql: str):
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


@pytest.fixture(scope="module")
def windowed(tmp_path_factory):
    """A home built through the day before WINDOW_DAY (full build, recorded as the last build)."""
    home = Home(tmp_path_factory.mktemp("window"))
    generate(home.root, days=45, orders_per_day=30, timezone=ZONE)
    land_all(home)
    last = incremental.BuildWindow(WINDOW_DAY - timedelta(days=1), WINDOW_DAY - timedelta(days=1))
    build(home, "build", max_date=last.last_day.isoformat())
    incremental.record(home, last)
    return home


def test_late_data_inside_the_window_needs_no_widening(windowed):
    home = windowed
    orders_edge = WINDOW_DAY - timedelta(days=_window_days("int_order_lines"))
    refunds_edge = WINDOW_DAY - timedelta(days=_window_days("int_refunds"))
    spend_edge = WINDOW_DAY - timedelta(days=_window_days("int_marketing_spend"))
    spend_before = _count(home, f"select sum(spend) from marts.fct_marketing_spend "
                                f"where platform = 'google_ads' and spend_date = date '{spend_edge}'")
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        _late_orders(con, home, "inside", orders_edge)
        _refunds(con, home.raw("shopify_payments"), "inside-refund", refunds_edge, refunds_edge - timedelta(days=10))
        _revised_spend(con, home, "inside-revision", spend_edge)
    started = datetime.now(UTC)
    _night_alone(home, "build")  # models and every data test (keys, revenue in = revenue out)
    incremental.record(home, incremental.BuildWindow(WINDOW_DAY, WINDOW_DAY, started_at=started))
    # the window's first day was re-processed: the late rows are in the facts, dated on it
    assert _count(home, f"select count(distinct order_id) from marts.fct_order_lines "
                        f"where order_id like '%-inside' and order_date = date '{orders_edge}'") == 3
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        (late_fees,) = con.execute(
            f"select count(*) from '{home.raw('shopify_payments')}/inside-charges.parquet' where fee <> 0 "
            f"and cast(timezone('{ZONE}', transaction_date) as date) = date '{orders_edge}'").fetchone()
    assert late_fees > 0 and _count(home, f"select count(*) from marts.fct_fees where order_id like '%-inside' "
                                          f"and fee_date = date '{orders_edge}'") == late_fees
    assert _count(home, f"select count(*) from marts.fct_refunds where refund_line_id like '%inside-refund-%' "
                        f"and refund_date = date '{refunds_edge}'") == 5
    spend_after = _count(home, f"select sum(spend) from marts.fct_marketing_spend "
                               f"where platform = 'google_ads' and spend_date = date '{spend_edge}'")
    with duckdb.connect() as con:
        revision = home.raw("google_ads") / "inside-revision.parquet"
        (revised,) = con.execute(f"select sum(spend) from '{revision}'").fetchone()
    # the re-export replaced the day: the fact holds what it says, a quarter more than before
    assert spend_before > 0 and float(spend_after) == pytest.approx(float(revised), abs=0.01)
    assert float(spend_after) == pytest.approx(float(spend_before) * 1.25, rel=1e-4)
    tables = snapshot(home)
    build(home, "run", "--full-refresh", max_date=WINDOW_DAY.isoformat())
    _assert_same(snapshot(home), tables)


def test_late_data_one_day_before_the_window_widens_the_plan_which_says_why(windowed):
    home = windowed
    # the last build was the night of WINDOW_DAY (the test above builds it); recorded here too, so this
    # test stands alone when a `pytest -n` worker runs it without the one above
    incremental.record(home, incremental.BuildWindow(WINDOW_DAY, WINDOW_DAY, started_at=datetime.now(UTC)))
    outside = WINDOW_DAY - timedelta(days=_window_days("int_refunds") + 1)
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        _refunds(con, home.raw("shopify_payments"), "outside-refund", outside, outside - timedelta(days=10))
    window = incremental.plan(home, WINDOW_DAY, WINDOW_DAY)
    assert window.first_day == outside
    assert window.reasons == [f"shopify_payments: files landed since the last build carry events from {outside}"]
    # the window alone ends a day later: without the plan the refunds are missed
    _night_alone(home, "run", "--select", "+tag:daily")
    refunds = "select count(*) from marts.fct_refunds where refund_line_id like '%outside-refund-%'"
    assert _count(home, refunds) == 0
    build(home, "build", min_date=window.first_day.isoformat(), max_date=window.last_day.isoformat(),
          landed_after=window.landed_after.isoformat())
    assert _count(home, refunds) == 5
    tables = snapshot(home)
    build(home, "run", "--full-refresh", max_date=WINDOW_DAY.isoformat())
    _assert_same(snapshot(home), tables)


def test_a_planned_night_re_processes_from_the_new_files_first_event_not_the_late_window(windowed, tmp_path):
    """The night's plan reads the first event of every new file, so its window starts there: the feeds'
    late-arriving days are not added (macro window_late_days). A fact changed on a day inside the old late
    window but before the new data is left as it is by the planned night, and re-processed by a build
    without the plan, which adds the late-arriving days."""
    home = Home(tmp_path / "home")
    shutil.copytree(windowed.root, home.root)
    incremental.record(home, incremental.BuildWindow(WINDOW_DAY, WINDOW_DAY, started_at=datetime.now(UTC)))
    late_day, untouched_day = WINDOW_DAY - timedelta(days=2), WINDOW_DAY - timedelta(days=5)
    assert _window_days("int_order_lines") > 5  # the old window reached the untouched day
    line = f"""(select min(order_line_id) from marts.fct_order_lines
                where order_date = date '{untouched_day}' and not is_cancelled)"""
    gross = f"select gross_sales_rc from marts.fct_order_lines where order_line_id = {line}"
    before = _count(home, gross)
    with duckdb.connect(str(build_database(home))) as con:  # a mark only a re-processing of the day removes
        con.execute(f"update intermediate.int_order_lines set gross_sales_rc = gross_sales_rc + 1 "
                    f"where order_line_id = {line}")
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        _late_orders(con, home, "planned", late_day)
    window = build_night(home, WINDOW_DAY, "run", "--select", "+tag:daily")
    assert (window.planned, window.first_day) == (True, late_day)
    assert _count(home, f"select count(distinct order_id) from marts.fct_order_lines "
                        f"where order_id like '%-planned' and order_date = date '{late_day}'") == 3
    assert _count(home, gross) == before + 1  # not re-processed: no new row is dated on it
    _night_alone(home, "run", "--select", "+tag:daily")  # no plan: the late-arriving days are re-processed
    assert _count(home, gross) == before
