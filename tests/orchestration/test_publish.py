"""Write-audit-publish: the published DuckDB file is replaced atomically, only by an audited build."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pytest

from connectors.home import build_database, published_database
from orchestration.pipeline import publish as pub
from orchestration.pipeline.publish import PublishError, held, publish, publish_history


@dataclass
class Check:  # the shape of orchestration.pipeline.gates.outcome.CheckOutcome
    feed: str
    check: str
    status: str
    blocking: bool = False
    detail: str = ""
    suggested_action: str = ""
    owner: str = "Growth"
    owner_contact: str = "growth@example.com"
    metadata: dict = field(default_factory=dict)


PASSING = [Check("shopify_orders", "freshness", "ok", True),
           Check("meta_ads", "no_quarantined_rows", "warn", False, "3 rows quarantined")]


def make_build(home, scale: int = 1, rows: int = 100, channels: int = 3) -> None:
    """A small dbt-like build: marts (one a view), a seed, ops and main tables, the staging and
    intermediate tables analysts do not read, and dbt leftovers that must not publish."""
    path = build_database(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA staging; CREATE SCHEMA intermediate; CREATE SCHEMA config; "
                    "CREATE SCHEMA ops; CREATE SCHEMA main_dbt_test__audit")
        con.execute("CREATE TABLE marts.fct_contribution (id INTEGER PRIMARY KEY, channel VARCHAR NOT NULL, x BIGINT)")
        con.execute("INSERT INTO marts.fct_contribution "
                    f"SELECT i, 'ch' || (i % 3), i * {scale} FROM range({rows}) t(i)")
        con.execute(f"CREATE TABLE marts.dim_channel AS SELECT 'ch' || i AS channel FROM range({channels}) t(i)")
        con.execute("CREATE VIEW marts.big_contribution AS SELECT * FROM marts.fct_contribution WHERE id >= 50")
        con.execute("CREATE TABLE config.channels AS SELECT 'ch' || i AS channel, 'Channel ' || i AS name "
                    "FROM range(3) t(i)")
        con.execute("CREATE TABLE ops.check_results AS SELECT 'shopify_orders' AS feed, 'ok' AS status")
        con.execute("CREATE TABLE main.restatements AS SELECT 'ch1' AS channel, 1.5 AS delta")
        con.execute(f"CREATE TABLE staging.stg_orders AS SELECT i AS order_id FROM range({rows * 2}) t(i)")
        con.execute("CREATE VIEW staging.stg_big_orders AS SELECT * FROM staging.stg_orders WHERE order_id >= 150")
        con.execute("CREATE TABLE intermediate.int_orders AS SELECT * FROM staging.stg_orders")
        con.execute("CREATE TABLE marts.fct_contribution__dbt_tmp AS SELECT 1 AS junk")
        con.execute("CREATE TABLE main_dbt_test__audit.not_null_x AS SELECT 1 AS junk")


PUBLISHED = {"main.publish_log": 1, "main.publish_day_sums": 0, "main.restatements": 1, "config.channels": 3,
             "ops.check_results": 1, "marts.dim_channel": 3, "marts.fct_contribution": 100,
             "marts.big_contribution": 50}  # the view is published as a table (a snapshot, not a live query)


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def relations(path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        names = con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables() ORDER BY 1").fetchall()
        return {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for (n,) in names}


def test_publish_copies_tables_and_logs_the_run(home):
    make_build(home)
    result = publish(home, run_id="run-1", logical_date=date(2026, 8, 1),
                     watermarks={"shopify_orders": "2026-07-31T23:59:00+00:00"}, checks=PASSING)
    assert result.published and result.path == published_database(home) == home.root / "warehouse" / "published.duckdb"
    # what analysts read; staging, intermediate, dbt's test audit schema and leftovers stay in the build
    assert relations(result.path) == PUBLISHED
    with duckdb.connect(str(result.path), read_only=True) as con:
        assert {s for (s,) in con.execute("SELECT schema_name FROM duckdb_schemas() WHERE NOT internal "
                                          "AND database_name = current_database()").fetchall()} == {
            "marts", "config", "ops"}  # and main, DuckDB's own (internal) schema
    assert (result.tables, result.rows, result.changed) == (6, 158, 6)
    with duckdb.connect(str(result.path), read_only=True) as con:
        assert con.execute("SELECT sum(x) FROM marts.fct_contribution").fetchone()[0] == 4950
        # constraints came along with the schema copy
        assert con.execute("SELECT is_nullable FROM information_schema.columns "
                           "WHERE table_name = 'fct_contribution' AND column_name = 'channel'").fetchone()[0] == "NO"
        row = con.execute("SELECT run_id, logical_date, checks_passed, checks_warned, checks_failed, "
                          "feeds_watermarks, check_results, tables_sha256, build_database_bytes, "
                          "tables, \"rows\", tables_changed, table_checksums FROM publish_log").fetchone()
    assert row[:5] == ("run-1", date(2026, 8, 1), 1, 1, 0)
    assert json.loads(row[5]) == {"shopify_orders": "2026-07-31T23:59:00+00:00"}
    assert [c["check"] for c in json.loads(row[6])] == ["freshness", "no_quarantined_rows"]
    assert row[7] == hashlib.sha256(row[12].encode()).hexdigest()  # the fingerprint of the checksums as logged
    assert row[8] == build_database(home).stat().st_size
    assert row[9:12] == (6, 158, 6)
    assert {k: int(v.split(":")[0]) for k, v in json.loads(row[12]).items()} == {
        k: n for k, n in PUBLISHED.items() if k not in ("main.publish_log", "main.publish_day_sums")}
    assert [p.name for p in result.path.parent.iterdir() if ".tmp" in p.name] == []
    assert publish_history(home)[-1]["outcome"] == "published"


def test_second_publish_appends_to_publish_log(home):
    make_build(home)
    publish(home, run_id="run-1", logical_date=date(2026, 8, 1), watermarks={}, checks=PASSING)
    make_build(home, scale=2)
    publish(home, run_id="run-2", logical_date=date(2026, 8, 2), watermarks={"meta_ads": "2026-08-01"}, checks=[])
    with duckdb.connect(str(published_database(home)), read_only=True) as con:
        assert con.execute("SELECT run_id, logical_date FROM publish_log ORDER BY published_at").fetchall() == [
            ("run-1", date(2026, 8, 1)), ("run-2", date(2026, 8, 2))]
        assert con.execute("SELECT sum(x) FROM marts.fct_contribution").fetchone()[0] == 9900


def tables_sha256s(home) -> list[str]:
    with duckdb.connect(str(published_database(home)), read_only=True) as con:
        return [h for (h,) in con.execute("SELECT tables_sha256 FROM publish_log ORDER BY published_at").fetchall()]


def test_the_published_contents_fingerprint_follows_the_contents_not_the_files_bytes(home):
    """tables_sha256 is equal for equal published contents (a build written again with its rows in another
    order) and differs when one table's rows do."""
    make_build(home)
    publish(home, run_id="run-1", logical_date=date(2026, 8, 1), watermarks={}, checks=[])
    with duckdb.connect(str(build_database(home))) as con:  # same rows, other order: other bytes
        con.execute("CREATE TABLE marts.shuffled AS SELECT * FROM marts.fct_contribution ORDER BY x DESC")
        con.execute("DROP VIEW marts.big_contribution; DROP TABLE marts.fct_contribution")
        con.execute("ALTER TABLE marts.shuffled RENAME TO fct_contribution")
        con.execute("CREATE VIEW marts.big_contribution AS SELECT * FROM marts.fct_contribution WHERE id >= 50")
    publish(home, run_id="run-2", logical_date=date(2026, 8, 2), watermarks={}, checks=[])
    make_build(home, scale=2)
    publish(home, run_id="run-3", logical_date=date(2026, 8, 3), watermarks={}, checks=[])
    first, same, other = tables_sha256s(home)
    assert len(first) == 64 and first == same and other != first


def test_a_publish_log_with_the_build_files_hash_is_carried_over_in_todays_columns(home):
    """A file published when publish_log kept the build file's SHA-256 (a file the next night overwrote)
    gets tables_sha256 instead; its runs are kept."""
    make_build(home)
    publish(home, run_id="run-1", logical_date=date(2026, 8, 1), watermarks={}, checks=[])
    with duckdb.connect(str(published_database(home))) as con:  # as an older version published it
        con.execute("ALTER TABLE publish_log DROP COLUMN tables_sha256")
        con.execute("ALTER TABLE publish_log ADD COLUMN build_database_sha256 VARCHAR DEFAULT 'abc'")
    make_build(home, scale=2)
    publish(home, run_id="run-2", logical_date=date(2026, 8, 2), watermarks={}, checks=[])
    with duckdb.connect(str(published_database(home)), read_only=True) as con:
        columns = {c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() "
                                             "WHERE table_name = 'publish_log'").fetchall()}
        runs = con.execute("SELECT run_id, tables_sha256 IS NULL FROM publish_log ORDER BY published_at").fetchall()
    assert "tables_sha256" in columns and "build_database_sha256" not in columns
    assert runs == [("run-1", True), ("run-2", False)]


def blocks(path, table: str) -> set[int]:
    """The storage blocks holding a table's rows: a table kept from the previous file keeps them."""
    with duckdb.connect(str(path), read_only=True) as con:
        return {b for (b,) in con.execute(f"SELECT DISTINCT block_id FROM pragma_storage_info('{table}') "
                                          "WHERE block_id >= 0").fetchall()}


def test_only_the_tables_whose_content_changed_are_copied(home):
    make_build(home, rows=20_000)
    publish(home, run_id="run-1", logical_date=date(2026, 8, 1), watermarks={}, checks=[])
    published = published_database(home)
    before = {t: blocks(published, t) for t in ("marts.fct_contribution", "marts.dim_channel", "config.channels")}
    assert all(before.values())
    make_build(home, scale=2, rows=20_000)  # same row count, other values: only the checksum tells
    result = publish(home, run_id="run-2", logical_date=date(2026, 8, 2), watermarks={}, checks=[])
    assert result.changed == 2  # the fact table and the view over it (a view is always copied)
    assert publish_history(home)[-1]["tables_changed"] == ["marts.big_contribution", "marts.fct_contribution"]
    assert blocks(published, "marts.dim_channel") == before["marts.dim_channel"]  # not rewritten: kept
    assert blocks(published, "config.channels") == before["config.channels"]
    assert relations(published) == {**PUBLISHED, "main.publish_log": 2, "marts.fct_contribution": 20_000,
                                    "marts.big_contribution": 19_950}
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("SELECT sum(x) FROM marts.fct_contribution").fetchone()[0] == 2 * sum(range(20_000))
        assert con.execute("SELECT sum(x) FROM marts.big_contribution").fetchone()[0] == 2 * sum(range(50, 20_000))
        assert con.execute("SELECT list(tables_changed ORDER BY published_at) FROM publish_log").fetchone()[0] == [6, 2]
        # the re-created table has its contract: primary key and not null
        assert sorted(con.execute("SELECT constraint_type FROM duckdb_constraints() "
                                  "WHERE table_name = 'fct_contribution'").fetchall()) == [
            ("NOT NULL",), ("NOT NULL",), ("PRIMARY KEY",)]


def test_tables_dropped_or_redefined_in_the_build_are_dropped_or_redefined(home):
    make_build(home)
    publish(home, run_id="run-1", logical_date=date(2026, 8, 1), watermarks={}, checks=[])
    with duckdb.connect(str(build_database(home))) as con:
        con.execute("DROP TABLE ops.check_results")
        con.execute("ALTER TABLE config.channels ALTER COLUMN name SET NOT NULL")  # same rows, new contract
        con.execute("CREATE SCHEMA forecast; CREATE TABLE forecast.demand AS SELECT 1 AS units")  # not published
    result = publish(home, run_id="run-2", logical_date=date(2026, 8, 2), watermarks={}, checks=[])
    assert publish_history(home)[-1]["tables_changed"] == ["config.channels"]  # the view's rows and DDL are the same
    published = {k: v for k, v in PUBLISHED.items() if k != "ops.check_results"}
    assert relations(result.path) == {**published, "main.publish_log": 2}
    with duckdb.connect(str(result.path), read_only=True) as con:
        assert con.execute("SELECT is_nullable FROM information_schema.columns WHERE table_schema = 'config' "
                           "AND table_name = 'channels' AND column_name = 'name'").fetchone()[0] == "NO"


def test_a_file_published_with_staging_is_replaced_by_one_without(home):
    """A published file of an older publish (every schema, no table checksums) is not reused: the new
    file is written whole, without staging, and its publish_log keeps the old rows."""
    make_build(home)
    published = published_database(home)
    with duckdb.connect(":memory:") as con:  # what the previous version of publish wrote
        con.execute(f"ATTACH '{build_database(home)}' AS build (READ_ONLY)")
        con.execute(f"ATTACH '{published}' AS old (STORAGE_VERSION 'v1.2.0')")
        con.execute("COPY FROM DATABASE build TO old")
        con.execute("CREATE TABLE old.main.publish_log (run_id VARCHAR, logical_date DATE, "
                    "published_at TIMESTAMPTZ, tables INTEGER)")
        con.execute("INSERT INTO old.main.publish_log VALUES ('old-run', '2026-07-31', now(), 9)")
    result = publish(home, run_id="run-1", logical_date=date(2026, 8, 1), watermarks={}, checks=[])
    assert result.changed == result.tables == 6
    assert relations(published) == {**PUBLISHED, "main.publish_log": 2}
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("SELECT run_id, tables, tables_changed FROM publish_log ORDER BY published_at").fetchall() \
            == [("old-run", 9, None), ("run-1", 6, 6)]


def test_the_file_stays_compact_however_many_nights_change_it(home):
    """A copy keeps the blocks of the tables it drops free for the next night's; the file does not grow."""
    sizes = []
    for night in range(1, 7):
        make_build(home, scale=night, rows=200_000)
        publish(home, run_id=f"run-{night}", logical_date=date(2026, 8, night), watermarks={}, checks=[])
        sizes.append(published_database(home).stat().st_size)
    assert max(sizes) <= 2.2 * sizes[0], sizes
    with duckdb.connect(str(published_database(home)), read_only=True) as con:
        assert con.execute("SELECT count(*), sum(x) FROM marts.fct_contribution").fetchone() == (
            200_000, 6 * sum(range(200_000)))


def test_a_file_mostly_free_blocks_is_written_anew(home, monkeypatch):
    make_build(home)
    publish(home, run_id="run-1", logical_date=date(2026, 8, 1), watermarks={}, checks=[])
    published = published_database(home)
    compact = published.stat().st_size
    with duckdb.connect(str(published)) as con:  # free blocks in the middle of the file
        con.execute("CREATE TABLE marts.dropped AS SELECT i, i::VARCHAR AS s FROM range(1_000_000) t(i)")
        con.execute("CHECKPOINT")
        con.execute("CREATE TABLE marts.last AS SELECT i FROM range(100_000) t(i)")
        con.execute("CHECKPOINT")
        con.execute("DROP TABLE marts.dropped")
    assert published.stat().st_size > 2.5 * compact
    copies = []
    monkeypatch.setattr(pub.shutil, "copyfile", lambda *args: copies.append(args))
    result = publish(home, run_id="run-2", logical_date=date(2026, 8, 2), watermarks={}, checks=[])
    assert copies == [] and result.changed == result.tables  # not copied: every table written anew
    assert published.stat().st_size <= 1.2 * compact
    assert relations(published) == {**PUBLISHED, "main.publish_log": 2}


READER = textwrap.dedent("""
    import json, sys, time, pathlib, duckdb
    path, ready, stop = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    con = duckdb.connect(path, read_only=True)
    reads = []
    while True:
        reads.append(con.execute("SELECT sum(x), count(*) FROM marts.fct_contribution").fetchone()[0])
        ready.touch()
        if stop.exists():
            break
        time.sleep(0.005)
    # a few more reads on the same (old) connection after the swap
    reads += [con.execute("SELECT sum(x) FROM marts.fct_contribution").fetchone()[0] for _ in range(3)]
    log_runs = [r[0] for r in con.execute("SELECT run_id FROM publish_log").fetchall()]
    con.close()
    con = duckdb.connect(path, read_only=True)
    after = con.execute("SELECT sum(x) FROM marts.fct_contribution").fetchone()[0]
    print(json.dumps({"reads": reads, "old_log": log_runs, "after_reconnect": after}))
""")


@contextmanager
def another_process_reading(path: Path, tmp_path: Path) -> Iterator[dict]:
    """A process reading `path` (READER) from before the block to after it; its report fills the dict."""
    ready, stop, report = tmp_path / "ready", tmp_path / "stop", {}
    reader = subprocess.Popen([sys.executable, "-c", READER, str(path), str(ready), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert reader.poll() is None, reader.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        yield report
        stop.touch()
        out, err = reader.communicate(timeout=30)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0, err
    report.update(json.loads(out))


def test_reader_keeps_a_consistent_snapshot_during_publish(home, tmp_path):
    make_build(home, rows=20_000)
    publish(home, run_id="run-1", logical_date=date(2026, 8, 1), watermarks={}, checks=[])
    old_sum = sum(range(20_000))
    make_build(home, scale=3, rows=20_000)
    with another_process_reading(published_database(home), tmp_path) as report:
        result = publish(home, run_id="run-2", logical_date=date(2026, 8, 2), watermarks={}, checks=[])
        assert result.published  # while the reader holds the old file open read-only
    assert len(report["reads"]) >= 5
    assert set(report["reads"]) == {old_sum}  # every read on the open connection: the old snapshot
    assert report["old_log"] == ["run-1"]
    assert report["after_reconnect"] == 3 * old_sum  # a new connection sees the new file


def test_held_and_blocked_runs_leave_the_published_file_untouched(home):
    make_build(home)
    publish(home, run_id="run-1", logical_date=date(2026, 8, 1), watermarks={}, checks=[])
    before = sha(published_database(home))
    make_build(home, scale=5)
    failing = [Check("shopify_orders", "no_rejected_files", "fail", True, "1 file rejected", "fix the export")]
    held(home, run_id="run-2", logical_date=date(2026, 8, 2), checks=failing, reason="audit failed")
    assert sha(published_database(home)) == before
    result = publish(home, run_id="run-3", logical_date=date(2026, 8, 3), watermarks={}, checks=failing)
    assert not result.published and "blocking" in result.reason
    assert sha(published_database(home)) == before
    history = {r["run_id"]: r for r in publish_history(home)}
    assert history["run-2"]["outcome"] == "held" and history["run-2"]["reason"] == "audit failed"
    assert history["run-2"]["blocking_failures"][0]["check"] == "no_rejected_files"
    assert history["run-3"]["outcome"] == "held"


@pytest.mark.parametrize("where", ["replace", "base_copy", "sums_while_copying", "table_copy"])
def test_crash_mid_publish_leaves_published_file_and_no_tmp(home, monkeypatch, where):
    make_build(home)
    publish(home, run_id="run-1", logical_date=date(2026, 8, 1), watermarks={}, checks=[])
    published = published_database(home)
    if where in ("base_copy", "sums_while_copying"):  # without a standby, the new file starts as a copy
        pub.standby_database(published).unlink()
    before = sha(published_database(home))
    make_build(home, scale=7, channels=4)  # two tables change: the second copy crashes

    def boom(*args, **kwargs):
        raise OSError("disk full")

    copied = []

    if where == "replace":
        monkeypatch.setattr(pub.os, "replace", boom)
    elif where == "base_copy":  # the new file starts as a copy of the published one: half of it written
        def half_copy(source, target):
            data = Path(source).read_bytes()
            Path(target).write_bytes(data[: len(data) // 2])
            raise OSError("disk full")

        monkeypatch.setattr(pub.shutil, "copyfile", half_copy)
    elif where == "sums_while_copying":  # the build's sums fail while the copy, in its thread, has not
        real_copy = shutil.copyfile     # even started: the clean-up waits for it, or it would leave its file

        def slow_copy(source, target):
            time.sleep(0.5)
            real_copy(source, target)
            copied.append(target)

        def sums_fail(*args):
            raise duckdb.IOException("the build could not be read")

        monkeypatch.setattr(pub.shutil, "copyfile", slow_copy)
        monkeypatch.setattr(pub, "_build_sums", sums_fail)
    else:  # the first changed table is re-created in the new file, the second crashes
        real_create, created = pub._create_like_build, []

        def create_once(con, *args):
            if created:
                raise duckdb.IOException("crash in the middle of the copy")
            created.append(args)
            real_create(con, *args)

        monkeypatch.setattr(pub, "_create_like_build", create_once)
    with pytest.raises((OSError, PublishError)):
        publish(home, run_id="run-2", logical_date=date(2026, 8, 2), watermarks={}, checks=[])
    monkeypatch.undo()
    assert len(copied) == (where == "sums_while_copying")  # the failed publish waited for its copy to end
    assert sha(published_database(home)) == before
    standby = pub.standby_database(published)
    assert sorted(p.name for p in published.parent.iterdir() if p != standby) == [
        ".publish.lock", "build.duckdb", "published.duckdb"]
    # the standby, written into by the failed publish, is gone, or was never touched (the swap's os.replace
    # fails before it is taken); never the published file under a second name
    assert standby.exists() == (where == "replace") and not (standby.exists() and standby.samefile(published))
    with duckdb.connect(str(published_database(home)), read_only=True) as con:
        assert con.execute("SELECT list(run_id) FROM publish_log").fetchone()[0] == ["run-1"]


def test_publish_without_build_raises_and_touches_nothing(home):
    with pytest.raises(PublishError, match="no build database"):
        publish(home, run_id="r", logical_date=date(2026, 8, 1), watermarks={}, checks=[])
    assert not published_database(home).exists()


def test_stale_tmp_of_a_killed_publish_is_cleaned(home):
    make_build(home)
    stale = published_database(home).with_name("published.duckdb.123.456.tmp")
    stale.write_bytes(b"half a database")
    publish(home, run_id="run-1", logical_date=date(2026, 8, 1), watermarks={}, checks=[])
    assert not stale.exists()


def test_publish_makes_the_file_durable_before_and_after_the_swap(home, monkeypatch):
    """fsync(temporary file) → os.replace(temporary, published) → fsync(folder): the new file's bytes
    are on disk before its name points at them, and the rename itself is on disk before we report."""
    make_build(home)
    published = published_database(home)
    calls = []
    real_fsync, real_replace = pub.os.fsync, pub.os.replace

    def fsync(fd):
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(source, target):
        calls.append(("replace", str(source), str(target)))
        real_replace(source, target)

    monkeypatch.setattr(pub.os, "fsync", fsync)
    monkeypatch.setattr(pub.os, "replace", replace)
    publish(home, run_id="run-1", logical_date=date(2026, 8, 1), watermarks={}, checks=[])
    swap = [c for c in calls if c[0] == "replace" and c[2] == str(published)]
    assert len(swap) == 1, calls
    temporary = swap[0][1]
    assert temporary != str(published) and temporary.startswith(str(published) + ".")
    at = calls.index(swap[0])
    assert ("fsync", temporary) in calls[:at], f"the temporary file is not fsync'ed before the swap: {calls}"
    assert ("fsync", str(published.parent)) in calls[at + 1:], f"the folder is not fsync'ed after the swap: {calls}"


# ---- event-grain facts: a night's changed days are patched, not the table re-created -----------------
EVENTS = "marts.fct_events"


def make_events(home, days: range, amount_of=lambda day, i: day * 10 + i, null_rows: int = 0) -> None:
    """An event-grain fact in the build (three rows a day, a primary key, the day as its event date,
    `null_rows` rows of no day) and the dbt manifest that names its event date column."""
    with duckdb.connect(str(build_database(home))) as con:
        con.execute(f"DROP TABLE IF EXISTS {EVENTS}")
        con.execute(f"CREATE TABLE {EVENTS} (id INTEGER PRIMARY KEY, event_day DATE, amount BIGINT NOT NULL)")
        rows = [(day * 3 + i, date.fromordinal(date(2026, 1, 1).toordinal() + day), amount_of(day, i))
                for day in days for i in range(3)]
        rows += [(100_000 + i, None, i) for i in range(null_rows)]
        con.executemany(f"INSERT INTO {EVENTS} VALUES (?, ?, ?)", rows)
    manifest = home.root / "dbt" / "target" / "manifest.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({"nodes": {"model.p.fct_events": {
        "resource_type": "model", "schema": "marts", "name": "fct_events", "alias": "fct_events",
        "config": {"meta": {"event_date_column": "event_day"}}}}}))


def published_equals_build(home, table: str) -> bool:
    with duckdb.connect(str(published_database(home)), read_only=True) as con:
        con.execute(f"ATTACH '{build_database(home)}' AS build (READ_ONLY)")
        differing = con.execute(
            f"SELECT count(*) FROM ((SELECT * FROM {table} EXCEPT ALL SELECT * FROM build.{table}) "
            f"UNION ALL (SELECT * FROM build.{table} EXCEPT ALL SELECT * FROM {table}))").fetchone()[0]
    return differing == 0


def test_an_event_fact_gets_only_its_changed_days_replaced(home):
    make_build(home)
    make_events(home, range(60), null_rows=2)
    publish(home, run_id="run-1", logical_date=date(2026, 3, 1), watermarks={}, checks=[])
    assert pub.event_date_columns(home) == {EVENTS: "event_day"}
    # the next night: day 50's amounts restated, day 55 gone, day 60 new, a third row of no day
    make_events(home, [d for d in range(61) if d != 55], null_rows=3,
                amount_of=lambda day, i: day * 10 + i + (7 if day == 50 else 0))
    result = publish(home, run_id="run-2", logical_date=date(2026, 3, 2), watermarks={}, checks=[])
    record = publish_history(home)[-1]
    # the fact is patched; the view over the other fact is as published, and kept
    assert record["tables_changed"] == [EVENTS] and record["tables_patched"] == [EVENTS]
    assert result.changed == 1
    assert published_equals_build(home, EVENTS)
    with duckdb.connect(str(published_database(home)), read_only=True) as con:
        assert con.execute(f"SELECT count(*), sum(amount) FROM {EVENTS}").fetchone() == (
            60 * 3 + 3, sum(d * 10 + i for d in range(61) if d != 55 for i in range(3)) + 3 * 7 * 1 + 3)
        # the patched table keeps its contract: primary key and not null
        assert sorted(con.execute("SELECT constraint_type FROM duckdb_constraints() "
                                  "WHERE table_name = 'fct_events'").fetchall()) == [
            ("NOT NULL",), ("NOT NULL",), ("PRIMARY KEY",)]


def make_event_view(home, days: range, amount_of=lambda day, i: day * 10 + i) -> None:
    """An event-grain fact that is a view (dbt's `event_view_config`: fct_order_lines over int_order_lines):
    marts.fct_events over a table of the build-only intermediate schema, three rows a day, and the dbt
    manifest that names its event date column and the column its contract declares not null."""
    with duckdb.connect(str(build_database(home))) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS intermediate")
        con.execute("CREATE OR REPLACE TABLE intermediate.int_events (id INTEGER, event_day DATE, amount BIGINT)")
        con.executemany("INSERT INTO intermediate.int_events VALUES (?, ?, ?)", [
            (day * 3 + i, date.fromordinal(date(2026, 1, 1).toordinal() + day), amount_of(day, i))
            for day in days for i in range(3)])
        # named as dbt names it (the build file's catalog is `build`, as publish attaches it)
        con.execute(f"CREATE OR REPLACE VIEW {EVENTS} AS SELECT * FROM build.intermediate.int_events")
    manifest = home.root / "dbt" / "target" / "manifest.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({"nodes": {"model.p.fct_events": {
        "resource_type": "model", "schema": "marts", "name": "fct_events", "alias": "fct_events",
        "config": {"materialized": "view", "meta": {"event_date_column": "event_day"}},
        "columns": {"id": {"name": "id", "constraints": [{"type": "not_null"}]}, "amount": {"name": "amount"}}}}}))


def test_an_event_view_is_published_as_a_table_with_its_contract_and_patched_by_day(home):
    """The facts are views in the build: each is published as a table of its columns with the NOT NULL its
    contract declares, kept when unchanged, and patched by day like an event table, not copied whole."""
    make_build(home)
    make_event_view(home, range(60))
    publish(home, run_id="run-1", logical_date=date(2026, 3, 1), watermarks={}, checks=[])
    assert pub.contract_not_null_columns(home) == {EVENTS: ["id"]}
    assert published_equals_build(home, EVENTS)

    def published_contract() -> tuple:
        with duckdb.connect(str(published_database(home)), read_only=True) as con:
            kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_schema = 'marts' "
                               "AND table_name = 'fct_events'").fetchone()[0]
            return kind, con.execute("SELECT constraint_column_names FROM duckdb_constraints() "
                                     "WHERE table_name = 'fct_events' AND constraint_type = 'NOT NULL'").fetchall()
    assert published_contract() == ("BASE TABLE", [(["id"],)])
    # the next night: day 50's amounts restated, day 55 gone, day 60 new
    make_event_view(home, [d for d in range(61) if d != 55], amount_of=lambda day, i: day * 10 + i + (day == 50))
    publish(home, run_id="run-2", logical_date=date(2026, 3, 2), watermarks={}, checks=[])
    record = publish_history(home)[-1]
    assert record["tables_changed"] == [EVENTS] and record["tables_patched"] == [EVENTS]
    assert published_equals_build(home, EVENTS) and published_contract() == ("BASE TABLE", [(["id"],)])
    publish(home, run_id="run-3", logical_date=date(2026, 3, 3), watermarks={}, checks=[])  # nothing changed
    assert publish_history(home)[-1]["tables_changed"] == []


def test_an_event_fact_mostly_changed_is_copied_whole(home):
    make_build(home)
    make_events(home, range(60))
    publish(home, run_id="run-1", logical_date=date(2026, 3, 1), watermarks={}, checks=[])
    make_events(home, range(60), amount_of=lambda day, i: -day)  # every day restated (a rule change)
    publish(home, run_id="run-2", logical_date=date(2026, 3, 2), watermarks={}, checks=[])
    assert publish_history(home)[-1]["tables_patched"] == []
    assert published_equals_build(home, EVENTS)


def test_a_patch_that_misses_a_day_is_caught_and_the_table_copied_whole(home, monkeypatch):
    """The patched table's checksum must equal the build's: a wrong list of changed days (a bug, a row
    whose hash ties) cannot publish a table that differs from the audited build."""
    make_build(home)
    make_events(home, range(60))
    publish(home, run_id="run-1", logical_date=date(2026, 3, 1), watermarks={}, checks=[])
    make_events(home, range(60), amount_of=lambda day, i: day * 10 + i + (1 if day in (10, 40) else 0))
    real = pub._changed_days

    def misses_a_day(con, kept):
        rows = real(con, kept)
        con.execute("DELETE FROM publish_changed_days WHERE d = (SELECT min(d) FROM publish_changed_days)")
        return rows

    monkeypatch.setattr(pub, "_changed_days", misses_a_day)
    publish(home, run_id="run-2", logical_date=date(2026, 3, 2), watermarks={}, checks=[])
    record = publish_history(home)[-1]
    assert EVENTS in record["tables_changed"] and record["tables_patched"] == []
    assert published_equals_build(home, EVENTS)


def day_sums(con, table: str) -> dict:
    return {d: (n, h) for d, n, h in con.execute(
        f"SELECT CAST(event_day AS VARCHAR), count(*), sum(hash(*COLUMNS(*))) FROM {table} "
        "GROUP BY event_day").fetchall()}


def test_each_publish_records_the_event_facts_day_sums_for_the_next_nights_patch(home):
    make_build(home)
    make_events(home, range(10), null_rows=1)
    publish(home, run_id="run-1", logical_date=date(2026, 3, 1), watermarks={}, checks=[])
    make_events(home, range(12), null_rows=1, amount_of=lambda day, i: day * 10 + i + (5 if day == 3 else 0))
    publish(home, run_id="run-2", logical_date=date(2026, 3, 2), watermarks={}, checks=[])
    assert publish_history(home)[-1]["tables_patched"] == [EVENTS]
    with duckdb.connect(str(published_database(home)), read_only=True) as con:
        recorded = {d: (n, h) for d, n, h in con.execute(
            'SELECT "day", "rows", row_hash_sum FROM main.publish_day_sums WHERE table_name = ?',
            [EVENTS]).fetchall()}
        assert recorded == day_sums(con, EVENTS) and len(recorded) == 13  # 12 days and the rows of no day
        assert con.execute("SELECT DISTINCT table_name FROM main.publish_day_sums").fetchall() == [(EVENTS,)]


def keep_day_sums(home, wrong_hash_of_day: str | None = None) -> None:
    """The build's own per-day sums of the event fact, as dbt's post-hook keeps them (macros/day_sums.sql)."""
    with duckdb.connect(str(build_database(home))) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS dbt_state")
        con.execute("CREATE OR REPLACE TABLE dbt_state.event_day_sums (table_name VARCHAR, \"day\" VARCHAR, "
                    "\"rows\" BIGINT, row_hash_sum HUGEINT, columns_signature VARCHAR)")
        signature = pub._columns_signature("marts", "fct_events").replace("'build'", "current_database()")
        con.execute(f"INSERT INTO dbt_state.event_day_sums SELECT '{EVENTS}', d, n, "
                    f"CASE WHEN d = ? THEN h + 1 ELSE h END, ({signature}) "
                    f"FROM ({pub._days_of_table(EVENTS, 'event_day')})", [wrong_hash_of_day])


@pytest.fixture
def summed_tables(monkeypatch) -> list[str]:
    """The relations publish sums itself (`_day_sums`), in order."""
    summed, real = [], pub._day_sums
    monkeypatch.setattr(pub, "_day_sums", lambda con, relation, column: summed.append(relation) or real(
        con, relation, column))
    return summed


def test_the_day_sums_the_build_keeps_spare_publish_summing_the_event_fact(home, summed_tables):
    make_build(home)
    make_events(home, range(60), null_rows=2)
    keep_day_sums(home)
    publish(home, run_id="run-1", logical_date=date(2026, 3, 1), watermarks={}, checks=[])
    make_events(home, [d for d in range(61) if d != 55], null_rows=3,
                amount_of=lambda day, i: day * 10 + i + (7 if day == 50 else 0))
    keep_day_sums(home)
    publish(home, run_id="run-2", logical_date=date(2026, 3, 2), watermarks={}, checks=[])
    assert summed_tables == []
    assert publish_history(home)[-1]["tables_patched"] == [EVENTS]
    assert published_equals_build(home, EVENTS)


@pytest.mark.parametrize("change", ["a row deleted", "a column added", "no sums of it"])
def test_kept_day_sums_that_do_not_fit_the_table_are_not_trusted(home, summed_tables, change):
    """Sums of another day's row count or of other columns (the table written without them being kept)
    are not used: publish sums the table itself, and publishes the build as it is."""
    make_build(home)
    make_events(home, range(30))
    keep_day_sums(home)
    publish(home, run_id="run-1", logical_date=date(2026, 3, 1), watermarks={}, checks=[])
    make_events(home, range(30), amount_of=lambda day, i: day * 10 + i + (3 if day == 12 else 0))
    keep_day_sums(home)
    with duckdb.connect(str(build_database(home))) as con:
        if change == "a row deleted":
            con.execute(f"DELETE FROM {EVENTS} WHERE id = 20 * 3")
        elif change == "a column added":
            con.execute(f"ALTER TABLE {EVENTS} ADD COLUMN note VARCHAR DEFAULT 'x'")
        else:
            con.execute("DELETE FROM dbt_state.event_day_sums")
    publish(home, run_id="run-2", logical_date=date(2026, 3, 2), watermarks={}, checks=[])
    assert summed_tables == ['build."marts"."fct_events"']
    assert published_equals_build(home, EVENTS)


def test_a_kept_day_sum_that_is_wrong_is_caught_by_the_patch_and_the_table_copied_whole(home, summed_tables):
    """Publish checks what it patched against the kept sums: a wrong sum of a changed day cannot leave the
    published table different from the build."""
    make_build(home)
    make_events(home, range(30))
    keep_day_sums(home)
    publish(home, run_id="run-1", logical_date=date(2026, 3, 1), watermarks={}, checks=[])
    make_events(home, range(30), amount_of=lambda day, i: day * 10 + i + (3 if day == 12 else 0))
    keep_day_sums(home, wrong_hash_of_day="2026-01-13")
    publish(home, run_id="run-2", logical_date=date(2026, 3, 2), watermarks={}, checks=[])
    record = publish_history(home)[-1]
    assert summed_tables == [] and EVENTS in record["tables_changed"] and record["tables_patched"] == []
    assert published_equals_build(home, EVENTS)


def test_a_file_published_before_day_sums_were_recorded_is_patched_from_its_own_rows(home):
    make_build(home)
    make_events(home, range(30))
    publish(home, run_id="run-1", logical_date=date(2026, 3, 1), watermarks={}, checks=[])
    with duckdb.connect(str(published_database(home))) as con:  # as an older version published it
        con.execute("DROP TABLE main.publish_day_sums")
    make_events(home, range(31), amount_of=lambda day, i: day * 10 + i + (2 if day in (4, 29) else 0))
    publish(home, run_id="run-2", logical_date=date(2026, 3, 2), watermarks={}, checks=[])
    assert publish_history(home)[-1]["tables_patched"] == [EVENTS]
    assert published_equals_build(home, EVENTS)
    with duckdb.connect(str(published_database(home)), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM main.publish_day_sums").fetchone()[0] == 31


def lose_rows_on_patch(monkeypatch, reads: str) -> None:
    """Publish's connections, with a patch's insert (the `INSERT INTO tmp` whose SQL has `reads`) keeping
    only even ids: a bug in a patch that the check of the patched table must catch."""
    connect = duckdb.connect

    class LosesRowsOnPatch:
        def __init__(self, con):
            self._con = con

        def execute(self, sql, *args):
            if sql.startswith("INSERT INTO tmp") and reads in sql:
                sql += " AND id % 2 = 0"
            return self._con.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self._con, name)

    monkeypatch.setattr(pub.duckdb, "connect", lambda *a, **k: LosesRowsOnPatch(connect(*a, **k)))


def test_a_patch_that_writes_wrong_rows_is_caught_and_the_table_copied_whole(home, monkeypatch):
    """The patched days are summed again from the published copy: a patch that lost rows (a bug in its
    insert) cannot publish a table that differs from the audited build."""
    make_build(home)
    make_events(home, range(60))
    publish(home, run_id="run-1", logical_date=date(2026, 3, 1), watermarks={}, checks=[])
    make_events(home, range(61))
    lose_rows_on_patch(monkeypatch, "FROM publish_changed_days")
    publish(home, run_id="run-2", logical_date=date(2026, 3, 2), watermarks={}, checks=[])
    monkeypatch.undo()
    assert publish_history(home)[-1]["tables_patched"] == []
    assert published_equals_build(home, EVENTS)


# ---- other tables: a night's changed rows are patched, not the table re-created --------------------
def test_a_table_with_few_changed_rows_gets_only_those_rows_replaced(home):
    make_build(home, rows=20_000)
    publish(home, run_id="run-1", logical_date=date(2026, 8, 1), watermarks={}, checks=[])
    with duckdb.connect(str(build_database(home))) as con:  # the next night: 10 rows restated, 5 gone, 5 new
        con.execute("UPDATE marts.fct_contribution SET x = x + 1 WHERE id < 10")
        con.execute("DELETE FROM marts.fct_contribution WHERE id BETWEEN 100 AND 104")
        con.execute("INSERT INTO marts.fct_contribution SELECT i, 'ch9', i FROM range(20_000, 20_005) t(i)")
    publish(home, run_id="run-2", logical_date=date(2026, 8, 2), watermarks={}, checks=[])
    record = publish_history(home)[-1]
    assert record["tables_changed"] == ["marts.big_contribution", "marts.fct_contribution"]
    assert record["tables_patched"] == ["marts.fct_contribution"]  # the view over it has no row ids: re-created
    assert published_equals_build(home, "marts.fct_contribution")
    with duckdb.connect(str(published_database(home)), read_only=True) as con:
        assert con.execute("SELECT count(*), sum(x) FROM marts.fct_contribution").fetchone() == (
            20_000, sum(range(20_000)) + 10 - sum(range(100, 105)) + sum(range(20_000, 20_005)))
        # the patched table keeps its contract: primary key and not null
        assert sorted(con.execute("SELECT constraint_type FROM duckdb_constraints() "
                                  "WHERE table_name = 'fct_contribution'").fetchall()) == [
            ("NOT NULL",), ("NOT NULL",), ("PRIMARY KEY",)]


def test_a_row_patch_that_cannot_tell_repeated_rows_apart_is_caught_and_the_table_copied_whole(home):
    """A row added twice where the copy has it once matches on its hash and looks unchanged: the patched
    table's checksum is not the build's, so the table is re-created from the build."""
    make_build(home, channels=30)
    publish(home, run_id="run-1", logical_date=date(2026, 8, 1), watermarks={}, checks=[])
    with duckdb.connect(str(build_database(home))) as con:
        con.execute("INSERT INTO marts.dim_channel VALUES ('ch1')")
    publish(home, run_id="run-2", logical_date=date(2026, 8, 2), watermarks={}, checks=[])
    record = publish_history(home)[-1]
    assert record["tables_changed"] == ["marts.dim_channel"]
    assert record["tables_patched"] == []
    assert published_equals_build(home, "marts.dim_channel")
    assert relations(published_database(home))["marts.dim_channel"] == 31


def test_a_row_patch_that_writes_wrong_rows_is_caught_and_the_table_copied_whole(home, monkeypatch):
    make_build(home, rows=2_000)
    publish(home, run_id="run-1", logical_date=date(2026, 8, 1), watermarks={}, checks=[])
    with duckdb.connect(str(build_database(home))) as con:
        con.execute("UPDATE marts.fct_contribution SET x = -x WHERE id < 20")
    lose_rows_on_patch(monkeypatch, "FROM publish_changed_rows")
    publish(home, run_id="run-2", logical_date=date(2026, 8, 2), watermarks={}, checks=[])
    monkeypatch.undo()
    assert publish_history(home)[-1]["tables_patched"] == []
    assert published_equals_build(home, "marts.fct_contribution")


def test_a_row_patch_whose_statements_touch_other_rows_is_caught_and_the_table_copied_whole(home, monkeypatch):
    """The patched table's checksum follows from the sums of the rows the patch meant to delete and insert:
    a delete and an insert that each touch one row more (the same row count, other rows: a table without
    a primary key to refuse them) must not pass."""
    make_build(home, channels=30)
    publish(home, run_id="run-1", logical_date=date(2026, 8, 1), watermarks={}, checks=[])
    with duckdb.connect(str(build_database(home))) as con:
        con.execute("INSERT INTO marts.dim_channel VALUES ('ch99')")
    connect = duckdb.connect

    class TouchesOneRowMore:
        def __init__(self, con):
            self._con = con

        def execute(self, sql, *args):
            if "publish_changed_rows" in sql and sql.startswith(("DELETE FROM tmp", "INSERT INTO tmp")):
                sql += " OR rowid = 0" if sql.startswith("DELETE") else " OR rowid = 1"
            return self._con.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self._con, name)

    monkeypatch.setattr(pub.duckdb, "connect", lambda *a, **k: TouchesOneRowMore(connect(*a, **k)))
    publish(home, run_id="run-2", logical_date=date(2026, 8, 2), watermarks={}, checks=[])
    monkeypatch.undo()
    assert publish_history(home)[-1]["tables_patched"] == []
    assert published_equals_build(home, "marts.dim_channel")


# ---- the standby: the file published before the current one becomes the next night's new file ------------
def inode(path) -> int:
    return path.stat().st_ino


def publish_night(home, night: int, **build) -> None:
    make_build(home, scale=night, **build)
    publish(home, run_id=f"run-{night}", logical_date=date(2026, 8, night), watermarks={}, checks=[])


def test_the_third_publish_writes_only_the_changes_into_the_file_published_first(home, monkeypatch):
    published = published_database(home)
    publish_night(home, 1, rows=2_000)
    first = inode(published)
    publish_night(home, 2, rows=2_000)
    assert inode(pub.standby_database(published)) == first  # kept, not deleted, by the swap
    second = inode(published)
    make_build(home, scale=3, rows=2_000)
    make_events(home, range(30), amount_of=lambda day, i: day * 10 + i + (5 if day == 20 else 0))
    copies = []
    monkeypatch.setattr(pub.shutil, "copyfile", lambda *args: copies.append(args))
    publish(home, run_id="run-3", logical_date=date(2026, 8, 3), watermarks={}, checks=[])
    assert copies == [] and inode(published) == first  # two nights' changes written into it, nothing copied
    assert inode(pub.standby_database(published)) == second
    assert relations(published) == {**PUBLISHED, "main.publish_log": 3, "main.publish_day_sums": 30,
                                    "marts.fct_contribution": 2_000, "marts.big_contribution": 1_950,
                                    EVENTS: 90}
    for table in ("marts.fct_contribution", "marts.big_contribution", "config.channels", EVENTS):
        assert published_equals_build(home, table), table
    with duckdb.connect(str(published), read_only=True) as con:  # the published file's log, not the standby's
        assert con.execute("SELECT list(run_id ORDER BY published_at) FROM publish_log").fetchone()[0] == [
            "run-1", "run-2", "run-3"]
    # the next night patches the events the standby (run-2's file, which never had them) lacks
    make_events(home, range(31))
    publish(home, run_id="run-4", logical_date=date(2026, 8, 4), watermarks={}, checks=[])
    assert copies == [] and inode(published) == second and published_equals_build(home, EVENTS)


def test_a_standby_another_process_reads_is_left_to_it_and_the_published_file_copied(home, tmp_path):
    published = published_database(home)
    publish_night(home, 1, rows=20_000)
    with another_process_reading(published, tmp_path) as report:
        first = inode(published)
        publish_night(home, 2, rows=20_000)  # the reader's file is now the standby
        publish_night(home, 3, rows=20_000)  # which it still reads: not written into
        assert inode(published) != first and not pub.standby_database(published).samefile(published)
    assert set(report["reads"]) == {sum(range(20_000))} and report["old_log"] == ["run-1"]
    assert report["after_reconnect"] == 3 * sum(range(20_000))
    assert published_equals_build(home, "marts.fct_contribution")


def test_a_standby_this_process_reads_is_left_to_it(home):
    published = published_database(home)
    publish_night(home, 1)
    publish_night(home, 2)
    with duckdb.connect(str(pub.standby_database(published)), read_only=True) as reader:
        first = inode(pub.standby_database(published))
        publish_night(home, 3)
        assert inode(published) != first
        assert reader.execute("SELECT sum(x) FROM marts.fct_contribution").fetchone()[0] == sum(range(100))
    assert published_equals_build(home, "marts.fct_contribution")


def test_a_publish_that_fails_in_the_standby_leaves_the_published_file_and_the_next_one_copies(home, monkeypatch):
    published = published_database(home)
    publish_night(home, 1)
    publish_night(home, 2)
    before = sha(published)
    make_build(home, scale=3)

    def crash(*args):
        raise duckdb.IOException("crash in the middle of the standby's patch")

    monkeypatch.setattr(pub, "_create_like_build", crash)
    with pytest.raises(PublishError):
        publish(home, run_id="run-3", logical_date=date(2026, 8, 3), watermarks={}, checks=[])
    monkeypatch.undo()
    assert sha(published) == before
    assert sorted(p.name for p in published.parent.iterdir()) == [
        ".publish.lock", "build.duckdb", "published.duckdb"]  # the half-written standby is gone
    publish(home, run_id="run-3", logical_date=date(2026, 8, 3), watermarks={}, checks=[])
    assert published_equals_build(home, "marts.fct_contribution")
    assert pub.standby_database(published).exists()


def test_a_standby_that_is_the_published_file_is_never_written_into(home):
    """A publish killed between linking the standby and the swap leaves both names on one file."""
    published = published_database(home)
    publish_night(home, 1)
    publish_night(home, 2)
    pub.standby_database(published).unlink()
    os.link(published, pub.standby_database(published))
    before = sha(published)
    with duckdb.connect(str(published), read_only=True) as con:
        old = con.execute("SELECT sum(x) FROM marts.fct_contribution").fetchone()[0]
    publish_night(home, 3)
    assert published_equals_build(home, "marts.fct_contribution")
    standby = pub.standby_database(published)
    assert sha(standby) == before and not standby.samefile(published)
    with duckdb.connect(str(standby), read_only=True) as con:
        assert con.execute("SELECT sum(x) FROM marts.fct_contribution").fetchone()[0] == old


def test_the_tables_changed_are_told_against_the_last_publish_not_the_older_standby(home):
    published = published_database(home)
    publish_night(home, 1)
    publish_night(home, 2)  # fct_contribution changes
    first = inode(pub.standby_database(published))
    result = publish(home, run_id="run-3", logical_date=date(2026, 8, 3), watermarks={}, checks=[])  # same build
    assert inode(published) == first  # written into the standby, which had night 1's rows
    record = publish_history(home)[-1]
    # night 2's fct_contribution (and the view over it) were re-written into it, yet tonight changed nothing
    assert record["tables_changed"] == [] and result.changed == 0
    assert published_equals_build(home, "marts.fct_contribution")
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("SELECT list(tables_changed ORDER BY published_at) FROM publish_log").fetchone()[0] == [
            6, 2, 0]
