"""Running the dbt project in-process for a project home (no dbt process start per call).

The build database, dbt's target folder and its logs all live under the home, so two homes (two
test workers, a test and a demo) never share dbt state.
"""

import ast
import functools
import json
import os
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime

from connectors.home import Home, business_timezone
from orchestration.pipeline import seed_reload
from orchestration.pipeline.dbt_sources import DBT_DIR, ensure_feed_files
from orchestration.pipeline.forecast import ensure_forecast_files


def dbt_args(home: Home, command: Sequence[str], target: str = "duckdb") -> list[str]:
    """dbt's arguments for this home; every target but the default one keeps its own target folder
    (its own manifest and compiled SQL)."""
    return [
        *command,
        "--project-dir", str(DBT_DIR),
        "--profiles-dir", str(DBT_DIR),
        "--target", target,
        "--target-path", str(home.root / "dbt" / ("target" if target == "duckdb" else f"target-{target}")),
        "--log-path", str(home.root / "dbt" / "logs"),
    ]


FILE_SNAPSHOT = "ops.build_files"  # the run's ledger snapshot (orchestration.pipeline.incremental.write_build_files)
BUILD_WINDOW = "ops.build_window"  # the run's event dates (min_date, max_date, landed_after), same writer


def snapshot_args() -> list[str]:
    """dbt arguments of a night's build: staging holds exactly the files of the run's snapshot, and
    the event dates come from the run's window table (macro build_var). Both tables are written into
    the build database before dbt starts, so these arguments never change from one night to the next
    and dbt's partial parse is kept (different --vars make dbt parse the whole project again)."""
    return ["--vars", json.dumps({"file_snapshot": FILE_SNAPSHOT, "build_window": BUILD_WINDOW})]


def window_args(first_day: date, last_day: date, landed_after: datetime | None = None) -> list[str]:
    """dbt arguments that build the event dates first_day..last_day from the whole lake, given as vars
    (a build outside a night: tests, the Spark comparison): the event-grain models re-process them (and
    each feed's late-arriving days before them), the other models are rebuilt whole; staging merges
    the files landed after `landed_after`."""
    variables = {"min_date": first_day.isoformat(), "max_date": last_day.isoformat()}
    if landed_after is not None:
        variables["landed_after"] = landed_after.isoformat()
    return ["--vars", json.dumps(variables)]


def prepare(home: Home) -> None:
    """Point dbt at this home: CWH_HOME (sources and profile read it), its business time zone
    (CWH_BUSINESS_TIMEZONE, macro business_timezone), the warehouse folder, and an empty schema file
    for every feed with nothing landed yet and every table of source `forecasts`."""
    os.environ["CWH_HOME"] = str(home.root)
    os.environ["CWH_BUSINESS_TIMEZONE"] = business_timezone(home)
    (home.root / "warehouse").mkdir(parents=True, exist_ok=True)
    ensure_feed_files(home)
    ensure_forecast_files(home)  # source `forecasts` readable before the forecast phase first writes it
    drop_file_lines_below_their_level()
    skip_debug_events_no_one_reads()
    build_event_data_when_read()
    parse_python_one_thread_at_a_time()


_AST_LOCK = threading.RLock()


def parse_python_one_thread_at_a_time() -> bool:
    """Make `ast.parse` (and `ast.literal_eval`, which calls it) run in one thread at a time.

    CPython 3.11 keeps one recursion counter for building every thread's AST objects, and each parse
    resets it to its own thread's depth: when the garbage collector runs Python code in the middle of
    one parse and another thread parses meanwhile, the first fails with `SystemError: AST constructor
    recursion depth mismatch` (python/cpython#106905). dbt's two threads parse through Jinja's
    native rendering (`literal_eval`) while they render models and unit tests, so a night failed a
    node this way at random (seen once in CI, a unit test). Parses are short; holding a lock around
    them costs nothing measurable. Returns False if `ast.parse` already holds it."""
    if getattr(ast.parse, "holds_the_ast_lock", False):
        return False
    parse = ast.parse

    @functools.wraps(parse)
    def parse_alone(*args, **kwargs):
        with _AST_LOCK:
            return parse(*args, **kwargs)

    parse_alone.holds_the_ast_lock = True
    ast.parse = parse_alone
    return True


# nothing on the terminal, not even dbt's error lines (the caller reports failures once, from the
# results); the log file under the home keeps every node's start, result, timing and error at `info`.
# `debug` adds each query's SQL and dbt's connection chatter: ~30k lines a night, whose formatting and
# writing compete with the build for the GIL (1M incremental night, alternated: dbt stage 27-30 ->
# 22-25 s), so it is asked for (CWH_DBT_LOG_LEVEL=debug) when diagnosing, not paid every night.
DBT_LOG_LEVEL_ENV = "CWH_DBT_LOG_LEVEL"
DBT_LOG_LEVELS = ("debug", "info", "warn", "error", "none")


def drop_file_lines_below_their_level() -> bool:
    """Make dbt's log file skip the events below its level before it formats them, not after.

    dbt formats every event as a line of its log file (the secrets of the environment scrubbed from
    each, by scanning every variable) and only then does Python's logging drop the lines below the
    file's level: at `info`, the ~30k debug events of a night are formatted for nothing, on the build's
    GIL-bound threads (1M incremental night, alternated: dbt phase 10.5 / 10.6 -> 10.3 / 9.7 s). The
    file logger dbt builds (`dbt.events.logging._get_logfile_config`, dbt-core 1.11) gets a filter that
    drops them first; the lines written are the same. Returns False, leaving dbt as it is, if a dbt
    version no longer has that function (tests/orchestration/test_dbt_log_level.py says so)."""
    from dbt.events import logging as dbt_logging
    from dbt_common.events.logger import PRINT_EVENT_NAMES, _log_level_map

    build_config = getattr(dbt_logging, "_get_logfile_config", None)
    if build_config is None:
        return False
    if not getattr(build_config, "drops_lines_below_level", False):
        def file_config(*args, **kwargs):
            config = build_config(*args, **kwargs)
            written = {level for level, rank in _log_level_map.items() if rank >= _log_level_map[config.level]}
            config.filter = functools.partial(_at_or_above, written, PRINT_EVENT_NAMES, config.filter)
            return config

        file_config.drops_lines_below_level = True
        dbt_logging._get_logfile_config = file_config
    return True


def reads_info_and_above(callback: Callable) -> Callable:
    """Mark a dbt callback that reads no debug event: with only such callbacks, dbt may skip building
    the debug events no logger writes either (`skip_debug_events_no_one_reads`)."""
    callback.reads_debug_events = False
    return callback


def skip_debug_events_no_one_reads() -> bool:
    """Make dbt drop a debug event no one reads before it builds the event's message.

    dbt builds a message for every event it fires (its text formatted, a protobuf message filled from a
    dict) and only then asks its loggers and callbacks whether they want it: ~7,500 debug events in a 1M-line
    incremental night (a query's SQL, connection chatter), on the build's GIL-bound threads. dbt_common's
    `EventManager.fire_event` gets a test first: an event fired at debug level, not a print event (those are
    written whatever their level), not forced to warn-or-error handling, while every logger is above debug
    and every callback is marked `reads_info_and_above`, is dropped (1M incremental night, alternated: dbt
    phase 11.3 / 11.6 -> 10.9 / 10.7 s). What is written and what our callbacks see is the same (the result
    events are fired at info or above); CWH_DBT_LOG_LEVEL=debug, or any unmarked callback, keeps every event.
    Returns False, leaving dbt as it is, if dbt_common's EventManager no longer has `fire_event`."""
    from dbt import tracking
    from dbt_common.events.event_manager import EventManager

    fire = getattr(EventManager, "fire_event", None)
    if fire is None:
        return False
    # dbt's own callback, added to every invocation, reads only BehaviorChangeEvent (fired at warn)
    if tracker := getattr(tracking, "track_behavior_change_warn", None):
        reads_info_and_above(tracker)
    if not getattr(fire, "skips_unread_debug_events", False):
        def fire_unless_unread(self, e, level=None, node=None, force_warn_or_error_handling=False):
            if not force_warn_or_error_handling and _unread_debug_event(self, e, level):
                return None
            return fire(self, e, level, node, force_warn_or_error_handling)

        fire_unless_unread.skips_unread_debug_events = True
        EventManager.fire_event = fire_unless_unread
    return True


def build_event_data_when_read() -> bool:
    """Make a dbt event fill its protobuf data when something reads it, not when it is made.

    dbt makes every event with its data (`BaseEvent.__init__`: protobuf's pure-Python `ParseDict` of
    the arguments, the node's whole `node_info` among them) before `fire_event` decides whether anyone
    reads it; the debug events `skip_debug_events_no_one_reads` drops (~30k a night) were filled for
    nothing (1M incremental night, alternated: dbt phase 9.7 / 9.9 / 9.9 -> 9.4 / 9.4 / 9.5 s).
    An event keeps its arguments and is filled on first access, by dbt's own `__init__` (its errors
    handled as dbt handles them); events are fired as they are made, so what a reader sees is the same.
    Returns False if it was already so."""
    from dbt_common.events.base_types import BaseEvent

    if getattr(BaseEvent, "builds_data_when_read", False):
        return False
    fill = BaseEvent.__init__

    def remember(self, *args, **kwargs):
        object.__setattr__(self, "_unfilled", (args, kwargs))

    def data(self):
        unfilled = self.__dict__.pop("_unfilled", None)
        if unfilled is not None:
            fill(self, *unfilled[0], **unfilled[1])
        return self.__dict__["pb_msg"]

    def get(self, key):
        if key == "pb_msg":
            if "_unfilled" not in self.__dict__:
                raise AttributeError(key)
            return data(self)
        return getattr(data(self), key)

    def set_attribute(self, key, value):
        if key == "pb_msg":
            object.__setattr__(self, key, value)
        else:
            setattr(data(self), key, value)

    BaseEvent.__init__, BaseEvent.__getattr__, BaseEvent.__setattr__ = remember, get, set_attribute
    BaseEvent.builds_data_when_read = True
    return True


def _unread_debug_event(manager, event, level) -> bool:
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.logger import PRINT_EVENT_NAMES, _log_level_map

    return ((level or event.level_tag()) == EventLevel.DEBUG and type(event).__name__ not in PRINT_EVENT_NAMES
            and all(_log_level_map[logger.level] > _log_level_map[EventLevel.DEBUG] for logger in manager.loggers)
            and all(getattr(callback, "reads_debug_events", True) is False for callback in manager.callbacks))


def _at_or_above(written_levels: set, print_events: tuple, dbt_filter: Callable, msg) -> bool:
    """dbt's own test (`_Logger.write_line`): print events are written as errors, whatever their level."""
    return (msg.info.level in written_levels or msg.info.name in print_events) and dbt_filter(msg)


def quiet_flags() -> tuple[str, ...]:
    level = os.environ.get(DBT_LOG_LEVEL_ENV, "info").strip().lower() or "info"
    if level not in DBT_LOG_LEVELS:
        raise ValueError(f"{DBT_LOG_LEVEL_ENV}={level!r}: use one of {', '.join(DBT_LOG_LEVELS)}")
    return ("--log-level", "none", "--log-level-file", level)


DBT_THREADS_ENV = "CWH_DBT_THREADS"  # dbt_project/profiles.yml reads it (2 by default)
# a whole build reading more landed rows than this runs on one dbt thread (whole_build_threads)
WHOLE_BUILD_ONE_THREAD_ROWS = 15_000_000


def whole_build_threads(rows: int | None) -> list[str]:
    """`--threads 1` for a whole build of a big warehouse, unless CWH_DBT_THREADS says otherwise.

    The build's heavy models share one DuckDB buffer pool (CWH_DUCKDB_MEMORY_LIMIT): built side by side at the
    10M-line bench (39M landed rows), each spills more and two can exhaust it (a `--full-refresh` failed once
    with DuckDB's "Out of Memory Error" in `int_payout_items` and `channel_kpis_daily`, built together); one
    thread built it faster (dbt phase 322.0 → 288.3 s on one home; 314.7 → 304.2 s in an earlier round; README
    Performance). At 1M lines (4.0M rows) two threads overlap dbt's per-node overhead with DuckDB's work (whole
    build 32.6 against 35.6–39.2 s on one), and a night of new days is small: both keep two.
    `rows`: `incremental.whole_build_rows` (None: not a whole build)."""
    if os.environ.get(DBT_THREADS_ENV, "").strip() or rows is None or rows < WHOLE_BUILD_ONE_THREAD_ROWS:
        return []
    return ["--threads", "1"]


def run_dbt(home: Home, *command: str, quiet: bool = True, target: str = "duckdb", callbacks: list | None = None):
    """`run_dbt(home, "build")`, `run_dbt(home, "build", "--select", "marts")`… → dbtRunnerResult.

    `target="spark"` builds the same project on Apache Spark (dbt-spark in session mode, installed by
    `make test-spark`), its metastore and tables under the home's spark/ folder."""
    from dbt.cli.main import dbtRunner

    prepare(home)
    try:
        flags = quiet_flags() if quiet else ()
        return dbtRunner(callbacks=callbacks or []).invoke([*flags, *dbt_args(home, command, target)])
    finally:
        if target == "duckdb":
            release_database()


def parse_project(home: Home, variables: Sequence[str]):
    """`dbt parse` (partial where it can): the dbtRunnerResult, whose `result` is the manifest; it also
    writes target/manifest.json and dbt's partial-parse state."""
    return run_dbt(home, "parse", *variables)


def run_build(home: Home, variables: Sequence[str], *selection: str, callbacks: list | None = None,
              skip_unchanged_seeds: bool = False, manifest=None):
    """`dbt build` of a night's phase: `variables` (snapshot_args()), then selection and flags.
    `skip_unchanged_seeds` (a whole build): seeds and their seed-only tests run only when they changed
    since a build that passed them (`orchestration.pipeline.seed_reload`).

    dbt parses first (partially where it can), writing target/manifest.json and its partial-parse
    state once; the build then runs on that manifest with `--no-write-json`, because dbt would
    otherwise serialise the whole manifest a second time at its end (~1 s a phase, whatever the data).
    run_results.json is written from the result, as dbt does. A parse that fails is returned as the
    result (its exception is the failure the night reports). `manifest`: the project this process
    already parsed with the same `variables` (the night's first phase, for its second: ~0.35 s at 1M
    lines), used as it is."""
    from dbt.cli.main import dbtRunner

    if manifest is None:
        parsed = parse_project(home, variables)
        if not parsed.success:
            return parsed
        manifest = parsed.result
    prepare(home)
    target = home.root / "dbt" / "target"
    seed_plan = seed_reload.plan(home, manifest) if skip_unchanged_seeds else None
    try:
        result = dbtRunner(manifest=manifest, callbacks=callbacks or []).invoke(
            [*quiet_flags(), *dbt_args(home, ["build", *variables, *selection,
                                              *(seed_plan.leave_out if seed_plan else []), "--no-write-json"])])
    finally:
        release_database()
    if seed_plan:
        seed_reload.record(home, seed_plan, result)
    if hasattr(result.result, "write"):
        result.result.write(str(target / "run_results.json"))
    return result


def release_database() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after an in-process run.

    A dbt process would release the build file on exit; in-process, dbt-duckdb caches its
    environment (and the file handle) for the next invocation, and DuckDB then refuses to attach
    the same file again (publish attaches it read-only). Its own `close_all_connections` only
    drops the reference, so the environment is closed here.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    if environment is not None:
        environment.close()


def node_progress(tell: Callable[[str], None]):
    """A dbt callback telling how far a build is as each node starts: 'dbt 525/770 (68%): test
    not_null_…' (dbt's own start line, which the terminal no longer shows)."""
    @reads_info_and_above  # dbt fires its start line at info
    def on_event(event) -> None:
        if event.info.name == "LogStartLine" and event.data.total:
            data = event.data
            tell(f"dbt {data.index}/{data.total} ({data.index / data.total:.0%}): {data.description[:60]}")
    return on_event


def failures(result) -> list[str]:
    """Readable lines for every failed or erroring node of a dbt result."""
    lines = []
    if result.exception is not None:
        lines.append(f"dbt error: {result.exception}")
    for node in getattr(result.result, "results", None) or []:
        if str(node.status) in {"error", "fail", "runtime error"}:
            lines.append(f"{node.node.unique_id}: {node.status}: {node.message}")
    return lines
