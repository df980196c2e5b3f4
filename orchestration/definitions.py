"""The Dagster code location: `dagster dev -w workspace.yaml` (or `make dagster`)."""

import dagster as dg

from orchestration.defs.dbt import dbt_resource, warehouse_models
from orchestration.defs.feeds import feed_assets
from orchestration.defs.gates import (
    alert_on_run_failure,
    gate_checks,
    landing_sensor,
    nightly_schedule,
    publish_asset,
)
from orchestration.defs.resources import WarehouseHome

mart_keys = [key for key in warehouse_models.keys if key.path[0] == "marts"]
published_warehouse = publish_asset(mart_keys)

# landing is idempotent and dbt rebuilds from the lake: transient failures are safe to retry
RETRY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL)

land_feeds = dg.define_asset_job(
    "land_feeds",
    selection=dg.AssetSelection.assets(*feed_assets),
    description="Land new vendor files waiting in landing/ into the raw lake, with the feeds' gates.",
    op_retry_policy=RETRY,
)

nightly = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.all(),
    description="Land every feed, gate it, build staging → intermediate → marts with their tests, "
                "publish atomically. A failed blocking check holds the publish. Daily partitions (inferred "
                "from the assets): a run closes a day; a backfill of days is one run.",
    op_retry_policy=RETRY,
    executor_def=dg.in_process_executor,  # one process: GE and dbt start-up paid once per run
)

defs = dg.Definitions(
    assets=[*feed_assets, warehouse_models, published_warehouse],
    asset_checks=gate_checks,
    jobs=[land_feeds, nightly],
    schedules=[nightly_schedule(nightly)],
    sensors=[landing_sensor(land_feeds), alert_on_run_failure],
    resources={"warehouse": WarehouseHome(), "dbt": dbt_resource},
)
