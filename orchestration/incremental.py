"""Which event dates an incremental build must process (docs/incremental.md).

A nightly build processes its day (the partition) and, in dbt, each feed's late-arriving days
before it. Two things can need older dates, and both widen the build here, before dbt runs:
- days never built: nights that did not run, or events past the last build's `max_date`;
- files landed since the last build whose events are older than that (a refund export withheld a
  month, a retroactive COGS change, a re-issued settlement): the build starts at their first event.
So an incremental build equals a full refresh whatever arrives late. The state is one small JSON file
next to the build database, written only after a successful build.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from connectors.contracts import load_contracts
from connectors.lake import Home
from orchestration.dbt_sources import DBT_DIR


@dataclass
class BuildWindow:
    first_day: date
    last_day: date
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    reasons: list[str] = field(default_factory=list)  # why it starts before the day asked for
    landed_after: datetime | None = None  # the last successful build's start: later files are new


def state_path(home: Home) -> Path:
    return home.root / "warehouse" / "build_state.json"


def _read_state(home: Home) -> dict | None:
    path = state_path(home)
    return json.loads(path.read_text()) if path.exists() else None


@cache
def event_model_feeds(manifest: Path = DBT_DIR / "target" / "manifest.json") -> frozenset[str]:
    """The feeds upstream of the event-grain (tag `daily`) models, from the dbt manifest (every feed
    when there is no manifest yet)."""
    if not manifest.exists():
        return frozenset(load_contracts())
    nodes = json.loads(manifest.read_text())
    graph = {**nodes["nodes"], **nodes["sources"]}
    feeds, todo = set(), [uid for uid, n in nodes["nodes"].items() if "daily" in n.get("tags", [])]
    seen = set(todo)
    while todo:
        node = graph.get(todo.pop())
        if node is None:
            continue
        if node["resource_type"] == "source":
            feeds.add(node["name"])
            continue
        for parent in node.get("depends_on", {}).get("nodes", []):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return frozenset(feeds)


def _landed_after(path: Path, moment: datetime) -> bool:
    """Whether a lake file holds rows landed after `moment` (from the Parquet statistics alone)."""
    metadata = pq.read_metadata(path)
    if metadata.num_rows == 0:
        return False
    column = metadata.schema.names.index("_loaded_at")
    newest = None
    for group in range(metadata.num_row_groups):
        stats = metadata.row_group(group).column(column).statistics
        if stats is None or not stats.has_min_max:
            return True  # no statistics: read it to be safe
        newest = stats.max if newest is None else max(newest, stats.max)
    return newest is not None and newest > moment


def earliest_new_events(home: Home, since: datetime) -> dict[str, date]:
    """Per feed upstream of the event models: the first event date in the files landed after `since`."""
    contracts = load_contracts()
    found = {}
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        for feed in sorted(event_model_feeds()):
            folder = home.raw(feed)
            files = [str(p) for p in sorted(folder.glob("*.parquet")) if _landed_after(p, since)] if folder.exists() else []
            if not files:
                continue
            column = contracts[feed].event_time_column
            expression = f"cast(timezone('UTC', {column}) as date)" if contracts[feed].column(column).type == "timestamp" \
                else f"cast({column} as date)"
            (first,) = con.execute(f"select min({expression}) from read_parquet(?, union_by_name = true) "
                                   "where _loaded_at > ?", [files, since]).fetchone()
            if first is not None:
                found[feed] = first
    return found


def plan(home: Home, first_day: date, last_day: date) -> BuildWindow:
    """The window to build for days first_day..last_day, widened to cover what the last build missed."""
    window = BuildWindow(first_day, last_day)
    state = _read_state(home)
    if state is None:
        return window  # the first build of this home is a full one
    window.landed_after = datetime.fromisoformat(state["started_at"])
    built_through = date.fromisoformat(state["max_date"])
    if built_through < first_day:
        window.first_day = min(window.first_day, date.fromordinal(built_through.toordinal() + 1))
        window.reasons.append(f"days after {built_through} were never built")
    for feed, first in earliest_new_events(home, window.landed_after).items():
        if first < window.first_day:
            window.first_day = first
            window.reasons.append(f"{feed}: files landed since the last build carry events from {first}")
    return window


def record(home: Home, window: BuildWindow) -> None:
    """After a successful build: what it covered. A backfill of older days keeps the newer mark."""
    state = _read_state(home)
    if state is not None and date.fromisoformat(state["max_date"]) > window.last_day:
        return
    path = state_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"max_date": window.last_day.isoformat(),
                                     "started_at": window.started_at.isoformat()}))
    temporary.replace(path)
