"""Undoing a landing: `cwh unland FEED FILE_OR_ID` takes a landed file out of the lake, and
`cwh ingest FEED FILE --replace` lands a landed file again (e.g. with a corrected `--currency`),
superseding its first landing.

Nothing is deleted. The file's Parquet, quarantine, ledger record and landing copy move to
lake/removed/<feed>/<stamp>-<file id>/, and a removal record (when, why, what had landed) is written
to lake/ledger/<feed>/removed/. The next build reads the removal records (orchestration/pipeline/incremental.py):
it rebuilds the feed's staging tables whole and re-processes the removed file's event dates, so no
row of it stays in staging or the marts.

Order, for a crash at any point (see connectors/landing_safety.py): the removal record first (a
rebuild too many is harmless); the landing copy out of landing/ (the nightly run would land it again);
then the ledger record, the commit point: from then on the file is not landed. The Parquet moves
last; a crash before that leaves Parquet without a ledger record, which the next sweep moves out.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from connectors.lake import Home, LandingResult, file_sha256, land_file, ledger_records
from connectors.landing_safety import fsync_path, landing_in_progress, write_json_atomically
from connectors.reader import Progress
from connectors.registry import FEEDS

MIN_ID_PREFIX = 6  # the shortest file id prefix accepted (ids are the sha256's first 16 hex digits)


class UnlandError(ValueError):
    """The file to remove cannot be identified; the message says what to pass instead."""


def removed_folder(home: Home, feed: str) -> Path:
    return home.root / "lake" / "removed" / feed


def removal_records_folder(home: Home, feed: str) -> Path:
    return home.ledger(feed) / "removed"


def removal_records(home: Home, feed: str | None = None) -> Iterator[dict]:
    """Every removal (unland or replace) recorded, oldest first per feed."""
    for name in [feed] if feed else list(FEEDS):
        folder = removal_records_folder(home, name)
        if folder.exists():
            for path in sorted(folder.glob("*.json")):
                yield json.loads(path.read_text())


def find_landed(home: Home, feed: str, file_or_id: str | Path) -> dict:
    """The ledger record of a landed file named by its path (matched by content), its file name, or
    its file id (or a prefix of at least six digits)."""
    records = list(ledger_records(home, feed))
    path = Path(file_or_id)
    if path.is_file():
        file_id = file_sha256(path)[:16]
        matches = [r for r in records if r["file_id"] == file_id]
        what = f"{path} (file id {file_id})"
    else:
        key = str(file_or_id).strip()
        matches = [r for r in records if r["file"] == key or Path(r.get("landing_path", "")).name == key
                   or (len(key) >= MIN_ID_PREFIX and r["file_id"].startswith(key.lower()))]
        what = repr(key)
    if not matches:
        raise UnlandError(f"{what} is not landed in {feed}: `cwh feeds {feed}` lists its {len(records)} "
                          "landed file(s) with their file ids")
    if len(matches) > 1:
        listed = "; ".join(f"{r['file_id']} ({r['file']}, landed {r['loaded_at'][:19]})" for r in matches)
        raise UnlandError(f"{what} names {len(matches)} landed files of {feed}: pass one file id: {listed}")
    return matches[0]


def _relative(home: Home, path: Path) -> str:
    return str(path.relative_to(home.root)) if path.is_relative_to(home.root) else str(path)


def _landing_copy(home: Home, feed: str, record: dict) -> Path | None:
    """The file's archive copy in landing/<feed>/, when it is there."""
    stored = Path(record.get("landing_path") or "")
    copy = stored if stored.is_absolute() else home.root / stored
    in_landing = copy.resolve().parent == home.landing(feed).resolve()
    return copy if stored.name and in_landing and copy.is_file() else None


def unland(home: Home, feed: str, file_or_id: str | Path, reason: str, *, action: str = "unland",
           keep_landing_copy: bool = False) -> dict:
    """Take one landed file out of the lake (see the module docstring); returns the removal record."""
    landed = find_landed(home, feed, file_or_id)
    file_id = landed["file_id"]
    now = datetime.now(UTC)
    stamp = f"{now:%Y%m%dT%H%M%S%f}Z-{file_id}"
    archive = removed_folder(home, feed) / stamp
    moves = [(home.ledger(feed) / f"{file_id}.json", archive / "ledger.json"),  # the commit point
             (home.raw(feed) / f"{file_id}.parquet", archive / "raw.parquet"),
             (home.quarantine(feed) / f"{file_id}.parquet", archive / "quarantine.parquet")]
    copy = None if keep_landing_copy else _landing_copy(home, feed, landed)
    if copy is not None:
        moves.insert(0, (copy, archive / copy.name))
    record = {"feed": feed, "file": landed["file"], "file_id": file_id, "sha256": landed.get("sha256"),
              "action": action, "reason": reason, "removed_at": now.isoformat(),
              "archive": _relative(home, archive), "moved": {_relative(home, a): _relative(home, b) for a, b in moves},
              "landed": landed}
    with landing_in_progress(home.root, feed, file_id):
        write_json_atomically(removal_records_folder(home, feed) / f"{stamp}.json", record)
        archive.mkdir(parents=True, exist_ok=True)
        for source, target in moves:
            if source.exists():
                os.replace(source, target)
                fsync_path(source.parent)
        fsync_path(archive)
    return record


def _restore(home: Home, feed: str, removal: dict) -> None:
    """Put a superseded landing back (its replacement was rejected) and forget the removal."""
    for source, target in removal["moved"].items():
        archived = home.root / target
        if archived.exists():
            os.replace(archived, home.root / source)
    (home.rejected(feed) / f"{removal['file_id']}.json").unlink(missing_ok=True)  # the file is landed
    stamp = Path(removal["archive"]).name
    (removal_records_folder(home, feed) / f"{stamp}.json").unlink(missing_ok=True)
    (home.root / removal["archive"]).rmdir()


def replace_file(home: Home, feed: str, path: Path, options: Mapping[str, str] | None = None,
                 progress: Progress | None = None) -> LandingResult:
    """Land `path` again although it is landed (e.g. with corrected facts): the first landing is
    superseded, and stays if the new one is rejected. A file not landed yet simply lands."""
    try:
        find_landed(home, feed, path)
    except UnlandError:
        return land_file(home, feed, path, options, progress)
    given = ", ".join(f"{k}={v}" for k, v in sorted((options or {}).items())) or "no options"
    removal = unland(home, feed, path, f"replaced: landed again with {given}", action="replace",
                     keep_landing_copy=True)
    result = land_file(home, feed, path, options, progress)
    if result.status == "rejected":
        _restore(home, feed, removal)
        result.reason = f"{result.reason} (the earlier landing stays)"
    return result
