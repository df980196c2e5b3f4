"""Faults around landing, each injected for real: `cwh ingest` killed (SIGKILL) at several points,
a run that finds another one working on its home, and landing without a hashing key.

The promise (docs/gates.md): a file is landed whole or not at all — Parquet, quarantine, archive copy
and ledger record together — and whatever a killed landing leaves is cleaned by the next command,
so re-landing gives exactly the clean result.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from connectors.lake import Home, land_all, land_file
from orchestration.demo import generate

REPO = Path(__file__).resolve().parents[2]
FEED = "shopify_orders"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("landing_faults") / "demo"
    generate(root, days=40, orders_per_day=15)
    return root


@pytest.fixture
def export(demo, tmp_path) -> Path:
    """The newest Shopify orders export, in an inbox outside the home (so landing archives a copy)."""
    source = sorted((demo / "landing" / FEED).iterdir())[-1]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return Path(shutil.copy2(source, inbox / source.name))


def _cwh(home: Path, *args: str, point: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    module = ["-m", "tests.faults.kill_driver", point] if point else ["-m", "orchestration.cli"]
    return subprocess.run([sys.executable, *module, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "CWH_HOME": str(home)})


def _rows(home: Home, file_id: str) -> list[tuple]:
    frame = pl.read_parquet(home.raw(FEED) / f"{file_id}.parquet").drop("_loaded_at")
    return sorted(frame.rows(), key=repr)


def _leftovers(home: Home) -> list[str]:
    """Temporary files anywhere in the lake or landing/, and scratch entries under $CWH_HOME/tmp."""
    found = [str(p.relative_to(home.root)) for folder in ("lake", "landing") if (home.root / folder).exists()
             for p in (home.root / folder).rglob("*") if p.is_file() and p.name.endswith(".tmp")]
    scratch = home.root / "tmp"
    return found + ([str(p.relative_to(home.root)) for p in scratch.iterdir()] if scratch.exists() else [])


@pytest.mark.parametrize("point", ["mid_parquet", "mid_archive", "before_commit"])
def test_a_kill_during_ingest_leaves_nothing_unrecorded_and_relanding_is_clean(point, export, tmp_path, monkeypatch):
    monkeypatch.setenv("CWH_HASH_KEY", "fault-suite-key")  # the clean and the recovered landing hash alike
    clean = Home(tmp_path / "clean")
    expected = land_file(clean, FEED, export)
    assert expected.status == "loaded" and expected.rows_loaded > 500

    home = Home(tmp_path / "home")
    home.root.mkdir()
    killed = _cwh(home.root, "ingest", FEED, str(export), point=point)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert not list(home.ledger(FEED).glob("*.json")) if home.ledger(FEED).exists() else True  # not landed

    # the operator lands the file again, then the nightly run lands whatever waits in landing/
    again = _cwh(home.root, "ingest", FEED, str(export))
    assert again.returncode == 0, again.stdout + again.stderr
    land_all(home)

    records = [json.loads(p.read_text()) for p in home.ledger(FEED).glob("*.json")]
    assert [(r["file_id"], r["rows_loaded"], r["rows_quarantined"]) for r in records] == \
        [(expected.file_id, expected.rows_loaded, expected.rows_quarantined)]
    # nothing in the lake without a ledger record, and the landed rows are the clean landing's rows
    assert {p.stem for p in home.raw(FEED).glob("*.parquet")} == {expected.file_id}
    assert _rows(home, expected.file_id) == _rows(clean, expected.file_id)
    # landing/ holds the archive copy, whole, and nothing else (no truncated copy to land as 0 rows)
    archived = sorted(home.landing(FEED).iterdir())
    assert [p.name for p in archived] == [export.name]
    assert archived[0].read_bytes() == export.read_bytes()
    assert _leftovers(home) == []
    assert [r.status for r in land_all(home)] == ["duplicate"]


def test_two_processes_landing_the_same_file_land_it_once(export, tmp_path, monkeypatch):
    monkeypatch.setenv("CWH_HASH_KEY", "fault-suite-key")
    home = Home(tmp_path / "home")
    home.root.mkdir()
    processes = [subprocess.Popen([sys.executable, "-m", "orchestration.cli", "ingest", FEED, str(export)],
                                  cwd=REPO, env={**os.environ, "CWH_HOME": str(home.root)},
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert sum("loaded" in o and "duplicate" not in o for o in outputs) == 1, outputs
    assert len(list(home.ledger(FEED).glob("*.json"))) == 1
    assert len(list(home.raw(FEED).glob("*.parquet"))) == 1
    assert _leftovers(home) == []


def test_a_second_run_is_refused_naming_the_running_one(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from pathlib import Path\n"
         "from connectors.lake import Home\n"
         "from orchestration.pipeline.run_lock import run_lock\n"
         f"with run_lock(Home(Path({str(home)!r})), 'first', command='cwh run --date 2026-11-01'):\n"
         "    print('held', flush=True)\n"
         "    time.sleep(120)\n"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        second = _cwh(home, "run", "--date", "2026-11-01", timeout=120)
        output = " ".join((second.stdout + second.stderr).split())
        assert second.returncode == 2, output
        assert f"pid {holder.pid}" in output and "cwh run --date 2026-11-01" in output and "started" in output
        assert "Traceback" not in output
        assert not (home / "warehouse").exists() and not (home / "lake").exists()  # it touched nothing
    finally:
        holder.kill()
        holder.wait()
    # the operating system released the lock with its holder: the next run is not blocked
    from connectors.lake import Home as _Home
    from orchestration.pipeline.run_lock import run_lock

    with run_lock(_Home(home), "next"):
        pass


def _emails(export: Path) -> set[str]:
    with io.open(export, newline="", encoding="utf-8-sig") as handle:
        return {row["Email"].strip().lower() for row in csv.DictReader(handle) if row["Email"].strip()}


def test_without_a_key_each_home_gets_its_own_secret_and_no_plain_hash_is_written(
        export, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CWH_HASH_KEY", "")
    monkeypatch.delenv("CWH_HASH_KEY")
    emails = _emails(export)
    assert len(emails) > 50
    plain = {hashlib.sha256(e.encode()).hexdigest() for e in emails}
    keys = []
    for name in ("first", "second"):
        home = Home(tmp_path / name)
        assert land_file(home, FEED, export).status == "loaded"
        key_file = home.root / "config" / "hash_key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert not key_file.resolve().is_relative_to(REPO)
        key = key_file.read_text().strip()
        keys.append(key)
        hashes = set(pl.read_parquet(next(home.raw(FEED).glob("*.parquet")))["email_hash"].drop_nulls())
        assert hashes and not hashes & plain  # no re-identifiable hash
        keyed = {hmac.new(key.encode(), e.encode(), hashlib.sha256).hexdigest() for e in emails}
        assert hashes == keyed
        assert capsys.readouterr().err.count(str(key_file)) == 1  # said once, where the key is
    assert len(keys[0]) >= 32 and keys[0] != keys[1]
    # the first home keeps its key: landing there again hashes as before, and says nothing
    land_file(Home(tmp_path / "first"), FEED, export)
    assert (tmp_path / "first" / "config" / "hash_key").read_text().strip() == keys[0]
    assert "hash_key" not in capsys.readouterr().err
