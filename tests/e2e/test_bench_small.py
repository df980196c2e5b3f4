"""`cwh bench` end to end at a tiny size: the pipeline's monthly channel P&L, the lower-bound DuckDB
query and the pandas version agree to the cent, the figures file has every stage, and issue 17's
table has every figure with its goal and verdict. Correctness only: no speed is asserted, only that
every figure was measured, adds up, and is judged by its goal."""

import json

import pytest
from typer.testing import CliRunner

from orchestration.bench import goals
from orchestration.cli import app
from orchestration.pipeline.dbt import DBT_LOG_LEVEL_ENV

LINES = 20_000


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """One tiny bench (60 days of history) through `cwh bench`, as `make bench` runs it."""
    root = tmp_path_factory.mktemp("bench")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CWH_HOME", str(root / "home"))
        mp.setenv("CWH_LANDING_WORKERS", "2")  # the pool a big night lands with, at this small size too
        mp.setenv(DBT_LOG_LEVEL_ENV, "debug")  # the parse lines the partial-parse test reads are dbt's debug
        result = CliRunner().invoke(app, ["bench", "--lines", str(LINES), "--history-days", "60",
                                          "--out", str(root / "out")], terminal_width=200)
    assert result.exit_code == 0, result.output
    out = root / "out"
    return {"output": result.output, "figures": json.loads((out / f"bench-{LINES}.json").read_text()),
            "dbt_log": (out / str(LINES) / "home" / "dbt" / "logs" / "dbt.log").read_text(errors="replace"),
            "run_results": json.loads((out / str(LINES) / "home" / "dbt" / "target" / "run_results.json").read_text()),
            "summary": json.loads((out / "bench-summary.json").read_text())}


def test_both_nights_publish_and_every_stage_is_timed(measured):
    saved = measured["figures"]
    for run in ("full", "incremental"):
        assert saved[run]["published"], saved[run]["blocking_failures"]
        stages = saved[run]["stages"]
        assert {"ingest", "checks", "dbt_build", "publish"} <= set(stages)
        assert goals.stage_names(saved[run])[0] == "ingest" and goals.stage_names(saved[run])[-1] == "publish"
        for stage in stages:
            # every stage did real work (a timer that never started or stopped reads 0), in a process
            # that holds at least the interpreter, DuckDB and dbt (well above 50 MB)
            assert stages[stage]["seconds"] > 0, (run, stage)
            assert stages[stage]["peak_rss_mb"] > 50, (run, stage)
        # the stages run inside the child process, so they add up to less than its wall time
        total = sum(s["seconds"] for s in stages.values())
        assert saved[run]["stage_seconds_total"] == pytest.approx(total, abs=0.002)
        assert 0 < total < saved[run]["wall_seconds"]
        assert saved[run]["process_overhead_seconds"] == pytest.approx(saved[run]["wall_seconds"] - total, abs=0.002)
        assert stages["ingest"]["rows_per_second"] == round(saved[run]["rows_landed"] / stages["ingest"]["seconds"])
        by_feed = saved[run]["landing_by_feed"]
        assert sum(f["files"] for f in by_feed.values()) == saved[run]["files_landed"]
        assert sum(f["rows"] for f in by_feed.values()) == saved[run]["rows_landed"]
        # landing is most of the ingest stage, done by two worker processes side by side: the files'
        # seconds add up to at most twice the stage's, and the workers' memory is in the stage's peak
        assert 0 < sum(f["seconds"] for f in by_feed.values()) <= 2 * stages["ingest"]["seconds"]
        assert 50 < stages["ingest"]["helpers_peak_rss_mb"] < stages["ingest"]["peak_rss_mb"]
    # the incremental night landed exactly the new day's files
    assert saved["new_day_files"] and saved["incremental"]["files_landed"] == len(saved["new_day_files"])
    assert saved["full"]["files_landed"] > saved["incremental"]["files_landed"]
    assert saved["full"]["landing_by_feed"][goals.SHOPIFY_FEED]["rows"] > LINES / 4


def test_the_incremental_night_parses_once_a_phase_partially(measured):
    """The bench measures dbt's parse between the two nights; with other --vars than a night's, that
    left dbt's one partial-parse state stale and the incremental night re-parsed the whole project
    (12 s at 1M lines), which a night following a night never does. The night parses once (its
    `dbt parse` writes the manifest) and both dbt phases build on that manifest without serialising it
    again."""
    invocations = measured["dbt_log"].split("Running with dbt=")
    night = invocations[-3:]  # the incremental night: its parse, phase 1's build, the forecast marts' build
    parses, builds = night[:1], night[1:]
    assert all("Command `cli parse`" in run for run in parses), [run[-300:] for run in parses]
    assert all("Command `cli build`" in run for run in builds), [run[-300:] for run in builds]
    assert all("Partial parsing enabled" in run and "Unable to do partial parsing" not in run for run in parses)
    assert all("Wrote artifact WritableManifest" in run for run in parses)
    assert not any("Wrote artifact WritableManifest" in run or "Partial parsing" in run for run in builds)
    # run_results.json is still the last build's (written from its result): the forecast marts
    run_results = measured["run_results"]
    assert run_results["args"]["which"] == "build"
    assert "model.channel_contribution.demand_forecast_daily" in {r["unique_id"] for r in run_results["results"]}
    assert all(r["status"] in {"success", "pass", "no-op"} for r in run_results["results"])


def test_the_three_pnls_agree_to_the_cent(measured):
    saved = measured["figures"]
    assert saved["lower_bound"]["rows"] == saved["pandas"]["rows"] > 0
    assert not saved["agreement"].get("pipeline_mart_missing")
    for kind in ("lower_bound", "pandas"):
        assert saved[kind]["peak_rss_mb"] > 50
        assert saved["agreement"][kind]["max_diff_cents"] == 0, saved["agreement"][kind]
        assert saved["agreement"][kind]["rows_compared"] > 0
    assert saved["order_lines"] > 0


def test_every_figure_of_issue_17_has_its_goal_and_verdict(measured):
    saved, summary = measured["figures"], measured["summary"]
    rows = {row["key"]: row for row in summary["figures"]}
    assert summary["sizes"] == [LINES] and saved["goals"]["figures"] == summary["figures"]
    expected = {"full_over_lower_bound", "incremental_over_full", "incremental_over_pandas",
                "shopify_ingest_rows_per_second", "incremental_growth_10x", "ingest_peak_growth_10x",
                "full_seconds", "incremental_seconds", "peak_memory_gb", "full_peak_gb", "incremental_peak_gb",
                "imports", "dbt_parse_full", "dbt_parse_partial", "code_location_load",
                "lower_bound_pnl_diff_cents", "pandas_pnl_diff_cents",
                *(f"{run}_{stage}_seconds" for run in ("full", "incremental")
                  for stage in saved[run]["stages"])}
    assert expected <= set(rows)
    for row in rows.values():
        assert row["goal"] and row["verdict"] and row["label"], row
        assert row["label"] in measured["output"], row["label"]  # printed in the one table
    # one size: the growth figures need two sizes 10× apart, every other figure is measured
    for key, row in rows.items():
        if key.endswith("_growth_10x"):
            assert row["values"] == {} and row["verdict"].startswith("not measured"), row
        else:
            assert row["values"][str(LINES)] is not None, row
    # each value is the ratio of the measured figures, and its verdict follows its goal
    full, inc = saved["full"]["wall_seconds"], saved["incremental"]["wall_seconds"]
    assert rows["full_over_lower_bound"]["values"][str(LINES)] == round(full / saved["lower_bound"]["wall_seconds"], 2)
    assert rows["incremental_over_full"]["values"][str(LINES)] == round(inc / full, 3)
    assert rows["incremental_over_pandas"]["values"][str(LINES)] == round(inc / saved["pandas"]["wall_seconds"], 2)
    shop = saved["full"]["landing_by_feed"][goals.SHOPIFY_FEED]
    assert rows["shopify_ingest_rows_per_second"]["values"][str(LINES)] == round(shop["rows"] / shop["seconds"])
    peak = max(saved["full"]["peak_rss_mb"], saved["incremental"]["peak_rss_mb"]) / 1024
    assert rows["peak_memory_gb"]["values"][str(LINES)] == round(peak, 2)
    assert rows["peak_memory_gb"]["verdict"] == ("met" if round(peak, 2) <= 3 else "not met")
    for kind in ("lower_bound", "pandas"):
        assert rows[f"{kind}_pnl_diff_cents"]["values"][str(LINES)] == 0
        assert rows[f"{kind}_pnl_diff_cents"]["verdict"] == "met"
    assert all(rows[k]["values"][str(LINES)] > 0
               for k in ("imports", "dbt_parse_full", "dbt_parse_partial", "code_location_load"))
