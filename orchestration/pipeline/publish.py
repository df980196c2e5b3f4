"""Write-audit-publish: dbt writes `warehouse/build.duckdb`, the checks audit it, and only an
audited build becomes `warehouse/published.duckdb`, the file analysts open (read-only).

The published file holds what analysts read, `PUBLISHED_SCHEMAS`: the marts, the seeds (`config`:
channels, mappings, targets), `ops` (the feed status, checks and alerts the snapshot was audited
against, the files it was built from) and `main` (`publish_log`, `restatements`). Staging and
intermediate stay in the build database: they are dbt's working tables, several times the marts'
size, and copying them was most of a publish.

DuckDB allows one writer process, and while it writes no other process can open the file, so the
published file is never written in place. Publishing builds a new file next to it and swaps it in:

1. attach the build database read-only (a dbt run still writing it makes this fail: nothing is touched)
   and the current published file read-only;
2. the new file `published.duckdb.<pid>.<ns>.tmp` is, when the current published file can be reused
   (written in PUBLISHED_STORAGE_VERSION, holding only published schemas, a publish_log with table
   checksums, at most half of it free blocks): the **standby** `published.duckdb.standby` — the file
   published before the current one, kept by a hard link when the current one replaced it (a copy of
   the first published file on the first publish) — renamed, when it passes the same test and no
   process has it open (DuckDB's lock refuses a write while another process reads it; this process's
   own open files are looked up in /proc/self/fd), with its own table checksums (the tables changed in
   the two nights since differ from them and are patched like any other) and the published file's
   publish_log; nothing is copied, and the night writes only what changed. Else a byte copy of the
   current published file; else an empty file attached
   with `STORAGE_VERSION` PUBLISHED_STORAGE_VERSION, so DuckDB 1.2 and newer (CLIs, BI drivers,
   notebooks) open it, not only DuckDB 2.x, whose own format (storage 69) 1.x refuses. The byte copy
   runs in a thread while the build's tables are summed (step 3's build side reads the build only):
   the disk writes the copy while the CPU hashes the build (1.9 GB and ~7 s each at the 10M bench);
   a failure of either waits for the copy before the temporary file is removed;
3. every table of the published schemas is checksummed in the build (row count and the sum of its rows'
   hashes) and compared with the checksum the previous publish recorded: an unchanged table stays
   as it is in the copy, a changed or new one is dropped and re-created from the build's DDL (its
   contract's constraints included) and its rows copied, one the build no longer has is dropped.
   An event-grain fact (dbt meta `event_date_column`: fct_order_lines, fct_fees…) whose DDL is
   unchanged is patched instead: the days whose (rows, sum of hashes) differ between build and copy
   are deleted and re-inserted — a night changes its window's days, not the history. The copy's
   per-day sums are those the previous publish recorded in `main.publish_day_sums` (the file was
   copied byte for byte, as an unchanged table's recorded checksum is trusted), so the copy is not
   read to find them; the patched days' (rows, sum of hashes) must then equal the build's, and every
   day whose sums differ must be among them, else the table is re-created whole. The build's per-day
   sums also give its table checksum and are recorded for the next night; a file published before the
   sums were recorded has its days summed from the copy instead. The build's per-day sums are those
   dbt keeps in `dbt_state.event_day_sums` (dbt_project/macros/day_sums.sql: each build re-sums the
   days it may have changed, not the history: 3.3 s a night of summing the 10M lines' fct_order_lines
   here) when they are of the table's columns and every day's row count is the table's (one pass over
   the day column); else the table is summed here (one pass over it).
   Any other table of unchanged DDL is patched by row: the row hashes found on one side only (one
   hash join of build and copy) are the rows deleted from the copy and those inserted from the build
   (dim_customer: a night changes ~18k of its 4.1M customers); its (rows, checksum) must then be the
   build's, else it is re-created whole, as it is when most of it changed. The build's row hashes are
   taken once, with its checksum, and the patched table's checksum follows from the copy's and those of
   the rows deleted and inserted (each statement must touch exactly the rows summed), not from hashing
   it again.
   dbt's leftover `__dbt_tmp`/`__dbt_backup` relations are never published. A view is published as a
   table (the facts are views over the event models they expose, `event_view_config`; a view in the
   published file would read the build, or the lake's files by path): the table's DDL is its columns and
   types with NOT NULL where its dbt contract declares it, and a view published before is kept, patched
   by day or by row, like a table of that DDL;
4. table `publish_log` (schema main) keeps the previous rows and gets one for this run, with every
   published table's checksum; the connection is closed (checkpoint), the file fsync'ed;
5. the published file is linked as the standby, `os.replace(tmp, published)` and an fsync of the
   folder. Readers that have the old file open keep reading their consistent snapshot (the old inode
   lives until they close it, and it is never written while they do); new connections see the new
   file. A publish killed between the link and the swap leaves the published file under both names:
   the next publish sees it is the same file and copies instead.

Any failure before step 5 deletes the temporary file (a standby being written included: the next
night copies); the published file is never touched by a failed or held run. One publish at a time
per home (an flock on `warehouse/.publish.lock`). Every outcome (published or held) is also recorded
as `ops/publish/<run_id>.json`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from connectors.home import Home, build_database, duckdb_memory_limit, publish_records_dir, published_database
from orchestration.pipeline.ops.alerts import CheckLike, check_to_dict, summarize

log = logging.getLogger(__name__)

# what analysts read (README "For analysts and finance"); staging and intermediate stay in the build
PUBLISHED_SCHEMAS = ("marts", "config", "ops", "main")
INTERNAL_RELATION = re.compile(r"__dbt_(tmp|backup)")
PUBLISH_LOG = "publish_log"
# DuckDB 1.2 format (storage 65): read by every DuckDB from 1.2 on. It costs ~0.3 s on the demo's
# publish (1.2 s, against 0.9 s in 2.0's own format or v1.4.0, which 1.2/1.3 refuse); v1.0.0 adds
# no reader that matters (DuckDB 1.0 cannot read its catalog) and writes a 20% bigger file.
PUBLISHED_STORAGE_VERSION = "v1.2.0"
PUBLISH_LOG_DDL = f"""
CREATE TABLE tmp.main.{PUBLISH_LOG} (
    run_id VARCHAR NOT NULL,
    logical_date DATE NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    feeds_watermarks VARCHAR,       -- JSON: feed -> newest event time in the published data
    checks_passed INTEGER,
    checks_warned INTEGER,
    checks_failed INTEGER,
    check_results VARCHAR,          -- JSON: every check result of the run
    tables_sha256 VARCHAR,          -- SHA-256 of the table_checksums text: equal for equal contents
    build_database_bytes BIGINT,
    tables INTEGER,
    "rows" BIGINT,
    publish_seconds DOUBLE,
    tables_changed INTEGER,         -- tables copied from the build: new, or their content changed
    table_checksums VARCHAR         -- JSON: schema.table -> "rows:sum of row hashes" of every published table
)"""

# each event-grain table's rows and sum of row hashes per day as published (the day as text; null: rows
# of no day): what the next night's patch compares the build with, instead of reading the copy
DAY_SUMS = "publish_day_sums"
DAY_SUMS_DDL = f"""
CREATE TABLE IF NOT EXISTS tmp.main.{DAY_SUMS} (
    table_name VARCHAR NOT NULL,    -- schema.table
    "day" VARCHAR,
    "rows" BIGINT NOT NULL,
    row_hash_sum HUGEINT NOT NULL
)"""


@dataclass(frozen=True)
class PublishResult:
    published: bool
    path: Path
    tables: int = 0
    rows: int = 0
    seconds: float = 0.0
    reason: str = ""
    changed: int = 0  # tables copied from the build (new or changed); the others were kept as published


class PublishError(RuntimeError):
    """Publishing failed; the published file is unchanged."""


def _sql_str(value: str | Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables_sha256(checksums_json: str) -> str:
    """The published contents' fingerprint: the SHA-256 of the run's `table_checksums` text, whatever the
    file's bytes. (It replaced the build file's own SHA-256: a whole read of a file that grows with history
    — 6.5 GB, 7 s of a core at 10M lines — for a file the next night overwrites, so no one could check it.)"""
    return hashlib.sha256(checksums_json.encode()).hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _publish_lock(home: Home) -> Iterator[None]:
    lock_path = published_database(home).parent / ".publish.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tmp_files(tmp: Path) -> list[Path]:
    return [tmp, tmp.with_name(tmp.name + ".wal")]


def _remove_stale_tmp(published: Path) -> None:
    """Temporary files of a publish that died hard (kill -9); we hold the lock, so none is live."""
    for stale in published.parent.glob(f"{published.name}.*.tmp*"):
        stale.unlink(missing_ok=True)


def _write_record(home: Home, run_id: str, payload: dict) -> Path:
    folder = publish_records_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_.=+" else "_" for ch in str(run_id))
    path = folder / f"{safe}.json"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str))
    os.replace(tmp, path)
    return path


def publish_history(home: Home) -> list[dict]:
    """Every recorded publish outcome (published and held), oldest first."""
    folder = publish_records_dir(home)
    records = [json.loads(p.read_text()) for p in folder.glob("*.json")] if folder.exists() else []
    return sorted(records, key=lambda r: r.get("recorded_at", ""))


def held(home: Home, *, run_id: str, logical_date: date, checks: Sequence[CheckLike], reason: str) -> None:
    """Record that a run's build was not published (the audit failed); no warehouse file is touched."""
    results = [check_to_dict(c) for c in checks]
    _write_record(home, run_id, {
        "run_id": str(run_id), "logical_date": logical_date.isoformat(), "outcome": "held",
        "reason": reason, "recorded_at": datetime.now(UTC).isoformat(),
        "checks": summarize(checks), "blocking_failures": [
            {k: r[k] for k in ("feed", "check", "detail", "suggested_action")}
            for r in results if r["status"] == "fail" and r["blocking"]],
        "published_database": str(published_database(home)),
    })


def _relations(con: duckdb.DuckDBPyConnection, database: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(schema, name) → (kind, DDL) of every published relation of an attached database (dbt's
    leftovers and publish_log, which publish writes itself, left out)."""
    rows = con.execute("""
        SELECT schema_name, table_name, 'table', sql FROM duckdb_tables()
        WHERE database_name = $db AND NOT internal AND NOT temporary
        UNION ALL
        SELECT schema_name, view_name, 'view', sql FROM duckdb_views()
        WHERE database_name = $db AND NOT internal AND NOT temporary""", {"db": database}).fetchall()
    return {(schema, name): (kind, ddl) for schema, name, kind, ddl in rows
            if schema in PUBLISHED_SCHEMAS and not INTERNAL_RELATION.search(name)
            and (schema, name) not in (("main", PUBLISH_LOG), ("main", DAY_SUMS))}


def _checksum(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[int, str]:
    """(rows, "rows:sum of the rows' hashes"): equal for equal contents whatever the row order."""
    rows, total = con.execute(f"SELECT count(*), coalesce(sum(hash(*COLUMNS(*))), 0) FROM {relation}").fetchone()
    return rows, f"{rows}:{total}"


def _create_like_build(con: duckdb.DuckDBPyConnection, schema: str, name: str, ddl: str) -> None:
    """The build's table (its DDL: columns, types and the contract's constraints; a view's, the table it is
    published as: `_as_published`) created in tmp, with its rows."""
    source, target = f"build.{_ident(schema)}.{_ident(name)}", f"tmp.{_ident(schema)}.{_ident(name)}"
    con.execute(f"CREATE SCHEMA IF NOT EXISTS tmp.{_ident(schema)}")
    con.execute("USE tmp")  # the DDL names schema and table, not the database
    try:
        con.execute(ddl)
    finally:
        con.execute("USE memory")
    con.execute(f"INSERT INTO {target} SELECT * FROM {source}")


def _manifest_models(home: Home) -> dict[str, dict]:
    """schema.table → the dbt manifest's node of each model of the home's build (none without a manifest)."""
    try:
        nodes = json.loads((home.root / "dbt" / "target" / "manifest.json").read_text())["nodes"]
    except (OSError, ValueError, KeyError):
        return {}
    return {f"{node['schema']}.{node.get('alias') or node['name']}": node for node in nodes.values()
            if node.get("resource_type") == "model"}


def event_date_columns(home: Home, models: Mapping[str, dict] | None = None) -> dict[str, str]:
    """schema.table → event date column of the build's event-grain models (dbt meta
    `event_date_column`, from the home's dbt manifest, or its `models` already read; none when there is
    no manifest)."""
    columns = {}
    for key, node in (_manifest_models(home) if models is None else models).items():
        if column := (node.get("config", {}).get("meta") or {}).get("event_date_column"):
            columns[key] = column
    return columns


def contract_not_null_columns(home: Home, models: Mapping[str, dict] | None = None) -> dict[str, list[str]]:
    """schema.table → the columns its dbt contract declares not null (a view of the build carries no
    constraint: publish gives them to the table it publishes it as); `models` as for event_date_columns."""
    columns = {}
    for key, node in (_manifest_models(home) if models is None else models).items():
        declared = [name for name, column in (node.get("columns") or {}).items()
                    if any(c.get("type") == "not_null" for c in column.get("constraints") or [])]
        if declared:
            columns[key] = declared
    return columns


def _as_published(con: duckdb.DuckDBPyConnection, build: Mapping[tuple[str, str], tuple[str, str]],
                  not_null: Mapping[str, Sequence[str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """The build's relations with each view's DDL replaced by that of the table it is published as: its
    columns and types, and NOT NULL on the columns its contract declares so (`not_null`), in DuckDB's own
    words — a table of the same name, created empty in the in-memory catalog, gives them — so a view
    published before compares with its published table as a table does (an event view is patched by day;
    dbt_project/macros/incremental.sql `event_view_config`)."""
    published = dict(build)
    for (schema, name), (kind, _ddl) in build.items():
        if kind != "view":
            continue
        shape = f"memory.{_ident(schema)}.{_ident(name)}"
        con.execute(f"CREATE SCHEMA IF NOT EXISTS memory.{_ident(schema)}")
        con.execute(f"CREATE OR REPLACE TABLE {shape} AS SELECT * FROM build.{_ident(schema)}.{_ident(name)} LIMIT 0")
        for column in not_null.get(f"{schema}.{name}", ()):
            con.execute(f"ALTER TABLE {shape} ALTER COLUMN {_ident(column)} SET NOT NULL")
        published[(schema, name)] = (kind, con.execute(
            "SELECT sql FROM duckdb_tables() WHERE database_name = 'memory' AND schema_name = ? AND table_name = ?",
            [schema, name]).fetchone()[0])
        con.execute(f"DROP TABLE {shape}")
    return published


def _days_of_table(relation: str, column: str, where: str = "TRUE") -> str:
    """SELECT (d as text, n, h) of a table's rows and sum of row hashes per day (of the rows `where` holds)."""
    day = _ident(column)
    return (f"SELECT CAST({day} AS VARCHAR) AS d, count(*) AS n, sum(hash(*COLUMNS(*))) AS h "
            f"FROM {relation} WHERE {where} GROUP BY {day}")


BUILD_DAYS = "publish_build_days"  # temp table: the build table's rows and sum of row hashes per day
BUILD_ROWS = "publish_build_rows"  # temp tables: another build table's row ids and row hashes


def _day_sums(con: duckdb.DuckDBPyConnection, relation: str, column: str) -> tuple[int, str]:
    """Temp table `publish_build_days` (d as text, n, h): a build table's rows and sum of row hashes per
    value of `column` (null included). → the table's (rows, checksum), as `_checksum` gives them: one
    pass over the table gives both (the sums of the days add up to the table's)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {BUILD_DAYS} AS {_days_of_table(relation, column)}")
    return _summed(con, BUILD_DAYS)


KEPT_DAY_SUMS = "build.dbt_state.event_day_sums"  # the build's own per-day sums (dbt macros/day_sums.sql)


def _columns_signature(schema: str, name: str) -> str:
    """A build table's columns and types in order (the query of dbt's `event_day_sums_signature`)."""
    return ("SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY column_index) FROM duckdb_columns() "
            f"WHERE database_name = 'build' AND schema_name = {_sql_str(schema)} AND table_name = {_sql_str(name)}")


def _kept_day_sums(con: duckdb.DuckDBPyConnection, schema: str, name: str, column: str) -> bool:
    """Temp table `publish_build_days` from the per-day sums dbt keeps with the build (macros/day_sums.sql:
    a night re-sums only the days it may have changed) — when they are of the table's columns and every
    day's row count is the table's (one pass over the day column). False: none to trust, sum the table."""
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'build' "
                       "AND schema_name = 'dbt_state' AND table_name = 'event_day_sums'").fetchone()[0]:
        return False
    key, day = _sql_str(f"{schema}.{name}"), _ident(column)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {BUILD_DAYS} AS
        SELECT "day" AS d, "rows" AS n, row_hash_sum AS h FROM {KEPT_DAY_SUMS}
        WHERE table_name = {key} AND columns_signature = ({_columns_signature(schema, name)})""")
    differing = con.execute(f"""SELECT count(*) FROM {BUILD_DAYS} AS k
        FULL OUTER JOIN (SELECT CAST({day} AS VARCHAR) AS d, count(*) AS n
                         FROM build.{_ident(schema)}.{_ident(name)} GROUP BY {day}) AS t
        ON t.d IS NOT DISTINCT FROM k.d
        WHERE k.n IS DISTINCT FROM t.n""").fetchone()[0]
    if differing:
        con.execute(f"DROP TABLE {BUILD_DAYS}")
    return not differing


def _summed(con: duckdb.DuckDBPyConnection, days_table: str) -> tuple[int, str]:
    """(rows, checksum) of a table from its day sums (d, n, h): the days add up to the table."""
    rows, total = con.execute(f"SELECT coalesce(sum(n), 0), coalesce(sum(h), 0) FROM {days_table}").fetchone()
    return rows, f"{rows}:{total}"


def _recorded_days(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    """SELECT (d, n, h) of the day sums the previous publish recorded for table `key`; None when it
    recorded none (a file published before they were, or an empty table)."""
    if not con.execute(f"SELECT count(*) FROM tmp.main.{DAY_SUMS} WHERE table_name = ?", [key]).fetchone()[0]:
        return None
    return (f'SELECT "day" AS d, "rows" AS n, row_hash_sum AS h FROM tmp.main.{DAY_SUMS} '
            f"WHERE table_name = {_sql_str(key)}")


def _differing_days(kept: str) -> str:
    """SELECT of the days (d as text, the build's rows n) whose rows differ between the day sums `kept`
    (SELECT d, n, h) and the build table summed in `publish_build_days`, by rows and sum of row hashes."""
    return f"""
        WITH kept AS ({kept})
        SELECT coalesce(built.d, kept.d) AS d, coalesce(built.n, 0) AS n
        FROM {BUILD_DAYS} AS built FULL OUTER JOIN kept ON built.d IS NOT DISTINCT FROM kept.d
        WHERE built.n IS DISTINCT FROM kept.n OR built.h IS DISTINCT FROM kept.h"""


def _changed_days(con: duckdb.DuckDBPyConnection, kept: str) -> int:
    """Temp table `publish_changed_days` (d): the days whose sums differ between `kept` and the build's
    table (`_day_sums`). → the build's rows on those days."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE publish_changed_days AS {_differing_days(kept)}")
    return con.execute("SELECT coalesce(sum(n), 0) FROM publish_changed_days").fetchone()[0]


def _patch_is_whole(con: duckdb.DuckDBPyConnection, target: str, column: str, match: str, kept: str) -> bool:
    """After a patch: each patched day of `target` sums as the build's, and no day outside the patched
    list differs between `kept` and the build (a list that missed a day is caught here)."""
    listed = "EXISTS (SELECT 1 FROM publish_changed_days AS c WHERE c.d IS NOT DISTINCT FROM {}.d)"
    wrong = con.execute(f"""
        WITH patched AS ({_days_of_table(target, column, match)})
        SELECT count(*) FROM (SELECT * FROM {BUILD_DAYS} AS built WHERE {listed.format('built')}) AS built
        FULL OUTER JOIN patched ON built.d IS NOT DISTINCT FROM patched.d
        WHERE built.n IS DISTINCT FROM patched.n OR built.h IS DISTINCT FROM patched.h""").fetchone()[0]
    missed = con.execute(f"SELECT count(*) FROM ({_differing_days(kept)}) AS differing "
                         f"WHERE NOT {listed.format('differing')}").fetchone()[0]
    return wrong == 0 and missed == 0


def _patch_days(con: duckdb.DuckDBPyConnection, schema: str, name: str, column: str, build_rows: int) -> bool:
    """Make tmp's table equal to the build's by replacing only the days that differ (module docstring,
    step 3). False (nothing to trust: re-create it) when most of it differs or, after the patch, a
    patched day's sums are not the build's or a day that differs was not patched."""
    source, target = f"build.{_ident(schema)}.{_ident(name)}", f"tmp.{_ident(schema)}.{_ident(name)}"
    kept = _recorded_days(con, f"{schema}.{name}") or _days_of_table(target, column)
    try:
        if _changed_days(con, kept) > build_rows // 2:
            return False  # most of the table: a whole copy costs as much and leaves no free blocks
        day = _ident(column)
        day_type = con.execute("SELECT data_type FROM duckdb_columns() WHERE database_name = 'build' "
                               "AND schema_name = ? AND table_name = ? AND column_name = ?",
                               [schema, name, column]).fetchone()[0]
        # the days in the column's own type, and rows without a day only when that "day" changed, so
        # DuckDB skips the row groups whose min/max hold none of them (a text match, or an OR on nulls,
        # reads every row of history: ~1 s a scan of the 10M lines' facts, three scans a patch)
        match = f"{day} IN (SELECT CAST(d AS {day_type}) FROM publish_changed_days)"
        if con.execute("SELECT count(*) FROM publish_changed_days WHERE d IS NULL").fetchone()[0]:
            match = f"({match} OR {day} IS NULL)"
        con.execute(f"DELETE FROM {target} WHERE {match}")
        con.execute(f"INSERT INTO {target} SELECT * FROM {source} WHERE {match}")
        return _patch_is_whole(con, target, column, match, kept)
    finally:
        con.execute("DROP TABLE IF EXISTS publish_changed_days")


def _record_day_sums(con: duckdb.DuckDBPyConnection, key: str) -> None:
    """The build table's day sums (`publish_build_days`), now the published table's, recorded for `key`."""
    con.execute(f"DELETE FROM tmp.main.{DAY_SUMS} WHERE table_name = ?", [key])
    con.execute(f"INSERT INTO tmp.main.{DAY_SUMS} SELECT ?, d, n, h FROM {BUILD_DAYS}", [key])


@dataclass(frozen=True)
class BuildSums:
    """A build relation's rows and checksum; for an event-grain table, the temp table holding its day sums."""

    rows: int
    checksum: str
    days_table: str | None = None
    rows_table: str | None = None  # another table's (rowid, row hash) per row, for its row patch


def _patch_rows(con: duckdb.DuckDBPyConnection, schema: str, name: str, build: BuildSums) -> bool:
    """Make tmp's table (no event-grain fact, same DDL as the build's) equal to the build's by deleting
    the rows the build no longer has and inserting those it added, told apart by row hash (a night
    changes ~18k of dim_customer's 4.1M rows at the 10M bench: 2.9 → 1.1 s against a re-created table).
    False (nothing to trust: re-create it) when most of it changed or, after the patch, its (rows,
    checksum) is not the build's (a row repeated on one side only matches nothing it can tell apart)."""
    source, target = f"build.{_ident(schema)}.{_ident(name)}", f"tmp.{_ident(schema)}.{_ident(name)}"
    built = build.rows_table  # the build's rows hashed once, with their row ids, when it was summed
    try:
        # the copy's rows hashed once, with their row ids: the delete and the insert pick their rows by id
        con.execute("CREATE OR REPLACE TEMP TABLE publish_kept_rows AS "
                    f"SELECT rowid AS r, hash(*COLUMNS(*)) AS h FROM {target}")
        # one hash join: a row hash on one side only was added (build) or removed (tmp)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE publish_changed_rows AS
            SELECT coalesce(built.h, kept.h) AS h, built.h IS NOT NULL AS added
            FROM {built} AS built
            FULL OUTER JOIN publish_kept_rows AS kept ON built.h = kept.h
            WHERE built.h IS NULL OR kept.h IS NULL""")
        if con.execute("SELECT count(*) FROM publish_changed_rows").fetchone()[0] > build.rows // 2:
            return False  # most of the table: a whole copy costs as much and leaves no free blocks
        # the copy's sums, and those of the rows the patch takes out and puts in, picked as the statements
        # pick them: the patched table's (rows, checksum) follows without hashing it again (10M, dim_customer:
        # a pass over 4.1M rows), and each statement must touch exactly the rows summed
        kept_rows, kept_sum = con.execute("SELECT count(*), coalesce(sum(h), 0) FROM publish_kept_rows").fetchone()
        gone_rows, gone_sum = con.execute(
            "SELECT count(*), coalesce(sum(k.h), 0) FROM publish_kept_rows AS k "
            "WHERE k.h IN (SELECT h FROM publish_changed_rows WHERE NOT added)").fetchone()
        new_rows, new_sum = con.execute(
            f"SELECT count(*), coalesce(sum(b.h), 0) FROM {built} AS b "
            "WHERE b.h IN (SELECT h FROM publish_changed_rows WHERE added)").fetchone()
        deleted = con.execute(f"DELETE FROM {target} WHERE rowid IN (SELECT k.r FROM publish_kept_rows AS k "
                              "WHERE k.h IN (SELECT h FROM publish_changed_rows WHERE NOT added))").fetchone()[0]
        inserted = con.execute(f"INSERT INTO {target} SELECT * FROM {source} WHERE rowid IN (SELECT b.r FROM "
                               f"{built} AS b WHERE b.h IN (SELECT h FROM publish_changed_rows WHERE added))"
                               ).fetchone()[0]
        rows = kept_rows - deleted + inserted
        return (deleted, inserted) == (gone_rows, new_rows) and \
            (rows, f"{rows}:{kept_sum - gone_sum + new_sum}") == (build.rows, build.checksum)
    finally:
        for temp in ("publish_changed_rows", "publish_kept_rows"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")


def _build_sums(con: duckdb.DuckDBPyConnection, build: Mapping[tuple[str, str], tuple[str, str]],
                date_columns: Mapping[str, str]) -> dict[str, BuildSums]:
    """Every published relation of the build summed (step 3's build side): its (rows, checksum), and an
    event-grain table's per-day sums kept in a temp table of their own for its patch. It reads the build
    only, so it runs while the previous published file is copied."""
    sums = {}
    for number, ((schema, name), (kind, _ddl)) in enumerate(sorted(build.items())):
        key, relation = f"{schema}.{name}", f"build.{_ident(schema)}.{_ident(name)}"
        day_column = date_columns.get(key)
        if day_column:
            if not _kept_day_sums(con, schema, name, day_column):
                _day_sums(con, relation, day_column)
            days_table = f"{BUILD_DAYS}__{number}"
            con.execute(f"ALTER TABLE {BUILD_DAYS} RENAME TO {days_table}")
            sums[key] = BuildSums(*_summed(con, days_table), days_table)
        elif kind == "table":  # each row's hash kept with its row id: the checksum, and the row patch's build side
            rows_table = f"{BUILD_ROWS}__{number}"
            con.execute(f"CREATE OR REPLACE TEMP TABLE {rows_table} AS "
                        f"SELECT rowid AS r, hash(*COLUMNS(*)) AS h FROM {relation}")
            rows, total = con.execute(f"SELECT count(*), coalesce(sum(h), 0) FROM {rows_table}").fetchone()
            sums[key] = BuildSums(rows, f"{rows}:{total}", rows_table=rows_table)
        else:
            sums[key] = BuildSums(*_checksum(con, relation))
    return sums


def _sync_tables(con: duckdb.DuckDBPyConnection, published_checksums: Mapping[str, str],
                 build: Mapping[tuple[str, str], tuple[str, str]], sums: Mapping[str, BuildSums],
                 date_columns: Mapping[str, str] | None = None) -> tuple[int, int, dict, list, list]:
    """Make the published schemas of the attached `tmp` equal to the build's (`build`: its relations,
    `sums`: their `_build_sums`): a table whose checksum and DDL equal what was published is kept, an
    event-grain table of unchanged DDL has its changed days replaced (`date_columns`: schema.table →
    event date column), any other table of unchanged DDL its changed rows, the rest (or a patch that
    fails) is (re-)created with the build's rows, and what the build no longer has is dropped.
    → (tables, rows, checksums, changed table names, the patched ones among them)."""
    date_columns = date_columns or {}
    con.execute(DAY_SUMS_DDL)
    kept = _relations(con, "tmp")
    for (schema, name), (kind, _ddl) in kept.items():
        if (schema, name) not in build:
            con.execute(f"DROP {kind.upper()} tmp.{_ident(schema)}.{_ident(name)}")
    rows, checksums, changed, patched, day_summed = 0, {}, [], [], []
    for (schema, name), (_kind, ddl) in sorted(build.items()):
        key, summed = f"{schema}.{name}", sums[f"{schema}.{name}"]
        day_column = date_columns.get(key) if summed.days_table else None
        try:
            if summed.days_table:  # the name the patch reads
                con.execute(f"ALTER TABLE {summed.days_table} RENAME TO {BUILD_DAYS}")
            rows += summed.rows
            checksums[key] = summed.checksum
            # a published relation is a table; a view's DDL is that of the table it is published as (_as_published)
            same_ddl = kept.get((schema, name)) == ("table", ddl)
            in_place = same_ddl and published_checksums.get(key) == checksums[key]
            if not in_place:
                changed.append(key)
                if same_ddl and (_patch_days(con, schema, name, day_column, summed.rows) if day_column
                                 else summed.rows_table is not None and _patch_rows(con, schema, name, summed)):
                    patched.append(key)
                    in_place = True
            if day_column:  # what the table holds once this publish is done, for the next night's patch
                _record_day_sums(con, key)
                day_summed.append(key)
        finally:
            con.execute(f"DROP TABLE IF EXISTS {BUILD_DAYS}")
            if summed.rows_table:
                con.execute(f"DROP TABLE IF EXISTS {summed.rows_table}")
        if in_place:
            continue
        if (schema, name) in kept:
            con.execute(f"DROP {kept[(schema, name)][0].upper()} tmp.{_ident(schema)}.{_ident(name)}")
        _create_like_build(con, schema, name, ddl)
    con.execute(f"DELETE FROM tmp.main.{DAY_SUMS} WHERE NOT list_contains(?::VARCHAR[], table_name)", [day_summed])
    return len(build), rows, checksums, changed, patched


def _reusable_checksums(con: duckdb.DuckDBPyConnection, path: Path, database: str = "prev") -> dict[str, str] | None:
    """The table checksums of a published file (`path`, attached as `database`) when it can start the
    new file, else None: it must be in the published storage version, hold only published schemas,
    have recorded its checksums, and be at most half free blocks (dropped tables' blocks are reused by
    the next night's, but a file mostly free is written anew, compact)."""
    tags = con.execute("SELECT tags FROM duckdb_databases() WHERE database_name = ?", [database]).fetchone()[0]
    if not str(tags.get("storage_version", "")).startswith(PUBLISHED_STORAGE_VERSION):
        return None
    schemas = {s for (s,) in con.execute(
        "SELECT schema_name FROM duckdb_schemas() WHERE database_name = ? AND NOT internal", [database]).fetchall()}
    if not schemas <= set(PUBLISHED_SCHEMAS):
        return None
    used, block_size = con.execute(
        "SELECT used_blocks, block_size FROM pragma_database_size() WHERE database_name = ?", [database]).fetchone()
    if path.stat().st_size > 2 * used * block_size:  # more than half the file is free blocks
        return None
    columns = {c for (c,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'main' "
        "AND table_name = ?", [database, PUBLISH_LOG]).fetchall()}
    if "table_checksums" not in columns:
        return None
    last = con.execute(f"SELECT table_checksums FROM {_ident(database)}.main.{PUBLISH_LOG} "
                       "ORDER BY published_at DESC LIMIT 1").fetchone()
    return json.loads(last[0]) if last and last[0] else None


def standby_database(published: Path) -> Path:
    """The file published before the current one, kept (a hard link) to become the next night's new file:
    the next publish writes only what changed into it instead of copying the published file whole."""
    return published.with_name(published.name + ".standby")


def _first_standby(new_file: Path, standby: Path) -> None:
    """The first publish has no file to keep as the standby: a copy of the new file is (the next night
    writes into it instead of copying the published file; 1.9 GB at the 10M bench, once). Durable before
    it takes the standby's name, since the next night trusts the table checksums it records. Only a
    saving: a copy that fails (disk full) leaves no standby and the next night copies as before."""
    partial = standby.with_name(f"{new_file.name}.standby.tmp")  # a killed publish's is removed as stale
    try:
        shutil.copyfile(new_file, partial)
        _fsync(partial)
        os.replace(partial, standby)
    except OSError as err:
        log.warning("no standby file for the next publish (%s): it will copy the published file", err)
        partial.unlink(missing_ok=True)


def _open_in_this_process(path: Path) -> bool:
    """Whether this process has `path`'s file open (a DuckDB connection on it): DuckDB's file lock
    stops other processes' readers from being written under, not this process's own."""
    try:
        target = path.stat()
        descriptors = os.listdir("/proc/self/fd")
    except OSError:
        return True  # cannot tell: never write into it
    for fd in descriptors:
        try:
            opened = os.stat(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if (opened.st_dev, opened.st_ino) == (target.st_dev, target.st_ino):
            return True
    return False


def _take_standby(con: duckdb.DuckDBPyConnection, published: Path, tmp: Path) -> dict[str, str] | None:
    """Start the new file from the standby file when nobody reads it: renamed to `tmp`, attached as
    `tmp` read-write (DuckDB's lock fails if another process has it open), its own table checksums
    returned (it holds an older publish: the tables changed since differ from them and are patched or
    re-created) and its publish_log replaced by the published file's (attached as `prev`). None (the
    standby discarded) when there is none, it is the published file itself, it is open, or it cannot
    be reused; readers keep an unlinked file's snapshot."""
    standby = standby_database(published)
    if not standby.exists():
        return None
    if standby.samefile(published) or _open_in_this_process(standby):
        standby.unlink()
        return None
    os.replace(standby, tmp)
    try:
        con.execute(f"ATTACH {_sql_str(tmp)} AS tmp")
    except duckdb.IOException:  # another process reads it (the previous night's analysts)
        for path in _tmp_files(tmp):
            path.unlink(missing_ok=True)
        return None
    checksums = _reusable_checksums(con, tmp, "tmp")
    if checksums is None:
        con.execute("DETACH tmp")
        for path in _tmp_files(tmp):
            path.unlink(missing_ok=True)
        return None
    _upgrade_publish_log(con)
    con.execute(f"DELETE FROM tmp.main.{PUBLISH_LOG}")
    _previous_log(con)
    return checksums


def _previous_log(con: duckdb.DuckDBPyConnection) -> None:
    """Carry the previous published file's publish_log rows (attached as `prev`) into a new tmp
    file's (the columns both versions know)."""
    old = {r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = 'prev' "
        "AND schema_name = 'main' AND table_name = ?", [PUBLISH_LOG]).fetchall()}
    if not old:
        return
    new = [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = 'tmp' "
        "AND schema_name = 'main' AND table_name = ? ORDER BY column_index", [PUBLISH_LOG]).fetchall()]
    columns = ", ".join(_ident(c) for c in new if c in old)
    con.execute(f"INSERT INTO tmp.main.{PUBLISH_LOG} ({columns}) "
                f"SELECT {columns} FROM prev.main.{PUBLISH_LOG} ORDER BY published_at")


def _upgrade_publish_log(con: duckdb.DuckDBPyConnection) -> None:
    """A copied file's publish_log in today's columns: `tables_sha256` replaced `build_database_sha256`
    (the hash of a build file the next night overwrote, so nothing could be checked against it)."""
    con.execute(f"ALTER TABLE tmp.main.{PUBLISH_LOG} ADD COLUMN IF NOT EXISTS tables_sha256 VARCHAR")
    con.execute(f"ALTER TABLE tmp.main.{PUBLISH_LOG} DROP COLUMN IF EXISTS build_database_sha256")


@dataclass
class StartedFile:
    """The new file as publish starts it: the table checksums recorded in the file it starts from (the
    standby's, the published file's for a copy, none for a new file), the copy still running (attach it
    with `_attach_copy`), and the published file's relations and checksums (what `changed` is told against)."""
    checksums: dict[str, str]
    copying: Future | None = None
    published_relations: dict = field(default_factory=dict)
    published_checksums: dict[str, str] = field(default_factory=dict)


def _start_tmp(con: duckdb.DuckDBPyConnection, published: Path, tmp: Path, pool: ThreadPoolExecutor) -> StartedFile:
    """Start the new file, attached as `tmp`: the standby when it can be written into (`_take_standby`),
    else a copy of the published file when it can be reused (running in `pool`), else a new file in the
    published storage version with the previous publish_log carried over (no checksums: every table is
    copied)."""
    if published.exists():
        con.execute(f"ATTACH {_sql_str(published)} AS prev (READ_ONLY)")
        checksums = _reusable_checksums(con, published)
        if checksums is not None:
            relations = _relations(con, "prev")
            if (standby_checksums := _take_standby(con, published, tmp)) is not None:
                con.execute("DETACH prev")
                return StartedFile(standby_checksums, None, relations, checksums)  # nothing to copy
            standby_database(published).unlink(missing_ok=True)  # tonight's published file replaces it
            con.execute("DETACH prev")
            # a reader of the published file is not disturbed: it is only read. The copy is the disk's
            # work (1.9 GB at the 10M bench, ~7 s) and the build's checksums the CPU's: they overlap
            return StartedFile(checksums, pool.submit(shutil.copyfile, published, tmp), relations, checksums)
        standby_database(published).unlink(missing_ok=True)
    con.execute(f"ATTACH {_sql_str(tmp)} AS tmp (STORAGE_VERSION {_sql_str(PUBLISHED_STORAGE_VERSION)})")
    con.execute(PUBLISH_LOG_DDL)
    if published.exists():
        _previous_log(con)
        con.execute("DETACH prev")
    return StartedFile({})


def _changed_since_published(new_file: StartedFile, build: Mapping[tuple[str, str], tuple[str, str]],
                             checksums: Mapping[str, str]) -> list[str]:
    """The tables a copy of the published file would have re-written (new, DDL or content changed): what
    changed since the last publish, whatever file the night wrote into."""
    return [f"{schema}.{name}" for (schema, name), (_kind, ddl) in sorted(build.items())
            if new_file.published_relations.get((schema, name)) != ("table", ddl)
            or new_file.published_checksums.get(f"{schema}.{name}") != checksums[f"{schema}.{name}"]]


def _attach_copy(con: duckdb.DuckDBPyConnection, tmp: Path, copying: Future) -> None:
    """Wait for the copy of the published file (its error raised here), then attach it as `tmp`."""
    copying.result()
    con.execute(f"ATTACH {_sql_str(tmp)} AS tmp")
    _upgrade_publish_log(con)


def publish(home: Home, *, run_id: str, logical_date: date, watermarks: Mapping[str, str],
            checks: Sequence[CheckLike]) -> PublishResult:
    """Publish the audited build database atomically (see the module docstring).

    A run with a blocking failed check is not published: it is recorded with `held()` and the
    result says `published=False`. Raises `PublishError` (published file unchanged) when the
    build database is missing or cannot be copied."""
    started = time.perf_counter()
    published = published_database(home)
    summary = summarize(checks)
    if summary["blocking_failed"]:
        reason = f"{summary['blocking_failed']} blocking check(s) failed"
        held(home, run_id=run_id, logical_date=logical_date, checks=checks, reason=reason)
        return PublishResult(False, published, seconds=time.perf_counter() - started, reason=reason)
    build = build_database(home)
    if not build.exists():
        raise PublishError(f"no build database at {build}: run dbt first")
    published.parent.mkdir(parents=True, exist_ok=True)
    with _publish_lock(home):
        _remove_stale_tmp(published)
        tmp = published.with_name(f"{published.name}.{os.getpid()}.{time.time_ns()}.tmp")
        try:
            # the buffer pool capped as the build's: copying a 10M-line build uncapped peaked at 4.9 GB;
            # what does not fit spills next to the published file
            con = duckdb.connect(":memory:", config={
                "memory_limit": duckdb_memory_limit(),
                "temp_directory": str(published.parent / ".publish_spill")})
            try:
                con.execute(f"ATTACH {_sql_str(build)} AS build (READ_ONLY)")
                build_bytes = build.stat().st_size
                models = _manifest_models(home)  # read once (3 MB of JSON at the bench)
                date_columns = event_date_columns(home, models)
                build_relations = _as_published(con, _relations(con, "build"), contract_not_null_columns(home, models))
                # leaving the block waits for the copy, so a failure never deletes a file being written
                with ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish-copy") as pool:
                    new_file = _start_tmp(con, published, tmp, pool)
                    sums = _build_sums(con, build_relations, date_columns)
                    if new_file.copying is not None:
                        _attach_copy(con, tmp, new_file.copying)
                tables, rows, checksums, changed, patched = _sync_tables(
                    con, new_file.checksums, build_relations, sums, date_columns)
                if new_file.published_relations:  # the standby may be two nights behind: told against the last
                    changed = _changed_since_published(new_file, build_relations, checksums)
                checksums_json = json.dumps(checksums, sort_keys=True)
                tables_sha = _tables_sha256(checksums_json)
                published_at = datetime.now(UTC)
                con.execute(
                    f"INSERT INTO tmp.main.{PUBLISH_LOG} (run_id, logical_date, published_at, feeds_watermarks, "
                    "checks_passed, checks_warned, checks_failed, check_results, tables_sha256, "
                    "build_database_bytes, tables, \"rows\", publish_seconds, tables_changed, table_checksums) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [str(run_id), logical_date, published_at,
                     json.dumps(dict(watermarks), default=str, sort_keys=True),
                     summary["passed"], summary["warned"], summary["failed"],
                     json.dumps([check_to_dict(c) for c in checks], default=str),
                     tables_sha, build_bytes, tables, rows, time.perf_counter() - started,
                     len(changed), checksums_json])
                con.execute("DETACH tmp")  # checkpoints: everything is in the tmp file, no WAL
                con.execute("DETACH build")
            finally:
                con.close()
            _fsync(tmp)
            stale_wal = published.with_name(published.name + ".wal")
            stale_wal.unlink(missing_ok=True)  # a WAL of the old file must never meet the new one
            if published.exists():  # the file replaced becomes the standby the next night writes into
                os.link(published, standby_database(published))
            else:
                _first_standby(tmp, standby_database(published))
            os.replace(tmp, published)
            _fsync(published.parent)
        except BaseException as err:
            for path in _tmp_files(tmp):
                path.unlink(missing_ok=True)
            standby = standby_database(published)
            if standby.exists() and published.exists() and standby.samefile(published):
                standby.unlink()  # linked, then the swap failed: it is the published file, not a standby
            if isinstance(err, duckdb.Error | OSError):
                raise PublishError(f"publish of run {run_id} failed, {published.name} unchanged: {err}") from err
            raise
    seconds = time.perf_counter() - started
    _write_record(home, run_id, {
        "run_id": str(run_id), "logical_date": logical_date.isoformat(), "outcome": "published",
        "recorded_at": datetime.now(UTC).isoformat(), "published_at": published_at.isoformat(),
        "checks": summary, "tables": tables, "rows": rows, "seconds": round(seconds, 3),
        "tables_changed": changed, "tables_patched": patched,
        "tables_sha256": tables_sha, "build_database_bytes": build_bytes,
        "published_database": str(published), "published_bytes": published.stat().st_size,
        "watermarks": dict(watermarks)})
    return PublishResult(True, published, tables, rows, seconds, changed=len(changed))
