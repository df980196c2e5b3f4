"""Daily partitions: partition D is the UTC business day D.

The feed assets and the dbt models are partitioned by day; a run for a range of days (a backfill)
is one run (single-run backfill policy) and becomes one dbt build with `min_date` = the first day
and `max_date` = the last: the event-grain models re-process those days plus each feed's
late-arriving window (dbt_project/macros/incremental.sql), every other model is rebuilt whole.
The nightly run of date N (02:00) closes partition N − 1.
"""

import os
from datetime import date, datetime, timedelta

import dagster as dg

HISTORY_START = os.environ.get("CWH_HISTORY_START", "2024-01-01")

# end_offset=1: today's partition exists, so files landing during the day are recorded under it
daily_partitions = dg.DailyPartitionsDefinition(start_date=HISTORY_START, timezone="UTC", end_offset=1)
single_run = dg.BackfillPolicy.single_run()

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def partition_days(tags: dict[str, str]) -> tuple[date, date] | None:
    """(first day, last day) of a run's partition or partition range, from its tags; None if unpartitioned."""
    if tags.get(RANGE_START_TAG) and tags.get(RANGE_END_TAG):
        return date.fromisoformat(tags[RANGE_START_TAG]), date.fromisoformat(tags[RANGE_END_TAG])
    if tags.get(PARTITION_TAG):
        day = date.fromisoformat(tags[PARTITION_TAG])
        return day, day
    return None


def closing_partition(run_day: date | datetime) -> str:
    """The partition a nightly run on `run_day` closes: the day before."""
    day = run_day.date() if isinstance(run_day, datetime) else run_day
    return (day - timedelta(days=1)).isoformat()
