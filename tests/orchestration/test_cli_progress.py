"""Long work shows progress a person can read: the landing of a file reports its stages with rows
and a fraction (cwh ingest draws them as one bar per file), and an ingest ends with a one-line
summary of every file."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from typer.testing import CliRunner

from connectors import reader
from connectors.lake import land_file
from orchestration.cli import app
from tests.connectors.test_shopify import order_rows, write_csv

runner = CliRunner()
ORDERS = 3000


def _orders_file(path, count: int = ORDERS):
    """`count` one-line orders (a note spanning two lines on each: lines != records)."""
    first = order_rows()[0]
    return write_csv(path, [first | {"Name": f"#{10_000 + n}", "Id": str(50_000 + n)} for n in range(count)])


def test_landing_reports_each_stage_with_rows_and_a_fraction(home, tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "PROGRESS_EVERY_LINES", 500)
    path = _orders_file(tmp_path / "orders.csv")
    lines = path.read_bytes().count(b"\n")
    events = []
    result = land_file(home, "shopify_orders", path, progress=lambda *event: events.append(event))
    assert result.status == "loaded" and result.rows_loaded == ORDERS

    stages = [stage for stage, _rows, _fraction in events]
    assert sorted(set(stages), key=stages.index) == ["reading", "parsing", "checking"]
    assert stages == sorted(stages, key=["reading", "parsing", "checking"].index)  # never back to a stage
    assert all(0.0 <= fraction <= 1.0 for _stage, _rows, fraction in events)
    reading = [(rows, fraction) for stage, rows, fraction in events if stage == "reading"]
    assert [rows for rows, _ in reading[:-1]] == list(range(500, lines + 1, 500))
    assert reading[-1] == (lines, 1.0)
    fractions = [fraction for _, fraction in reading]
    assert fractions == sorted(fractions) and 0.4 < fractions[len(fractions) // 2] < 0.6  # the share of bytes
    assert [e for e in events if e[0] == "parsing"][-1] == ("parsing", ORDERS, 1.0)
    assert events[-1] == ("checking", ORDERS, 1.0)


def test_ingest_ends_with_a_one_line_summary(home, tmp_path):
    landing = home.root / "landing" / "shopify_orders"
    landing.mkdir(parents=True)
    _orders_file(landing / "orders_a.csv", 40)
    (landing / "payments.csv").write_text("Transaction Date,Type\n2026-01-01,charge\n")
    result = runner.invoke(app, ["ingest", "--all"])
    assert result.exit_code == 1  # a rejected file
    assert "2 file(s): 1 landed (40 rows, 0 quarantined), 0 already landed, 1 rejected" in result.output
    again = runner.invoke(app, ["ingest", "shopify_orders", str(landing / "orders_a.csv")])
    assert again.exit_code == 0
    assert "1 file(s): 0 landed (0 rows, 0 quarantined), 1 already landed, 0 rejected" in again.output


def test_a_held_night_prints_each_failure_once_and_no_traceback(home):
    """The real entry point (Dagster's console logger writes to the terminal, not to CliRunner): a
    night on an empty home is held on every feed's freshness; each failure is one line, once."""
    result = subprocess.run([sys.executable, "-m", "orchestration.cli", "run", "--date", "2026-11-01"],
                            env={**os.environ, "CWH_HOME": str(home.root)}, capture_output=True, text=True,
                            timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    held = re.search(r"publish held: (\d+) blocking check\(s\) failed", output)
    assert held, output
    failures = re.findall(r"^  (\w+) / (\w+): ", output, flags=re.MULTILINE)
    assert len(failures) == len(set(failures)) == int(held.group(1)) > 0
    assert ("shopify_orders", "freshness") in failures
    for feed, check in failures:  # not again in an alerts table, nor in a Dagster log line
        assert len(re.findall(rf"\b{feed}\b[^\n]*\b{check}\b", output)) == 1, (feed, check, output)
    for noise in ("Traceback", "Stack Trace", "DagsterAssetCheckFailedError", "STEP_FAILURE", "FutureWarning"):
        assert noise not in output


def test_the_nights_landing_tells_each_files_rows_and_percentage(home):
    from datetime import date

    from orchestration.pipeline.run import RunReport, land

    landing = home.root / "landing" / "shopify_orders"
    landing.mkdir(parents=True)
    _orders_file(landing / "orders_a.csv", 40)
    told = []
    land(home, RunReport("night-1", date(2026, 11, 1), progress=told.append))
    assert "landing 1/1 shopify_orders orders_a.csv: checking 40 rows, 100%" in told
    assert any(message.startswith("landing 1/1 shopify_orders orders_a.csv: reading ") for message in told)


def test_a_dbt_build_tells_each_node_as_it_starts(home):
    """dbt prints nothing on the terminal; the night and cwh build show its start lines as progress."""
    from orchestration.pipeline.dbt import node_progress, run_dbt

    told = []
    result = run_dbt(home, "seed", "--select", "channels", "amazon_marketplaces",
                     callbacks=[node_progress(told.append)])
    assert result.success, result.exception
    assert len(told) == 2 and all(re.fullmatch(r"dbt [12]/2 \((50|100)%\): seed file \S+", t) for t in told), told
