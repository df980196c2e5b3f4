"""The Dagster code location: `dagster dev -w workspace.yaml`."""

import dagster as dg

from orchestration.assets.dbt import dbt_resource, warehouse_models
from orchestration.assets.feeds import feed_assets
from orchestration.checks import feed_checks
from orchestration.resources import WarehouseHome

land_all_feeds = dg.define_asset_job(
    "land_all_feeds",
    selection=dg.AssetSelection.assets(*feed_assets),
    description="Land every new vendor file waiting in landing/ into the raw lake.",
)

build_warehouse = dg.define_asset_job(
    "build_warehouse",
    selection=dg.AssetSelection.all(),
    description="Land every feed, then build staging → intermediate → marts with their dbt tests.",
)

defs = dg.Definitions(
    assets=[*feed_assets, warehouse_models],
    asset_checks=feed_checks,
    jobs=[land_all_feeds, build_warehouse],
    resources={"warehouse": WarehouseHome(), "dbt": dbt_resource},
)
