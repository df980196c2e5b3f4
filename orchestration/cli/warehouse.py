"""`cwh build`, `cwh docs` and `cwh pnl`: the dbt warehouse by hand, its documentation, and the
channel P&L of a month. `build` ends by printing the P&L, so the three live together.
"""

from __future__ import annotations

import sys
from datetime import date, timedelta
from typing import Annotated

import typer
from rich.table import Table

from orchestration.cli.app import _home, app, console
from orchestration.cli.options import date_option, month_option, require_data

PNL_COLUMNS = ("net_revenue", "cm1", "cm2", "cm3", "contribution_after_opex")


@app.command()
def build(
    run_date: Annotated[date | None, date_option(
        "--date", help="Build the event dates up to the day before this date (YYYY-MM-DD), as cwh run "
                       "--date does; default today in the business time zone.")] = None,
) -> None:
    """Rebuild the build database whole from the landed files (dbt: staging → intermediate → marts,
    with every test, unit tests included), then print the channel P&L of its last full month. No
    landing, no gates, no publish: for a changed dbt model, or to read a failed build's errors. The
    next `cwh run` carries on incrementally from it."""
    from datetime import UTC, datetime

    from connectors.home import build_database, business_today
    from orchestration.pipeline.dbt import failures
    from orchestration.pipeline.run_lock import RunLocked, run_lock

    home = _home()
    last_day = (run_date or business_today(home)) - timedelta(days=1)
    try:
        with run_lock(home, f"build-{datetime.now(UTC):%Y%m%dT%H%M%S}", command="cwh " + " ".join(sys.argv[1:])), \
                console.status("dbt build: staging → intermediate → marts, with tests…") as status:
            result = _full_build(home, last_day, progress=status.update)
    except RunLocked as err:  # one writer per build database
        console.print(f"[red]not started[/]: {err}", soft_wrap=True)
        raise typer.Exit(2) from None
    if not result.success:
        console.print("[red]dbt build failed[/]:")
        for line in failures(result):
            console.print(f"  {line}")
        raise typer.Exit(1)
    nodes = getattr(result.result, "results", None) or []
    console.print(f"dbt build: {len(nodes)} models, seeds and tests passed → {build_database(home)}")
    _print_pnl(build_database(home), month=None)


def _full_build(home, last_day: date, progress=None):
    """A full refresh of every event date through `last_day` over the files landed now, with the vars
    the nightly build passes (min_date, max_date, file_snapshot: orchestration/pipeline/run.py), and
    recorded as a night's build is, so the next night builds only what is new since."""
    from orchestration.pipeline import incremental
    from orchestration.pipeline.dbt import node_progress, run_dbt, snapshot_args, whole_build_threads

    snapshot = incremental.take_snapshot(home)
    window = incremental.BuildWindow(last_day, last_day, snapshot=snapshot, new_files=snapshot)
    incremental.write_build_files(home, window)
    threads = whole_build_threads(incremental.whole_build_rows(home, window, full_refresh=True))
    result = run_dbt(home, "build", *snapshot_args(), "--full-refresh", *threads,
                     callbacks=[node_progress(progress)] if progress else None)
    if result.success:
        incremental.record(home, window)
    return result


@app.command()
def docs(
    serve: Annotated[bool, typer.Option(
        "--serve", help="Then serve it on http://127.0.0.1:PORT until Ctrl-C (to share on a machine).")] = False,
    port: Annotated[int, typer.Option(help="Port of --serve.", min=1, max=65535)] = 8080,
) -> None:
    """Generate the dbt documentation (every model and column described, the lineage graph, what reads
    the marts) as one HTML file that opens from disk: $CWH_HOME/outputs/docs/index.html."""
    from orchestration.pipeline.docs_site import DocsError, generate, server
    from orchestration.pipeline.run_lock import RunLocked

    home = _home()
    try:
        with console.status("dbt docs generate --static…"):
            page = generate(home)
    except (RunLocked, DocsError) as err:
        console.print(f"[red]no documentation[/]: {err}", soft_wrap=True)
        raise typer.Exit(2 if isinstance(err, RunLocked) else 1) from None
    console.print(f"documentation: {page} (open it in a browser; no server needed)", soft_wrap=True)
    if not serve:
        return
    try:
        httpd = server(page.parent, port)
    except OSError as err:
        console.print(f"[red]cannot serve on port {port}[/]: {err.strerror}; choose another with --port")
        raise typer.Exit(1) from None
    console.print(f"serving http://127.0.0.1:{port}/ — Ctrl-C to stop")
    with httpd:
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            console.print("stopped")


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
    month: Annotated[date | None, month_option(
        "--month", help="Month to show (YYYY-MM); default: the last full month.")] = None,
) -> None:
    """Print the channel P&L of one month from the published warehouse (the build database when
    nothing is published yet)."""
    from connectors.home import build_database, published_database

    home = _home()
    database = published_database(home)
    if not database.exists():
        database = build_database(home)
    if not database.exists():
        console.print("no warehouse yet: run `cwh run` (or `cwh build`) first")
        raise typer.Exit(1)
    require_data(database, month)
    _print_pnl(database, f"{month:%Y-%m}" if month else None)


def _print_pnl(database, month: str | None) -> None:
    """The channel P&L of `month` (default: the last full month the data covers) in `database`."""
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        if month is None:
            chosen = _last_full_month(con.execute("select max(order_date) from marts.fct_order_lines").fetchone()[0])
        else:
            chosen = date.fromisoformat(f"{month}-01")
        rows = con.execute(
            f"select channel, {', '.join(PNL_COLUMNS)}, cm3_pct, period_status, "
            "accrued_marketplace_fees + accrued_fulfillment_costs from marts.channel_pnl_monthly "
            "where month = ? order by net_revenue desc", [chosen]).fetchall()
    table = Table("channel", *(c.replace("_", " ") for c in PNL_COLUMNS), "cm3 %", "status", "accrued fees",
                  title=f"Channel P&L, {chosen:%B %Y} (reporting currency)" if chosen else "Channel P&L")
    totals = [0] * len(PNL_COLUMNS)
    accrued_total = 0
    for channel, *amounts, cm3_pct, status, accrued in rows:
        totals = [t + (a or 0) for t, a in zip(totals, amounts, strict=True)]
        accrued_total += accrued or 0
        table.add_row(channel, *(f"{a:,.2f}" for a in amounts), f"{cm3_pct:.1%}" if cm3_pct is not None else "",
                      status if status == "closed" else f"[yellow]{status}[/]", f"{accrued:,.2f}" if accrued else "")
    table.add_row("[bold]total[/]", *(f"[bold]{t:,.2f}[/]" for t in totals), "", "",
                  f"[bold]{accrued_total:,.2f}[/]" if accrued_total else "")
    console.print(table)
    not_final = sorted({status for _, *_, status, _ in rows} - {"closed"})
    if not_final:
        console.print(f"[yellow]not final[/]: {', '.join(not_final)} rows — open: the month is not over; "
                      "provisional: payouts or settlements do not cover it yet, its accrued fees "
                      f"({accrued_total:,.2f}) are estimates that the settlements will replace")
    console.print(f"warehouse: {database}  (`cwh sql` queries the published one: select * from channel_pnl_monthly)")
