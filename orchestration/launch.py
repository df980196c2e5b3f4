"""`cwh run` runs the nightly Dagster job in this process, recorded in the home's Dagster instance
(`$CWH_HOME/dagster`, the one `make dagster` opens): the terminal's night and the schedule's are the
same run, and both show in the UI with their check results."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date

from connectors.home import Home
from orchestration.definitions import defs
from orchestration.defs.instance import home_instance
from orchestration.defs.resources import LAUNCHED, LOGICAL_DATE_TAG, NIGHTLY_JOB
from orchestration.pipeline import run as night
from orchestration.pipeline.run_lock import run_lock


def nightly_run(home: Home, logical_date: date, *, run_id: str | None = None, since: date | None = None,
                full_refresh: bool = False,
              progress: Callable[[str], None] | None = None,
              stage: Callable[[str], AbstractContextManager] | None = None,
              lock_wait_seconds: float = 0.0, command: str | None = None) -> night.RunReport:
    """Close the day before `logical_date` (incrementally, from `since`, or every date with
    `full_refresh`) by running the nightly job. Waits up to `lock_wait_seconds` for a running night
    of the same home (else raises `RunLocked` naming it) before anything starts."""
    run_id = run_id or str(uuid.uuid4())
    report = night.RunReport(run_id, logical_date, since=since, full_refresh=full_refresh,
                             progress=progress or night.no_progress, stage_timer=stage)
    config = {"logical_date": logical_date.isoformat(), "since": since.isoformat() if since else "",
              "full_refresh": full_refresh, "lock_held": True, "root": str(home.root)}
    with run_lock(home, run_id, wait_seconds=lock_wait_seconds,
                  command=command or f"nightly run {run_id} (logical date {logical_date})"):
        LAUNCHED[run_id] = report
        try:
            result = defs.resolve_job_def(NIGHTLY_JOB).execute_in_process(
                run_config={"resources": {"night_run": {"config": config}},
                            # the CLI prints the night's own summary (a held night's failures once, no
                            # Dagster stack trace); every log line stays in the instance
                            "loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
                instance=home_instance(home), run_id=run_id, raise_on_error=False,
                tags={LOGICAL_DATE_TAG: logical_date.isoformat(), "cwh/launched_by": "cwh run"})
        finally:
            LAUNCHED.pop(run_id, None)
        if not report.finished:  # the run failed before its night began (e.g. a resource could not start)
            message = next((event.message for event in result.all_events if event.is_failure),
                           "the run failed before its first step")
            night.record_failure(home, report, "ingest", RuntimeError(message))
    return report
