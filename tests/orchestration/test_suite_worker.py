"""GE's helper process (orchestration/pipeline/gates/suite_worker.py): it writes the very results the
gate would compute in the night's process, a failing file included, and a helper that fails costs the
night nothing but time."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from connectors.contracts import get_contract
from orchestration.pipeline import run as night
from orchestration.pipeline.gates import suite_worker
from orchestration.pipeline.gates.expectations import lake_files, run_expectations
from orchestration.pipeline.gates.suite_worker import SuiteWorker, SuiteWorkerError
from tests.orchestration.test_sla import reland

FEEDS = ["shopify_orders", "threepl_billing", "fx_rates"]
RUN_SPECIFIC = {"validated_at", "seconds"}  # when and how fast: not what was found


def _results(home) -> dict:
    """Every cached result of the lake, without what depends on the run (time, duration)."""
    folder = home.root / "lake" / "expectations"
    return {str(p.relative_to(folder)): {k: v for k, v in json.loads(p.read_text()).items() if k not in RUN_SPECIFIC}
            for p in sorted(folder.rglob("*.json"))}


def _negative_quantity(header, rows):
    rows[5][header.index("Lineitem quantity")] = "-3"
    return header, rows


def test_the_helper_writes_what_the_gate_would_find_itself(lake):
    reland(lake, "shopify_orders", "orders_export_2026-10.csv", _negative_quantity)
    shutil.rmtree(lake.root / "lake" / "expectations", ignore_errors=True)  # results other tests left in the lake
    worker = SuiteWorker()
    worker.validate(lake.root, FEEDS)
    summary = worker.wait()
    files = sum(len(lake_files(lake, feed)) for feed in FEEDS)
    assert summary.files_validated == files > len(FEEDS)
    assert summary.peak_rss_mb > 100  # GE and a frame: its memory counts in the night's
    outcomes = {feed: run_expectations(lake, get_contract(feed)) for feed in FEEDS}
    assert {feed: o.metadata["files_from_cache"] for feed, o in outcomes.items()} == \
        {feed: len(lake_files(lake, feed)) for feed in FEEDS}  # the gate read results, validated nothing
    assert {feed: o.status for feed, o in outcomes.items()} == {"shopify_orders": "fail", "threepl_billing": "ok",
                                                                "fx_rates": "ok"}
    failure, = outcomes["shopify_orders"].metadata["failures"]
    assert (failure["column"], failure["sample"]) == ("lineitem_quantity", [-3])
    by_helper = _results(lake)

    shutil.rmtree(lake.root / "lake" / "expectations")  # the same files validated in this process
    for feed in FEEDS:
        run_expectations(lake, get_contract(feed))
    assert _results(lake) == by_helper


def test_a_helper_that_fails_says_why():
    worker = SuiteWorker()
    worker.validate(Path("/nonexistent-home"), ["no_such_feed"])
    with pytest.raises(SuiteWorkerError, match="exit code 1.*no_such_feed"):
        worker.wait()


def test_the_night_adopts_the_helper_and_validates_itself_when_it_fails(lake, monkeypatch):
    monkeypatch.setenv(suite_worker.SWITCH_ENV, "1")
    monkeypatch.setattr(suite_worker, "ge_loaded_here", lambda: False)  # this test process may have loaded GE
    for failing in (False, True):
        shutil.rmtree(lake.root / "lake" / "expectations", ignore_errors=True)
        report = night.RunReport(f"helper-{failing}", date(2026, 11, 1))
        suite_worker.prestart()
        helper = suite_worker._prestarted
        if failing:  # it is asked for a feed that does not exist: it stops, and the gate validates here
            ask = helper.validate
            helper.validate = lambda root, feeds, ask=ask: ask(root, ["no_such_feed"])
        night.land(lake, report, FEEDS)
        assert report.suite_worker is helper  # the prestarted helper, adopted though no file waited
        outcomes = [o for o in night.gate(lake, report, FEEDS) if o.check == "expectations"]
        assert [o.status for o in outcomes] == ["ok"] * len(FEEDS)
        from_cache = sum(o.metadata["files_from_cache"] for o in outcomes)
        assert from_cache == (0 if failing else sum(len(lake_files(lake, feed)) for feed in FEEDS))
        assert ("helpers_peak_rss_mb" in report.stages.get("checks", {})) is not failing


def test_no_helper_when_switched_off_or_nothing_waits(monkeypatch):
    monkeypatch.setenv(suite_worker.SWITCH_ENV, "0")
    suite_worker.prestart()
    assert suite_worker.take(files_waiting=True) is None
    monkeypatch.setenv(suite_worker.SWITCH_ENV, "1")
    monkeypatch.setattr(suite_worker, "ge_loaded_here", lambda: False)
    assert suite_worker.take(files_waiting=False) is None  # not prestarted, nothing to land
    monkeypatch.setattr(suite_worker, "ge_loaded_here", lambda: True)
    suite_worker.prestart()
    assert suite_worker.take(files_waiting=True) is None  # GE already here: validating here is cheaper


def test_the_helper_loads_ge_without_spark():
    """The helper keeps pyspark out (GE imports it when installed: ~0.7 s of the helper's start) and GE
    still builds its suites; the night's own process is left as it is (the Spark path needs pyspark)."""
    probe = ("import sys; from orchestration.pipeline.gates import suite_worker as w; w._keep_spark_out(); "
             "from orchestration.pipeline.gates.expectations import load_suite_engine; load_suite_engine(); "
             "print(sys.modules.get('pyspark') is None)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "True"
    assert sys.modules.get("pyspark", "absent") is not None  # this process: untouched
