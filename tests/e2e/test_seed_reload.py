"""Seeds are reloaded when they change, not every night (orchestration/pipeline/seed_reload.py).

A first night loads the seeds and runs their tests; the next night leaves out the seeds and the
tests that read only seeds, yet still runs the tests relating a model to a seed, still runs the
forecast phase downstream of the seeds in Dagster (a missing output would skip it), and says in
Dagster that the seeds are the data of their last load and that their tests' checks passed then.
A changed fingerprint, or a seed table gone from the build database, reloads them; a seed test that
did not pass is not recorded as passed.
"""

import shutil
from datetime import date
from types import SimpleNamespace

import dagster as dg
import duckdb
import pytest

from connectors.home import Home, build_database
from orchestration.defs.instance import home_instance
from orchestration.demo import generate
from orchestration.launch import nightly_run
from orchestration.pipeline import seed_reload
from orchestration.pipeline.dbt import run_dbt, snapshot_args

NOV_1 = date(2026, 11, 1)
MODEL_TO_SEED_TEST = "relationships_int_fees_channel__channel__ref_channels_"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    root = tmp_path_factory.mktemp("seeds") / "home"
    generate(root, days=40, orders_per_day=20)
    return Home(root)


def what_ran(home: Home, run_id: str) -> tuple[set[str], dict[str, dict]]:
    """(names of the dbt tests evaluated, {seed name: metadata of its materialization}) of a run,
    from Dagster's event log."""
    instance = home_instance(home)
    checks = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
                                          limit=10_000).records
    materialized = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION,
                                                limit=10_000).records
    seeds_done = {}
    for record in materialized:
        event = record.event_log_entry.dagster_event.event_specific_data.materialization
        if event.asset_key.path[0] == "config":
            seeds_done[event.asset_key.path[-1]] = {**event.metadata, **event.tags}
    return {r.event_log_entry.dagster_event.event_specific_data.check_name for r in checks}, seeds_done


def check_results(home: Home, run_id: str) -> dict[str, tuple[bool, str]]:
    """{check name: (passed, its `dbt` metadata or '')} of a run's check evaluations."""
    records = home_instance(home).get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=10_000).records
    found = {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        why = evaluation.metadata.get("dbt")
        found[evaluation.check_name] = (evaluation.passed, why.value if why else "")
    return found


def parsed(home: Home):
    return run_dbt(home, "parse", *snapshot_args()).result


def test_unchanged_seeds_are_left_out_and_changed_ones_reloaded(home, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("CWH_HOME", str(home.root))
    first = nightly_run(home, NOV_1)
    assert first.published and not first.seeds_unchanged
    manifest = parsed(home)
    seed_nodes, seed_tests = seed_reload.seed_only(manifest)
    assert len(seed_nodes) >= 10 and len(seed_tests) >= 30
    tested, loaded = what_ran(home, first.run_id)
    assert {t.name for t in seed_tests} <= tested and {n.name for n in seed_nodes} <= loaded.keys()
    assert not any("dbt" in meta for meta in loaded.values())  # dagster-dbt's own: the seeds ran

    caplog.clear()
    second = nightly_run(home, NOV_1)
    assert second.published and second.seeds_unchanged
    tested, loaded = what_ran(home, second.run_id)
    # dbt ran none of the tests that read only seeds: their checks pass, saying why (dagster-dbt's results
    # of the tests dbt ran say nothing of the kind), so that the blocking ones gate as on any night
    results = check_results(home, second.run_id)
    assert {t.name for t in seed_tests} <= tested
    assert all(results[t.name][0] and "not re-run" in results[t.name][1] for t in seed_tests)
    assert MODEL_TO_SEED_TEST in tested and "not re-run" not in results[MODEL_TO_SEED_TEST][1], \
        "a model's test against a seed still runs"
    assert not [r for r in caplog.records if "emitted no result" in r.getMessage()]  # Dagster's warning
    assert second.stages["forecast"]["seconds"] > 0  # Dagster ran the steps downstream of the seeds
    # each seed's output all the same, saying it was not reloaded, its file's checksum as data version
    assert loaded.keys() == {n.name for n in seed_nodes}
    channels = next(n for n in seed_nodes if n.name == "channels")
    assert loaded["channels"]["dagster/data_version"] == channels.checksum.checksum
    assert "not reloaded" in loaded["channels"]["dbt"].value

    # a different fingerprint (a seed edited, a test changed): the next night reloads and re-tests
    with duckdb.connect(str(build_database(home))) as con:
        con.execute("update dbt_state.seeds set fingerprint = 'edited'")
    third = nightly_run(home, NOV_1)
    assert third.published and not third.seeds_unchanged
    tested, loaded = what_ran(home, third.run_id)
    assert {t.name for t in seed_tests} <= tested and not any("dbt" in meta for meta in loaded.values())
    assert seed_reload.plan(home, manifest).leave_out[:2] == ["--exclude-resource-type", "seed"]  # recorded again

    # without running a night (one test: the nights above are its fixture): what is recorded, and when
    # the build database no longer holds a seed
    copy = Home(tmp_path / "home")
    shutil.copytree(home.root, copy.root)

    def result(last_test: str):
        """A build's results: every seed loaded, every seed-only test passed but the last one."""
        statuses = ["success" if n.resource_type == "seed" else "pass" for n in (*seed_nodes, *seed_tests)]
        statuses[-1] = last_test
        return SimpleNamespace(result=SimpleNamespace(results=[
            SimpleNamespace(node=n, status=s) for n, s in zip((*seed_nodes, *seed_tests), statuses, strict=True)]))

    seed_plan = seed_reload.plan(copy, manifest)
    seed_reload.record(copy, seed_plan, result("warn"))  # a warning is said again the next night
    assert seed_reload.plan(copy, manifest).leave_out == []
    seed_reload.record(copy, seed_plan, result("pass"))
    assert seed_reload.plan(copy, manifest).leave_out
    with duckdb.connect(str(build_database(copy))) as con:
        con.execute("drop table config.channels")
    assert seed_reload.plan(copy, manifest).leave_out == []
