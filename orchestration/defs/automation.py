"""When the night runs and who hears about it: the 02:00 schedule, the landing sensor, the alert on
a failed run, and the hook that turns a step's exception into a held, alerted run."""

from zoneinfo import ZoneInfo

import dagster as dg

from connectors.home import Home, business_timezone, business_today, publish_records_dir
from orchestration.defs.feeds import feed_asset_key
from orchestration.defs.resources import LOGICAL_DATE_TAG, WarehouseHome

# the step names of the night (pipeline.run.STEPS) by Dagster op
STEP_OF_OP = {"land_feeds_step": "ingest", "feed_gates": "checks", "warehouse_models": "dbt_build",
              "forecast_demand": "forecast", "forecast_marts": "forecast", "publish__published_warehouse": "publish"}


def schedule_timezone() -> str:
    """The business's time zone (connectors.home.business_timezone): the schedule's hour and the
    local day that is a night's logical date are in it, like every event date in the marts."""
    return business_timezone(Home.from_env())


def nightly_schedule(job) -> dg.ScheduleDefinition:
    timezone = schedule_timezone()

    @dg.schedule(job=job, cron_schedule="0 2 * * *", execution_timezone=timezone,
                 default_status=dg.DefaultScheduleStatus.RUNNING,
                 description=f"Every night at 02:00 {timezone} (the business time zone, CWH_TIMEZONE or "
                             "config/settings.yml): land, gate, build, publish.")
    def nightly(context: dg.ScheduleEvaluationContext):
        day = context.scheduled_execution_time.astimezone(ZoneInfo(timezone)).date()  # a local day
        return dg.RunRequest(run_key=day.isoformat(),
                             tags={LOGICAL_DATE_TAG: day.isoformat(), "dagster/max_retries": "2"})

    return nightly


def landing_sensor(job) -> dg.SensorDefinition:
    @dg.sensor(job=job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Lands every new file dropped into landing/<feed>/: one run per file "
                           "(run key = feed + sha256).")
    def new_landing_files(context: dg.SensorEvaluationContext, warehouse: WarehouseHome):
        from connectors.contracts import load_contracts
        from connectors.lake import file_sha256, landing_files

        home = warehouse.home()
        for feed in load_contracts():
            landed = {p.stem for p in home.ledger(feed).glob("*.json")} if home.ledger(feed).exists() else set()
            for path in landing_files(home, feed):
                sha = file_sha256(path)
                if sha[:16] not in landed:
                    yield dg.RunRequest(run_key=f"{feed}:{sha[:16]}", asset_selection=[feed_asset_key(feed)],
                                        tags={"cwh/feed": feed, "cwh/file": path.name})

    return new_landing_files


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Posts a failed run to CWH_ALERT_WEBHOOK unless the night already did (a held "
                                   "night posts its own alerts when it decides).")
def alert_on_run_failure(context: dg.RunFailureSensorContext, warehouse: WarehouseHome):
    from orchestration.pipeline.ops.alerts import post_webhook

    home = warehouse.home()
    run = context.dagster_run
    if (publish_records_dir(home) / f"{run.run_id}.json").exists():
        return  # the night recorded its decision and alerted
    post_webhook([{"feed": "-", "check": f"run {run.job_name}", "status": "fail", "owner": "Data engineering",
                   "owner_contact": "data-eng@example.com",
                   "logical_date": run.tags.get(LOGICAL_DATE_TAG, business_today(home).isoformat()),
                   "detail": f"run {run.run_id} failed: {context.failure_event.message or ''}"[:500],
                   "suggested_action": "Open the run in the Dagster UI; `cwh status` lists the feeds' state"}])


@dg.failure_hook(required_resource_keys={"night_run"})
def hold_on_step_failure(context: dg.HookContext) -> None:
    """An exception in a step (not a check's verdict: those are outcomes already) ends the night
    held, with the one-paragraph message; the steps after it are skipped by Dagster."""
    from dagster._core.errors import DagsterAssetCheckFailedError

    err = context.op_exception
    if err is None or isinstance(err, dg.Failure | DagsterAssetCheckFailedError):
        return
    context.resources.night_run.step_failed(STEP_OF_OP.get(context.op.name, context.op.name), err)
