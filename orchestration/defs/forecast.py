"""The forecast phase as a Dagster asset, between the two dbt assets (defs/dbt.py): it reads the
phase-1 tables and writes the `forecasts` tables (`forecast/<table>`) the phase-2 models read.
Thin: `pipeline.run.forecast` does the work; it never fails the night (a failure is a warning)."""

import dagster as dg

from orchestration.defs.resources import NightRun
from orchestration.pipeline import run as night
from orchestration.pipeline.forecast import TABLES

# what the phase reads (pipeline/forecast/series.py, elasticity.py)
READS = [dg.AssetKey(["marts", "fct_order_lines"]), dg.AssetKey(["marts", "promo_periods"]),
         dg.AssetKey(["marts", "dim_product"]), dg.AssetKey(["intermediate", "int_inventory_location_daily"]),
         dg.AssetKey(["config", "inventory_locations"])]
DESCRIPTIONS = {
    "demand_forecast": "Channel × SKU × day demand forecast of the next 28 days with an 80% interval.",
    "forecast_accuracy": "Rolling-origin backtest: MASE and WAPE per channel × horizon × method vs seasonal naive.",
    "forecast_backtest": "The latest backtest origin's forecasts beside the actuals, per channel × day.",
    "price_elasticity": "Price elasticity per channel × SKU or category, with confidence intervals.",
}


@dg.multi_asset(
    name="forecast_demand", can_subset=False,
    specs=[dg.AssetSpec(dg.AssetKey(["forecast", name]), deps=READS, group_name="forecast",
                        kinds={"python", "parquet"}, owners=["planning@example.com"],
                        description=f"{DESCRIPTIONS[name]} Written by the forecast phase (statsmodels) to "
                                    f"$CWH_HOME/forecasts/{name}/.")
           for name in TABLES])
def forecast_demand(context: dg.AssetExecutionContext, night_run: NightRun):
    outcome = night.forecast(night_run.run_home, night_run.report)
    for warning in outcome.warnings:
        context.log.warning(f"forecast: {warning}")
    methods = ", ".join(f"{channel}: {method}" for channel, method in sorted(outcome.methods.items()))
    for name in TABLES:
        yield dg.MaterializeResult(asset_key=dg.AssetKey(["forecast", name]),
                                   metadata={"rows": outcome.rows.get(name, 0), "seconds": outcome.seconds,
                                             "warnings": len(outcome.warnings), "methods": methods})
