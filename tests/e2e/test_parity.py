"""One night, one run: `cwh run` and the Dagster job as the schedule launches it are the same night.

Two homes hold the same demo (same files, same hashing key). Home A runs the night from the
terminal (`cwh run --date`), home B runs the nightly job the way the schedule's run does (the job
executed with the schedule's logical-date tag and only the home in its run config: nothing handed
over by `cwh run`). Both must publish the same marts, row for row, record the same check results,
and both runs must be in the home's Dagster instance with their check evaluations, which is what
the UI reads.
"""

from __future__ import annotations

import json
import math
import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from connectors.contracts import load_contracts
from connectors.home import Home, published_database
from orchestration.cli import app
from orchestration.definitions import defs
from orchestration.defs.dbt import DBT_PROJECT
from orchestration.defs.instance import home_instance
from orchestration.defs.resources import LOGICAL_DATE_TAG
from orchestration.demo import generate

NOV_1 = date(2026, 11, 1)
HASH_KEY = "parity-test-key-" + "0" * 48  # both homes hash personal data alike


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "home"
    generate(root, days=60, orders_per_day=40)
    return root


@pytest.fixture(scope="module")
def nights(demo_root, tmp_path_factory) -> dict[str, Home]:
    """The same night on two copies of the demo: 'cli' through `cwh run`, 'dagster' as scheduled."""
    homes = {path: Home(tmp_path_factory.mktemp(path) / "home") for path in ("cli", "dagster")}
    for home in homes.values():
        shutil.copytree(demo_root, home.root)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CWH_HASH_KEY", HASH_KEY)
        env.setenv("CWH_HOME", str(homes["cli"].root))
        result = CliRunner().invoke(app, ["run", "--date", NOV_1.isoformat()])
        assert result.exit_code == 0, result.output

        env.setenv("CWH_HOME", str(homes["dagster"].root))  # the daemon's environment
        with home_instance(homes["dagster"]) as instance:
            run = defs.resolve_job_def("nightly").execute_in_process(
                instance=instance, tags={LOGICAL_DATE_TAG: NOV_1.isoformat()},
                run_config={"resources": {"night_run": {"config": {"root": str(homes["dagster"].root)}}}},
                raise_on_error=False)
        assert run.success, [e.message for e in run.all_events if e.is_failure]
    return homes


# columns that measure when this home loaded its files (the wall clock of the landing), so two homes
# landed a minute apart differ there by design: compared as present or not
LOAD_CLOCK = {"inventory_sync_latency_daily": {"loaded_at", "sync_latency_hours"}}


def mart_tables(home: Home) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every published mart: its columns in the published order, all its rows in a stable order."""
    tables = {}
    with duckdb.connect(str(published_database(home)), read_only=True) as con:
        names = [name for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1").fetchall()]
        for name in names:
            cursor = con.execute(f'select * from marts."{name}" order by all')
            columns = [column[0] for column in cursor.description]
            clock = [i for i, column in enumerate(columns) if column in LOAD_CLOCK.get(name, ())]
            rows = [tuple(cell is not None if i in clock else cell for i, cell in enumerate(row))
                    for row in cursor.fetchall()]
            tables[name] = (columns, rows)
    return tables


def test_both_paths_publish_the_same_marts(nights):
    cli, dagster = mart_tables(nights["cli"]), mart_tables(nights["dagster"])
    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())
    marts = {node["name"] for node in manifest["nodes"].values()
             if node["resource_type"] == "model" and node["fqn"][1] == "marts"}
    assert set(cli) == marts and set(dagster) == marts  # every mart dbt defines, on both
    assert cli["channel_pnl_daily"][1]  # a night with numbers
    for name in sorted(marts):
        (cli_columns, cli_rows), (dagster_columns, dagster_rows) = cli[name], dagster[name]
        assert cli_columns == dagster_columns, name
        assert len(cli_rows) == len(dagster_rows), name
        differing = [(a, b) for a, b in zip(cli_rows, dagster_rows, strict=True) if not same_row(a, b)]
        assert differing == [], f"{name} differs between cwh run and the Dagster job: {differing[:3]}"


def same_row(a: tuple, b: tuple) -> bool:
    """Equal cells; doubles equal to the last bits DuckDB's parallel aggregation leaves to chance
    (two builds of the same lake on the same path differ there too)."""
    return all(x == y or (isinstance(x, float) and isinstance(y, float) and math.isclose(x, y, rel_tol=1e-12))
               for x, y in zip(a, b, strict=True))


def run_of(home: Home) -> dg.DagsterRun:
    with home_instance(home) as instance:
        runs = instance.get_runs()
    assert len(runs) == 1, [r.run_id for r in runs]
    return runs[0]


def check_results(home: Home) -> list[tuple[str, str, str]]:
    run_id = run_of(home).run_id
    frame = pl.read_parquet(home.root / "ops" / "check_results" / f"{run_id}.parquet")
    return sorted(frame.select("feed", "check", "status").rows())


def test_both_paths_record_the_same_check_results(nights):
    cli, dagster = check_results(nights["cli"]), check_results(nights["dagster"])
    assert cli == dagster
    feeds = {feed for feed, _check, _status in cli} - {"warehouse"}
    assert feeds == set(load_contracts())
    assert ("warehouse", "dbt:build", "ok") in cli


def evaluations(home: Home) -> dict[tuple[str, str], bool]:
    """The run's asset check evaluations as the home's Dagster instance stored them."""
    run = run_of(home)
    with home_instance(home) as instance:
        events = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    found = {}
    for event in events:
        evaluation = event.dagster_event.event_specific_data
        found[(evaluation.asset_key.to_user_string(), evaluation.check_name)] = evaluation.passed
    return found


def test_both_runs_are_in_the_homes_dagster_instance_with_their_checks(nights):
    cli_run, dagster_run = run_of(nights["cli"]), run_of(nights["dagster"])
    for run in (cli_run, dagster_run):
        assert run.job_name == "nightly" and run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags[LOGICAL_DATE_TAG] == NOV_1.isoformat()
    assert cli_run.tags.get("cwh/launched_by") == "cwh run"

    cli, dagster = evaluations(nights["cli"]), evaluations(nights["dagster"])
    every_check = {(key.asset_key.to_user_string(), key.name) for key in defs.resolve_asset_graph().asset_check_keys}
    assert set(cli) == every_check  # every gate and every dbt test evaluated, and recorded
    assert cli == dagster
    # the gates' evaluations say what the run's check records say
    for feed, check, status in check_results(nights["cli"]):
        if feed != "warehouse":
            assert cli[(f"raw/{feed}", check)] is (status == "ok"), (feed, check, status)

    key = dg.AssetCheckKey(dg.AssetKey(["raw", "shopify_orders"]), "freshness")
    with home_instance(nights["cli"]) as instance:  # the check's history, as its page in the UI reads it
        history = instance.event_log_storage.get_asset_check_execution_history(key, limit=5)
    assert [record.run_id for record in history] == [cli_run.run_id]
