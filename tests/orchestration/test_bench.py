"""`cwh bench` end to end at a tiny size: the pipeline's monthly channel P&L, the lower-bound DuckDB
query and the pandas version agree to the cent, and the figures file has every stage. Correctness
only: no timing is asserted."""

import json

from orchestration import bench


def test_bench_end_to_end_at_a_tiny_size(tmp_path, monkeypatch):
    monkeypatch.setenv("CWH_HOME", str(tmp_path / "home"))
    figures = bench.run(20_000, tmp_path / "bench", progress=lambda _msg: None, history_days=60)

    saved = json.loads((tmp_path / "bench" / "bench-20000.json").read_text())
    for run in ("full", "incremental"):
        assert saved[run]["published"], saved[run]["blocking_failures"]
        assert set(saved[run]["stages"]) == set(bench.STAGES)
        for stage in bench.STAGES:
            assert saved[run]["stages"][stage]["seconds"] >= 0
            assert saved[run]["stages"][stage]["peak_rss_mb"] > 0
    assert saved["incremental"]["files_landed"] > 0 and saved["new_day_files"]
    for kind in ("lower_bound", "pandas"):
        assert saved[kind]["rows"] > 0 and saved[kind]["peak_rss_mb"] > 0
    assert not saved["agreement"].get("pipeline_mart_missing")
    for kind in ("lower_bound", "pandas"):
        assert saved["agreement"][kind]["max_diff_cents"] == 0, saved["agreement"][kind]
    assert set(saved["overheads"]) >= {"python_start_seconds", "imports_seconds", "dbt_parse_full_seconds",
                                       "code_location_load_seconds"}
    assert set(saved["ratios"]) >= {"full_over_lower_bound", "pandas_over_full", "incremental_over_full"}
    assert figures["order_lines"] > 0
