"""The nightly run, in-process: land → gate → build → audit → publish (or hold), then alert.

`cwh run` calls `nightly_run`; the Dagster job runs the same steps as assets and checks. Nothing
here writes the published database unless every blocking check passed.
"""

import contextlib
import errno
import json
import logging
import traceback
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import duckdb
import polars as pl

from connectors.contracts import load_contracts
from connectors.lake import Home, LandingResult, land_all
from connectors.secrets import ensure_hash_key
from orchestration.pipeline.ops.alerts import post_webhook, record_alerts, record_run, summarize
from orchestration.pipeline import incremental
from orchestration.pipeline.gates.dbt_results import WAREHOUSE, dbt_checks
from orchestration.pipeline.gates.feed import all_feed_outcomes
from orchestration.pipeline.dbt import run_dbt, window_args
from connectors.home import build_database
from orchestration.pipeline.publish import PublishResult, held, publish
from orchestration.outputs.report import write_on_publish
from orchestration.pipeline.restatements import record_restatements
from orchestration.pipeline.run_lock import run_lock
from orchestration.pipeline.gates.sla import CheckOutcome
from orchestration.pipeline.ops.status import feed_sla_status, lake_watermarks, write_feed_sla_status

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    run_id: str
    logical_date: date
    landed: list[LandingResult] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)
    publish: PublishResult | None = None
    held_reason: str = ""
    failure: str = ""  # set when the run failed (not held by a check): one paragraph, no traceback
    build_window: incremental.BuildWindow | None = None

    @property
    def published(self) -> bool:
        return bool(self.publish and self.publish.published)

    @property
    def blocking_failures(self) -> list[CheckOutcome]:
        return [c for c in self.checks if c.holds_publish]


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


def publish_step(home: Home, run_id: str, logical_date: date, checks: list[CheckOutcome]) -> tuple[list[dict], PublishResult | None, str]:
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


def _no_stage(_name: str) -> AbstractContextManager:
    return contextlib.nullcontext()


def nightly_run(home: Home, logical_date: date, *, run_id: str | None = None, since: date | None = None,
                full_refresh: bool = False, progress: Callable[[str], None] = lambda _msg: None,
                stage: Callable[[str], AbstractContextManager] = _no_stage, lock_wait_seconds: float = 0.0,
                command: str | None = None) -> RunReport:
    """Close the day before `logical_date`: incrementally (that day, re-processing each feed's
    late-arriving days), from `since` (a backfill), or every date (`full_refresh`).
    `stage(name)` wraps each step (ingest, checks, dbt_build, publish): the benchmark times them.

    One run per home at a time (`run_lock`: raises RunLocked naming the running one). Whatever
    fails — expected or not — the run ends held: recorded, alerted, `report.failure` saying what
    happened in one paragraph, and the published database untouched."""
    run_id = run_id or f"{logical_date.isoformat()}-{datetime.now(UTC):%H%M%S}-{uuid.uuid4().hex[:6]}"
    report = RunReport(run_id, logical_date)
    ensure_hash_key(home.root)
    with run_lock(home, run_id, wait_seconds=lock_wait_seconds,
                  command=command or f"nightly run {run_id} (logical date {logical_date})"):
        current = ["ingest"]

        def step(name: str) -> AbstractContextManager:
            current[0] = name
            return stage(name)

        try:
            _run_steps(home, report, since, full_refresh, progress, step)
        except Exception as err:  # noqa: BLE001 — every failure is recorded, alerted and explained
            record_failure(home, report, current[0], err)
    return report


def _run_steps(home: Home, report: RunReport, since: date | None, full_refresh: bool,
               progress: Callable[[str], None], stage: Callable[[str], AbstractContextManager]) -> None:
    last_day = report.logical_date - timedelta(days=1)
    progress("landing new files")
    with stage("ingest"):
        report.landed = land_all(home)
        # what this run builds: the files landed (ledger record committed) by now; later ones wait
        snapshot = incremental.take_snapshot(home)
    progress("checking feeds against their SLAs")
    with stage("checks"):
        report.checks = all_feed_outcomes(home, report.logical_date)
    progress("dbt build: staging → intermediate → marts, with tests")
    with stage("dbt_build"):
        report.build_window = window = incremental.plan(home, since or last_day, last_day, snapshot)
        for reason in window.reasons:
            progress(f"building from {window.first_day}: {reason}")
        incremental.write_build_files(home, window)
        # unit tests check the SQL, not the data: `make test` runs them, the nightly build does not
        result = run_dbt(home, "build", *window_args(window.first_day, window.last_day, window.landed_after,
                                                     file_snapshot=True),
                         "--exclude", "test_type:unit", *(["--full-refresh"] if full_refresh else []))
        report.checks += dbt_checks(result, home)
        if result.success:
            incremental.record(home, window)
    progress("auditing and publishing")
    with stage("publish"):
        report.alerts, report.publish, report.held_reason = publish_step(
            home, report.run_id, report.logical_date, report.checks)


STEP_WORDS = {"ingest": "landing the files in landing/", "checks": "checking the feeds",
              "dbt_build": "building the warehouse with dbt", "publish": "publishing the audited build"}


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
    from connectors.home import published_database

    message = failure_message(report.run_id, step, err, str(published_database(home)))
    failure = CheckOutcome(WAREHOUSE, f"run:{step}", "fail", True, message,
                           "See the message: fix the cause and run again", "Data engineering",
                           "data-eng@example.com", {"step": step, "error": type(err).__name__})
    report.checks = [*report.checks, failure]
    report.failure = message
    report.held_reason = f"the run failed while {STEP_WORDS.get(step, step)}"
    report.publish = None
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


__all__ = ["RunReport", "nightly_run", "feed_outcomes", "publish_step", "dbt_checks", "summarize", "record_failure"]
