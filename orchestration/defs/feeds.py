"""The feeds as Dagster assets (`raw/<feed>`) and their gates as blocking asset checks.

Thin wrappers: landing is `pipeline.run.land`, the gates are `pipeline.run.gate`; both record
into the run's `NightRun` state. One step lands every selected feed, one step gates them (a gate
such as channel coverage reads several feeds, so every feed has landed before any is judged).
"""

from collections import Counter

import dagster as dg

from connectors.contracts import Contract
from connectors.feed_switches import disabled_feeds
from connectors.lake import LandingResult
from connectors.registry import FEEDS, FeedSpec
from orchestration.defs.resources import NightRun
from orchestration.pipeline import run as night
from orchestration.pipeline.gates.feed import feed_check_names
from orchestration.pipeline.gates.outcome import CheckOutcome

_DAGSTER_TYPES = {"string": "string", "integer": "int", "number": "float", "boolean": "bool",
                  "date": "date", "timestamp": "timestamp"}

# what each gate checks, as the Dagster UI shows it (docs/gates.md has the rules in full)
GATE_DESCRIPTIONS = {
    "landing": "No file of this feed waits rejected in landing/ (a rejected file is named with its reason).",
    "quarantine": "Rows quarantined by the connector (warning): inspect with `cwh quarantine <feed>`.",
    "freshness": "The newest event is within the feed's freshness SLA of the run's logical date.",
    "completeness": "Every expected day (or month, or settlement period) up to the closing day is present.",
    "volume": "The closing day's row count is within robust-z limits of the same weekday's history.",
    "schema_drift": "No required column went missing; new vendor columns are reported.",
    "expectations": "The Great Expectations suite of the feed's contract passes on every landed file.",
    "settlement_reconciliation": "Each settlement's components sum exactly to its total-amount.",
    "channel_coverage": "Every active sales channel has sales data up to the closing day.",
    "stock_mismatch": "Stock counts of the two systems agree within tolerance (warning when a mismatch persists).",
}


def feed_asset_key(feed: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", feed])


def table_schema(contract: Contract) -> dg.TableSchema:
    return dg.TableSchema(columns=[
        dg.TableColumn(c.name, _DAGSTER_TYPES.get(c.type, c.type), description=c.description,
                       constraints=dg.TableColumnConstraints(nullable=c.nullable))
        for c in contract.columns
    ])


def feed_spec(spec: FeedSpec) -> dg.AssetSpec:
    contract = spec.contract
    return dg.AssetSpec(
        key=feed_asset_key(spec.feed),
        group_name=contract.source_system,
        kinds={"parquet", "csv"},
        owners=[contract.owner["contact"]],
        description=f"{contract.title}. {contract.description}",
        metadata={
            "dagster/column_schema": table_schema(contract),
            "primary_key": ", ".join(contract.primary_key),
            "event_time_column": contract.event_time_column,
            "cadence": contract.cadence,
            "freshness_sla_hours": contract.freshness_sla_hours,
            "contract": dg.MetadataValue.path(str(contract.path)),
            "layouts": ", ".join(f.label for f in spec.formats),
        },
        tags={"layer": "raw", "source_system": contract.source_system},
    )


def _landing_metadata(results: list[LandingResult]) -> dict:
    loaded = [r for r in results if r.status == "loaded"]
    rejected = [r for r in results if r.status == "rejected"]
    return {
        "files_landed": len(loaded),
        "files_already_landed": sum(r.status == "duplicate" for r in results),
        "files_rejected": len(rejected),
        "rows_loaded": sum(r.rows_loaded for r in loaded),
        "rows_quarantined": sum(r.rows_quarantined for r in loaded),
        "rejections": dg.MetadataValue.json([{"file": r.file, "reason": r.reason} for r in rejected]),
        "new_columns": dg.MetadataValue.json({r.file: r.extra_columns for r in loaded if r.extra_columns}),
    }


@dg.multi_asset(specs=[feed_spec(spec) for spec in FEEDS.values()], can_subset=True, name="land_feeds_step",
                description="Land every new file waiting in landing/<feed>/ into the raw lake (connectors/).")
def raw_feeds(context: dg.AssetExecutionContext, night_run: NightRun):
    feeds = [key.path[1] for key in sorted(context.selected_asset_keys, key=lambda k: k.path[1])]
    results = night.land(night_run.run_home, night_run.report, feeds)
    # a line per file landed or rejected; the files landed on earlier nights (landing/ keeps them: ~450 at
    # the 1M bench) in one line, not a stored event each (~0.4 ms apiece) that says nothing new
    for result in results:
        if result.status == "duplicate":
            continue
        log = context.log.error if result.status == "rejected" else context.log.info
        rows = f"{result.rows_loaded} rows, {result.rows_quarantined} quarantined" if result.status == "loaded" else ""
        log(f"{result.feed}/{result.file}: {result.status} {result.reason or ''}{rows}")
    if already := Counter(result.feed for result in results if result.status == "duplicate"):
        context.log.info(f"{sum(already.values())} files already landed, left as they are: "
                         + ", ".join(f"{feed} {count}" for feed, count in sorted(already.items())))
    off = set(disabled_feeds(night_run.run_home))  # nothing landed: their files wait in landing/
    for feed in feeds:
        yield dg.MaterializeResult(asset_key=feed_asset_key(feed), metadata={
            **_landing_metadata([r for r in results if r.feed == feed]), "disabled": feed in off})


def _numbers(metadata: dict) -> dict:
    """The numeric facts of a verdict as their own metadata entries, so the UI can plot their trend."""
    return {key: float(value) for key, value in metadata.items()
            if isinstance(value, int | float) and not isinstance(value, bool)}


def check_result(outcome: CheckOutcome) -> dg.AssetCheckResult:
    severity = (dg.AssetCheckSeverity.ERROR if outcome.status == "fail" and outcome.blocking
                else dg.AssetCheckSeverity.WARN)
    return dg.AssetCheckResult(
        asset_key=feed_asset_key(outcome.feed), check_name=outcome.check, passed=outcome.status == "ok",
        severity=severity, description=outcome.detail,
        metadata={"status": outcome.status, "owner": f"{outcome.owner} <{outcome.owner_contact}>",
                  "suggested_action": outcome.suggested_action or "-",
                  "details": dg.MetadataValue.json(outcome.metadata), **_numbers(outcome.metadata)})


def gate_specs() -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=feed_asset_key(feed), blocking=True,
                              description=f"{GATE_DESCRIPTIONS.get(name, name)} ({spec.contract.title})")
            for feed, spec in FEEDS.items() for name in feed_check_names(feed)]


@dg.multi_asset_check(specs=gate_specs(), can_subset=True, name="feed_gates",
                      description="The feeds' gates (docs/gates.md): a failed blocking gate holds the publish.")
def feed_gates(context: dg.AssetCheckExecutionContext, night_run: NightRun):
    selected = context.selected_asset_check_keys
    feeds = sorted({key.asset_key.path[1] for key in selected})
    for outcome in night.gate(night_run.run_home, night_run.report, feeds):
        if dg.AssetCheckKey(feed_asset_key(outcome.feed), outcome.check) in selected:
            yield check_result(outcome)
