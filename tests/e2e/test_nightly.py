"""The nightly run's promise: today's numbers audited, or yesterday's with the reason why."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from connectors.home import Home, published_database
from orchestration.cli import app
from orchestration.demo import generate
from orchestration.launch import nightly_run

NOV_1, OCT_1 = date(2026, 11, 1), date(2026, 10, 1)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "home"
    generate(root, days=60, orders_per_day=40)
    return root


@pytest.fixture
def home(demo_root, tmp_path, monkeypatch) -> Home:
    root = tmp_path / "home"
    shutil.copytree(demo_root, root)
    monkeypatch.setenv("CWH_HOME", str(root))
    return Home(root)


def pnl_rows(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select count(*) from marts.channel_pnl_monthly").fetchone()[0]


@pytest.fixture
def webhook(monkeypatch):
    """A Slack-compatible webhook receiver on loopback; CWH_ALERT_WEBHOOK points at it."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

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


def test_a_late_feed_holds_the_publish_and_the_next_complete_run_publishes(home, tmp_path, webhook):
    # withhold the newest Meta Ads export
    newest = sorted(home.landing("meta_ads").glob("*.csv"))[-1]
    withheld = tmp_path / newest.name
    shutil.move(newest, withheld)

    first = nightly_run(home, OCT_1)  # as of Oct 1 the September export is the newest needed
    assert first.published, [c.detail for c in first.blocking_failures]
    published = published_database(home)
    before = sha(published)

    late = nightly_run(home, NOV_1)
    assert not late.published
    failing = {(c.feed, c.check) for c in late.blocking_failures}
    assert ("meta_ads", "freshness") in failing
    assert sha(published) == before  # not a byte changed
    alert = next(a for a in late.alerts if a["feed"] == "meta_ads" and a["check"] == "freshness")
    assert alert["owner"] == "Growth marketing" and "meta_ads" in alert["suggested_action"].lower() + alert["detail"]
    stored = pl.read_parquet(home.root / "ops" / "alerts" / f"{late.run_id}.parquet")
    assert "meta_ads" in stored["feed"].to_list()
    posted = json.dumps(webhook[-1])
    assert "meta_ads" in posted and "Growth marketing" in posted
    status = CliRunner().invoke(app, ["status", "--date", "2026-11-01"])
    meta_line = next(line for line in status.output.splitlines() if "meta_ads" in line)
    assert "failing" in meta_line and "Growth marketing" in meta_line

    shutil.move(withheld, newest)  # the export arrives: the next run lands it and publishes
    recovered = nightly_run(home, NOV_1)
    assert recovered.published, [c.detail for c in recovered.blocking_failures]
    assert sha(published) != before
    with duckdb.connect(str(published), read_only=True) as con:
        log = con.execute("select run_id from publish_log order by published_at").fetchall()
        assert [r[0] for r in log] == [first.run_id, recovered.run_id]
        assert con.execute("select count(*) from ops.feed_sla_status where state = 'ok'").fetchone()[0] >= 15


def test_a_run_killed_mid_build_leaves_the_published_file_intact(home):
    assert nightly_run(home, NOV_1).published
    published = published_database(home)
    before, rows = sha(published), pnl_rows(published)
    log = home.root / "dbt" / "logs" / "dbt.log"
    log.unlink(missing_ok=True)
    process = subprocess.Popen([sys.executable, "-m", "orchestration.cli", "run", "--date", "2026-11-01"],
                               env={**os.environ, "CWH_HOME": str(home.root)}, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not (log.exists() and "model" in log.read_text(errors="ignore")):
        time.sleep(0.2)
    assert log.exists(), "the run never reached the dbt build"
    time.sleep(1.0)  # well inside the build
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert sha(published) == before and pnl_rows(published) == rows  # intact and readable
    again = nightly_run(home, NOV_1)
    assert again.published and pnl_rows(published) == rows


def test_a_failing_dbt_test_holds_the_publish(home):
    assert nightly_run(home, NOV_1).published
    before = sha(published_database(home))
    # a marketplace the channel configuration does not know: orders with no channel
    report = sorted(home.landing("amazon_orders").glob("*.txt"))[-1]
    text = report.read_text().replace("\tAmazon.ca\t", "\tAmazon.co.uk\t", 1)
    (home.landing("amazon_orders") / "all_orders_uk.txt").write_text(text)
    held = nightly_run(home, NOV_1)
    assert not held.published
    failed = [c for c in held.blocking_failures if c.feed == "warehouse" and c.check.startswith("dbt:")]
    assert failed, [(c.feed, c.check) for c in held.blocking_failures]
    assert sha(published_database(home)) == before
    # dbt's log file, at its default level (info), says which test failed, without each query's SQL
    log = (home.root / "dbt" / "logs" / "dbt.log").read_text(errors="replace")
    assert any(c.check.removeprefix("dbt:") in line and "FAIL" in line
               for c in failed for line in log.splitlines()), log[-3000:]
    assert '"app": "dbt"' not in log and "[debug]" not in log


def test_a_big_whole_build_runs_on_one_dbt_thread(home, monkeypatch):
    """A home's first build of more landed rows than WHOLE_BUILD_ONE_THREAD_ROWS (lowered here to this demo's)
    asks dbt for one thread, and builds and publishes as on two."""
    from orchestration.pipeline import dbt as pipeline_dbt
    from orchestration.pipeline import run as night

    monkeypatch.delenv(pipeline_dbt.DBT_THREADS_ENV, raising=False)
    monkeypatch.setattr(pipeline_dbt, "WHOLE_BUILD_ONE_THREAD_ROWS", 1_000)
    builds = []
    run_build = night.run_build

    def recorded(home, variables, *selection, **options):
        builds.append(selection)
        return run_build(home, variables, *selection, **options)

    monkeypatch.setattr(night, "run_build", recorded)
    report = nightly_run(home, NOV_1)
    assert report.published, report.held_reason
    whole, forecast_marts = builds
    assert whole[-2:] == ("--threads", "1")
    assert "--threads" not in forecast_marts
