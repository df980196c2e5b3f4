"""`cwh` commands of the landing side: ingest, unland, feeds, quarantine.

Everything it writes lives under the project home (`CWH_HOME`, default `./data`).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import re
import shlex
from collections import defaultdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from typer.core import TyperCommand

from orchestration.cli.app import _home, app, console
from orchestration.cli.options import feed_argument


def _parse_options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"--option takes key=value, got {pair!r}")
        options[key.strip()] = value.strip()
    return options



def _with_fact_flags(command):
    """One `--<fact>` flag per fact a vendor file may lack (connectors.facts.FACTS, which a test holds
    equal to the keys of every layout's `options`), in place of the command's `**facts`."""
    from connectors.facts import FACTS

    signature = inspect.signature(command, eval_str=True)
    kept = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    panel = "Facts the file does not state"
    flags = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
                 str | None, typer.Option(f"--{name}", help=fact.help, rich_help_panel=panel)])
             for name, fact in FACTS.items()]
    command.__signature__ = signature.replace(parameters=kept + flags)
    return command


@app.command()
@_with_fact_flags
def ingest(
    feed: Annotated[str | None, feed_argument(help="Feed to land (see `cwh feeds`).")] = None,
    files: Annotated[list[Path] | None, typer.Argument(
        help="Vendor files; default: every file in landing/<feed>/.")] = None,
    all_feeds: Annotated[bool, typer.Option(
        "--all", help="Land every file waiting in landing/ for every feed.")] = False,
    option: Annotated[list[str] | None, typer.Option(
        help="Fact the file does not state, as key=value (e.g. currency=USD).")] = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Land files already landed again (e.g. with a corrected --currency): the earlier landing "
        "is superseded.")] = False,
    **facts: str | None,  # one --<fact> flag per connectors.facts.FACTS (see _with_fact_flags)
) -> None:
    """Land vendor files into the raw lake: per file, rows loaded, rows quarantined, or why it was rejected."""
    from connectors.lake import land_file, landing_files
    from connectors.landing_safety import sweep_orphans
    from connectors.registry import FEEDS
    from connectors.unland import replace_file

    home = _home()
    if all_feeds == bool(feed):
        raise typer.BadParameter("name one feed (with files or not), or pass --all")
    options = _facts_given(feed, option or [], facts)
    off = _disabled_feeds(home, feed)
    jobs: list[tuple[str, Path]] = []
    if all_feeds:
        jobs = [(name, path) for name in FEEDS if name not in off for path in landing_files(home, name)]
        _stray_landing_folders(home)
    else:
        targets = files or landing_files(home, feed)
        for path in targets:
            if not path.is_file():
                raise typer.BadParameter(f"{path}: {'not a file' if path.exists() else 'no such file'}")
        jobs = [(feed, path) for path in targets]
    if not jobs:
        console.print("nothing to land: landing/ has no files" + (f" for {feed}" if feed else ""))
        return
    table = Table("feed", "file", "status", "loaded", "quarantined", "note", title="Landing")
    rejected, to_do = 0, []
    sweep_orphans(home, list(FEEDS))  # what a crashed landing left behind
    guard = _between_runs(home, "cwh ingest --replace") if replace else contextlib.nullcontext()
    results = []
    with guard, _landing_display() as display:
        for index, (name, path) in enumerate(jobs, start=1):
            label = f"{index}/{len(jobs)} {name} {path.name}"
            task = display.add_task(label, total=1.0)
            try:
                result = (replace_file if replace else land_file)(home, name, path, options if not all_feeds else None,
                                                                  progress=_file_progress(display, task, label))
            except Exception as err:  # noqa: BLE001 — recorded, alerted, explained; nothing half-landed
                _ingest_failed(home, table, name, path, err)
            display.remove_task(task)
            results.append(result)
            rejected += result.status == "rejected"
            note = _runnable(result.reason, name, path, named=bool(files)) if result.status != "loaded" \
                else _drift_note(result)
            if COMMAND_IN_MESSAGE.search(note):  # whole lines below the table: copied as printed
                to_do.append(f"{name} {path}: {note}")
                note = "see below"
            style = {"rejected": "red", "duplicate": "dim"}.get(result.status, "")
            table.add_row(name, result.file, f"[{style}]{result.status}[/]" if style else result.status,
                          f"{result.rows_loaded:,}", f"{result.rows_quarantined:,}", note)
    console.print(table)
    for line in to_do:
        console.print(line, soft_wrap=True, markup=False, highlight=False)
    console.print(_landing_summary(results), highlight=False)
    if rejected:
        console.print(f"[red]{rejected} file(s) rejected[/]: fix or re-export them and land them again.")
        raise typer.Exit(1)


def _stray_landing_folders(home) -> None:
    """A folder of landing/ that is no feed's (landing/shopify/): its files would wait there forever."""
    from connectors.registry import FEEDS
    from orchestration.cli.options import suggest

    landing = home.root / "landing"
    for folder in sorted(landing.iterdir()) if landing.is_dir() else []:
        files = [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
        if folder.name not in FEEDS and not folder.name.startswith((".", "_")) and files:
            console.print(f"[yellow]landing/{folder.name}/ is no feed's folder[/]: its {len(files)} file(s) are not "
                          f"landed; {suggest(folder.name, FEEDS)} (move them to landing/<feed>/)",
                          soft_wrap=True, highlight=False)


# share of a file's landing time each stage takes (a 130 MB Shopify export: 45 % splitting it into
# records, 25 % DuckDB's strict read, 30 % typing rows against the contract): one bar that only grows
STAGES = {"reading": (0.0, 0.45, "lines"), "parsing": (0.45, 0.25, "rows"), "checking": (0.7, 0.3, "rows")}


@contextlib.contextmanager
def _landing_display():
    """While files land: per file, the stage, the rows so far and a percentage (gone once it lands:
    the table says how it went)."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as display:
        yield display


def _file_progress(display, task, label: str):
    """connectors.reader.Progress for one file's line of the display."""
    def report(stage: str, rows: int, fraction: float) -> None:
        start, share, unit = STAGES.get(stage, (0.0, 1.0, "rows"))
        display.update(task, description=f"{label}: {stage} {rows:,} {unit}", completed=start + share * fraction)
    return report


def _landing_summary(results) -> str:
    """The whole ingest in one line: files, rows landed, quarantined, rejected."""
    count = {status: sum(r.status == status for r in results) for status in ("loaded", "duplicate", "rejected")}
    rows = sum(r.rows_loaded for r in results)
    quarantined = sum(r.rows_quarantined for r in results)
    return (f"{len(results)} file(s): {count['loaded']} landed ({rows:,} rows, {quarantined:,} quarantined), "
            f"{count['duplicate']} already landed, {count['rejected']} rejected")


def _ingest_failed(home, table: Table, feed: str, path: Path, err: Exception) -> None:
    """A landing that crashed: recorded as a held run, alerted, one paragraph; nothing was committed."""
    import uuid
    from datetime import UTC, datetime

    from orchestration.pipeline.run import RunReport, record_failure

    report = RunReport(f"ingest-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}", datetime.now(UTC).date())
    message = record_failure(home, report, "ingest", err)
    console.print(table)
    console.print(f"[red]{feed} {path.name} was not landed[/]: {message}", soft_wrap=True)
    raise typer.Exit(1)


@contextlib.contextmanager
def _between_runs(home, command: str):
    """Hold the home's run lock (orchestration/pipeline/run_lock.py): a landed file is never taken out of the
    lake while a run builds from it. Refuses at once, naming the running one."""
    from datetime import UTC, datetime

    from orchestration.pipeline.run_lock import RunLocked, run_lock

    held = contextlib.ExitStack()
    try:
        held.enter_context(run_lock(home, f"{command.split()[1]}-{datetime.now(UTC):%Y%m%dT%H%M%S}", command=command))
    except RunLocked as err:
        console.print(f"[red]nothing removed[/]: {err}", soft_wrap=True)
        raise typer.Exit(2) from None
    with held:
        yield


def _disabled_feeds(home, feed: str | None) -> list[str]:
    """The feeds switched off (connectors/feed_switches.py); a disabled feed named is refused."""
    from connectors.feed_switches import disabled_feeds, disabled_note

    off = disabled_feeds(home)
    if feed in off:
        console.print(f"[red]nothing landed[/]: {disabled_note(home, feed)}", soft_wrap=True)
        raise typer.Exit(1)
    if off and feed is None:  # --all
        console.print(f"disabled, not landed: {', '.join(off)} (`cwh feeds enable FEED` turns one on)")
    return off


def _facts_given(feed: str | None, pairs: list[str], flags: dict[str, str | None]) -> dict[str, str]:
    """The facts of the command line (`--option k=v` and `--<fact>` flags), checked: values that exist
    (connectors.facts), and facts the feed's layouts take."""
    from connectors.facts import FactError, check_facts
    from connectors.registry import FEEDS

    given = {**_parse_options(pairs), **{name: value for name, value in flags.items() if value is not None}}
    if not given or feed not in FEEDS:
        if given and feed is None:
            raise typer.BadParameter("facts (--currency, --channel, …) describe one feed's files: "
                                     "name the feed, not --all")
        return given
    taken = sorted({name for layout in FEEDS[feed].formats for name in layout.options})
    unknown = sorted(set(given) - set(taken))
    if unknown:
        they_take = f"they take {', '.join('--' + n for n in taken)}" if taken else "they need no facts"
        raise typer.BadParameter(f"{feed} files take no {', '.join('--' + n for n in unknown)}; {they_take}")
    try:
        return check_facts(given)
    except FactError as err:
        raise typer.BadParameter(str(err)) from None


COMMAND_IN_MESSAGE = re.compile(r"`(cwh [^`]*)`")


def _runnable(note: str, feed: str, path: Path, named: bool = True) -> str:
    """A message about one file: its cwh ingest commands name that very file as it was given (for the
    FILE placeholder, the bare file name, or no file at all), so they work exactly as printed."""
    quoted = shlex.quote(str(path))

    def name_the_file(match: re.Match) -> str:
        command = match.group(1)
        words = command.split(" ")
        if words[1] != "ingest" or len(words) < 3:
            return match.group(0)
        if "FILE" in words or path.name in words:
            command = " ".join(quoted if word in ("FILE", path.name) else word for word in words)
        elif len(words) == 3 or words[3].startswith("--"):
            command = " ".join([*words[:3], quoted, *words[3:]])
        return f"`{command}`"

    if note == "already landed" and named:  # a file named on the command line, not landing/'s archive
        note += f": to land it again with corrected facts, `cwh ingest {feed} FILE --replace` and the facts"
    return COMMAND_IN_MESSAGE.sub(name_the_file, note)


def _drift_note(result) -> str:
    notes = []
    if result.non_data_rows:
        notes.append(f"{result.non_data_rows} non-data rows skipped")
    if result.extra_columns:
        notes.append("new columns: " + ", ".join(result.extra_columns))
    return "; ".join(notes)


@app.command()
def unland(
    feed: Annotated[str, feed_argument(help="Feed the files were landed in (see `cwh feeds`).")],
    files: Annotated[list[str], typer.Argument(
        help="Landed files: a path (matched by content), a file name, or a file id.")],
    reason: Annotated[str, typer.Option(
        help="Why they are removed (kept in the ledger's removal record).")] = "removed with cwh unland",
) -> None:
    """Take landed files out of the lake (a wrong file, a file of another feed): their Parquet, quarantine,
    ledger record and landing copy move to lake/removed/<feed>/, the ledger records the removal, and the
    next `cwh run` removes their rows from staging and the marts (docs/incremental.md)."""
    from connectors.unland import UnlandError, find_landed
    from connectors.unland import unland as unland_file

    home = _home()
    try:
        for name in files:  # every file found before any moves
            find_landed(home, feed, name)
    except UnlandError as err:
        raise typer.BadParameter(str(err)) from None
    table = Table("feed", "file", "file id", "rows removed", "quarantined rows removed", "archived in", title="Removed")
    with _between_runs(home, "cwh unland"):
        for name in files:
            record = unland_file(home, feed, name, reason)
            landed = record["landed"]
            table.add_row(feed, record["file"], record["file_id"], f"{landed.get('rows_loaded', 0):,}",
                          f"{landed.get('rows_quarantined', 0):,}", record["archive"])
    console.print(table)
    console.print("the next `cwh run` rebuilds the staging tables of the feed and re-processes the removed "
                  "files' event dates: their rows leave staging and the marts")


class _FeedsCommand(TyperCommand):
    """`cwh feeds enable FEED` and `cwh feeds disable FEED` are read as `cwh feeds FEED --enable`
    (`--disable`), so the feed name is checked like every other one."""

    def parse_args(self, ctx, args):
        if args and args[0] in ("enable", "disable"):
            args = [*args[1:], f"--{args[0]}"]
        return super().parse_args(ctx, args)


@app.command(cls=_FeedsCommand)
def feeds(
    feed: Annotated[str | None, feed_argument(help="Show one feed's contract in full.")] = None,
    enable: Annotated[bool, typer.Option(
        "--enable", help="Switch the feed on (`cwh feeds enable FEED` too).")] = False,
    disable: Annotated[bool, typer.Option(
        "--disable", help="Switch the feed off: no gates, its files are not landed, its models read no rows "
        "(`cwh feeds disable FEED` too; kept in config/feed_options.yml).")] = False,
) -> None:
    """List the feeds, their contracts and what is landed; `cwh feeds enable|disable FEED` switches one."""
    from connectors.feed_switches import disabled_feeds, disabled_note
    from connectors.lake import ledger_records, rejections
    from connectors.registry import FEEDS

    home = _home()
    if enable or disable:
        _switch(home, feed, enable, disable)
        return
    if feed:
        _show_contract(feed)
        if feed in disabled_feeds(home):
            console.print(f"[yellow]{disabled_note(home, feed)}[/]", soft_wrap=True)
        _show_landed_files(home, feed)
        return
    stats: dict[str, dict] = defaultdict(lambda: {"files": 0, "rows": 0, "quarantined": 0, "last": "", "newest": ""})
    for record in ledger_records(home):
        s = stats[record["feed"]]
        s["files"] += 1
        s["rows"] += record["rows_loaded"]
        s["quarantined"] += record["rows_quarantined"]
        s["last"] = max(s["last"], record["loaded_at"][:19])
        s["newest"] = max(s["newest"], str(record.get("max_event_time") or "")[:19])
    rejected = defaultdict(int)
    for record in rejections(home):
        rejected[record["feed"]] += 1
    off = disabled_feeds(home)
    table = Table("feed", "on", "source", "owner", "cadence", "SLA h", "files", "rows", "quarantined",
                  "rejected", "newest event", title=f"Feeds (home: {home.root})")
    for name, spec in FEEDS.items():
        contract, s = spec.contract, stats[name]
        table.add_row(name, "[dim]off[/]" if name in off else "yes", contract.source_system,
                      contract.owner["team"], contract.cadence,
                      str(contract.freshness_sla_hours), str(s["files"]), f"{s['rows']:,}",
                      f"{s['quarantined']:,}", str(rejected[name] or ""), s["newest"])
    console.print(table)
    total_rows = sum(s["rows"] for s in stats.values())
    total_q = sum(s["quarantined"] for s in stats.values())
    console.print(f"{total_rows:,} rows landed, {total_q:,} quarantined "
                  f"(`cwh quarantine` shows them with their reasons)")
    if off:
        console.print(f"disabled ({home.feed_options_file}): {', '.join(off)}: no gates, not landed, their "
                      "models read no rows; `cwh feeds enable FEED` turns one on", soft_wrap=True)
    console.print(f"raw lake:   {home.root / 'lake' / 'raw'}\nquarantine: {home.root / 'lake' / 'quarantine'}\n"
                  f"ledger:     {home.root / 'lake' / 'ledger'}\nlanding:    {home.root / 'landing'}")


def _switch(home, feed: str | None, enable: bool, disable: bool) -> None:
    """Switch one feed on or off in config/feed_options.yml and say what changes at the next run."""
    from connectors.feed_switches import NEEDED_BY, FeedSwitchError, disabled_feeds, needed_by, set_enabled

    if enable == disable or not feed:
        raise typer.BadParameter("name one feed and one switch: `cwh feeds enable FEED` or `cwh feeds disable FEED`")
    try:
        changed = set_enabled(home, feed, enable)
    except FeedSwitchError as err:
        console.print(f"[red]not changed[/]: {err}", soft_wrap=True)
        raise typer.Exit(1) from None
    state = "enabled" if enable else "disabled"
    if not changed:
        console.print(f"{feed} is already {state} ({home.feed_options_file})")
    elif enable:
        console.print(f"{feed} enabled ({home.feed_options_file}): the next `cwh run` lands its files and gates it")
    else:
        console.print(f"{feed} disabled ({home.feed_options_file}): from the next `cwh run` it has no gates, its "
                      "files stay in landing/ and its models read no rows (zeros in the marts)", soft_wrap=True)
    for needed in (f for f in NEEDED_BY if f in disabled_feeds(home) and needed_by(home, f)):
        console.print(f"[yellow]{needed} is disabled but {', '.join(needed_by(home, needed))} need it[/]: "
                      f"`cwh feeds enable {needed}`, or the run is held", soft_wrap=True)


def _show_contract(feed: str) -> None:
    from connectors.registry import feed_spec

    spec = feed_spec(feed)
    contract = spec.contract
    console.print(f"[bold]{contract.feed}[/] — {contract.title} ({contract.source_system})\n{contract.description}")
    console.print(f"owner: {contract.owner['team']} <{contract.owner['contact']}>; cadence {contract.cadence}; "
                  f"freshness SLA {contract.freshness_sla_hours} h; event time: {contract.event_time_column}; "
                  f"primary key: {', '.join(contract.primary_key)}")
    console.print("layouts read: " + "; ".join(f.label for f in spec.formats))
    table = Table("column", "type", "required", "nullable", "pii", "description")
    for col in contract.columns:
        table.add_row(col.name, col.type, "yes" if col.required else "", "" if col.nullable else "no",
                      col.pii or "", col.description)
    console.print(table)


def _show_landed_files(home, feed: str, limit: int = 30) -> None:
    """The feed's landed files (newest first) with the facts they were landed with, then the removed
    ones: what cwh ingest --replace and cwh unland act on."""
    from connectors.lake import ledger_records
    from connectors.unland import removal_records

    records = sorted(ledger_records(home, feed), key=lambda r: r["loaded_at"], reverse=True)
    table = Table("file", "file id", "landed", "rows", "quarantined", "facts",
                  title=f"Landed files of {feed} ({len(records)}; newest {min(limit, len(records))})")
    for record in records[:limit]:
        facts = ", ".join(f"{k}={v}" for k, v in sorted((record.get("options") or {}).items()))
        table.add_row(record["file"], record["file_id"], record["loaded_at"][:19], f"{record['rows_loaded']:,}",
                      f"{record['rows_quarantined']:,}", facts)
    console.print(table)
    removed = list(removal_records(home, feed))
    if removed:
        gone = Table("file", "file id", "removed", "action", "reason", "archived in", title=f"Removed files of {feed}")
        for record in removed[-limit:]:
            gone.add_row(record["file"], record["file_id"], record["removed_at"][:19], record["action"],
                         record["reason"], record["archive"])
        console.print(gone)
    console.print(f"to land a file again with corrected facts: `cwh ingest {feed} FILE --replace` and the facts; "
                  f"to take one out: `cwh unland {feed} FILE_OR_ID`", soft_wrap=True)


@app.command()
def quarantine(
    feed: Annotated[str | None, feed_argument(help="Only this feed.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.", min=1)] = 20,
) -> None:
    """Show quarantined rows: file, line, reason and the raw values."""
    import duckdb

    home = _home()
    folder = home.root / "lake" / "quarantine" / (feed or "*")
    files = list(home.root.glob(f"lake/quarantine/{feed or '*'}/*.parquet"))
    if not files:
        console.print("no quarantined rows")
        return
    rows = duckdb.execute(  # the path is a bound parameter: a home may hold a quote (o'brien)
        "select feed, source_file, line, reason, raw_values from read_parquet(?) "
        "order by feed, source_file, line limit ?", [str(folder / "*.parquet"), int(limit)]).fetchall()
    table = Table("feed", "file", "line", "reason", "raw values", title="Quarantine")
    for row in rows:
        raw = json.loads(row[4])
        table.add_row(row[0], row[1], str(row[2]), row[3], json.dumps(raw, ensure_ascii=False)[:120])
    console.print(table)
