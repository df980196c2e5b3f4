"""The code location's surface is an API: asset keys are mart names analysts query, check names are
what alerts and the UI say, the schedule and sensors are what runs unattended. They are compared
exactly with definitions_snapshot.json (beside this file), so a change to any of them is a reviewed
change of that file. To refresh it on purpose: `CWH_UPDATE_SNAPSHOT=1 pytest tests/defs`, then
read `git diff tests/defs/definitions_snapshot.json`.

The same definitions must also be what a data engineer expects in the UI: every asset owned and
linked to its code, every check described, no partitions, marts owned by the team their dbt
`meta.owner` names (read here from dbt's manifest, not from the translator)."""

import difflib
import json
import os
from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import defs
from orchestration.defs.dbt import DBT_PROJECT

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")
REFRESH = "CWH_UPDATE_SNAPSHOT=1 pytest tests/defs"

REPOSITORY = defs.get_repository_def()
GRAPH = defs.resolve_asset_graph()
ASSET_KEYS = sorted(GRAPH.get_all_asset_keys(), key=lambda key: key.to_user_string())


def key_text(key: dg.AssetKey) -> str:
    return key.to_user_string()


def surface() -> dict:
    """What the snapshot holds, in a stable order."""
    checks = sorted((GRAPH.get_check_spec(key) for key in GRAPH.asset_check_keys),
                    key=lambda spec: (key_text(spec.asset_key), spec.name))
    jobs = sorted((job for job in REPOSITORY.get_all_jobs() if not job.name.startswith("__")),
                  key=lambda job: job.name)
    return {
        "assets": [key_text(key) for key in ASSET_KEYS],
        "asset_checks": [{"asset": key_text(spec.asset_key), "name": spec.name, "blocking": spec.blocking}
                         for spec in checks],
        "jobs": [{"name": job.name,
                  "assets": sorted(key_text(key) for key in job.asset_layer.selected_asset_keys)}
                 for job in jobs],
        "schedules": [{"name": schedule.name, "job": schedule.job_name, "cron": schedule.cron_schedule,
                       "timezone": schedule.execution_timezone, "default_status": schedule.default_status.value}
                      for schedule in sorted(REPOSITORY.schedule_defs, key=lambda s: s.name)],
        "sensors": [{"name": sensor.name, "type": type(sensor).__name__,
                     "jobs": sorted(job.name for job in sensor.jobs) if sensor.has_jobs else [],
                     "default_status": sensor.default_status.value}
                    for sensor in sorted(REPOSITORY.sensor_defs, key=lambda s: s.name)],
    }


def as_text(snapshot: dict) -> str:
    """JSON with one entry per line, so a diff names exactly what changed."""
    sections = [f"  {json.dumps(name)}: [\n" + ",\n".join(f"    {json.dumps(item, sort_keys=True)}" for item in items)
                + "\n  ]" for name, items in snapshot.items()]
    return "{\n" + ",\n".join(sections) + "\n}\n"


def test_definitions_match_the_snapshot():
    current = as_text(surface())
    if os.environ.get("CWH_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(current)
        pytest.skip(f"{SNAPSHOT.name} rewritten: review `git diff {SNAPSHOT}` before committing it")
    assert SNAPSHOT.exists(), f"{SNAPSHOT} is missing: write it with `{REFRESH}`"
    stored = SNAPSHOT.read_text()
    diff = "".join(difflib.unified_diff(stored.splitlines(True), current.splitlines(True),
                                        "definitions_snapshot.json", "definitions now", n=1))
    assert current == stored, (
        f"The Dagster definitions changed (asset keys, checks, jobs, schedules or sensors are an API).\n"
        f"If the change is intended, refresh the snapshot with `{REFRESH}` and commit it.\n{diff[:6000]}")


def test_the_schedule_and_the_alerting_sensors_are_on_by_default():
    assert defs.resolve_schedule_def("nightly").default_status == dg.DefaultScheduleStatus.RUNNING
    for name in ("alert_on_run_failure", "new_landing_files"):
        assert defs.resolve_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING, name


def test_every_asset_is_owned_unpartitioned_and_linked_to_its_code():
    for key in ASSET_KEYS:
        node = GRAPH.get(key)
        assert node.owners, f"{key_text(key)} has no owner"
        assert node.partitions_def is None, f"{key_text(key)} is partitioned"
        references = node.metadata.get("dagster/code_references")
        assert references is not None and references.code_references, f"{key_text(key)} has no code reference"
        for reference in references.code_references:
            assert Path(reference.file_path).is_file(), (key_text(key), reference.file_path)


def test_every_check_says_what_it_checks():
    undescribed = [(key_text(key.asset_key), key.name) for key in GRAPH.asset_check_keys
                   if not (GRAPH.get_check_spec(key).description or "").strip()]
    assert undescribed == [], f"{len(undescribed)} checks without a description, e.g. {undescribed[:5]}"


def test_marts_are_owned_by_their_dbt_meta_owner():
    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())
    marts = {node["name"]: node for node in manifest["nodes"].values()
             if node["resource_type"] == "model" and node["fqn"][1] == "marts"}
    assert len(marts) >= 14
    for name, node in marts.items():
        owner = node["config"]["meta"].get("owner")
        assert owner, f"dbt model {name} has no meta.owner"
        assert GRAPH.get(dg.AssetKey(["marts", name])).owners == [owner], name
