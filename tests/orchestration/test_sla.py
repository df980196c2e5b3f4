"""SLA gates: every gate passes on the clean demo lake and fails (or warns) when the thing it guards
breaks: a withheld file, a missing FX day, a missing settlement, a channel without sales, a day with
too few rows, a new vendor column, a file without a required column."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from connectors.contracts import get_contract
from connectors.lake import Home, land_file, ledger_records
from connectors.registry import FEEDS
from orchestration.pipeline.gates.feed import feed_gates
from orchestration.pipeline.gates.outcome import held
from orchestration.pipeline.gates.sla import (
    CHANNELS_CSV,
    CHECKS,
    channel_coverage,
    completeness,
    freshness,
    robust_z,
    schema_drift,
    volume,
)
from tests.orchestration.demo_lake import END, LOGICAL

# ---- helpers (test_expectations.py uses them too; the demo lake fixtures are in conftest.py) ---------


def ledger_of(home: Home, feed: str, file: str) -> dict:
    matches = [r for r in ledger_records(home, feed) if r["file"] == file]
    assert matches, f"{file} is not landed in {feed}"
    return matches[0]


def unland(home: Home, feed: str, file: str, keep_landing: bool = False) -> None:
    """Undo the landing of one file: its lake Parquet, quarantine and ledger record (and the file)."""
    record = ledger_of(home, feed, file)
    file_id = record["file_id"]
    (home.raw(feed) / f"{file_id}.parquet").unlink()
    (home.quarantine(feed) / f"{file_id}.parquet").unlink(missing_ok=True)
    (home.ledger(feed) / f"{file_id}.json").unlink()
    if not keep_landing:
        (home.root / record["landing_path"]).unlink()


def read_rows(path: Path) -> list[list[str]]:
    delimiter = "\t" if path.suffix == ".txt" else ","
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    delimiter = "\t" if path.suffix == ".txt" else ","
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return path


def reland(home: Home, feed: str, file: str, edit) -> None:
    """Replace a landed vendor file by an edited export of it: `edit(header, rows) -> (header, rows)`."""
    path = home.landing(feed) / file
    header, *rows = read_rows(path)
    unland(home, feed, file, keep_landing=True)
    header, rows = edit(header, rows)
    write_rows(path, [header, *rows])
    result = land_file(home, feed, path)
    assert result.status == "loaded", result.reason


def keep_rows_of_day(home: Home, feed: str, day: date, keep: float) -> int:
    """Rewrite the lake so the event day `day` keeps only a fraction of its rows; returns the rows kept."""
    contract = get_contract(feed)
    kept = 0
    for path in home.raw(feed).glob("*.parquet"):
        table = pq.read_table(path)
        column = table.column(contract.event_time_column)
        days = column if pa.types.is_date(column.type) else pc.cast(column, pa.date32())
        on_day = pc.equal(days, pa.scalar(day, pa.date32())).to_numpy(zero_copy_only=False)
        total = int(on_day.sum())
        if not total:
            continue
        allowed = int(total * keep)
        seen = 0
        mask = []
        for flag in on_day:
            if flag:
                seen += 1
                mask.append(seen <= allowed)
            else:
                mask.append(True)
        kept += allowed
        pq.write_table(table.filter(pa.array(mask)), path)
    return kept


def by_check(outcomes, feed, check):
    return next(o for o in outcomes if o.feed == feed and o.check == check)


# ---- clean data --------------------------------------------------------------------------------------

def test_every_gate_passes_on_the_clean_demo_lake(demo_home):
    outcomes = feed_gates(demo_home, LOGICAL)
    expected_checks = {(f, c) for f in FEEDS for c in CHECKS} | {("channels", "completeness")}
    assert {(o.feed, o.check) for o in outcomes} == expected_checks
    bad = [(o.feed, o.check, o.status, o.detail) for o in outcomes if o.status != "ok"]
    assert bad == []
    assert held(outcomes) == []
    for o in outcomes:
        json.dumps(o.metadata)  # the lead puts it in Dagster metadata
        assert o.owner and o.owner_contact and o.detail
    fresh = by_check(outcomes, "shopify_orders", "freshness").metadata
    newest = pc.max(pq.ParquetDataset(demo_home.raw("shopify_orders")).read(columns=["created_at"])
                    .column("created_at")).as_py()
    expected_lag = (datetime(2026, 11, 1, tzinfo=UTC) - newest).total_seconds() / 3600
    assert fresh["event_lag_hours"] == pytest.approx(expected_lag, abs=0.1)
    assert fresh["load_lag_hours"] == 0  # loaded after the logical date
    assert fresh["newest_load"] == "2026-11-01T02:00Z"
    assert by_check(outcomes, "fx_rates", "completeness").metadata["series"] == 3
    assert by_check(outcomes, "shopify_orders", "volume").metadata["basis"] == "same weekday"


# ---- freshness ---------------------------------------------------------------------------------------

def test_freshness_fails_when_the_newest_meta_ads_file_is_withheld(lake):
    unland(lake, "meta_ads", "meta_ads_2026-10.csv")
    result = freshness(lake, get_contract("meta_ads"), LOGICAL)
    assert result.status == "fail" and result.blocking and result.holds_publish
    assert (result.owner, result.owner_contact) == ("Growth marketing", "growth-marketing@example.com")
    assert result.metadata["newest_event"] == "2026-09-30"
    assert result.metadata["event_lag_hours"] == 31 * 24
    assert "2026-09-30" in result.detail and "36 h" in result.detail
    assert "2026-10-01 → 2026-10-31" in result.suggested_action
    assert "cwh ingest meta_ads FILE" in result.suggested_action
    # the same hole shows as missing days
    assert completeness(lake, get_contract("meta_ads"), LOGICAL).status == "fail"


def test_freshness_is_measured_at_the_logical_date_not_the_wall_clock(demo_home):
    contract = get_contract("shopify_orders")
    assert freshness(demo_home, contract, LOGICAL).status == "ok"
    late = freshness(demo_home, contract, LOGICAL + timedelta(days=2))  # Oct 31 data, run of Nov 3
    assert late.status == "fail" and late.metadata["event_lag_hours"] > 36
    # a backfill run of an earlier date ignores rows dated after it
    early = freshness(demo_home, contract, date(2026, 10, 1))
    assert early.status == "ok" and early.metadata["events_after_logical_date"] > 0
    assert early.metadata["newest_event"].startswith("2026-09-30")


def set_column(home: Home, feed: str, column: str, value: datetime) -> None:
    """Rewrite every lake row of the feed so `column` holds `value` (the instant under test)."""
    for path in home.raw(feed).glob("*.parquet"):
        table = pq.read_table(path)
        index = table.schema.get_field_index(column)
        typ = table.schema.field(index).type
        table = table.set_column(index, column, pa.array([value] * table.num_rows, type=typ))
        pq.write_table(table, path)


SLA_EDGE = datetime(2026, 11, 1, tzinfo=UTC)  # LOGICAL 00:00 UTC, where lags are measured


def test_freshness_is_ok_exactly_at_the_sla_and_fails_one_second_past_it(lake):
    """The newest event exactly 36 h before the logical date is within the SLA (`>`, not `>=`);
    one second older is past it (judged on the exact lag, not the lag rounded to 0.1 h)."""
    contract = get_contract("shopify_orders")
    assert contract.freshness_sla_hours == 36 and contract.cadence == "daily"
    at_sla = SLA_EDGE - timedelta(hours=36)
    set_column(lake, "shopify_orders", "created_at", at_sla)
    result = freshness(lake, contract, LOGICAL)
    assert result.metadata["event_lag_hours"] == 36 and result.metadata["quiet_days_allowed"] == 0
    assert result.metadata["load_lag_hours"] == 0
    assert result.status == "ok", result.detail
    set_column(lake, "shopify_orders", "created_at", at_sla - timedelta(seconds=1))
    past = freshness(lake, contract, LOGICAL)
    assert past.status == "fail" and past.holds_publish, past.detail


def test_freshness_load_is_ok_exactly_at_the_sla_and_fails_one_second_past_it(lake):
    """The newest load exactly 36 h before the logical date is within the SLA; one second older
    is past it (events of Oct 31 are fresh: only the load is judged late)."""
    contract = get_contract("shopify_orders")
    at_sla = SLA_EDGE - timedelta(hours=36)
    set_column(lake, "shopify_orders", "_loaded_at", at_sla)
    result = freshness(lake, contract, LOGICAL)
    assert result.metadata["load_lag_hours"] == 36 and result.metadata["event_lag_hours"] < 36
    assert result.status == "ok", result.detail
    set_column(lake, "shopify_orders", "_loaded_at", at_sla - timedelta(seconds=1))
    past = freshness(lake, contract, LOGICAL)
    assert past.status == "fail", past.detail


def test_freshness_fails_when_nothing_landed(lake):
    shutil.rmtree(lake.raw("pinterest_ads"))
    result = freshness(lake, get_contract("pinterest_ads"), LOGICAL)
    assert result.status == "fail" and "nothing landed" in result.detail
    lake.raw("pinterest_ads").mkdir()
    empty = get_contract("pinterest_ads").arrow_schema().empty_table()
    pq.write_table(empty, lake.raw("pinterest_ads") / "_empty.parquet")
    assert freshness(lake, get_contract("pinterest_ads"), LOGICAL).status == "fail"


def test_freshness_cadences_cogs_on_load_only_and_monthly_feeds_on_month_end(demo_home):
    cogs = get_contract("cogs")  # newest effective_from 2026-10-02, 1080 h SLA, landed 2026-11-01
    result = freshness(demo_home, cogs, date(2026, 12, 10))  # 68 days after the last cost change
    assert result.metadata["event_lag_judged"] is False and result.metadata["event_lag_hours"] > 1080
    assert result.status == "ok"  # costs that did not change are not stale
    stale = freshness(demo_home, cogs, date(2027, 1, 1))  # nothing landed for 61 days: stale
    assert stale.status == "fail" and stale.metadata["load_lag_hours"] > 1080
    assert "cwh ingest cogs FILE" in stale.suggested_action

    opex = get_contract("operating_costs")  # newest month 2026-10: counts until 2026-11-01
    assert freshness(demo_home, opex, date(2026, 12, 15)).metadata["event_lag_hours"] == 44 * 24
    assert freshness(demo_home, opex, date(2026, 12, 15)).status == "ok"
    stale = freshness(demo_home, opex, date(2026, 12, 20))
    assert stale.status == "fail" and "2026-11" in stale.suggested_action


def test_freshness_allows_the_quiet_days_a_feed_normally_has(demo_home):
    # wholesale invoices only on weekdays: the Monday run sees Friday's invoices (48 h) and passes
    result = freshness(demo_home, get_contract("wholesale_invoices"), date(2026, 11, 2))
    assert result.metadata["quiet_days_allowed"] == 2 and result.status == "ok"
    # per-day aggregates are never quiet: the strict SLA applies
    assert freshness(demo_home, get_contract("fx_rates"), LOGICAL).metadata["quiet_days_allowed"] == 0


# ---- completeness ------------------------------------------------------------------------------------

def test_completeness_fails_naming_the_fx_day_that_is_missing(lake):
    reland(lake, "fx_rates", "fx_rates_2026-10.csv",
           lambda header, rows: (header, [r for r in rows if r[0] != "2026-10-15"]))
    result = completeness(lake, get_contract("fx_rates"), LOGICAL)
    assert result.status == "fail" and result.blocking
    assert "2026-10-15" in result.detail and "2026-10-15" in result.suggested_action
    assert result.metadata["missing"] == {c: ["2026-10-15"] for c in ("CAD", "EUR", "GBP")}
    assert result.owner == "Finance"


def test_completeness_fails_for_one_missing_currency_day(lake):
    reland(lake, "fx_rates", "fx_rates_2026-10.csv",
           lambda header, rows: (header, [r for r in rows if (r[0], r[1]) != ("2026-10-20", "EUR")]))
    result = completeness(lake, get_contract("fx_rates"), LOGICAL)
    assert result.status == "fail" and result.metadata["missing"] == {"EUR": ["2026-10-20"]}


def test_settlement_contiguity_fails_when_a_settlement_is_missing(lake):
    contract = get_contract("amazon_settlements")
    assert completeness(lake, contract, LOGICAL).status == "ok"
    unland(lake, "amazon_settlements", "settlement_12873457024.txt")  # Amazon.com, 2026-09-16 → 09-30
    result = completeness(lake, contract, LOGICAL)
    assert result.status == "fail" and result.blocking
    assert "Amazon.com" in result.detail and "2026-09-16" in result.detail and "2026-09-30" in result.detail
    gap, = result.metadata["gaps"]
    assert (gap["after_settlement"], gap["next_settlement"]) == ("12873456011", "12873458037")
    assert result.metadata["marketplaces"] == {"Amazon.ca": 4, "Amazon.com": 3}


def test_channel_coverage_fails_without_pos_orders_unless_the_channel_is_dormant(lake, tmp_path):
    def drop_pos(header, rows):
        source = header.index("Source")
        return header, [r for r in rows if r[source] != "pos"]

    assert channel_coverage(lake, LOGICAL).status == "ok"
    reland(lake, "shopify_orders", "orders_export_2026-10.csv", drop_pos)
    result = channel_coverage(lake, LOGICAL)
    assert (result.feed, result.status, result.blocking) == ("channels", "fail", True)
    assert result.metadata["missing"] == ["shopify_pos"]
    assert "shopify_pos" in result.detail and "2026-10-25..2026-10-31" in result.detail
    assert "cwh ingest shopify_orders FILE" in result.suggested_action
    assert result.owner == "E-commerce operations"

    dormant = tmp_path / "channels.csv"
    rows = read_rows(CHANNELS_CSV)
    flag = rows[0].index("is_dormant")
    for row in rows[1:]:
        if row[0] == "shopify_pos":
            row[flag] = "true"
    write_rows(dormant, rows)
    ok = channel_coverage(lake, LOGICAL, channels_csv=dormant)
    assert ok.status == "ok" and ok.metadata["dormant"] == ["shopify_pos"]
    assert by_check(feed_gates(lake, LOGICAL, feeds=["shopify_orders"], channels_csv=dormant, expectations=False),
                    "channels", "completeness").status == "ok"


# ---- volume ------------------------------------------------------------------------------------------

def test_robust_z_uses_median_and_scaled_mad_with_a_counting_floor():
    z, med, mad, scale = robust_z(20, [30, 32, 28, 31, 29, 30, 33])
    assert (med, mad) == (30, 1) and scale == pytest.approx(30 ** 0.5)
    assert z == pytest.approx(-10 / 30 ** 0.5)
    z, med, mad, scale = robust_z(100, [100, 200, 300, 400, 500, 600, 700])
    assert (med, mad, scale) == (400, 200, pytest.approx(1.4826 * 200))
    assert robust_z(3, [3] * 8)[0] == 0  # a perfectly regular feed: MAD 0 but no division by zero


def test_volume_warns_or_fails_on_a_day_with_a_tenth_of_its_rows(lake):
    contract = get_contract("shopify_orders")
    assert volume(lake, contract, LOGICAL).status == "ok"
    kept = keep_rows_of_day(lake, "shopify_orders", END, 0.1)
    result = volume(lake, contract, LOGICAL)
    assert result.metadata["rows"] == kept
    assert result.status in ("warn", "fail") and result.metadata["robust_z"] < -3.5
    assert result.blocking == (result.status == "fail")
    assert "2026-10-31" in result.detail and "Saturdays" in result.detail
    assert "complete" in result.suggested_action


def test_volume_fails_on_a_day_without_rows(lake):
    keep_rows_of_day(lake, "inventory_snapshots", END, 0.0)
    result = volume(lake, get_contract("inventory_snapshots"), LOGICAL)
    assert (result.status, result.blocking, result.metadata["rows"]) == ("fail", True, 0)
    assert result.metadata["median"] == 128


def test_volume_skips_short_history_and_non_daily_feeds(demo_home):
    short = volume(demo_home, get_contract("meta_ads"), date(2026, 9, 6))
    assert short.status == "ok" and "not enough history" in short.detail
    monthly = volume(demo_home, get_contract("operating_costs"), LOGICAL)
    assert monthly.status == "ok" and monthly.detail.endswith("not applicable for monthly feeds.")
    # weekday-only feed: a Saturday without invoices is normal
    assert volume(demo_home, get_contract("wholesale_invoices"), LOGICAL).status == "ok"


# ---- schema drift ------------------------------------------------------------------------------------

def test_schema_drift_warns_on_a_new_vendor_column(lake):
    def add_column(header, rows):
        return [*header, "ThruPlays"], [[*r, "12"] for r in rows]

    reland(lake, "meta_ads", "meta_ads_2026-10.csv", add_column)
    result = schema_drift(lake, get_contract("meta_ads"))
    assert (result.status, result.blocking, result.holds_publish) == ("warn", True, False)
    assert "ThruPlays" in result.detail and "meta_ads_2026-10.csv" in result.detail
    assert result.metadata["new_columns"]["ThruPlays"]["files"] == ["meta_ads_2026-10.csv"]
    # long-landed drift ages out of the warning (still counted in the metadata)
    aged = schema_drift(lake, get_contract("meta_ads"), max(date.today(), LOGICAL) + timedelta(days=60))
    assert aged.status == "ok" and aged.metadata["files_with_new_columns_before_window"] == 1


def test_schema_drift_fails_on_a_waiting_file_without_a_required_column(lake):
    header, *rows = read_rows(lake.landing("meta_ads") / "meta_ads_2026-10.csv")
    spend = header.index("Amount spent (USD)")
    bad = write_rows(lake.landing("meta_ads") / "meta_ads_2026-11-01.csv",
                     [[c for i, c in enumerate(r) if i != spend] for r in [header, *rows[:20]]])
    assert land_file(lake, "meta_ads", bad).status == "rejected"
    result = schema_drift(lake, get_contract("meta_ads"))
    assert (result.status, result.holds_publish) == ("fail", True)
    assert "meta_ads_2026-11-01.csv" in result.detail and "missing required column" in result.detail
    assert "remove the rejected file" in result.suggested_action
    bad.unlink()  # removed from landing: the rejection no longer holds the publish
    assert schema_drift(lake, get_contract("meta_ads")).status == "ok"


def test_settlement_freshness_before_the_first_settlement_says_what_to_download(demo_home):
    """A night older than every landed settlement (the demo's first settlement closes mid-September) is
    judged, not crashed: the action names the period to download."""
    result = freshness(demo_home, get_contract("amazon_settlements"), date(2026, 9, 2))
    assert result.status != "ok"
    assert "closed up to 2026-09-01" in result.suggested_action and "Seller Central" in result.suggested_action
