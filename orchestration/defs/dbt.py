"""The dbt project as Dagster assets: one asset per model and seed, dbt tests as asset checks,
dbt sources mapped onto the feed assets (`raw/<feed>`), so models sit downstream of the landing.

Two dbt assets, the night's two dbt phases (pipeline/forecast/__init__.py): `warehouse_models`
builds everything but `source:forecasts+`; the forecast asset (defs/forecast.py) writes the
`forecasts` tables (`forecast/<table>`) from it; `forecast_marts` builds what reads them.

dbt runs in this process (`pipeline.run.build`, dbt's Python API): no dbt process to start and
its partial parse reused, which is what keeps a Dagster night as fast as the terminal's. dbt's
result events are turned into Dagster materializations and check results by dagster-dbt's own
event conversion.

The manifest is prepared by `make` (`dbt parse`), never at import: a missing manifest is the most
common load failure of dagster-dbt projects, so it fails loudly with the command to run.
"""

import itertools
import json
from functools import cache

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject, dbt_assets
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
from dagster_shared.record import replace
from dbt_common.events.functions import msg_to_dict

from connectors.home import DBT_DIR
from orchestration.defs.resources import NightRun
from orchestration.pipeline import run as night
from orchestration.pipeline import seed_reload
from orchestration.pipeline.dbt import reads_info_and_above
from orchestration.pipeline.forecast import SOURCE as FORECAST_SOURCE
from orchestration.pipeline.gates.dbt_results import WAREHOUSE
from orchestration.pipeline.publish import PUBLISHED_SCHEMAS

DBT_PROJECT = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)
RESULT_EVENTS = {"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"}

if not DBT_PROJECT.manifest_path.exists():
    raise FileNotFoundError(
        f"{DBT_PROJECT.manifest_path} is missing: run `make install` (it runs `dbt parse`) before loading "
        "the Dagster definitions")


class WarehouseTranslator(DagsterDbtTranslator):
    """Sources become the feed assets; models are keyed and grouped by layer, owned by the team
    their dbt `meta.owner` names."""

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":  # a feed, or a table the forecast phase writes
            prefix = "forecast" if props.get("source_name") == FORECAST_SOURCE else "raw"
            return spec.replace_attributes(key=dg.AssetKey([prefix, props["name"]]))
        layer = "config" if props["resource_type"] == "seed" else props["fqn"][1]
        meta = {**(props.get("meta") or {}), **((props.get("config") or {}).get("meta") or {})}
        owner = meta.get("owner") or "data-eng@example.com"
        # analysts read the marts and seeds in the published file (warehouse/published.duckdb); staging and
        # intermediate are only in dbt's build database
        table = str(spec.metadata.get("dagster/table_name", ""))
        if layer in PUBLISHED_SCHEMAS:
            table = table.replace("build.", "published.", 1)
        return spec.replace_attributes(key=dg.AssetKey([layer, props["name"]]), group_name=layer, owners=[owner],
                                       metadata={**spec.metadata, "dagster/table_name": table})

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project) -> dg.AssetCheckSpec | None:
        """A dbt test's check says what it tests: dagster-dbt reads only `meta.description`; ours are
        the test's `description`, or a singular test's leading comment."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return replace(spec, description=dbt_test_description(manifest["nodes"][unique_id]))


def dbt_test_description(test: dict) -> str:
    if test.get("description", "").strip():
        return test["description"].strip()
    lines = (test.get("raw_code") or "").splitlines()  # a singular test's header comment
    header = " ".join(line.removeprefix("--").strip()
                      for line in itertools.takewhile(lambda line: line.startswith("--"), lines))
    return header or f"dbt test {test['name']} ({test['original_file_path']})"


TRANSLATOR = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True,
                                                                       enable_code_references=True))


@cache
def _manifest() -> dict:
    return json.loads(DBT_PROJECT.manifest_path.read_text())


def _selection(context: dg.AssetExecutionContext) -> list[str]:
    """`--select` for a subset materialised from the UI; nothing when the whole project builds."""
    if not context.is_subset:
        return []
    return ["--select", *sorted(key.path[-1] for key in context.selected_asset_keys)]


def _materialize(context: dg.AssetExecutionContext, night_run: NightRun, build):
    """Run one dbt phase (`build`: night.build or night.build_forecast_marts) and turn its results
    into the selected assets' events; a failed node fails the step (the publish decision holds)."""
    events: list = []
    manifest = _manifest()

    errors: list[BaseException] = []

    @reads_info_and_above  # dbt fires its result events at info, warn or error
    def convert(event) -> None:  # dbt's result events → Dagster events (dagster-dbt's conversion)
        if event.info.name not in RESULT_EVENTS or event.data.node_info.unique_id not in manifest["nodes"]:
            return  # not a result, or a node the definitions' manifest does not know (run `make install`)
        try:  # an exception here would fail dbt's node, not this function: keep it for after the build
            message = DbtCoreCliEventMessage(raw_event=msg_to_dict(event), event_history_metadata={})
            events.extend(message.to_default_asset_events(manifest, TRANSLATOR, context, project=DBT_PROJECT))
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    result = build(night_run.run_home, night_run.report, *_selection(context), callbacks=[convert])
    if errors:
        raise errors[0]
    assets, checks = context.selected_asset_keys, context.selected_asset_check_keys
    if night_run.report.seeds_unchanged:  # first: a multi-asset yields its outputs in dependency order
        yield from _unchanged_seeds(context, manifest, assets)
    checked: set[dg.AssetCheckKey] = set()
    for event in events:
        key = getattr(event, "asset_key", None)
        if isinstance(event, dg.Output):
            key = context.asset_key_for_output(event.output_name)
        check = dg.AssetCheckKey(event.asset_key, event.check_name) if isinstance(event, dg.AssetCheckResult) else None
        if key in assets or check in checks:
            checked.add(check)
            yield event
    if night_run.report.seeds_unchanged:
        yield from _unchanged_seed_checks(night_run.report.dbt_manifest, checks - checked)
    if not result.success:  # the outcomes say which node and why; the publish decision holds the run
        failed = [c for c in night_run.report.checks if c.feed == WAREHOUSE and c.status == "fail"]
        raise dg.Failure(description="; ".join(c.detail for c in failed)[:2000] or "dbt build failed",
                         metadata={"failed_nodes": len(failed)})


def _unchanged_seeds(context: dg.AssetExecutionContext, manifest: dict, selected: set[dg.AssetKey]):
    """The seeds a night left out, unchanged since a build loaded and tested them (pipeline.seed_reload):
    their outputs all the same, with the seed file's checksum as data version (the data of the last
    load), because Dagster skips every step downstream of an output that is missing."""
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] != "seed":
            continue
        key = TRANSLATOR.get_asset_spec(manifest, unique_id, DBT_PROJECT).key
        if key in selected:
            yield dg.Output(None, output_name=context.assets_def.get_output_name_for_asset_key(key),
                            data_version=dg.DataVersion(node["checksum"]["checksum"]),
                            metadata={"dbt": "unchanged since a build loaded and tested it: not reloaded"})


def _unchanged_seed_checks(parsed_manifest, waiting: set[dg.AssetCheckKey]):
    """The checks of the tests that read only seeds, left out with the unchanged seeds: passed, as they
    did in the build that recorded the seeds (pipeline.seed_reload records only a build where they all
    passed), and saying so. Without a result, Dagster warns that each blocking check emitted none and
    lets the steps downstream run without gating on it."""
    _, seed_tests = seed_reload.seed_only(parsed_manifest)
    left_out = {test.name for test in seed_tests}
    for key in sorted(waiting, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        if key.name in left_out:
            yield dg.AssetCheckResult(asset_key=key.asset_key, check_name=key.name, passed=True, metadata={
                "dbt": "not re-run: it reads only seeds, unchanged since a build loaded them and passed it"})


@dbt_assets(manifest=DBT_PROJECT.manifest_path, project=DBT_PROJECT, dagster_dbt_translator=TRANSLATOR,
            exclude=night.FORECAST_MODELS)
def warehouse_models(context: dg.AssetExecutionContext, night_run: NightRun):
    yield from _materialize(context, night_run, night.build)


@dbt_assets(manifest=DBT_PROJECT.manifest_path, project=DBT_PROJECT, dagster_dbt_translator=TRANSLATOR,
            select=night.FORECAST_MODELS, name="forecast_marts")
def forecast_marts(context: dg.AssetExecutionContext, night_run: NightRun):
    yield from _materialize(context, night_run, night.build_forecast_marts)
