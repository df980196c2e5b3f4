"""Which event dates an incremental build must process (docs/incremental.md).

A nightly build processes its day (the partition) and, in dbt, each feed's late-arriving days
before it. Two things can need older dates, and both widen the build here, before dbt runs:
- days never built: nights that did not run, or events past the last build's `max_date`;
- files landed since the last build whose events are older than that (a refund export withheld a
  month, a retroactive COGS change, a re-issued settlement): the build starts at their first event.
So an incremental build equals a full refresh whatever arrives late. The state is one small JSON file
next to the build database, written only after a successful build.

What a run builds is decided from the ledger, not from clocks: `take_snapshot` lists the files whose
ledger record is committed when the run starts; staging builds exactly those (the new ones, on an
incremental build: the snapshot minus the files the last successful build held), read through the
table `ops.build_files` written into the build database before dbt runs (dbt var `file_snapshot`).
A file committed later, even while the build reads the lake, belongs to the next run.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow.parquet as pq

from connectors.contracts import load_contracts
from connectors.home import Home, business_timezone
from orchestration.pipeline.dbt_sources import DBT_DIR


@dataclass
class BuildWindow:
    first_day: date
    last_day: date
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    reasons: list[str] = field(default_factory=list)  # why it starts before the day asked for
    landed_after: datetime | None = None  # the last successful build's start: later files are new
    snapshot: dict[str, frozenset[str]] | None = None  # feed -> sha256 of the files this build holds
    new_files: dict[str, frozenset[str]] = field(default_factory=dict)  # those the last build did not
    rebuild_feeds: set[str] = field(default_factory=set)  # files removed since the last build: staging whole
    # drawn by `plan` from the new files' events: the models add no late-arriving days (macro window_late_days)
    planned: bool = False
    first_build: bool = False  # no successful build before: every model is built whole


def take_snapshot(home: Home) -> dict[str, frozenset[str]]:
    """Per feed, the sha256 of every landed file: the files whose ledger record is committed now.
    A disabled feed (connectors/feed_switches.py) holds none: its models read no rows."""
    from connectors.feed_switches import disabled_feeds
    from connectors.lake import ledger_records

    files: dict[str, set[str]] = {feed: set() for feed in load_contracts()}
    off = set(disabled_feeds(home))
    for record in ledger_records(home):
        if record.get("status", "loaded") == "loaded" and record["feed"] not in off:
            files.setdefault(record["feed"], set()).add(record["sha256"])
    return {feed: frozenset(shas) for feed, shas in files.items()}


def _built_files(home: Home, state: dict | None) -> dict[str, frozenset[str]]:
    """The files the last successful build held (older states: those landed before it started)."""
    if state is None:
        return {}
    if "built_files" in state:
        return {feed: frozenset(shas) for feed, shas in state["built_files"].items()}
    from connectors.lake import ledger_records

    started = datetime.fromisoformat(state["started_at"])
    built: dict[str, set[str]] = {}
    for record in ledger_records(home):
        if datetime.fromisoformat(record["loaded_at"]) <= started:
            built.setdefault(record["feed"], set()).add(record["sha256"])
    return {feed: frozenset(shas) for feed, shas in built.items()}


def write_build_files(home: Home, window: "BuildWindow") -> None:
    """The run's snapshot as table ops.build_files (feed, sha256, new) and its event dates as table
    ops.build_window (name, value) in the build database, which staging and the event models read
    (vars `file_snapshot`, `build_window`). The run lock guarantees no other writer has the file open."""
    import pyarrow as pa

    rows = [(feed, sha, sha in window.new_files.get(feed, frozenset()))
            for feed, shas in sorted((window.snapshot or {}).items()) for sha in sorted(shas)]
    table = pa.table({"feed": pa.array([r[0] for r in rows], pa.string()),
                      "sha256": pa.array([r[1] for r in rows], pa.string()),
                      "new": pa.array([r[2] for r in rows], pa.bool_())})
    path = home.root / "warehouse" / "build.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists ops")
        drop_rebuilt_staging(home, window, con)  # files removed since the last build
        con.register("snapshot_rows", table)
        con.execute("create or replace table ops.build_files as select * from snapshot_rows")
        con.unregister("snapshot_rows")
        # the window as data, not --vars: the nightly dbt arguments stay the same (pipeline.dbt.snapshot_args)
        con.execute("create or replace table ops.build_window (name varchar primary key, value varchar)")
        values = {"min_date": window.first_day, "max_date": window.last_day, "landed_after": window.landed_after}
        rows = [(name, value.isoformat()) for name, value in values.items() if value is not None]
        con.executemany("insert into ops.build_window values (?, ?)",
                        rows + ([("window_planned", "true")] if window.planned else []))


def state_path(home: Home) -> Path:
    return home.root / "warehouse" / "build_state.json"


def _read_state(home: Home) -> dict | None:
    path = state_path(home)
    return json.loads(path.read_text()) if path.exists() else None


def upstream_feeds(manifest: dict, unique_ids: list[str]) -> list[str]:
    """The feeds (dbt sources) upstream of the given nodes, walking the manifest."""
    graph = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
    feeds, todo, seen = set(), list(unique_ids), set(unique_ids)
    while todo:
        node = graph.get(todo.pop())
        if node is None:
            continue
        if node.get("resource_type") == "source":
            feeds.add(node["name"])
            continue
        for parent in node.get("depends_on", {}).get("nodes", []):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return sorted(feeds)


@cache
def event_model_feeds(manifest: Path = DBT_DIR / "target" / "manifest.json") -> frozenset[str]:
    """The feeds upstream of the models that re-process a window of event dates — the event-grain ones
    (tag `daily`) and the other incremental models past staging (payout items, customers, journal
    lines) — from the dbt manifest (every feed when there is no manifest yet)."""
    if not manifest.exists():
        return frozenset(load_contracts())
    nodes = json.loads(manifest.read_text())
    windowed = [uid for uid, n in nodes["nodes"].items() if "daily" in n.get("tags", []) or (
        n.get("resource_type") == "model" and n.get("config", {}).get("materialized") == "incremental"
        and "staging" not in n.get("fqn", []))]
    return frozenset(upstream_feeds(nodes, windowed))


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


def earliest_new_events(home: Home, since: datetime | None = None,
                        new_files: dict[str, frozenset[str]] | None = None) -> dict[str, date]:
    """Per feed upstream of the event models: the first event date in the new files — those named
    in `new_files` (feed -> sha256), else those landed after `since`."""
    contracts = load_contracts()
    found = {}
    zone = business_timezone(home)  # an instant's event date is its local day, as in the models (local_date)
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        for feed in sorted(event_model_feeds()):
            folder = home.raw(feed)
            if new_files is not None:
                files = [str(p) for p in (folder / f"{sha[:16]}.parquet" for sha in sorted(new_files.get(feed, ())))
                         if p.exists()]
                where, parameters = "true", {}
            else:
                files = [str(p) for p in sorted(folder.glob("*.parquet")) if _landed_after(p, since)] \
                    if folder.exists() else []
                where, parameters = "_loaded_at > $since", {"since": since}
            if not files:
                continue
            column = contracts[feed].event_time_column
            timestamp = contracts[feed].column(column).type == "timestamp"
            expression = f"cast(timezone($zone, {column}) as date)" if timestamp else f"cast({column} as date)"
            parameters = {"files": files, **parameters, **({"zone": zone} if timestamp else {})}  # no unused one
            (first,) = con.execute(f"select min({expression}) from read_parquet($files, union_by_name = true) "
                                   f"where {where}", parameters).fetchone()
            if first is not None:
                found[feed] = first
    return found


def plan(home: Home, first_day: date, last_day: date,
         snapshot: dict[str, frozenset[str]] | None = None) -> BuildWindow:
    """The window to build for days first_day..last_day, widened to cover what the last build missed.
    With a `snapshot` (`take_snapshot`), the build holds exactly those files; `new_files` are the
    ones the last successful build did not hold."""
    window = BuildWindow(first_day, last_day, snapshot=snapshot)
    state = _read_state(home)
    if snapshot is not None:
        built = _built_files(home, state)
        window.new_files = {feed: shas - built.get(feed, frozenset()) for feed, shas in snapshot.items()}
    if state is None:
        window.first_build = True  # the first build of this home is a full one
        return window
    window.landed_after = datetime.fromisoformat(state["started_at"])
    window.planned = True  # from here every day a new row touches is in the window (§3)
    built_through = date.fromisoformat(state["max_date"])
    if built_through < first_day:
        window.first_day = min(window.first_day, date.fromordinal(built_through.toordinal() + 1))
        window.reasons.append(f"days after {built_through} were never built")
    new = window.new_files if snapshot is not None else None
    for feed, first in earliest_new_events(home, window.landed_after, new).items():
        if first < window.first_day:
            window.first_day = first
            window.reasons.append(f"{feed}: files landed since the last build carry events from {first}")
    plan_removals(home, window)
    if snapshot is not None:
        plan_dropped_files(home, window, built)
    return window


def whole_build_rows(home: Home, window: BuildWindow, full_refresh: bool) -> int | None:
    """The landed rows a whole build reads (a home's first build, or `--full-refresh`): the rows of the files of
    its snapshot, from their ledger records. None for a build of the window's days."""
    if not (full_refresh or window.first_build):
        return None
    from connectors.lake import ledger_records

    held = {sha for shas in (window.snapshot or {}).values() for sha in shas}
    return sum(int(record.get("rows_loaded") or 0) for record in ledger_records(home)
               if window.snapshot is None or record.get("sha256") in held)


def plan_dropped_files(home: Home, window: BuildWindow, built: dict[str, frozenset[str]]) -> None:
    """Files the last build held that the snapshot leaves out though still in the lake (their feed
    was switched off): staging of the feed is rebuilt whole, the event models re-process their dates."""
    dropped = {feed: shas - window.snapshot.get(feed, frozenset()) for feed, shas in built.items()}
    dropped = {feed: shas for feed, shas in dropped.items() if shas}
    for feed in sorted(set(dropped) - window.rebuild_feeds):
        window.rebuild_feeds.add(feed)
        window.reasons.append(f"{feed}: files the last build held are left out (feed disabled); its staging is rebuilt")
    for feed, first in earliest_new_events(home, None, dropped).items():
        if first < window.first_day:
            window.first_day = first
            window.reasons.append(f"{feed}: the files left out held events from {first}")


def _event_day(value, zone: str) -> date | None:
    """A ledger event time as its event date: a day ('2026-07-31') as it is, an instant
    ('2026-07-31 16:26:32+00:00') as its local day in the business's time zone `zone`."""
    if not value:
        return None
    text = str(value)
    if len(text) <= 10:
        return date.fromisoformat(text)
    instant = datetime.fromisoformat(text)
    return (instant if instant.tzinfo else instant.replace(tzinfo=UTC)).astimezone(ZoneInfo(zone)).date()


def plan_removals(home: Home, window: BuildWindow) -> None:
    """Files taken out of the lake since the last build (`cwh unland`, `cwh ingest --replace`): their
    feeds' staging tables are rebuilt whole (`drop_rebuilt_staging`: an incremental merge only adds
    and replaces rows, it never drops the rows of a file that is gone), and the event models
    re-process the dates the removed file held (and its replacement holds) from its first event on."""
    from connectors.lake import ledger_records
    from connectors.unland import removal_records

    landed = {(r["feed"], r["file_id"]): r for r in ledger_records(home)}
    zone = business_timezone(home)
    for removal in removal_records(home):
        if datetime.fromisoformat(removal["removed_at"]) <= window.landed_after:
            continue
        feed = removal["feed"]
        if feed not in window.rebuild_feeds:
            window.rebuild_feeds.add(feed)
            window.reasons.append(f"{feed}: a file was removed since the last build; its staging is rebuilt")
        replacement = landed.get((feed, removal["file_id"]), {})
        days = [_event_day(r.get("min_event_time"), zone) for r in (removal["landed"], replacement)]
        first = min((d for d in days if d is not None), default=None)
        if feed in event_model_feeds() and first is not None and first < window.first_day:
            window.first_day = first
            window.reasons.append(f"{feed}: the removed file {removal['file']} held events from {first}")


def _manifest(home: Home) -> dict | None:
    for path in (home.root / "dbt" / "target" / "manifest.json", DBT_DIR / "target" / "manifest.json"):
        if path.exists():
            return json.loads(path.read_text())
    return None


def drop_rebuilt_staging(home: Home, window: BuildWindow, con: duckdb.DuckDBPyConnection) -> list[str]:
    """Drop the staging tables of `window.rebuild_feeds` from the build database (open as `con`), so
    dbt builds them whole from the lake (is_incremental() is false for a missing table). Without a
    manifest, every staging table. Returns the tables dropped."""
    if not window.rebuild_feeds:
        return []
    manifest = _manifest(home)
    stored = {(schema, name): kind for schema, name, kind in con.execute(
        "select table_schema, table_name, table_type from information_schema.tables").fetchall()}
    if manifest is None:
        targets = [key for key in stored if key[0] == "staging"]
    else:
        sources = manifest["sources"]
        targets = [(node["schema"], node.get("alias") or node["name"]) for node in manifest["nodes"].values()
                   if node["resource_type"] == "model" and "staging" in node["fqn"]
                   and any(sources[p]["name"] in window.rebuild_feeds
                           for p in node["depends_on"]["nodes"] if p in sources)]
    dropped = []
    for schema, name in targets:
        if (schema, name) in stored:
            kind = "view" if stored[(schema, name)] == "VIEW" else "table"
            con.execute(f'drop {kind} "{schema}"."{name}"')
            dropped.append(f"{schema}.{name}")
    return dropped


def record(home: Home, window: BuildWindow) -> None:
    """After a successful build: what it covered. A backfill of older days keeps the newer mark."""
    state = _read_state(home)
    if state is not None and date.fromisoformat(state["max_date"]) > window.last_day:
        return
    path = state_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    payload = {"max_date": window.last_day.isoformat(), "started_at": window.started_at.isoformat()}
    if window.snapshot is not None:
        payload["built_files"] = {feed: sorted(shas) for feed, shas in sorted(window.snapshot.items())}
    temporary.write_text(json.dumps(payload))
    temporary.replace(path)
