"""A whole build of a big warehouse runs on one dbt thread (orchestration/pipeline/dbt.py whole_build_threads):
its heavy models would otherwise share DuckDB's one buffer pool; any other build keeps two."""

import json

from connectors.home import Home
from orchestration.pipeline.dbt import DBT_THREADS_ENV, WHOLE_BUILD_ONE_THREAD_ROWS, whole_build_threads
from orchestration.pipeline.incremental import BuildWindow, whole_build_rows


def test_a_big_whole_build_runs_on_one_thread_unless_the_setting_says(monkeypatch):
    monkeypatch.delenv(DBT_THREADS_ENV, raising=False)
    assert whole_build_threads(WHOLE_BUILD_ONE_THREAD_ROWS) == ["--threads", "1"]
    assert whole_build_threads(WHOLE_BUILD_ONE_THREAD_ROWS - 1) == []  # the 1M bench's 4.0M rows keep two
    assert whole_build_threads(None) == []  # a night of new days, however big the warehouse
    monkeypatch.setenv(DBT_THREADS_ENV, "2")
    assert whole_build_threads(10 * WHOLE_BUILD_ONE_THREAD_ROWS) == []  # the user's choice, in the profile


def _ledger(home: Home, feed: str, sha: str, rows: int) -> None:
    folder = home.ledger(feed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{sha[:16]}.json").write_text(json.dumps({"feed": feed, "sha256": sha, "rows_loaded": rows,
                                                         "status": "loaded"}))


def test_a_whole_build_counts_the_rows_of_its_snapshot_s_files(tmp_path):
    home = Home(tmp_path)
    _ledger(home, "shopify_orders", "a" * 64, 700)
    _ledger(home, "shopify_orders", "b" * 64, 300)
    _ledger(home, "amazon_orders", "c" * 64, 50)  # landed after the snapshot: not this build's
    snapshot = {"shopify_orders": frozenset({"a" * 64, "b" * 64}), "amazon_orders": frozenset()}
    first = BuildWindow(None, None, snapshot=snapshot, first_build=True)
    assert whole_build_rows(home, first, full_refresh=False) == 1000
    nightly = BuildWindow(None, None, snapshot=snapshot, planned=True)
    assert whole_build_rows(home, nightly, full_refresh=False) is None
    assert whole_build_rows(home, nightly, full_refresh=True) == 1000
