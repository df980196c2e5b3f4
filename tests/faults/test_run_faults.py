"""Faults around a nightly run, injected for real on a demo home whose path holds a quote
(`…/o'brien/home`): a file landed while the run builds, a kill during `cwh ingest` before a run,
two `cwh run` at once, a disk that fills up at publish, a dbt test that fails. Every published P&L is
compared with a clean run's over the same files (an independent build of the same lake).

Slow (several full runs of a small demo): run this file on its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from connectors.contracts import load_contracts
from connectors.home import build_database, published_database
from connectors.lake import Home, file_sha256, land_file
from orchestration.cli import app
from orchestration.demo import generate
from orchestration.launch import nightly_run
from orchestration.pipeline import run as nightly
from orchestration.pipeline.publish import publish_history

REPO = Path(__file__).resolve().parents[2]
OCT_1, NOV_1 = date(2026, 10, 1), date(2026, 11, 1)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pnl(path: Path) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select * from marts.channel_pnl_monthly order by all").fetchall()


def staged_rows_of(path: Path, table: str, file_sha: str) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(f"select count(*) from staging.{table} where _source_sha256 = ?", [file_sha]).fetchone()[0]


@pytest.fixture(scope="module", autouse=True)
def no_hash_key():
    """No CWH_HASH_KEY: each home must make its own (and never write a plain SHA-256)."""
    saved = os.environ.pop("CWH_HASH_KEY", None)
    yield
    if saved is not None:
        os.environ["CWH_HASH_KEY"] = saved


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("run_faults") / "o'brien" / "demo"
    generate(root, days=60, orders_per_day=40)  # as tests/e2e/test_nightly.py: a run as of Oct 1 passes its gates
    return root


def _copy(source: Path, tmp_path: Path, monkeypatch) -> Home:
    root = tmp_path / "o'brien" / "home"
    shutil.copytree(source, root)
    monkeypatch.setenv("CWH_HOME", str(root))
    return Home(root)


@pytest.fixture(scope="module")
def clean(demo, tmp_path_factory) -> Home:
    """The clean run: every demo file landed, built and published as of Nov 1."""
    root = tmp_path_factory.mktemp("clean") / "o'brien" / "home"
    shutil.copytree(demo, root)
    previous = os.environ.get("CWH_HOME")
    os.environ["CWH_HOME"] = str(root)
    try:
        report = nightly_run(Home(root), NOV_1)
    finally:
        os.environ.pop("CWH_HOME") if previous is None else os.environ.__setitem__("CWH_HOME", previous)
    assert report.published, report.failure or [c.detail for c in report.blocking_failures]
    return Home(root)


@pytest.fixture
def webhook(monkeypatch):
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("CWH_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/hook")
    yield received
    server.shutdown()


def test_a_file_landed_during_a_build_waits_for_the_next_run(demo, clean, tmp_path, monkeypatch):
    home = _copy(demo, tmp_path, monkeypatch)
    newest = sorted(home.landing("meta_ads").glob("*.csv"))[-1]  # October: not needed as of Oct 1
    late = tmp_path / "inbox" / newest.name
    late.parent.mkdir()
    shutil.move(newest, late)
    late_sha = file_sha256(late)

    real_run_build = nightly.run_build

    landed = []

    def land_then_build(*args, **kwargs):  # an ingest that commits while the run builds (its first dbt phase)
        if not landed:
            landed.append(land_file(home, "meta_ads", late).status)
        return real_run_build(*args, **kwargs)

    monkeypatch.setattr(nightly, "run_build", land_then_build)
    first = nightly_run(home, OCT_1)
    monkeypatch.setattr(nightly, "run_build", real_run_build)
    assert landed == ["loaded"]
    assert first.published, first.failure or [c.detail for c in first.blocking_failures]
    published = published_database(home)
    assert staged_rows_of(build_database(home), "stg_meta_ads__ad_daily", late_sha) == 0  # not built, not published

    second = nightly_run(home, NOV_1)  # the next run picks it up
    assert second.published, second.failure or [c.detail for c in second.blocking_failures]
    assert staged_rows_of(build_database(home), "stg_meta_ads__ad_daily", late_sha) > 0
    assert pnl(published) == pnl(published_database(clean))


def test_a_kill_during_ingest_publishes_nothing_unrecorded(demo, clean, tmp_path, monkeypatch):
    home = _copy(demo, tmp_path, monkeypatch)
    newest = sorted(home.landing("shopify_orders").glob("*.csv"))[-1]
    export = tmp_path / "inbox" / newest.name
    export.parent.mkdir()
    shutil.move(newest, export)
    killed = subprocess.run([sys.executable, "-m", "tests.faults.kill_driver", "mid_archive", "ingest",
                             "shopify_orders", str(export)], cwd=REPO, capture_output=True, text=True,
                            env={**os.environ, "CWH_HOME": str(home.root)}, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr

    after_kill = nightly_run(home, NOV_1)  # the file is missing: held by its SLA, or built without it
    landed = {r["sha256"] for r in map(json.loads, map(Path.read_text, home.root.glob("lake/ledger/*/*.json")))}
    if published_database(home).exists():  # what it published was built from landed files only
        with duckdb.connect(str(build_database(home)), read_only=True) as con:
            built = {s for (s,) in con.execute(
                "select distinct _source_sha256 from staging.stg_shopify__order_lines").fetchall()}
        assert built <= landed
    assert file_sha256(export) not in landed
    assert not after_kill.failure  # held by the missing file's gates at most, never a crash
    assert not [p for p in home.landing("shopify_orders").iterdir() if p.name.endswith(".tmp")]

    result = CliRunner().invoke(app, ["ingest", "shopify_orders", str(export)])
    assert result.exit_code == 0, result.output
    recovered = nightly_run(home, NOV_1)
    assert recovered.published, recovered.failure or [c.detail for c in recovered.blocking_failures]
    assert pnl(published_database(home)) == pnl(published_database(clean))


def test_two_runs_at_once_one_refuses_naming_the_other(demo, tmp_path, monkeypatch):
    home = _copy(demo, tmp_path, monkeypatch)
    env = {**os.environ, "CWH_HOME": str(home.root)}
    first = subprocess.Popen([sys.executable, "-m", "orchestration.cli", "run", "--date", "2026-11-01"],
                             cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lock = home.root / ".run.lock"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text().strip()):
        time.sleep(0.1)
    second = subprocess.run([sys.executable, "-m", "orchestration.cli", "run", "--date", "2026-11-01"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    first_output = first.communicate(timeout=900)[0]
    output = " ".join((second.stdout + second.stderr).split())
    assert second.returncode == 2, output
    assert f"pid {first.pid}" in output and "cwh run --date 2026-11-01" in output and "Traceback" not in output
    assert first.returncode == 0, first_output
    assert [r["outcome"] for r in publish_history(home)] == ["published"]


def test_a_disk_full_at_publish_is_held_alerted_and_explained(clean, tmp_path, monkeypatch, webhook):
    home = _copy(clean.root, tmp_path, monkeypatch)  # published once already
    published = published_database(home)
    before = sha(published)

    def disk_full(path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr("orchestration.pipeline.publish._fsync", disk_full)
    result = CliRunner().invoke(app, ["run", "--date", "2026-11-01"])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "Traceback" not in output and not isinstance(result.exception, OSError)
    assert "No space left on device" in output and "Free disk space" in output and "unchanged" in output
    assert sha(published) == before  # not a byte changed
    assert not list(published.parent.glob("*.tmp*"))
    held = publish_history(home)[-1]
    assert held["outcome"] == "held" and "publishing" in held["reason"]
    failure = held["blocking_failures"][-1]
    assert failure["check"] == "run:publish" and "No space left on device" in failure["detail"]
    stored = pl.read_parquet(home.root / "ops" / "alerts" / f"{held['run_id']}.parquet")
    assert "run:publish" in stored["check"].to_list()
    assert webhook and held["run_id"] in json.dumps(webhook[-1]) and "No space left" in json.dumps(webhook[-1])


def test_a_failing_dbt_test_names_model_test_feeds_row_and_owner(clean, tmp_path, monkeypatch):
    home = _copy(clean.root, tmp_path, monkeypatch)
    report = sorted(home.landing("amazon_orders").glob("*.txt"))[-1]
    lines = report.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split("\t")
    row = next(i for i, line in enumerate(lines) if "\tAmazon.ca\t" in line)
    order_id = lines[row].split("\t")[header.index("amazon-order-id")]
    lines[row] = lines[row].replace("\tAmazon.ca\t", "\tAmazon.co.uk\t", 1)  # a marketplace with no channel
    (home.landing("amazon_orders") / "all_orders_uk.txt").write_text("".join([lines[0], lines[row]]))
    held = nightly_run(home, NOV_1)
    assert not held.published
    failures = [c for c in held.blocking_failures if c.check.startswith("dbt:")]
    assert failures, [(c.feed, c.check) for c in held.blocking_failures]
    amazon = load_contracts()["amazon_orders"].owner
    named = [c for c in failures if "amazon_orders" in c.metadata["feeds"]]
    assert named, [c.detail for c in failures]
    for check in named:
        assert check.metadata["models"] and check.metadata["test"]
        for model in check.metadata["models"]:
            assert model.split(".")[-1] in check.detail
        assert check.metadata["test"] in check.detail and "amazon_orders" in check.detail
        assert amazon["team"] in check.owner and amazon["contact"] in check.owner_contact
    assert any(order_id in c.metadata["failing_row"] or "Amazon.co.uk" in c.metadata["failing_row"]
               for c in named), [c.metadata["failing_row"] for c in named]


def test_no_plain_hash_of_an_email_reaches_the_lake_or_the_published_database(clean):
    key_file = clean.root / "config" / "hash_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    export = sorted(clean.landing("shopify_orders").glob("*.csv"))[-1]
    emails = pl.read_csv(export, infer_schema=False)["Email"].drop_nulls().str.strip_chars().str.to_lowercase()
    plain = {hashlib.sha256(e.encode()).hexdigest() for e in emails.unique() if e}
    assert len(plain) > 50
    lake = pl.concat([pl.read_parquet(p).select("email_hash") for p in clean.raw("shopify_orders").glob("*.parquet")])
    assert lake["email_hash"].drop_nulls().len() > 0 and not set(lake["email_hash"]) & plain
    with duckdb.connect(str(published_database(clean)), read_only=True) as con:
        columns = con.execute("select table_schema, table_name, column_name from information_schema.columns "
                              "where data_type = 'VARCHAR'").fetchall()
        found = [f"{s}.{t}.{c}" for s, t, c in columns
                 if con.execute(f'select count(*) from "{s}"."{t}" where "{c}" in (select unnest(?))',
                                [sorted(plain)]).fetchone()[0]]
        hashed = con.execute("select count(distinct customer_key) from marts.fct_order_lines").fetchone()[0] \
            if ("marts", "fct_order_lines", "customer_key") in columns else None
    assert found == []
    assert hashed is None or hashed > 0
