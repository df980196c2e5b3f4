"""One asset per feed: land every new file waiting in landing/<feed>/ into the raw lake.

Thin wrappers: the work is done by `connectors.lake.land_file`, which knows nothing of Dagster.
"""


import dagster as dg

from connectors.contracts import Contract
from connectors.lake import land_file, landing_files
from connectors.registry import FEEDS, FeedSpec
from orchestration.defs.partitions import daily_partitions, single_run
from orchestration.defs.resources import WarehouseHome

_DAGSTER_TYPES = {"string": "string", "integer": "int", "number": "float", "boolean": "bool",
                  "date": "date", "timestamp": "timestamp"}


def feed_asset_key(feed: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", feed])


def table_schema(contract: Contract) -> dg.TableSchema:
    return dg.TableSchema(columns=[
        dg.TableColumn(c.name, _DAGSTER_TYPES.get(c.type, c.type), description=c.description,
                       constraints=dg.TableColumnConstraints(nullable=c.nullable))
        for c in contract.columns
    ])


def build_feed_asset(spec: FeedSpec) -> dg.AssetsDefinition:
    contract = spec.contract

    @dg.asset(
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
        # partition D: the files landed for day D (landing itself takes whatever waits, once)
        partitions_def=daily_partitions,
        backfill_policy=single_run,
    )
    def _land(context: dg.AssetExecutionContext, warehouse: WarehouseHome) -> dg.MaterializeResult:
        home = warehouse.home()
        results = [land_file(home, spec.feed, path) for path in landing_files(home, spec.feed)]
        loaded = [r for r in results if r.status == "loaded"]
        rejected = [r for r in results if r.status == "rejected"]
        for r in loaded:
            context.log.info(f"{r.file}: {r.rows_loaded} rows loaded, {r.rows_quarantined} quarantined")
        for r in rejected:
            context.log.error(f"{r.file} rejected: {r.reason}")
        return dg.MaterializeResult(metadata={
            "files_landed": len(loaded),
            "files_already_landed": sum(r.status == "duplicate" for r in results),
            "files_rejected": len(rejected),
            "rows_loaded": sum(r.rows_loaded for r in loaded),
            "rows_quarantined": sum(r.rows_quarantined for r in loaded),
            "rejections": dg.MetadataValue.json([{"file": r.file, "reason": r.reason} for r in rejected]),
            "new_columns": dg.MetadataValue.json({r.file: r.extra_columns for r in loaded if r.extra_columns}),
        })

    return _land


feed_assets = [build_feed_asset(spec) for spec in FEEDS.values()]
