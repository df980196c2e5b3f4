"""The home's Dagster instance ($CWH_HOME/dagster): run history, schedules, sensors. `cwh run`
records into it and `make dagster` opens it, so the UI shows every night however it was started."""

from pathlib import Path

import dagster as dg

from connectors.home import Home

INSTANCE_SETTINGS = """\
# the home's Dagster instance: run history, schedules, sensors (written by cwh; `make dagster` opens it)
run_retries:
  enabled: true   # the nightly schedule's dagster/max_retries tag takes effect
telemetry:
  enabled: false
event_log_storage:  # Dagster's SQLite event log, one engine per file (orchestration/defs/storage.py)
  module: orchestration.defs.storage
  class: PooledSqliteEventLogStorage
  config:
    base_dir: {folder}/history
"""


def instance_dir(home: Home) -> Path:
    return home.root / "dagster"


def home_instance(home: Home) -> dg.DagsterInstance:
    """The persistent instance under the home (created on first use)."""
    folder = instance_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    settings = folder / "dagster.yaml"
    if not settings.exists():
        settings.write_text(INSTANCE_SETTINGS.format(folder=folder))
    return dg.DagsterInstance.from_config(str(folder))
