"""What makes landing a file all-or-nothing, and what the next run cleans up after a crash.

A landed file is three things: its Parquet (and quarantine) under lake/, its archive copy under
landing/<feed>/ and its ledger record. Each is written to a temporary name, fsync'ed and renamed;
the ledger record is written last and is the commit point: a file without a ledger record is not
landed, whatever else exists. A process killed half-way leaves only things `sweep_orphans` finds:

- temporary files (`*.tmp` in the lake folders, `.<name>.<pid>.tmp` in landing/),
- Parquet or quarantine files with no ledger record (moved to lake/orphaned/<feed>/, not deleted),
- scratch folders of the reader under $CWH_HOME/tmp.

Locks (fcntl.flock, released by the OS when a process dies): every landing holds
`lake/.landing.lock` shared plus a lock on its own file id (two processes landing the same file
take turns, the second finds it landed); the sweep needs the landing lock exclusively and skips
when any landing is in progress, so it never touches a file being written.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path


def fsync_path(path: Path) -> None:
    """Flush a file or a folder (its entries: a rename is durable once its folder is flushed)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomically(path: Path, payload: dict) -> None:
    """Write JSON to a unique temporary name, fsync it, rename it into place, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w") as handle:
            handle.write(json.dumps(payload, indent=2, default=str))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_path(path.parent)


def copy_atomically(source: Path, target: Path) -> None:
    """Copy `source` to `target` through a hidden temporary name: `target` appears complete or not at all."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        copy_file(source, tmp)
        shutil.copystat(source, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_path(target.parent)


def copy_file(source: Path, target: Path) -> None:
    """`source` copied to `target` and flushed to disk; the copy stays in the kernel (sendfile on
    Linux: half the CPU of reading and writing the bytes through Python)."""
    shutil.copyfile(source, target)
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock_file(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


@contextmanager
def landing_in_progress(root: Path, feed: str, file_id: str) -> Iterator[None]:
    """Held while one file lands: the landing lock shared, and the file id's own lock."""
    shared = _lock_file(Path(root) / "lake" / ".landing.lock")
    try:
        fcntl.flock(shared, fcntl.LOCK_SH)
        # opened only under the shared lock: the sweep deletes lock files while it holds it exclusively
        own = _lock_file(Path(root) / "lake" / ".locks" / f"{feed}.{file_id}.lock")
        try:
            fcntl.flock(own, fcntl.LOCK_EX)
            yield
        finally:
            os.close(own)  # closing releases the lock
    finally:
        os.close(shared)


@contextmanager
def no_landing_in_progress(root: Path) -> Iterator[bool]:
    """Yields True while holding the landing lock exclusively, False when some landing is running."""
    fd = _lock_file(Path(root) / "lake" / ".landing.lock")
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _temporary(folder: Path) -> Iterable[Path]:
    if not folder.exists():
        return []
    return [p for p in folder.iterdir() if p.is_file() and p.name.endswith(".tmp")]


def sweep_orphans(home, feeds: Iterable[str]) -> list[str]:
    """Clean what crashed landings left (see the module docstring). Returns one line per thing
    cleaned; an empty list also when a landing is in progress (the next sweep does it)."""
    cleaned: list[str] = []
    with no_landing_in_progress(home.root) as alone:
        if not alone:
            return cleaned
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        for feed in feeds:
            recorded = {p.stem for p in home.ledger(feed).glob("*.json")} if home.ledger(feed).exists() else set()
            for folder in (home.raw(feed), home.quarantine(feed), home.ledger(feed), home.rejected(feed),
                           home.landing(feed)):
                for tmp in _temporary(folder):
                    tmp.unlink(missing_ok=True)
                    cleaned.append(f"deleted the temporary file {tmp.relative_to(home.root)}")
            for kind, folder in (("raw", home.raw(feed)), ("quarantine", home.quarantine(feed))):
                if not folder.exists():
                    continue
                for parquet in folder.glob("*.parquet"):
                    if parquet.name.startswith("_") or parquet.stem in recorded:
                        continue
                    target = home.root / "lake" / "orphaned" / stamp / kind / feed / parquet.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(parquet, target)
                    cleaned.append(f"moved {parquet.relative_to(home.root)} (no ledger record: its landing "
                                   f"never completed) to {target.relative_to(home.root)}")
        scratch = home.root / "tmp"
        if scratch.exists():
            for entry in scratch.iterdir():
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
                cleaned.append(f"deleted the scratch entry {entry.relative_to(home.root)}")
        locks = home.root / "lake" / ".locks"
        if locks.exists():
            shutil.rmtree(locks, ignore_errors=True)  # no landing holds one now
    return cleaned
