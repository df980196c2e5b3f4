"""The Dagster code location: `dagster dev -w workspace.yaml`."""


import dagster as dg

from orchestration.assets.feeds import feed_assets
from orchestration.checks import feed_checks
from orchestration.resources import WarehouseHome

land_all_feeds = dg.define_asset_job(
    "land_all_feeds",
    selection=dg.AssetSelection.assets(*feed_assets),
    description="Land every new vendor file waiting in landing/ into the raw lake.",
)

defs = dg.Definitions(
    assets=feed_assets,
    asset_checks=feed_checks,
    jobs=[land_all_feeds],
    resources={"warehouse": WarehouseHome()},
)
