"""Landing files into the raw lake: immutable Parquet per landed file, a quarantine for rows that
break the contract, and a ledger that makes landing the same file twice a no-op.

Layout under the project home (`CWH_HOME`, default `./data`):

    landing/<feed>/                 files as received (drop folder and the archive of the raw files)
    lake/raw/<feed>/<id>.parquet    canonical rows of one landed file, with lineage columns
    lake/quarantine/<feed>/<id>.parquet   rows that broke the contract: line, reason, raw values
    lake/ledger/<feed>/<id>.json    one record per landed file (sha256, counts, format, drift)
    lake/rejected/<feed>/<id>.json  the last rejection of a file and why
    config/feed_options.yml         per-feed facts a vendor file does not state (e.g. currency)

Only Parquet and JSON are written here, never a DuckDB file, so landing runs in parallel with
anything (DuckDB allows a single writer process). Every file is written to a temporary name and
renamed into place; the ledger record comes last, so a crash leaves nothing half-landed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from connectors.contracts import Contract
from connectors.engine import QUARANTINE_SCHEMA, FileAccount, FileRejected, ReadAgain, parse_batches, sniff
from connectors.facts import FactError, check_facts
from connectors.home import Home  # noqa: F401  (re-exported: connectors.lake.Home)
from connectors.landing_safety import (
    copy_atomically,
    fsync_path,
    landing_in_progress,
    sweep_orphans,
    write_json_atomically,
)
from connectors.reader import Progress
from connectors.registry import FEEDS, feed_spec, other_feeds
from connectors.secrets import ensure_hash_key


@dataclass
class LandingResult:
    feed: str
    file: str
    status: str  # loaded | duplicate | rejected
    file_id: str = ""
    rows_loaded: int = 0
    rows_quarantined: int = 0
    non_data_rows: int = 0
    reason: str = ""
    format: str = ""
    extra_columns: list[str] = field(default_factory=list)
    missing_optional_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0
    _extra: dict = field(default_factory=dict, repr=False)  # ledger-only facts


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


Stat = tuple[int, int, int]  # size, modification time (ns), inode


def _stat(path: Path) -> Stat:
    status = path.stat()
    return status.st_size, status.st_mtime_ns, status.st_ino


def landed_copies(home: Home, feed: str) -> dict[str, tuple[Stat, str]]:
    """Every landed file of `feed` whose ledger record noted how its copy in landing/ looked when it
    landed: resolved path → (size, mtime, inode; sha256). landing/ keeps every file ever landed
    (the archive), so each night finds them all waiting again: a file that still looks exactly as it
    did is known by its record instead of being read whole again to hash it (rsync's quick check,
    with the inode added; anything else about the file changed means hashing it as before)."""
    known = {}
    for record in ledger_records(home, feed):
        if (stat := record.get("landing_stat")) and (landing_path := record.get("landing_path")):
            known[str((home.root / landing_path).resolve())] = (tuple(stat), record["sha256"])
    return known


def _known_sha256(path: Path, stat: Stat, known: Mapping[str, tuple[Stat, str]]) -> str | None:
    entry = known.get(str(path.resolve()))
    return entry[1] if entry and entry[0] == stat else None


def already_landed(home: Home, waiting: list[tuple[str, Path]]) -> list[LandingResult | None]:
    """For each waiting (feed, path): its `duplicate` result when the ledger knows the file as it is
    now (`landed_copies`), else None (to land: `land_file` hashes it and decides)."""
    known = {feed: landed_copies(home, feed) for feed in {feed for feed, _ in waiting}}
    results: list[LandingResult | None] = []
    for feed, path in waiting:
        sha = _known_sha256(path, _stat(path), known[feed])
        landed = sha is not None and (home.ledger(feed) / f"{sha[:16]}.json").exists()
        results.append(LandingResult(feed, path.name, "duplicate", sha[:16], reason="already landed")
                       if landed else None)
    return results


def _write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str))
    os.replace(tmp, path)


def _archive(home: Home, feed: str, path: Path, sha: str) -> Path:
    """Keep the raw file in landing/<feed>/ (vendors keep exports only so long: Amazon ~90 days).
    The copy goes through a hidden temporary name, so landing/ never holds a truncated copy."""
    landing = home.landing(feed)
    if path.resolve().parent == landing.resolve():
        return path
    landing.mkdir(parents=True, exist_ok=True)
    target = landing / path.name
    if target.exists() and file_sha256(target) != sha:
        target = landing / f"{sha[:16]}_{path.name}"  # same name, other content: keep both
    if not target.exists():
        copy_atomically(path, target)
    return target


def _durable(*paths: Path) -> None:
    """fsync the lake files of a landing and their folders before the ledger record commits them."""
    for path in paths:
        if path.exists():
            fsync_path(path)
            fsync_path(path.parent)


def _commit_record(ledger_path: Path, record: dict) -> None:
    """The commit point of a landing: once the ledger record exists, the file is landed."""
    record["committed_at"] = datetime.now(UTC).isoformat()
    write_json_atomically(ledger_path, record)


def _note_landing_stat(home: Home, ledger_path: Path, path: Path, stat: Stat) -> None:
    """A landed file found again in landing/ and hashed (landed before the ledger noted stats, or
    touched since): note how it looks now, so the next night knows it without reading it — only when
    the record is of this very copy and the file did not change while it was hashed."""
    try:
        record = json.loads(ledger_path.read_text())
    except (OSError, ValueError):
        return
    landing_path = record.get("landing_path")
    if (record.get("landing_stat") == list(stat) or not landing_path or _stat(path) != stat
            or (home.root / landing_path).resolve() != path.resolve()):
        return
    write_json_atomically(ledger_path, {**record, "landing_stat": list(stat)})


def land_file(home: Home, feed: str, path: Path | str, options: Mapping[str, str] | None = None,
              progress: Progress | None = None) -> LandingResult:
    """Land one vendor file of `feed`. Idempotent: a file already landed (same sha256) is a no-op.
    All or nothing (connectors/landing_safety.py): Parquet, quarantine and archive copy are in place
    and flushed before the ledger record, written last, commits them. `progress` hears how far a
    big file is (connectors.reader.Progress)."""
    ensure_hash_key(home.root)  # never hash personal data without a key
    path = Path(path)
    spec = feed_spec(feed)
    stat = _stat(path)  # before hashing: what the ledger notes must be the bytes that were hashed
    sha = _known_sha256(path, stat, landed_copies(home, feed)) or file_sha256(path)
    file_id = sha[:16]
    ledger_path = home.ledger(feed) / f"{file_id}.json"
    if ledger_path.exists():
        _note_landing_stat(home, ledger_path, path, stat)
        return LandingResult(feed, path.name, "duplicate", file_id, reason="already landed")
    with landing_in_progress(home.root, feed, file_id):
        if ledger_path.exists():  # another process landed it while this one waited
            return LandingResult(feed, path.name, "duplicate", file_id, reason="already landed")
        started = datetime.now(UTC)
        merged = {**home.feed_options(feed), **(options or {})}
        try:
            merged = check_facts(merged, "from --<fact> or config/feed_options.yml")  # no wrong fact lands
            result = _write_lake(home, spec.contract, list(spec.formats), path, sha, merged, started, progress)
        except (FileRejected, FactError) as err:
            write_json_atomically(home.rejected(feed) / f"{file_id}.json", {
                "feed": feed, "file": path.name, "sha256": sha, "reason": str(err),
                "rejected_at": started.isoformat()})
            return LandingResult(feed, path.name, "rejected", file_id, reason=str(err))
        (home.rejected(feed) / f"{file_id}.json").unlink(missing_ok=True)
        archived = _archive(home, feed, path, sha)  # only files that landed are kept as the archive
        _durable(home.raw(feed) / f"{file_id}.parquet", home.quarantine(feed) / f"{file_id}.parquet")
        result.seconds = (datetime.now(UTC) - started).total_seconds()
        in_home = archived.is_relative_to(home.root)
        archived_stat = _stat(archived)
        record = {**asdict(result), "sha256": sha, "size_bytes": archived_stat[0],
                  "landing_path": str(archived.relative_to(home.root)) if in_home else str(archived),
                  "options": merged, "loaded_at": started.isoformat()}
        if archived != path or archived_stat == stat:  # our own copy, or the file unchanged since hashed
            record["landing_stat"] = list(archived_stat)
        record.update(record.pop("_extra", {}) or {})
        _commit_record(ledger_path, record)
    return result


def _write_lake(home: Home, contract: Contract, formats, path: Path, sha: str,
                options: Mapping[str, str], loaded_at: datetime, progress: Progress | None = None) -> LandingResult:
    layout = sniff(path, contract, formats, options, other_feeds(contract.feed))
    file_id = sha[:16]
    raw_path = home.raw(contract.feed) / f"{file_id}.parquet"
    quarantine_path = home.quarantine(contract.feed) / f"{file_id}.parquet"
    for directory in (raw_path.parent, quarantine_path.parent):
        directory.mkdir(parents=True, exist_ok=True)
    raw_tmp, q_tmp = raw_path.with_suffix(".tmp"), quarantine_path.with_suffix(".tmp")
    for direct in (True, False):  # a direct read that fails late is done again, record by record
        try:
            written = _write_parsed(contract, layout, path, sha, loaded_at, raw_tmp, q_tmp,
                                    home.root / "tmp", progress, direct)
            break
        except ReadAgain:
            continue
        except BaseException:
            raw_tmp.unlink(missing_ok=True)
            q_tmp.unlink(missing_ok=True)
            raise
    os.replace(raw_tmp, raw_path)
    if written.quarantined:
        os.replace(q_tmp, quarantine_path)
    else:
        q_tmp.unlink(missing_ok=True)
    return LandingResult(
        contract.feed, path.name, "loaded", file_id, written.loaded, written.quarantined, written.non_data,
        format=layout.format.name, extra_columns=layout.extra_headers,
        missing_optional_columns=layout.missing_optional,
        _extra={"header_line": layout.header_line, "min_event_time": written.event_min,
                "max_event_time": written.event_max, **written.account.ledger()})


@dataclass
class _Written:
    """What one parse of a file put into the lake's temporary files."""

    account: FileAccount
    loaded: int = 0
    quarantined: int = 0
    non_data: int = 0
    event_min: object = None
    event_max: object = None


def _write_parsed(contract: Contract, layout, path: Path, sha: str, loaded_at: datetime, raw_tmp: Path,
                  q_tmp: Path, scratch: Path, progress: Progress | None, direct: bool) -> _Written:
    """Parse the file into `raw_tmp` (landed rows with their lineage) and `q_tmp` (quarantine),
    both written anew (`ReadAgain` leaves them to be overwritten by the next parse)."""
    schema = contract.arrow_schema()
    stamp = (loaded_at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    written = _Written(FileAccount())
    # the lake file is compressed and written by a thread while the next batch is typed (pyarrow
    # lets go of the GIL); the executor is left, waiting for the last write, before the writer closes
    with pq.ParquetWriter(raw_tmp, schema, compression="zstd") as writer, \
            pq.ParquetWriter(q_tmp, QUARANTINE_SCHEMA, compression="zstd") as q_writer, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="cwh-lake-write") as background:
        account = written.account
        constant = _Constants()
        writing: Future | None = None
        for batch in parse_batches(path, contract, layout, scratch_dir=scratch, account=account,
                                   progress=progress, direct=direct):
            written.non_data += batch.non_data_rows
            good = batch.good
            if good.num_rows:
                n = good.num_rows
                lineage = {
                    "_source_file": constant(path.name, pa.string(), n),
                    "_source_sha256": constant(sha, pa.string(), n),
                    "_source_line": good.column("_line").cast(pa.int64()),
                    "_source_format": constant(layout.format.name, pa.string(), n),
                    "_loaded_at": constant(stamp, pa.timestamp("us", tz="UTC"), n),
                }
                table = good.drop(["_line"])
                for name, column in lineage.items():
                    table = table.append_column(name, column)
                if writing is not None:
                    writing.result()  # one batch in flight: memory stays flat, errors surface here
                writing = background.submit(writer.write_table, table.cast(schema))
                written.loaded += n
                written.event_min, written.event_max = _event_range(
                    good, contract.event_time_column, written.event_min, written.event_max)
            if batch.quarantine.height:
                q = batch.quarantine.with_columns(
                    pl.lit(contract.feed).alias("feed"), pl.lit(path.name).alias("source_file"),
                    pl.lit(sha).alias("source_sha256"),
                    pl.lit(loaded_at).cast(pl.Datetime("us", "UTC")).alias("loaded_at"),
                ).select(QUARANTINE_SCHEMA.names)
                q_writer.write_table(q.to_arrow().cast(QUARANTINE_SCHEMA))
                written.quarantined += batch.quarantine.height
            if progress is not None:
                checked = written.loaded + written.quarantined + written.non_data
                progress("checking", checked, min(checked / account.records, 1.0) if account.records else 1.0)
        if writing is not None:
            writing.result()
    return written


def _constant(value, type_: pa.DataType, n: int) -> pa.Array:
    """`value` n times, without a Python list per batch (built by polars: pyarrow's conversions
    from Python values import pandas, seconds of a landing's time)."""
    dtype = pl.String if type_ == pa.string() else pl.Int64
    return pl.select(pl.repeat(value, n, dtype=dtype)).to_series().to_arrow().cast(type_)


class _Constants:
    """A file's lineage columns (one value repeated): each built once, at its first batch's size, and
    sliced for the batches after, not re-built per batch (~3% of landing a Shopify export)."""

    def __init__(self) -> None:
        self._arrays: dict[tuple, pa.Array] = {}

    def __call__(self, value, type_: pa.DataType, n: int) -> pa.Array:
        array = self._arrays.get((value, type_))
        if array is None or len(array) < n:
            stored = pa.int64() if pa.types.is_timestamp(type_) else type_
            array = self._arrays[(value, type_)] = _constant(value, stored, n).cast(type_)
        return array.slice(0, n)


def _event_range(table: pa.Table, column: str, low, high):
    values = pl.from_arrow(table.column(column))  # polars: pyarrow's as_py of a zoned time imports pandas
    if values.null_count() == len(values):
        return low, high
    lo, hi = values.min(), values.max()
    low = lo if low is None or lo < low else low
    high = hi if high is None or hi > high else high
    return low, high


def landing_files(home: Home, feed: str) -> list[Path]:
    folder = home.landing(feed)
    if not folder.exists():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "_")))


def land_all(home: Home, feeds: list[str] | None = None,
             progress: Callable[[LandingResult], None] | None = None) -> list[LandingResult]:
    """Land every file waiting in landing/<feed>/ (already-landed files are skipped), after cleaning
    what crashed landings left behind (`sweep_orphans`)."""
    sweep_orphans(home, feeds or list(FEEDS))
    waiting = [(feed, path) for feed in feeds or list(FEEDS) for path in landing_files(home, feed)]
    results = []
    for (feed, path), known in zip(waiting, already_landed(home, waiting), strict=True):
        result = known or land_file(home, feed, path)
        results.append(result)
        if progress:
            progress(result)
    return results


def ledger_records(home: Home, feed: str | None = None) -> Iterator[dict]:
    feeds = [feed] if feed else list(FEEDS)
    for name in feeds:
        folder = home.ledger(name)
        if folder.exists():
            for record in sorted(folder.glob("*.json")):
                yield json.loads(record.read_text())


def rejections(home: Home, feed: str | None = None) -> Iterator[dict]:
    feeds = [feed] if feed else list(FEEDS)
    for name in feeds:
        folder = home.rejected(name)
        if folder.exists():
            for record in sorted(folder.glob("*.json")):
                yield json.loads(record.read_text())
