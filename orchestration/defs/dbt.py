"""The dbt project as Dagster assets: one asset per model and seed, dbt tests as asset checks,
dbt sources mapped onto the feed assets (`raw/<feed>`), so models sit downstream of the landing.

The manifest is prepared by `make` (`dbt parse`), never at import: a missing manifest is the most
common load failure of dagster-dbt projects, so it fails loudly with the command to run.
"""

import sys
from datetime import timedelta
from pathlib import Path

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from connectors.landing_safety import sweep_orphans
from connectors.registry import FEEDS
from orchestration.pipeline import incremental
from orchestration.pipeline.dbt import prepare, window_args
from orchestration.defs.partitions import daily_partitions, single_run
from orchestration.pipeline.dbt_sources import DBT_DIR
from orchestration.defs.resources import WarehouseHome
from orchestration.pipeline.run_lock import run_lock

DBT_PROJECT = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")  # the venv's dbt, with or without activation

if not DBT_PROJECT.manifest_path.exists():
    raise FileNotFoundError(
        f"{DBT_PROJECT.manifest_path} is missing: run `make install` (it runs `dbt parse`) before loading "
        "the Dagster definitions")


class WarehouseTranslator(DagsterDbtTranslator):
    """Sources become the feed assets; models are keyed and grouped by layer."""

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec.replace_attributes(key=dg.AssetKey(["raw", props["name"]]))
        layer = "config" if props["resource_type"] == "seed" else props["fqn"][1]
        return spec.replace_attributes(key=dg.AssetKey([layer, props["name"]]), group_name=layer)


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    dagster_dbt_translator=WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
    # partition D = event day D; a backfill of a range is one run and one dbt build (min_date..max_date)
    partitions_def=daily_partitions,
    backfill_policy=single_run,
)
def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseHome):
    home = warehouse.home()
    prepare(home)  # CWH_HOME for dbt, warehouse folder, schema files for empty feeds
    days = context.partition_time_window
    # as `cwh run`: one build per home at a time, of the files landed (ledger committed) by now
    with run_lock(home, context.run_id, command=f"dagster run {context.run_id} ({context.job_name})"):
        sweep_orphans(home, list(FEEDS))  # what crashed landings left (never part of a snapshot)
        window = incremental.plan(home, days.start.date(), (days.end - timedelta(days=1)).date(),
                                  incremental.take_snapshot(home))
        context.log.info(f"event dates {window.first_day} … {window.last_day}, plus each feed's late-arriving days"
                         + "".join(f"; {reason}" for reason in window.reasons))
        incremental.write_build_files(home, window)
        build = ["build", *window_args(window.first_day, window.last_day, window.landed_after, file_snapshot=True)]
        yield from dbt.cli(build, context=context).stream()
        incremental.record(home, window)  # reached only when dbt succeeded


dbt_resource = DbtCliResource(project_dir=DBT_PROJECT, profiles_dir=str(DBT_DIR), dbt_executable=DBT_EXECUTABLE)
