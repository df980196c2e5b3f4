"""One run at a time per home: `cwh run` and the Dagster nightly job hold `$CWH_HOME/.run.lock`.

Two builds of one home would share the build database (DuckDB: one writer), dbt's target folder
and the publish's temporary names. The lock is an fcntl.flock, so the operating system releases it
when the holder dies (kill -9 included): a stale lock never blocks the next night. The holder
writes who it is (pid, start time, command) into the lock file, so a refused run can name it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from connectors.home import Home


class RunLocked(RuntimeError):
    """Another run holds the home's run lock."""


def run_lock_path(home: Home) -> Path:
    return home.root / ".run.lock"


def _holder(fd: int) -> dict:
    try:
        return json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}


def describe_holder(holder: dict) -> str:
    if not holder:
        return "another run (it has not said who it is yet)"
    return (f"run {holder.get('run', '?')} (pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
            f"started {holder.get('started_at', '?')}, command: {holder.get('command', '?')})")


@contextmanager
def run_lock(home: Home, run: str, *, wait_seconds: float = 0.0,
             command: str | None = None) -> Iterator[None]:
    """Hold the home's run lock for the duration of the block. Waits up to `wait_seconds` for a
    running one to finish, then raises `RunLocked` naming it."""
    path = run_lock_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RunLocked(
                        f"Another run is already working on this home ({home.root}): {describe_holder(_holder(fd))}. "
                        "Only one run at a time may build and publish a home. Wait for it to finish and run "
                        "again (`cwh status` shows the last outcome); if that process no longer exists, simply "
                        "run again: the lock is released when its holder exits.") from None
                time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({
            "run": run, "pid": os.getpid(), "host": socket.gethostname(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command if command is not None else " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        }).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock
