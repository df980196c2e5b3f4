"""The publish step as a Dagster asset: the audited build swapped onto the published database.

The decision (publish, or hold when a blocking check failed) is `pipeline.run.finish`; this asset
only runs it and tells Dagster the outcome. A held night is a failed Dagster run, so the run-failure
sensor and the UI show it; its alerts were already posted by `finish`.
"""

import dagster as dg

from connectors.home import published_database
from orchestration.defs.resources import PUBLISH_KEY, NightRun
from orchestration.pipeline import run as night


def publish_asset(mart_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(key=PUBLISH_KEY, deps=mart_keys, group_name="publish", kinds={"duckdb"},
              owners=["data-eng@example.com"],
              description="The audited marts, seeds (config), ops and main tables swapped atomically onto the "
                          "published database analysts open read-only (a copy of it in which only the changed tables "
                          "are replaced); its table publish_log says what each snapshot holds.")
    def published_warehouse(context: dg.AssetExecutionContext, night_run: NightRun) -> dg.MaterializeResult:
        home, report = night_run.run_home, night_run.report
        try:
            night.finish(home, report)
        except Exception as err:  # noqa: BLE001 — as every step: recorded, alerted, one paragraph
            raise dg.Failure(description=night.record_failure(home, report, "publish", err)) from None
        if not report.published:
            raise dg.Failure(description=f"publish held: {report.held_reason}",
                             metadata={"alerts": len(report.alerts),
                                       "blocking_failures": len(report.blocking_failures)})
        result = report.publish
        return dg.MaterializeResult(metadata={
            "dagster/uri": dg.MetadataValue.path(str(published_database(home))),
            "tables": result.tables, "tables_changed": result.changed, "rows": result.rows,
            "publish_seconds": round(result.seconds, 2),
            "checks": len(report.checks), "alerts": len(report.alerts)})

    return published_warehouse
