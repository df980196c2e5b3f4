"""Resources: where the project home is, and the night a run executes.

`NightRun` carries one run's state (`pipeline.run.RunReport`) from step to step: the nightly job
runs in one process (in-process executor), so the landing, the gates, the dbt build and the publish
share it, and the publish decision sees every outcome of the run without reading anything back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from connectors.home import Home, business_today
from orchestration.batch_gc import night_heap
from orchestration.pipeline import run as night
from orchestration.pipeline.forecast import TABLES as FORECAST_TABLES
from orchestration.pipeline.run_lock import run_lock

LOGICAL_DATE_TAG = "cwh/logical_date"
PUBLISH_KEY = dg.AssetKey(["publish", "published_warehouse"])
NIGHTLY_JOB = "nightly"

# runs started by `cwh run` (orchestration/launch.py) hand their report over by run id: the
# caller reads the same object when the run ends (progress printer, benchmark timer included)
LAUNCHED: dict[str, night.RunReport] = {}


class WarehouseHome(dg.ConfigurableResource):
    """The project home (landing/, lake/, databases, outputs). Empty root: CWH_HOME, else ./data."""

    root: str = ""

    def home(self) -> Home:
        return Home(Path(self.root).resolve()) if self.root else Home.from_env()


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


class NightRun(WarehouseHome):
    """One night: its logical date (config, else the schedule's `cwh/logical_date` tag, else today
    on the business's clock), an optional backfill start (`since`, an event date) and `full_refresh`.
    A run of the nightly job takes the home's run lock for its whole length and, whatever happened,
    ends with the publish decision (published, held by a check, or held by a failure)."""

    logical_date: str = ""
    since: str = ""
    full_refresh: bool = False
    lock_wait_seconds: float = 0.0
    lock_held: bool = False  # `cwh run` holds the lock already (it waits for it before launching)

    _home: Home | None = PrivateAttr(default=None)
    _report: night.RunReport | None = PrivateAttr(default=None)
    _decides: bool = PrivateAttr(default=False)

    @property
    def report(self) -> night.RunReport:
        assert self._report is not None, "NightRun is only usable inside a run"
        return self._report

    @property
    def run_home(self) -> Home:
        assert self._home is not None, "NightRun is only usable inside a run"
        return self._home

    def _logical_date(self, tags: dict[str, str]) -> date:
        return (_day(self.logical_date) or _day(tags.get(LOGICAL_DATE_TAG, ""))
                or business_today(self.home()))

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[NightRun]:
        run = context.run
        self._home = self.home()
        self._report = LAUNCHED.pop(run.run_id, None) or night.RunReport(
            run.run_id, self._logical_date(dict(run.tags)), since=_day(self.since), full_refresh=self.full_refresh)
        selection = run.asset_selection
        # only a run that includes the publish decides one (a landing-only run lands and stops)
        self._decides = PUBLISH_KEY in selection if selection else run.job_name == NIGHTLY_JOB
        lock = (run_lock(self._home, run.run_id, wait_seconds=self.lock_wait_seconds,
                         command=f"dagster run {run.run_id} ({run.job_name})")
                if self._decides and not self.lock_held else contextlib.nullcontext())
        with lock, night_heap():  # the collector leaves the heap the run starts with alone (batch_gc.py)
            night.start(self._home, self._report)
            # work a later step needs may start early (pipeline/ahead.py): dbt's parse while the gates run,
            # the forecast while Dagster stores the dbt step's events
            self._report.builds_warehouse = self._decides
            self._report.forecast_follows = self._decides and (
                not selection or any(dg.AssetKey(["forecast", table]) in selection for table in FORECAST_TABLES))
            try:
                yield self
            finally:
                if self._decides and not self._report.finished:
                    self._end_without_publish_step()
                self._report.wait_for_work_ahead()  # a step that never took its work: nothing outlives the night

    def _end_without_publish_step(self) -> None:
        """The publish step did not run (a blocking check or a failed dbt test skipped it): the
        decision is still taken, by the same function, and holds."""
        try:
            night.finish(self.run_home, self.report)
        except Exception as err:  # noqa: BLE001 — recorded, alerted, one paragraph
            night.record_failure(self.run_home, self.report, "publish", err)

    def step_failed(self, step: str, err: BaseException) -> None:
        """A step raised: unless the run is already decided, it ends held with the failure said once."""
        if self._decides and not self.report.finished:
            night.record_failure(self.run_home, self.report, step, err)
