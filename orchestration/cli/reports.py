"""`cwh report` and `cwh digest`: the operator's readback (HTML) and the weekly digest (Markdown),
from the published warehouse. Registered on the `cwh` app by importing this module (cli/__init__.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from orchestration.cli.app import _home, app, console
from orchestration.cli.options import date_option, month_option, require_data


def _published():
    from connectors.home import published_database

    home = _home()
    database = published_database(home)
    if not database.exists():
        console.print("nothing published yet: run `cwh run` first (the readback reads the published warehouse)")
        raise typer.Exit(1)
    return home, database


@app.command()
def report(
    out: Annotated[Path | None, typer.Option(
        "--out", help="HTML file to write (default: $CWH_HOME/outputs/readback_latest.html).")] = None,
    month: Annotated[date | None, month_option(
        "--month", help="Month to read back (YYYY-MM); default: the last complete month.")] = None,
) -> None:
    """Write the channel readback: a self-contained HTML file (works offline) with the flags and next
    actions, the contribution waterfall, revenue vs operating-cost shares, trends with anomalies,
    the revenue drivers, reconciliation and feed SLA status."""
    from orchestration.outputs.report import write_report

    home, database = _published()
    require_data(database, month)  # not a page of blank charts
    target = out or home.root / "outputs" / "readback_latest.html"
    path = write_report(database, target, month=month)
    console.print(f"readback: {path}")


@app.command()
def digest(
    week: Annotated[date | None, date_option(
        "--week", help="Any day of the week to digest (YYYY-MM-DD); default: the last complete week.")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Markdown file to write (default: $CWH_HOME/outputs/digest_<week>.md).")] = None,
) -> None:
    """Write the weekly digest (Markdown): per channel owner, what changed, the flags and the next action."""
    from orchestration.outputs.digest import write_digest

    home, database = _published()
    require_data(database, None, week=week)  # not a digest of nothing
    path = write_digest(database, home.root / "outputs", week, out)
    console.print(path.read_text())
    console.print(f"digest: {path}")
