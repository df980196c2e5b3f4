"""The forecast phase in the night's definition: between the two dbt phases, in Dagster as in
pipeline/run.py, its stage timed on its own, and the P&L outside what waits for it."""

import dagster as dg

from orchestration.definitions import defs
from orchestration.defs.automation import STEP_OF_OP
from orchestration.defs.dbt import forecast_marts, warehouse_models
from orchestration.pipeline import run as night
from orchestration.pipeline.forecast import TABLES


def key(text: str) -> dg.AssetKey:
    return dg.AssetKey(text.split("/"))


def test_phase_one_holds_the_pnl_and_phase_two_what_reads_the_forecast():
    first, second = set(warehouse_models.keys), set(forecast_marts.keys)
    assert not first & second
    assert {key("marts/channel_pnl_daily"), key("marts/fct_order_lines"), key("marts/promo_periods"),
            key("intermediate/int_inventory_location_daily")} <= first
    assert {key("marts/demand_forecast_daily"), key("marts/forecast_accuracy"), key("marts/forecast_backtest_daily"),
            key("marts/price_elasticity"), key("marts/inventory_health_daily"),
            key("marts/allocation_recommendation")} <= second


def test_the_forecast_asset_sits_between_the_phases_and_publish_waits_for_both():
    graph = defs.resolve_asset_graph()
    forecast = graph.get(key("forecast/demand_forecast"))
    assert key("marts/fct_order_lines") in forecast.parent_keys
    assert {key(f"forecast/{name}") for name in TABLES} <= graph.get_all_asset_keys()
    assert key("forecast/demand_forecast") in graph.get(key("marts/demand_forecast_daily")).parent_keys
    assert key("forecast/demand_forecast") in graph.get(key("marts/inventory_health_daily")).parent_keys
    publish = graph.get(key("publish/published_warehouse")).parent_keys
    assert {key("marts/demand_forecast_daily"), key("marts/channel_pnl_daily")} <= publish
    selected = defs.resolve_job_def("nightly").asset_layer.selected_asset_keys
    assert key("forecast/demand_forecast") in selected and key("marts/forecast_accuracy") in selected


def test_the_forecast_is_a_stage_of_the_night():
    assert night.STEPS.index("dbt_build") < night.STEPS.index("forecast") < night.STEPS.index("publish")
    assert STEP_OF_OP["forecast_demand"] == STEP_OF_OP["forecast_marts"] == "forecast"
