"""dbt wiring: sources generated from the contracts, models as Dagster assets by layer."""

import json

import dagster as dg

from connectors.contracts import LINEAGE_FIELDS, load_contracts
from orchestration.definitions import defs
from orchestration.defs.dbt import DBT_PROJECT
from orchestration.pipeline.dbt_sources import render


def test_committed_dbt_sources_are_what_the_contracts_generate():
    for path, text in render().items():
        assert path.exists(), f"{path} missing: run `python -m orchestration.pipeline.dbt_sources`"
        assert path.read_text() == text, f"{path} is stale: run `python -m orchestration.pipeline.dbt_sources`"


def test_every_feed_is_a_dbt_source_with_its_contract_freshness():
    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())
    sources = {s["name"]: s for s in manifest["sources"].values()}
    for feed, contract in load_contracts().items():
        assert sources[feed]["freshness"]["error_after"]["count"] == contract.freshness_sla_hours
        lineage = [f.name for f in LINEAGE_FIELDS]  # every column of the feed's Parquet files
        assert [c for c in sources[feed]["columns"]] == [*contract.column_names, *lineage]


def test_dbt_models_are_assets_grouped_by_layer_downstream_of_the_feeds():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string(): k for k in graph.get_all_asset_keys()}
    staging = [k for k in keys if k.startswith("staging/")]
    assert "staging/stg_shopify__order_lines" in staging and len(staging) == len(load_contracts())
    assert graph.get(keys["staging/stg_shopify__order_lines"]).group_name == "staging"
    assert dg.AssetKey(["raw", "shopify_orders"]) in graph.get(keys["staging/stg_shopify__order_lines"]).parent_keys
    assert graph.get(keys["intermediate/int_order_lines"]).group_name == "intermediate"
    assert "marts/channel_pnl_monthly" in keys and graph.get(keys["marts/channel_pnl_monthly"]).group_name == "marts"
    assert graph.get(keys["config/channels"]).group_name == "config"


def test_dbt_tests_are_asset_checks_and_one_job_builds_feeds_to_marts():
    checks = {(k.asset_key.to_user_string(), k.name) for k in defs.resolve_asset_graph().asset_check_keys}
    assert any(key == "marts/channel_pnl_daily" for key, _ in checks)
    job = defs.resolve_job_def("nightly")
    selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert {"raw/shopify_orders", "staging/stg_shopify__order_lines", "marts/channel_pnl_monthly",
            "publish/published_warehouse"} <= selected


def test_publish_sits_downstream_of_every_mart_and_the_schedule_runs_at_two():
    graph = defs.resolve_asset_graph()
    parents = graph.get(dg.AssetKey(["publish", "published_warehouse"])).parent_keys
    marts = {k for k in graph.get_all_asset_keys() if k.path[0] == "marts"}
    assert parents == marts and len(marts) >= 14
    schedule = defs.resolve_schedule_def("nightly")
    assert schedule.cron_schedule == "0 2 * * *"
    assert defs.resolve_sensor_def("new_landing_files") is not None


def test_every_mart_is_documented_with_an_enforced_contract():
    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())
    marts = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["fqn"][1] == "marts"]
    assert len(marts) >= 14
    for node in marts:
        assert node["description"].strip(), node["name"]
        assert node["config"]["contract"]["enforced"], node["name"]
        assert node["columns"], node["name"]
        undocumented = [c for c, spec in node["columns"].items() if not spec["description"].strip()]
        assert undocumented == [], (node["name"], undocumented)
