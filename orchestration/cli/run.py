"""`cwh run` and `cwh status`: the nightly job end to end, and each feed's SLA state.

Everything it writes lives under the project home (`CWH_HOME`, default `./data`).
"""

from __future__ import annotations

import sys
from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from orchestration.cli.app import _home, app, console
from orchestration.cli.options import date_option


@app.command()
def run(
    run_date: Annotated[date | None, date_option(
        "--date", help="Logical date of the run (YYYY-MM-DD), a day of the business time zone; default today.")] = None,
    since: Annotated[date | None, date_option(
        "--since",
        help="Backfill: re-process event dates from this day (YYYY-MM-DD) to the day before --date.")] = None,
    full_refresh: Annotated[bool, typer.Option(
        "--full-refresh",
        help="Rebuild every date, not only the new ones (after a retroactive COGS or FX change).")] = False,
    wait: Annotated[int, typer.Option(
        "--wait", help="Seconds to wait for a run already working on this home (default: refuse at once).",
        min=0)] = 0,
) -> None:
    """The nightly job, end to end: land what is in landing/, check every feed against its SLA, build
    the warehouse, audit it, publish it atomically — or hold the publish and say why. The build is
    incremental: the day before --date, plus each feed's late-arriving days (docs/incremental.md)."""
    from orchestration.pipeline.gates.suite_worker import prestart

    prestart()  # GE's helper process imports it on the other core while this one imports the night's code
    from connectors.home import business_today, published_database
    from orchestration.launch import nightly_run
    from orchestration.pipeline.run_lock import RunLocked

    home = _home()
    logical = run_date or business_today(home)
    if since and since >= logical:
        raise typer.BadParameter(f"--since {since} is not before the logical date {logical}: a backfill re-processes "
                                 "the event days from --since to the day before --date")
    try:
        with console.status("nightly run…") as status:
            report = nightly_run(home, logical, since=since,
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
    # a held run's blocking failures are listed once, below, with the held line
    held_for = set() if report.published else {(c.feed, c.check) for c in report.blocking_failures}
    alerts = [alert for alert in report.alerts if (alert["feed"], alert["check"]) not in held_for]
    if alerts:
        table = Table("status", "feed", "check", "owner", "detail", "suggested action", title="Alerts")
        for alert in alerts:
            style = "red" if alert["status"] == "fail" else "yellow"
            table.add_row(f"[{style}]{alert['status']}[/]", alert["feed"], alert["check"],
                          f"{alert['owner']} <{alert['owner_contact']}>", alert["detail"], alert["suggested_action"])
        console.print(table)
    if report.published:
        result = report.publish
        console.print(f"[green]published[/] {result.tables} tables ({result.changed} changed), {result.rows:,} rows "
                      f"in {result.seconds:.1f}s → "
                      f"{result.path}\nanalysts: cwh sql (or any DuckDB 1.2+: duckdb -readonly {result.path})")
        return
    console.print(f"[red]publish held[/]: {report.held_reason}. The published database is unchanged "
                  f"({published_database(home)}); `cwh status` shows every feed's state.")
    for check in report.blocking_failures:
        console.print(f"  [red]{check.feed} / {check.check}[/]: {check.detail} → {check.suggested_action} "
                      f"(owner: {check.owner})")
    raise typer.Exit(1)


@app.command()
def status(
    as_of: Annotated[date | None, date_option(
        "--date", help="Judge lags as of this date (default: the logical date of the latest run; "
                       "today, UTC, before any run).")] = None,
) -> None:
    """Per feed: owner, last event, last load, lag, SLA, state (ok / late / failing), since when, and
    how often it failed in the last 30 days."""
    from connectors.home import business_timezone, business_today
    from orchestration.pipeline.ops.status import feed_sla_status, last_run, render_status

    home = _home()
    latest = last_run(home)
    if as_of:
        day, which = as_of, "as given"
    elif latest:
        day, which = latest[0], f"the logical date of the latest run, {latest[1]}; --date for another day"
    else:
        day, which = business_today(home), f"today ({business_timezone(home)}): no run recorded yet"
    console.print(render_status(feed_sla_status(home, as_of=day)))
    console.print(f"judged as of {day} ({which})", highlight=False)
