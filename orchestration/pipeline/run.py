"""The night, defined once: land → gate → build → audit → publish (or hold) → alert.

Each step is a plain function over the run's state (`RunReport`); the Dagster job
(orchestration/defs/) executes them as its assets, checks and resource, and `cwh run` executes that
same job in-process (orchestration/launch.py), so a night run from the terminal and one run by
the schedule are the same run, recorded in the same Dagster instance. Nothing here imports Dagster.
Nothing writes the published database unless every blocking check passed; whatever fails, the run
ends held: recorded, alerted, and said in one paragraph.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import polars as pl

from connectors.contracts import load_contracts
from connectors.feed_switches import enabled_feeds
from connectors.home import Home, build_database, published_database
from connectors.lake import LandingResult, already_landed, landing_files
from connectors.landing_pool import land_waiting, landing_workers
from connectors.landing_safety import sweep_orphans
from connectors.registry import FEEDS
from connectors.secrets import ensure_hash_key
from orchestration.outputs.report import write_on_publish
from orchestration.pipeline import incremental, seed_reload
from orchestration.pipeline.ahead import ahead
from orchestration.pipeline.dbt import (
    DBT_THREADS_ENV,
    node_progress,
    parse_project,
    run_build,
    snapshot_args,
    whole_build_threads,
)
from orchestration.pipeline.forecast.helper import prestarted_peak_rss_mb
from orchestration.pipeline.forecast.phase import ForecastOutcome, prepare_helper, run_forecast
from orchestration.pipeline.gates.dbt_results import WAREHOUSE, dbt_checks
from orchestration.pipeline.gates.expectations import load_suite_engine
from orchestration.pipeline.gates.feed import outcomes_before_expectations, with_expectations
from orchestration.pipeline.gates.outcome import CheckOutcome
from orchestration.pipeline.gates.suite_worker import SuiteWorker, SuiteWorkerError
from orchestration.pipeline.gates.suite_worker import take as take_suite_worker
from orchestration.pipeline.ops.alerts import post_webhook, record_alerts, record_run
from orchestration.pipeline.ops.status import feed_sla_status, lake_watermarks, write_feed_sla_status
from orchestration.pipeline.publish import PublishResult, held, publish
from orchestration.pipeline.restatements import record_restatements

log = logging.getLogger(__name__)

# the steps of a night, in order (stage names of the benchmark; words of a failure message)
STEPS = ("ingest", "checks", "dbt_build", "forecast", "publish")
# dbt's two phases: what reads the forecast is built after it (pipeline/forecast/__init__.py)
FORECAST_MODELS = "source:forecasts+"


def no_progress(_message: str) -> None:
    return None


@dataclass
class RunReport:
    """One night's state, shared by its steps, and what the run says when it ends."""

    run_id: str
    logical_date: date
    since: date | None = None  # a backfill from this event date; None = the closing day (+ late days)
    full_refresh: bool = False
    landed: list[LandingResult] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)
    publish: PublishResult | None = None
    held_reason: str = ""
    failure: str = ""  # set when the run failed (not held by a check): one paragraph, no traceback
    build_window: incremental.BuildWindow | None = None
    snapshot: dict | None = None  # the ledger files this run builds (taken once landing is over)
    seeds_unchanged: bool = False  # the build left the seeds out, unchanged since loaded (pipeline.seed_reload)
    dbt_manifest: object = None  # the project as the first dbt phase parsed it; the second builds on it
    finished: bool = False  # the publish decision is taken (published or held)
    progress: Callable[[str], None] = no_progress
    stages: dict[str, dict] = field(default_factory=dict)  # seconds per step (the benchmark reads them)
    stage_timer: Callable[[str], AbstractContextManager] | None = None  # the benchmark's own timer
    suite_worker: SuiteWorker | None = None  # GE's helper process, from landing to the gates
    builds_warehouse: bool = False  # the dbt build follows the gates (a night, not a landing-only run)
    forecast_follows: bool = False  # the forecast phase follows the dbt build in this run
    parse_ahead: Future | None = None  # dbt's parse from the gates' start, until the build takes it
    forecast_ahead: Future | None = None  # the forecast phase from the build's end, until its step takes it

    def wait_for_work_ahead(self) -> None:
        """The work started for a step that never took it (pipeline/ahead.py): done before the night ends."""
        wait([work for work in (self.parse_ahead, self.forecast_ahead) if work is not None])

    def add_helpers_peak(self, name: str, mb: float) -> None:
        """A step's helper processes' peak memory: kept with the step, and told to the benchmark's timer."""
        if mb:
            self.stages.setdefault(name, {"seconds": 0.0})["helpers_peak_rss_mb"] = round(mb, 1)
            if add := getattr(self.stage_timer, "add_helpers_peak", None):
                add(name, mb)

    @property
    def published(self) -> bool:
        return bool(self.publish and self.publish.published)

    @property
    def blocking_failures(self) -> list[CheckOutcome]:
        return [c for c in self.checks if c.holds_publish]

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time one step (accumulated: the landing of 17 feeds is one stage)."""
        started = time.perf_counter()
        with self.stage_timer(name) if self.stage_timer else contextlib.nullcontext():
            try:
                yield
            finally:
                entry = self.stages.setdefault(name, {"seconds": 0.0})
                entry["seconds"] = round(entry["seconds"] + time.perf_counter() - started, 3)


def closing_day(logical_date: date) -> date:
    """The nightly run of date D closes the day D − 1."""
    return logical_date - timedelta(days=1)


def _landing_progress(report: RunReport):
    """Files' landing told as the night's progress (connectors.landing_pool.FileProgress)."""
    def tell(label: str, stage: str, rows: int, fraction: float) -> None:
        report.progress(f"landing {label}: {stage} {rows:,} rows, {fraction:.0%}")
    return tell


# ---- the steps -----------------------------------------------------------------------------------
def start(home: Home, report: RunReport) -> None:
    """Before anything: the home's hashing key (personal data is hashed when it lands)."""
    ensure_hash_key(home.root)


def land(home: Home, report: RunReport, feeds: list[str] | None = None) -> list[LandingResult]:
    """Land every file waiting in landing/<feed>/ (already landed ones are no-ops), then take the
    run's snapshot: the files whose ledger record is committed now are what this run builds. A
    disabled feed's files stay in landing/ (said once per feed: `cwh feeds enable` lands them)."""
    feeds = feeds or list(FEEDS)
    report.progress("landing new files")
    with report.stage("ingest"):
        sweep_orphans(home, feeds)  # what crashed landings left (never part of a snapshot)
        for feed in sorted(set(feeds) - set(enabled_feeds(home, feeds))):
            if waiting := len(landing_files(home, feed)):
                report.progress(f"{feed} is disabled: its {waiting} file(s) in landing/{feed}/ are not landed "
                                f"(`cwh feeds enable {feed}` to use them)")
        feeds = enabled_feeds(home, feeds)
        waiting = [(feed, path) for feed in feeds for path in landing_files(home, feed)]
        known = already_landed(home, waiting)  # landing/ keeps every file: most were landed before
        waiting = [file for file, result in zip(waiting, known, strict=True) if result is None]
        workers = landing_workers(waiting)
        # GE for the checks is imported by a helper process on the other core (gates/suite_worker.py);
        # without one, while worker processes land, this idle process imports it in a thread
        report.suite_worker = take_suite_worker(files_waiting=bool(waiting))
        suite_engine = threading.Thread(target=load_suite_engine, args=(load_contracts().values(),),
                                        name="cwh-load-ge", daemon=True) \
            if workers > 1 and report.suite_worker is None else None
        if suite_engine:
            suite_engine.start()
        try:
            results, helpers_mb = land_waiting(home, waiting, progress=_landing_progress(report), workers=workers)
            if suite_engine:
                suite_engine.join()
            # the helper's memory (GE imported while the files landed) is held beside the landing's
            report.add_helpers_peak("ingest", helpers_mb + (report.suite_worker.peak_rss_mb()
                                                            if report.suite_worker else 0.0))
            landed = iter(results)
            results = [result or next(landed) for result in known]
            report.landed += results
            report.snapshot = incremental.take_snapshot(home)
        except BaseException:
            _stop_suite_worker(report)
            raise
        if report.suite_worker is not None:  # it validates the files of every feed the gates judge
            report.suite_worker.validate(home.root, feeds)
    return results


def _stop_suite_worker(report: RunReport) -> None:
    if report.suite_worker is not None:
        report.suite_worker.stop()
        report.suite_worker = None


def _wait_for_suite_worker(report: RunReport) -> None:
    """The helper's results are in the cache the expectations read; if it failed, they validate here."""
    worker, report.suite_worker = report.suite_worker, None
    if worker is None:
        return
    try:
        summary = worker.wait()
    except SuiteWorkerError as err:
        log.warning("%s; validating the files in this process", err)
        return
    report.add_helpers_peak("checks", summary.peak_rss_mb)


def gate(home: Home, report: RunReport, feeds: list[str] | None = None) -> list[CheckOutcome]:
    """Every gate of the feeds (docs/gates.md), judged as of the run's logical date."""
    report.progress("checking feeds against their SLAs")
    with report.stage("checks"):
        if report.builds_warehouse and report.parse_ahead is None:
            # while the gates wait on the expectations' helper (1M incremental night: ~1 s of the dbt stage;
            # started with the landing instead, it slowed the landing's Python by as much as it saved)
            report.parse_ahead = ahead("dbt-parse", parse_project, home, snapshot_args())
        feeds = feeds or list(load_contracts())
        # the gates that read no expectation results are judged while the helper still validates
        judged = {feed: outcomes_before_expectations(home, feed, report.logical_date) for feed in feeds}
        _wait_for_suite_worker(report)
        outcomes = [outcome for feed in feeds for outcome in with_expectations(home, feed, judged[feed])]
        report.checks += outcomes
    return outcomes


def build(home: Home, report: RunReport, *dbt_selection: str, callbacks: list | None = None):
    """dbt build of the run's window: the closing day, or from `since`, re-processing each feed's
    late-arriving days (`incremental.plan`); unit tests are `make test`'s, not the night's. The dbt
    result is parsed once into outcomes (`dbt_checks`). Returns the dbtRunnerResult."""
    report.progress("dbt build: staging → intermediate → marts, with tests")
    with report.stage("dbt_build"):
        last_day = closing_day(report.logical_date)
        snapshot = report.snapshot if report.snapshot is not None else incremental.take_snapshot(home)
        report.build_window = window = incremental.plan(home, report.since or last_day, last_day, snapshot)
        for reason in window.reasons:
            report.progress(f"building from {window.first_day}: {reason}")
        incremental.write_build_files(home, window)
        whole = not dbt_selection and not report.full_refresh  # a subset from the UI builds what it selects
        if not dbt_selection:  # the forecast phase follows: its helper imports while dbt builds
            prepare_helper()
        parse, report.parse_ahead = report.parse_ahead, None
        parsed = parse.result() if parse is not None else parse_project(home, snapshot_args())
        report.dbt_manifest = parsed.result if parsed.success else None
        threads = whole_build_threads(incremental.whole_build_rows(home, window, report.full_refresh))
        if threads:
            report.progress(f"a whole build of a big warehouse: one dbt thread, its heavy models not sharing "
                            f"DuckDB's memory ({DBT_THREADS_ENV} to choose)")
        result = parsed if not parsed.success else run_build(
            home, snapshot_args(), "--exclude", "test_type:unit", FORECAST_MODELS, *dbt_selection,
            *(["--full-refresh"] if report.full_refresh else []), *threads,
            callbacks=[*(callbacks or []), node_progress(report.progress)], skip_unchanged_seeds=whole,
            manifest=report.dbt_manifest)
        report.seeds_unchanged = whole and seed_reload.left_out(result)
        report.add_helpers_peak("dbt_build", prestarted_peak_rss_mb())
        report.checks += dbt_checks(result, home)
        if result.success:
            incremental.record(home, window)
            start_forecast_ahead(home, report)
    return result


def start_forecast_ahead(home: Home, report: RunReport) -> None:
    """The forecast phase on a thread from the end of a build that succeeded, when the run's forecast step
    follows: it reads only the build database, which dbt has released, and its helper processes compute on
    the other core while Dagster stores the dbt step's events (~1.3 s at 1M lines, on this process's GIL).
    The forecast step takes the outcome (`forecast`)."""
    if report.forecast_follows and report.forecast_ahead is None:
        report.forecast_ahead = ahead("forecast", run_forecast, home, closing_day(report.logical_date))


def forecast(home: Home, report: RunReport) -> ForecastOutcome:
    """The forecast phase (pipeline/forecast/): demand forecasts, their backtest and price elasticity
    from the phase-1 marts, into the `forecasts` tables. It never holds the night: a failure falls
    back (seasonal naive, or no rows) and is one warning of the run (check `forecast`, non-blocking)."""
    report.progress("forecasting demand (statsmodels ETS / Theta, backtested against seasonal naive)")
    with report.stage("forecast"):  # what the night waits for: started at the build's end, when it was
        started, report.forecast_ahead = report.forecast_ahead, None
        try:
            outcome = started.result() if started is not None else run_forecast(home, closing_day(report.logical_date))
        except Exception as err:  # noqa: BLE001 — run_forecast falls back itself; this is the last net
            log.warning("forecast phase failed", exc_info=True)
            outcome = ForecastOutcome(warnings=[f"the forecast phase failed ({type(err).__name__}: {err})"])
        report.checks.append(forecast_check(outcome))
        report.add_helpers_peak("forecast", outcome.helper_peak_rss_mb)
    return outcome


def build_forecast_marts(home: Home, report: RunReport, *dbt_selection: str, callbacks: list | None = None):
    """dbt phase 2: the models that read the forecast (`source:forecasts+`: the forecast marts, the
    inventory health and allocation marts), on the same window and tests as `build`. Timed with the
    forecast stage: it is what forecasting adds to the night."""
    report.progress("dbt build: the marts that read the forecast")
    with report.stage("forecast"):  # the run's window and file snapshot: phase 1 wrote them (ops.*)
        result = run_build(home, snapshot_args(), "--exclude", "test_type:unit",
                           *(dbt_selection or ("--select", FORECAST_MODELS)),  # a subset is within it
                           *(["--full-refresh"] if report.full_refresh else []),
                           callbacks=[*(callbacks or []), node_progress(report.progress)],
                           manifest=report.dbt_manifest)  # parsed by the first phase, same arguments
        report.checks += dbt_checks(result, home)
    return result


def forecast_check(outcome: ForecastOutcome) -> CheckOutcome:
    """The forecast phase as a check of the night: ok, or a warning that never holds the publish."""
    methods = ", ".join(f"{channel} {method}" for channel, method in sorted(outcome.methods.items()))
    if outcome.ok:
        detail = (f"demand forecast written ({outcome.rows.get('demand_forecast', 0):,} rows; methods: "
                  f"{methods or 'none'}) in {outcome.seconds:.1f} s")
        return CheckOutcome(WAREHOUSE, "forecast", "ok", False, detail, "", "Planning", "planning@example.com",
                            {"rows": outcome.rows, "methods": outcome.methods})
    detail = "; ".join(outcome.warnings)[:1500]
    return CheckOutcome(WAREHOUSE, "forecast", "warn", False, f"forecast phase: {detail}",
                        "The P&L is published as usual; see the run's log for the forecast's error and run the "
                        "night again once it is fixed", "Planning", "planning@example.com",
                        {"rows": outcome.rows, "methods": outcome.methods, "warnings": outcome.warnings})


def finish(home: Home, report: RunReport) -> None:
    """The publish decision, taken here and nowhere else: publish the audited build when no blocking
    check failed, else hold; either way record the run's checks and alerts once."""
    report.progress("auditing and publishing")
    with report.stage("publish"):
        report.alerts, report.publish, report.held_reason = publish_step(
            home, report.run_id, report.logical_date, report.checks)
    report.finished = True


def _ops_frame(rows: list[dict], run_id: str, logical_date: date) -> pl.DataFrame:
    columns = ["feed", "check", "status", "blocking", "detail", "suggested_action", "owner", "owner_contact"]
    return pl.DataFrame(
        [{**{c: r.get(c) for c in columns}, "metadata": json.dumps(r.get("metadata") or {}, default=str)}
         for r in rows],
        schema={**{c: pl.String for c in columns}, "blocking": pl.Boolean, "metadata": pl.String},
    ).with_columns(pl.lit(run_id).alias("run_id"), pl.lit(logical_date).alias("logical_date"))


def _write_ops_tables(home: Home, status: pl.DataFrame, checks: list[CheckOutcome], alerts: list[dict],
                      run_id: str, logical_date: date) -> None:
    """Feed SLA status, this run's check results and alerts go into the build database (schema
    `ops`), so the published snapshot says what it was audited against."""
    from orchestration.pipeline.ops.alerts import check_to_dict

    frames = {
        "feed_sla_status": status,
        "check_results": _ops_frame([check_to_dict(c) for c in checks], run_id, logical_date),
        "alerts": _ops_frame(alerts, run_id, logical_date),
    }
    with duckdb.connect(str(build_database(home))) as con:
        con.execute("create schema if not exists ops")
        for name, frame in frames.items():
            con.register("frame", frame.to_arrow())
            con.execute(f"create or replace table ops.{name} as select * from frame")
            con.unregister("frame")


def publish_step(home: Home, run_id: str, logical_date: date,
                 checks: list[CheckOutcome]) -> tuple[list[dict], PublishResult | None, str]:
    """Record the run's checks and alerts, refresh the feed status, then publish — or hold when a
    blocking check failed. Returns (alerts, publish result or None, held reason)."""
    record_run(home, run_id=run_id, logical_date=logical_date, checks=checks)
    alerts = record_alerts(home, run_id=run_id, logical_date=logical_date, checks=checks)
    status = feed_sla_status(home, as_of=logical_date)
    write_feed_sla_status(home, status)
    blocking = [c for c in checks if c.holds_publish]
    result, reason = None, ""
    if blocking:
        reason = f"{len(blocking)} blocking check(s) failed"
        held(home, run_id=run_id, logical_date=logical_date, checks=checks, reason=reason)
    else:
        _write_ops_tables(home, status, checks, alerts, run_id, logical_date)
        record_restatements(home, run_id, logical_date)  # closed months that changed: main.restatements
        marks = {feed: (event.isoformat() if event else None)
                 for feed, (event, _load) in lake_watermarks(home, load_contracts()).items()}
        result = publish(home, run_id=run_id, logical_date=logical_date, watermarks=marks, checks=checks)
        if result.published:  # the readback report and weekly digest of the new snapshot (outputs/)
            write_on_publish(home, logical_date)
    post_webhook(alerts)
    return alerts, result, reason


STEP_WORDS = {"ingest": "landing the files in landing/", "checks": "checking the feeds",
              "dbt_build": "building the warehouse with dbt", "forecast": "forecasting demand",
              "publish": "publishing the audited build"}


def failure_message(run_id: str, step: str, err: BaseException, published: str) -> str:
    """One paragraph: what failed, that nothing was published, and what to do."""
    what = f"{type(err).__name__}: {err}".strip()
    cause, os_error = err, None
    while cause is not None and os_error is None:  # the OSError behind a wrapped one (PublishError…)
        os_error = cause if isinstance(cause, OSError) else None
        cause = cause.__cause__
    code = os_error.errno if os_error is not None else None
    if code == errno.ENOSPC or "no space left" in what.lower():
        action = "Free disk space under the home (or move it to a larger disk), then run the same command again."
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        action = "Give the user running cwh write access to the home, then run the same command again."
    else:
        action = ("Run the same command again; if it fails the same way, send this message and "
                  "`cwh status` to Data engineering (data-eng@example.com).")
    return (f"Run {run_id} failed while {STEP_WORDS.get(step, step)}: {what}. Nothing was published: "
            f"{published} is unchanged, and the run is recorded as held (`cwh status`) and alerted. {action}")


def record_failure(home: Home, report: RunReport, step: str, err: BaseException) -> str:
    """Turn an exception into a held run: a blocking failed check, its alert (and webhook), the held
    record. Each record is attempted on its own, so a full disk still leaves the message and the
    webhook. Returns (and stores in `report.failure`) the one-paragraph message."""
    message = failure_message(report.run_id, step, err, str(published_database(home)))
    failure = CheckOutcome(WAREHOUSE, f"run:{step}", "fail", True, message,
                           "See the message: fix the cause and run again", "Data engineering",
                           "data-eng@example.com", {"step": step, "error": type(err).__name__})
    report.checks = [*report.checks, failure]
    report.failure = message
    report.held_reason = f"the run failed while {STEP_WORDS.get(step, step)}"
    report.publish = None
    report.finished = True
    report.alerts = [{"run_id": report.run_id, "logical_date": report.logical_date, "blocking": True,
                      **{k: getattr(failure, k) for k in ("feed", "owner", "owner_contact", "check",
                                                         "status", "detail", "suggested_action")}}]

    def traceback_file() -> None:  # for the engineer; the user gets the paragraph
        folder = home.root / "ops" / "failures"
        folder.mkdir(parents=True, exist_ok=True)
        text = "".join(traceback.format_exception(type(err), err, err.__traceback__))
        (folder / f"{report.run_id}.txt").write_text(f"{message}\n\n{text}")

    def alerts() -> None:
        report.alerts = record_alerts(home, run_id=report.run_id, logical_date=report.logical_date,
                                      checks=report.checks)

    for attempt in (
            traceback_file,
            lambda: record_run(home, run_id=report.run_id, logical_date=report.logical_date, checks=report.checks),
            alerts,
            lambda: held(home, run_id=report.run_id, logical_date=report.logical_date, checks=report.checks,
                         reason=report.held_reason)):
        try:
            attempt()
        except Exception as record_err:  # noqa: BLE001 — keep going: the alert matters most
            log.warning("could not record the failed run %s: %s", report.run_id, record_err)
    post_webhook(report.alerts)
    return message

