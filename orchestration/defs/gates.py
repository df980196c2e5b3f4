"""SLA gates and publishing as Dagster checks and assets.

Every feed asset carries blocking checks (landing, freshness, completeness, volume, schema drift,
Great Expectations; settlement reconciliation and channel coverage where they apply) computed by
`orchestration.pipeline.gates.feed.feed_outcomes`, the same function `cwh run` uses. A blocking check that fails
stops the dbt models downstream of its feed, and so the publish asset, which depends on the marts:
the published database is only replaced by a fully audited build.
"""

import glob
import os
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from connectors.contracts import load_contracts
from connectors.home import Home
from orchestration.pipeline.ops.alerts import post_webhook, record_alerts, record_run
from connectors.home import check_results_dir
from orchestration.defs.feeds import feed_asset_key
from orchestration.pipeline.gates.feed import feed_check_names, feed_outcomes
from orchestration.pipeline.run import RunReport, publish_step, record_failure
from orchestration.defs.partitions import closing_partition, partition_days
from orchestration.defs.resources import WarehouseHome
from orchestration.pipeline.run_lock import run_lock
from orchestration.pipeline.gates.sla import CheckOutcome

LOGICAL_DATE_TAG = "cwh/logical_date"
PUBLISH_KEY = dg.AssetKey(["publish", "published_warehouse"])


def logical_date_of(context) -> date:
    """The run's logical date: the `cwh/logical_date` tag (set by the schedule), else the day after
    the run's last partition (the night that closes it), else today (UTC)."""
    tags = context.run.tags if context.run else {}
    if tags.get(LOGICAL_DATE_TAG):
        return date.fromisoformat(tags[LOGICAL_DATE_TAG])
    days = partition_days(tags)
    return days[1] + timedelta(days=1) if days else datetime.now(UTC).date()


def _result(feed: str, outcome: CheckOutcome) -> dg.AssetCheckResult:
    severity = (dg.AssetCheckSeverity.ERROR if outcome.status == "fail" and outcome.blocking
                else dg.AssetCheckSeverity.WARN)
    return dg.AssetCheckResult(
        asset_key=feed_asset_key(feed), check_name=outcome.check, passed=outcome.status == "ok",
        severity=severity, description=outcome.detail,
        metadata={"status": outcome.status, "owner": f"{outcome.owner} <{outcome.owner_contact}>",
                  "suggested_action": outcome.suggested_action or "-",
                  "details": dg.MetadataValue.json(outcome.metadata)})


def _feed_gate(feed: str) -> dg.AssetChecksDefinition:
    contract = load_contracts()[feed]

    @dg.multi_asset_check(
        name=f"{feed}_gates",
        specs=[dg.AssetCheckSpec(name, asset=feed_asset_key(feed), blocking=True,
                                 description=f"{name} of {contract.title} (see docs/gates.md)")
               for name in feed_check_names(feed)],
    )
    def gates(context: dg.AssetCheckExecutionContext, warehouse: WarehouseHome):
        home = warehouse.home()
        outcomes = feed_outcomes(home, feed, logical_date_of(context))
        # one record per feed and run; the publish step and `cwh status` read them back
        record_run(home, run_id=f"{context.run.run_id}--{feed}", logical_date=logical_date_of(context), checks=outcomes)
        for outcome in outcomes:
            yield _result(feed, outcome)

    return gates


gate_checks = [_feed_gate(feed) for feed in load_contracts()]


def _run_outcomes(home: Home, run_id: str) -> list[CheckOutcome]:
    import polars as pl

    files = glob.glob(str(check_results_dir(home) / f"{glob.escape(run_id)}--*.parquet"))
    if not files:
        return []
    frame = pl.read_parquet(files)
    return [CheckOutcome(r["feed"], r["check"], r["status"], r["blocking"], r["detail"] or "",
                         r["suggested_action"] or "", r["owner"] or "", r["owner_contact"] or "", {})
            for r in frame.iter_rows(named=True)]


def publish_asset(mart_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(key=PUBLISH_KEY, deps=mart_keys, group_name="publish", kinds={"duckdb"},
              description="The audited build database copied into a new file and swapped atomically onto "
                          "the published database analysts open read-only; publish_log says what it holds.")
    def published_warehouse(context: dg.AssetExecutionContext, warehouse: WarehouseHome) -> dg.MaterializeResult:
        home = warehouse.home()
        checks = _run_outcomes(home, context.run_id)
        try:
            with run_lock(home, context.run_id, command=f"dagster run {context.run_id} (publish)"):
                alerts, result, reason = publish_step(home, context.run_id, logical_date_of(context), checks)
        except Exception as err:  # noqa: BLE001 — as `cwh run`: recorded, alerted, one paragraph
            report = RunReport(context.run_id, logical_date_of(context), checks=list(checks))
            raise dg.Failure(description=record_failure(home, report, "publish", err)) from None
        if result is None or not result.published:
            raise dg.Failure(description=f"publish held: {reason}", metadata={"alerts": len(alerts)})
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(result.path)), "tables": result.tables, "rows": result.rows,
            "seconds": round(result.seconds, 2), "checks": len(checks), "alerts": len(alerts)})

    return published_warehouse


def nightly_schedule(job) -> dg.ScheduleDefinition:
    timezone = os.environ.get("CWH_TIMEZONE", "UTC")

    @dg.schedule(job=job, cron_schedule="0 2 * * *", execution_timezone=timezone,
                 description=f"Every night at 02:00 {timezone} (set CWH_TIMEZONE): land, gate, build, publish.")
    def nightly(context: dg.ScheduleEvaluationContext):
        day = context.scheduled_execution_time.date()
        return dg.RunRequest(run_key=day.isoformat(), partition_key=closing_partition(day),
                             tags={LOGICAL_DATE_TAG: day.isoformat(), "dagster/max_retries": "2"})

    return nightly


def landing_sensor(job) -> dg.SensorDefinition:
    @dg.sensor(job=job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Lands every new file dropped into landing/<feed>/: one run per file (run key = feed + sha256).")
    def new_landing_files(context: dg.SensorEvaluationContext, warehouse: WarehouseHome):
        from connectors.lake import file_sha256, landing_files

        home = warehouse.home()
        today = datetime.now(UTC).date().isoformat()  # a file is recorded under the day it lands
        for feed in load_contracts():
            landed = {p.stem for p in home.ledger(feed).glob("*.json")} if home.ledger(feed).exists() else set()
            for path in landing_files(home, feed):
                sha = file_sha256(path)
                if sha[:16] in landed:
                    continue
                yield dg.RunRequest(run_key=f"{feed}:{sha[:16]}", asset_selection=[feed_asset_key(feed)],
                                    partition_key=today, tags={"cwh/feed": feed, "cwh/file": path.name})

    return new_landing_files


@dg.run_failure_sensor(description="Posts the failed run and its failed checks to CWH_ALERT_WEBHOOK.")
def alert_on_run_failure(context: dg.RunFailureSensorContext, warehouse: WarehouseHome):
    home = warehouse.home()
    run = context.dagster_run
    checks = [c for c in _run_outcomes(home, run.run_id) if c.status != "ok"]
    logical = date.fromisoformat(run.tags.get(LOGICAL_DATE_TAG, datetime.now(UTC).date().isoformat()))
    alerts = record_alerts(home, run_id=run.run_id, logical_date=logical, checks=checks) if checks else []
    alerts.insert(0, {"feed": "-", "check": f"run {run.job_name}", "status": "fail", "owner": "Data engineering",
                      "owner_contact": "data-eng@example.com",
                      "detail": f"run {run.run_id} failed: {context.failure_event.message or ''}"[:500],
                      "suggested_action": "Open the run in the Dagster UI; `cwh status` lists the feeds' state"})
    post_webhook(alerts)
