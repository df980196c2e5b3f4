"""`cwh` commands of the nightly work: demo, ingest, unland, feeds, quarantine, run, status, build, docs, pnl.

Everything it writes lives under the project home (`CWH_HOME`, default `./data`).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import re
import shlex
import shutil
import sys
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from orchestration.cli.app import _home, app, console

# folders `cwh demo --reset` may clear: everything generated, never the user's config
RESETTABLE = ("landing", "lake", "demo", "warehouse", "outputs")


def _parse_options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"--option takes key=value, got {pair!r}")
        options[key.strip()] = value.strip()
    return options


@app.command()
def demo(
    days: Annotated[int, typer.Option(help="Days of history to generate.")] = 120,
    orders_per_day: Annotated[int, typer.Option(help="Orders per day across all channels.")] = 60,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 7,
    end: Annotated[str, typer.Option(help="Last day of the generated history (YYYY-MM-DD).")] = "2026-10-31",
    messy: Annotated[bool, typer.Option(help="Add realistic defects (bad dates, blank amounts, a duplicated file…).")] = False,
    reset: Annotated[bool, typer.Option(help="Delete landing/, lake/, demo/, warehouse/ and outputs/ of the home first.")] = False,
) -> None:
    """Generate demo landing files for every feed, with the generator's ground truth."""
    from orchestration.demo import generate

    home = _home()
    if reset:
        for name in RESETTABLE:
            shutil.rmtree(home.root / name, ignore_errors=True)
    with console.status("generating demo data…") as status:
        summary = generate(home.root, days=days, orders_per_day=orders_per_day, seed=seed,
                           end=date.fromisoformat(end), messy=messy,
                           progress=lambda msg: status.update(f"generating demo data… {msg}"))
    table = Table("feed", "files", "rows", title=f"Demo data in {home.root / 'landing'}")
    for feed, info in summary.items():
        if isinstance(info, dict):
            table.add_row(feed, str(info.get("files", "")), f"{info.get('rows', 0):,}")
    console.print(table)
    console.print(f"ground truth: {summary.get('truth_dir', home.root / 'demo' / 'truth')}")


def _with_fact_flags(command):
    """One `--<fact>` flag per fact a vendor file may lack (connectors.facts.FACTS, which a test holds
    equal to the keys of every layout's `options`), in place of the command's `**facts`."""
    from connectors.facts import FACTS

    signature = inspect.signature(command, eval_str=True)
    kept = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    flags = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
                 str | None, typer.Option(f"--{name}", help=fact.help, rich_help_panel="Facts the file does not state")])
             for name, fact in FACTS.items()]
    command.__signature__ = signature.replace(parameters=kept + flags)
    return command


@app.command()
@_with_fact_flags
def ingest(
    feed: Annotated[str | None, typer.Argument(help="Feed to land (see `cwh feeds`).")] = None,
    files: Annotated[list[Path] | None, typer.Argument(help="Vendor files; default: every file in landing/<feed>/.")] = None,
    all_feeds: Annotated[bool, typer.Option("--all", help="Land every file waiting in landing/ for every feed.")] = False,
    option: Annotated[list[str] | None, typer.Option(help="Fact the file does not state, as key=value (e.g. currency=USD).")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Land files already landed again (e.g. with a corrected --currency): the earlier landing is superseded.")] = False,
    **facts: str | None,  # one --<fact> flag per connectors.facts.FACTS (see _with_fact_flags)
) -> None:
    """Land vendor files into the raw lake: per file, rows loaded, rows quarantined, or why it was rejected."""
    from connectors.lake import land_file, landing_files
    from connectors.unland import replace_file
    from connectors.landing_safety import sweep_orphans
    from connectors.registry import FEEDS

    home = _home()
    if all_feeds == bool(feed):
        raise typer.BadParameter("name one feed (with files or not), or pass --all")
    options = _facts_given(feed, option or [], facts)
    jobs: list[tuple[str, Path]] = []
    if all_feeds:
        jobs = [(name, path) for name in FEEDS for path in landing_files(home, name)]
    else:
        if feed not in FEEDS:
            raise typer.BadParameter(f"unknown feed {feed!r}; feeds: {', '.join(FEEDS)}")
        targets = files or landing_files(home, feed)
        for path in targets:
            if not path.is_file():
                raise typer.BadParameter(f"{path} is not a file")
        jobs = [(feed, path) for path in targets]
    if not jobs:
        console.print("nothing to land: landing/ has no files" + (f" for {feed}" if feed else ""))
        return
    table = Table("feed", "file", "status", "loaded", "quarantined", "note", title="Landing")
    rejected, to_do = 0, []
    sweep_orphans(home, list(FEEDS))  # what a crashed landing left behind
    guard = _between_runs(home, "cwh ingest --replace") if replace else contextlib.nullcontext()
    with guard, console.status("landing…") as status:
        for index, (name, path) in enumerate(jobs, start=1):
            status.update(f"landing {index}/{len(jobs)}: {name} {path.name}")
            try:
                result = (replace_file if replace else land_file)(home, name, path, options if not all_feeds else None)
            except Exception as err:  # noqa: BLE001 — recorded, alerted, explained; nothing half-landed
                _ingest_failed(home, table, name, path, err)
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
    if rejected:
        console.print(f"[red]{rejected} file(s) rejected[/]: fix or re-export them and land them again.")
        raise typer.Exit(1)


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


def _facts_given(feed: str | None, pairs: list[str], flags: dict[str, str | None]) -> dict[str, str]:
    """The facts of the command line (`--option k=v` and `--<fact>` flags), checked: values that exist
    (connectors.facts), and facts the feed's layouts take."""
    from connectors.facts import FactError, check_facts
    from connectors.registry import FEEDS

    given = {**_parse_options(pairs), **{name: value for name, value in flags.items() if value is not None}}
    if not given or feed not in FEEDS:
        if given and feed is None:
            raise typer.BadParameter("facts (--currency, --channel, …) describe one feed's files: name the feed, not --all")
        return given
    taken = sorted({name for layout in FEEDS[feed].formats for name in layout.options})
    unknown = sorted(set(given) - set(taken))
    if unknown:
        raise typer.BadParameter(f"{feed} files take no {', '.join('--' + n for n in unknown)}; "
                                 + (f"they take {', '.join('--' + n for n in taken)}" if taken else "they need no facts"))
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
    feed: Annotated[str, typer.Argument(help="Feed the files were landed in (see `cwh feeds`).")],
    files: Annotated[list[str], typer.Argument(help="Landed files: a path (matched by content), a file name, or a file id.")],
    reason: Annotated[str, typer.Option(help="Why they are removed (kept in the ledger's removal record).")] = "removed with cwh unland",
) -> None:
    """Take landed files out of the lake (a wrong file, a file of another feed): their Parquet, quarantine,
    ledger record and landing copy move to lake/removed/<feed>/, the ledger records the removal, and the
    next `cwh run` removes their rows from staging and the marts (docs/incremental.md)."""
    from connectors.registry import FEEDS
    from connectors.unland import UnlandError, find_landed, unland as unland_file

    if feed not in FEEDS:
        raise typer.BadParameter(f"unknown feed {feed!r}; feeds: {', '.join(FEEDS)}")
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


@app.command()
def feeds(
    feed: Annotated[str | None, typer.Argument(help="Show one feed's contract in full.")] = None,
) -> None:
    """List the feeds, their contracts and what is landed."""
    from connectors.lake import ledger_records, rejections
    from connectors.registry import FEEDS

    home = _home()
    if feed:
        _show_contract(feed)
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
    table = Table("feed", "source", "owner", "cadence", "SLA h", "files", "rows", "quarantined",
                  "rejected", "newest event", title=f"Feeds (home: {home.root})")
    for name, spec in FEEDS.items():
        contract, s = spec.contract, stats[name]
        table.add_row(name, contract.source_system, contract.owner["team"], contract.cadence,
                      str(contract.freshness_sla_hours), str(s["files"]), f"{s['rows']:,}",
                      f"{s['quarantined']:,}", str(rejected[name] or ""), s["newest"])
    console.print(table)
    total_rows = sum(s["rows"] for s in stats.values())
    total_q = sum(s["quarantined"] for s in stats.values())
    console.print(f"{total_rows:,} rows landed, {total_q:,} quarantined "
                  f"(`cwh quarantine` shows them with their reasons)")
    console.print(f"raw lake:   {home.root / 'lake' / 'raw'}\nquarantine: {home.root / 'lake' / 'quarantine'}\n"
                  f"ledger:     {home.root / 'lake' / 'ledger'}\nlanding:    {home.root / 'landing'}")


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
    feed: Annotated[str | None, typer.Argument(help="Only this feed.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 20,
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


@app.command()
def run(
    run_date: Annotated[str | None, typer.Option("--date", help="Logical date of the run (YYYY-MM-DD); default today (UTC).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Backfill: re-process event dates from this day (YYYY-MM-DD) to the day before --date.")] = None,
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help="Rebuild every date, not only the new ones (after a retroactive COGS or FX change).")] = False,
    wait: Annotated[int, typer.Option("--wait", help="Seconds to wait for a run already working on this home (default: refuse at once).")] = 0,
) -> None:
    """The nightly job, end to end: land what is in landing/, check every feed against its SLA, build
    the warehouse, audit it, publish it atomically — or hold the publish and say why. The build is
    incremental: the day before --date, plus each feed's late-arriving days (docs/incremental.md)."""
    from datetime import UTC, datetime

    from orchestration.pipeline.run import nightly_run
    from connectors.home import published_database
    from orchestration.pipeline.run_lock import RunLocked

    home = _home()
    logical = date.fromisoformat(run_date) if run_date else datetime.now(UTC).date()
    try:
        with console.status("nightly run…") as status:
            report = nightly_run(home, logical, since=date.fromisoformat(since) if since else None,
                                 full_refresh=full_refresh, progress=lambda msg: status.update(f"nightly run: {msg}…"),
                                 lock_wait_seconds=wait, command="cwh " + " ".join(sys.argv[1:]))
    except RunLocked as err:
        console.print(f"[red]not started[/]: {err}", soft_wrap=True)
        raise typer.Exit(2) from None
    if report.failure:
        console.print(f"[red]run failed[/]: {report.failure}", soft_wrap=True)
        raise typer.Exit(1)
    loaded = [r for r in report.landed if r.status == "loaded"]
    console.print(f"run {report.run_id} (logical date {logical}): {len(loaded)} new file(s) landed, "
                  f"{sum(r.rows_loaded for r in loaded):,} rows")
    if report.build_window:
        window = report.build_window
        console.print(f"built event dates {window.first_day} … {window.last_day} (+ each feed's late-arriving days)"
                      + "".join(f"; {reason}" for reason in window.reasons))
    counts = {s: sum(c.status == s for c in report.checks) for s in ("ok", "warn", "fail")}
    console.print(f"checks: {counts['ok']} ok, {counts['warn']} warnings, {counts['fail']} failed")
    if report.alerts:
        table = Table("status", "feed", "check", "owner", "detail", "suggested action", title="Alerts")
        for alert in report.alerts:
            style = "red" if alert["status"] == "fail" else "yellow"
            table.add_row(f"[{style}]{alert['status']}[/]", alert["feed"], alert["check"],
                          f"{alert['owner']} <{alert['owner_contact']}>", alert["detail"], alert["suggested_action"])
        console.print(table)
    if report.published:
        result = report.publish
        console.print(f"[green]published[/] {result.tables} tables, {result.rows:,} rows in {result.seconds:.1f}s → "
                      f"{result.path}\nanalysts: duckdb -readonly {result.path}")
        return
    console.print(f"[red]publish held[/]: {report.held_reason}. The published database is unchanged "
                  f"({published_database(home)}); `cwh status` shows every feed's state.")
    for check in report.blocking_failures:
        console.print(f"  [red]{check.feed} / {check.check}[/]: {check.detail} → {check.suggested_action} "
                      f"(owner: {check.owner})")
    raise typer.Exit(1)


@app.command()
def status(
    as_of: Annotated[str | None, typer.Option("--date", help="Judge lags as of this date (default today, UTC).")] = None,
) -> None:
    """Per feed: owner, last event, last load, lag, SLA, state (ok / late / failing), since when, and
    how often it failed in the last 30 days."""
    from datetime import UTC, datetime

    from orchestration.pipeline.ops.status import feed_sla_status, render_status

    day = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
    console.print(render_status(feed_sla_status(_home(), as_of=day)))


PNL_COLUMNS = ("net_revenue", "cm1", "cm2", "cm3", "contribution_after_opex")


@app.command()
def build() -> None:
    """Build the warehouse (dbt: staging → intermediate → marts, with every test), then print the
    channel P&L of the last full month."""
    from orchestration.pipeline.dbt import failures, run_dbt
    from connectors.home import build_database

    home = _home()
    with console.status("dbt build: staging → intermediate → marts, with tests…"):
        result = run_dbt(home, "build")
    if not result.success:
        console.print("[red]dbt build failed[/]:")
        for line in failures(result):
            console.print(f"  {line}")
        raise typer.Exit(1)
    nodes = getattr(result.result, "results", None) or []
    console.print(f"dbt build: {len(nodes)} models, seeds and tests passed → {build_database(home)}")
    pnl(month=None)


@app.command()
def docs() -> None:
    """Generate the dbt documentation site (every mart and column described) under the home."""
    from orchestration.pipeline.dbt import failures, run_dbt

    home = _home()
    with console.status("dbt docs generate…"):
        result = run_dbt(home, "docs", "generate")
    if not result.success:
        console.print("[red]dbt docs generate failed[/]: " + "; ".join(failures(result)))
        raise typer.Exit(1)
    site = home.root / "dbt" / "target" / "index.html"
    console.print(f"documentation: {site} (open it, or `dbt docs serve --project-dir dbt_project`)")


def _last_full_month(last_day: date | None) -> date | None:
    """First day of the latest month the data covers to its last day."""
    if last_day is None:
        return None
    first = last_day.replace(day=1)
    if (last_day + timedelta(days=1)).month != last_day.month:
        return first
    return (first - timedelta(days=1)).replace(day=1)


@app.command()
def pnl(
    month: Annotated[str | None, typer.Option(help="Month to show (YYYY-MM); default: the last full month.")] = None,
) -> None:
    """Print the channel P&L of one month from the published warehouse (the build database when
    nothing is published yet)."""
    import duckdb

    from connectors.home import build_database
    from connectors.home import published_database

    home = _home()
    database = published_database(home)
    if not database.exists():
        database = build_database(home)
    if not database.exists():
        console.print("no warehouse yet: run `cwh run` (or `cwh build`) first")
        raise typer.Exit(1)
    with duckdb.connect(str(database), read_only=True) as con:
        if month is None:
            chosen = _last_full_month(con.execute("select max(order_date) from marts.fct_order_lines").fetchone()[0])
        else:
            chosen = date.fromisoformat(f"{month}-01")
        rows = con.execute(
            f"select channel, {', '.join(PNL_COLUMNS)}, cm3_pct from marts.channel_pnl_monthly "
            "where month = ? order by net_revenue desc", [chosen]).fetchall()
    table = Table("channel", *(c.replace("_", " ") for c in PNL_COLUMNS), "cm3 %",
                  title=f"Channel P&L, {chosen:%B %Y} (reporting currency)" if chosen else "Channel P&L")
    totals = [0] * len(PNL_COLUMNS)
    for channel, *amounts, cm3_pct in rows:
        totals = [t + (a or 0) for t, a in zip(totals, amounts)]
        table.add_row(channel, *(f"{a:,.2f}" for a in amounts), f"{cm3_pct:.1%}" if cm3_pct is not None else "")
    table.add_row("[bold]total[/]", *(f"[bold]{t:,.2f}[/]" for t in totals), "")
    console.print(table)
    console.print(f"warehouse: {database}  (duckdb -readonly {database} → select * from marts.channel_pnl_monthly)")


if __name__ == "__main__":  # pragma: no cover
    app()
