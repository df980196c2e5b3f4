"""The Dagster code location (`dagster dev -w workspace.yaml`, or `make dagster`): merges the defs."""

import dagster as dg

from orchestration.defs.automation import alert_on_run_failure, hold_on_step_failure, landing_sensor, nightly_schedule
from orchestration.defs.dbt import forecast_marts, warehouse_models
from orchestration.defs.feeds import feed_gates, raw_feeds
from orchestration.defs.forecast import forecast_demand
from orchestration.defs.publish import publish_asset
from orchestration.defs.resources import NIGHTLY_JOB, NightRun, WarehouseHome

mart_keys = [key for phase in (warehouse_models, forecast_marts) for key in phase.keys if key.path[0] == "marts"]
published_warehouse = publish_asset(mart_keys)

land_feeds = dg.define_asset_job(
    "land_feeds", selection=dg.AssetSelection.assets(raw_feeds),
    description="Land new vendor files waiting in landing/ into the raw lake (the landing sensor's job).",
    executor_def=dg.in_process_executor)

nightly = dg.define_asset_job(
    NIGHTLY_JOB, selection=dg.AssetSelection.all(), hooks={hold_on_step_failure},
    description="The night (pipeline/run.py): land every feed, gate it, build staging → intermediate → marts with "
                "their tests, publish atomically — or hold when a blocking check failed. `cwh run` runs this job. "
                "Run config `resources.night_run.config`: logical_date, since (a backfill from an event date), "
                "full_refresh.",
    executor_def=dg.in_process_executor)  # one process: the night's state, GE and dbt start-up shared

defs = dg.Definitions(
    assets=dg.with_source_code_references([raw_feeds, warehouse_models, forecast_demand, forecast_marts,
                                           published_warehouse]),
    asset_checks=[feed_gates],
    jobs=[land_feeds, nightly],
    schedules=[nightly_schedule(nightly)],
    sensors=[landing_sensor(land_feeds), alert_on_run_failure],
    resources={"warehouse": WarehouseHome(), "night_run": NightRun()},
)
