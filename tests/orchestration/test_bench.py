"""`cwh bench` end to end at a tiny size: the pipeline's monthly channel P&L, the lower-bound DuckDB
query and the pandas version agree to the cent, and the figures file has every stage. Correctness
only: no speed is asserted, only that every figure was measured and adds up."""

import json

import pytest

from orchestration.bench import runner as bench


def test_bench_end_to_end_at_a_tiny_size(tmp_path, monkeypatch):
    monkeypatch.setenv("CWH_HOME", str(tmp_path / "home"))
    figures = bench.run(20_000, tmp_path / "bench", progress=lambda _msg: None, history_days=60)

    saved = json.loads((tmp_path / "bench" / "bench-20000.json").read_text())
    for run in ("full", "incremental"):
        assert saved[run]["published"], saved[run]["blocking_failures"]
        assert set(saved[run]["stages"]) == set(bench.STAGES)
        stages = saved[run]["stages"]
        for stage in bench.STAGES:
            # every stage did real work (a timer that never started or stopped reads 0), in a process
            # that holds at least the interpreter, DuckDB and dbt (well above 50 MB)
            assert stages[stage]["seconds"] > 0, (run, stage)
            assert stages[stage]["peak_rss_mb"] > 50, (run, stage)
        # the stages run inside the child process, so they add up to less than its wall time
        total = sum(stages[stage]["seconds"] for stage in bench.STAGES)
        assert saved[run]["stage_seconds_total"] == pytest.approx(total, abs=0.002)
        assert 0 < total < saved[run]["wall_seconds"]
        assert saved[run]["process_overhead_seconds"] == pytest.approx(saved[run]["wall_seconds"] - total, abs=0.002)
        assert stages["ingest"]["rows_per_second"] == round(saved[run]["rows_landed"] / stages["ingest"]["seconds"])
    # the incremental night landed exactly the new day's files
    assert saved["new_day_files"] and saved["incremental"]["files_landed"] == len(saved["new_day_files"])
    assert saved["full"]["files_landed"] > saved["incremental"]["files_landed"]
    assert saved["lower_bound"]["rows"] == saved["pandas"]["rows"] > 0
    for kind in ("lower_bound", "pandas"):
        assert saved[kind]["peak_rss_mb"] > 50
    assert not saved["agreement"].get("pipeline_mart_missing")
    for kind in ("lower_bound", "pandas"):
        assert saved["agreement"][kind]["max_diff_cents"] == 0, saved["agreement"][kind]
    assert set(saved["overheads"]) >= {"python_start_seconds", "imports_seconds", "dbt_parse_full_seconds",
                                       "code_location_load_seconds"}
    # each measured (an import of duckdb, dbt and dagster on top of a bare interpreter takes time)
    assert all(seconds > 0 for seconds in saved["overheads"].values()), saved["overheads"]
    assert saved["ratios"]["incremental_over_full"] == round(
        saved["incremental"]["wall_seconds"] / saved["full"]["wall_seconds"], 3)
    assert saved["ratios"]["full_over_lower_bound"] == round(
        saved["full"]["wall_seconds"] / saved["lower_bound"]["wall_seconds"], 2)
    assert saved["ratios"]["pandas_over_full"] == round(
        saved["pandas"]["wall_seconds"] / saved["full"]["wall_seconds"], 2)
    assert figures["order_lines"] > 0
