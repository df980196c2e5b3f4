"""Write-audit-publish: dbt writes `warehouse/build.duckdb`, the checks audit it, and only an
audited build becomes `warehouse/published.duckdb`, the file analysts open (read-only).

DuckDB allows one writer process, and while it writes no other process can open the file, so the
published file is never written in place. Publishing builds a new file next to it and swaps it in:

1. attach the build database read-only (a dbt run still writing it makes this fail: nothing is touched);
2. the temporary file is attached with `STORAGE_VERSION` PUBLISHED_STORAGE_VERSION, so DuckDB 1.2 and
   newer (CLIs, BI drivers, notebooks) open it, not only DuckDB 2.x, whose own format (storage 69)
   1.x refuses; `COPY FROM DATABASE build TO tmp (SCHEMA)` copies schemas, tables (with their constraints),
   macros and sequences into `published.duckdb.<run>.<pid>.tmp`; dbt's internal schemas
   (`*dbt_test__audit`) and leftover `__dbt_tmp`/`__dbt_backup` relations are dropped, then every
   table's rows are copied. Views are materialised as tables by default: dbt's staging views
   read the lake's Parquet files by path, so as views the "published" data would change (and could
   fail) whenever a file lands; as tables the published file is a self-contained audited snapshot;
3. table `publish_log` (schema main) gets the previous published file's rows plus one row for
   this run; the connection is closed (checkpoint), the file fsync'ed;
4. `os.replace(tmp, published)` and an fsync of the folder. Readers that have the old file open
   keep reading their consistent snapshot (the old inode lives until they close it); new
   connections see the new file.

Any failure before step 4 deletes the temporary file; the published file is never touched by a
failed or held run. One publish at a time per home (an flock on `warehouse/.publish.lock`).
Every outcome (published or held) is also recorded as `ops/publish/<run_id>.json`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from connectors.home import Home, build_database, publish_records_dir, published_database
from orchestration.pipeline.ops.alerts import CheckLike, check_to_dict, summarize

INTERNAL_SCHEMAS = {"information_schema", "pg_catalog"}
INTERNAL_SCHEMA = re.compile(r"(^|_)dbt_test__audit$|^__")
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
    build_database_sha256 VARCHAR,
    build_database_bytes BIGINT,
    tables INTEGER,
    "rows" BIGINT,
    publish_seconds DOUBLE
)"""


@dataclass(frozen=True)
class PublishResult:
    published: bool
    path: Path
    tables: int = 0
    rows: int = 0
    seconds: float = 0.0
    reason: str = ""


class PublishError(RuntimeError):
    """Publishing failed; the published file is unchanged."""


def _sql_str(value: str | Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


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


def _copy_database(con: duckdb.DuckDBPyConnection, *, materialize_views: bool) -> tuple[int, int]:
    """Copy the attached `build` into the attached `tmp`: schema first, internal objects dropped,
    then the rows of every table (and, by default, every view as a table). → (tables, rows)."""
    con.execute("COPY FROM DATABASE build TO tmp (SCHEMA)")
    for (schema,) in con.execute(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = 'tmp' AND NOT internal").fetchall():
        if schema.lower() in INTERNAL_SCHEMAS or INTERNAL_SCHEMA.search(schema):
            con.execute(f"DROP SCHEMA tmp.{_ident(schema)} CASCADE")
    relations = con.execute("""
        SELECT schema_name, table_name, 'table' FROM duckdb_tables()
        WHERE database_name = 'tmp' AND NOT internal AND NOT temporary
        UNION ALL
        SELECT schema_name, view_name, 'view' FROM duckdb_views()
        WHERE database_name = 'tmp' AND NOT internal AND NOT temporary
        ORDER BY 1, 2""").fetchall()
    kept = []
    for schema, name, kind in relations:
        drop = INTERNAL_RELATION.search(name) or (schema == "main" and name == PUBLISH_LOG)
        if drop or (kind == "view" and materialize_views):
            con.execute(f"DROP {'VIEW' if kind == 'view' else 'TABLE'} tmp.{_ident(schema)}.{_ident(name)}")
        if not drop:
            kept.append((schema, name, kind))
    tables = rows = 0
    for schema, name, kind in kept:
        if kind == "view" and not materialize_views:
            continue
        source = f"build.{_ident(schema)}.{_ident(name)}"
        target = f"tmp.{_ident(schema)}.{_ident(name)}"
        if kind == "table":
            con.execute(f"INSERT INTO {target} SELECT * FROM {source}")
        else:
            con.execute(f"CREATE TABLE {target} AS SELECT * FROM {source}")
        rows += con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
        tables += 1
    return tables, rows


def _previous_log(con: duckdb.DuckDBPyConnection, published: Path) -> None:
    """Carry the current published file's publish_log rows over (columns both versions know)."""
    if not published.exists():
        return
    con.execute(f"ATTACH {_sql_str(published)} AS prev (READ_ONLY)")
    try:
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
    finally:
        con.execute("DETACH prev")


def publish(home: Home, *, run_id: str, logical_date: date, watermarks: Mapping[str, str],
            checks: Sequence[CheckLike], materialize_views: bool = True) -> PublishResult:
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
            con = duckdb.connect(":memory:")
            try:
                con.execute(f"ATTACH {_sql_str(build)} AS build (READ_ONLY)")
                build_sha, build_bytes = _sha256(build), build.stat().st_size  # stable: attached read-only
                con.execute(f"ATTACH {_sql_str(tmp)} AS tmp (STORAGE_VERSION {_sql_str(PUBLISHED_STORAGE_VERSION)})")
                tables, rows = _copy_database(con, materialize_views=materialize_views)
                con.execute(PUBLISH_LOG_DDL)
                _previous_log(con, published)
                published_at = datetime.now(UTC)
                con.execute(
                    f"INSERT INTO tmp.main.{PUBLISH_LOG} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [str(run_id), logical_date, published_at,
                     json.dumps(dict(watermarks), default=str, sort_keys=True),
                     summary["passed"], summary["warned"], summary["failed"],
                     json.dumps([check_to_dict(c) for c in checks], default=str),
                     build_sha, build_bytes, tables, rows, time.perf_counter() - started])
                con.execute("DETACH tmp")  # checkpoints: everything is in the tmp file, no WAL
                con.execute("DETACH build")
            finally:
                con.close()
            _fsync(tmp)
            stale_wal = published.with_name(published.name + ".wal")
            stale_wal.unlink(missing_ok=True)  # a WAL of the old file must never meet the new one
            os.replace(tmp, published)
            _fsync(published.parent)
        except BaseException as err:
            for path in _tmp_files(tmp):
                path.unlink(missing_ok=True)
            if isinstance(err, duckdb.Error | OSError):
                raise PublishError(f"publish of run {run_id} failed, {published.name} unchanged: {err}") from err
            raise
    seconds = time.perf_counter() - started
    _write_record(home, run_id, {
        "run_id": str(run_id), "logical_date": logical_date.isoformat(), "outcome": "published",
        "recorded_at": datetime.now(UTC).isoformat(), "published_at": published_at.isoformat(),
        "checks": summary, "tables": tables, "rows": rows, "seconds": round(seconds, 3),
        "build_database_sha256": build_sha, "build_database_bytes": build_bytes,
        "published_database": str(published), "published_bytes": published.stat().st_size,
        "watermarks": dict(watermarks)})
    return PublishResult(True, published, tables, rows, seconds)
