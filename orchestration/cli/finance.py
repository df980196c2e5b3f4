"""`cwh export`: finance's reconciled contribution tables from the published snapshot."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from orchestration.cli.app import _home, app, console
from orchestration.cli.options import month_option, require_data


def _export_format(value: str) -> str:
    from orchestration.outputs.exports import FORMATS

    if value.lower() in FORMATS:
        return value.lower()
    raise typer.BadParameter(f"{value!r} is not an export format: one of {', '.join(FORMATS)}, e.g. xlsx")


@app.command()
def export(
    format: Annotated[str, typer.Option(
        "--format", "-f", help="csv, parquet or xlsx.", parser=_export_format)] = "xlsx",
    month: Annotated[date | None, month_option(
        "--month", help="Only this month (YYYY-MM); default: every month.")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder to write to; default: $CWH_HOME/outputs/exports.")] = None,
    marts: Annotated[bool, typer.Option(
        "--marts", help="Instead: every mart as a Parquet file in <out>/marts/ (for BI tools and notebooks).")] = False,
    journal: Annotated[bool, typer.Option(
        "--journal", help="Instead: the month-end journal (one per payout/settlement and month, lines by "
        "account) as CSV and XLSX.")] = False,
) -> None:
    """Export the reconciled channel P&L, payout reconciliation, receivables, restatements and
    campaign spend of the PUBLISHED snapshot (text cells neutralised against formula injection)."""
    from connectors.home import published_database
    from orchestration.outputs.exports import ExportError
    from orchestration.outputs.exports import export as run_export

    home = _home()
    if journal and (marts or format == "parquet"):
        console.print("[red]--journal writes CSV and XLSX[/]: drop --marts and --format parquet")
        raise typer.Exit(2)
    if marts:
        _export_marts(home, format, month, out)
        return
    if journal:  # says itself when the month has no journal
        _export_journal(home, month, out)
        return
    if published_database(home).exists():  # else export says nothing is published
        require_data(published_database(home), month)  # not files of headers only
    try:
        paths = run_export(home, format.lower(), month=f"{month:%Y-%m}" if month else None, out=out)
    except ExportError as err:
        console.print(f"[red]{err}[/]")
        raise typer.Exit(1) from err
    for path in paths:
        console.print(f"wrote {path}")


def _export_marts(home, fmt: str, month: date | None, out: Path | None) -> None:
    """`cwh export --marts`: Parquet only, every month (a mart has no single month column)."""
    from connectors.home import published_database
    from orchestration.outputs.marts_export import write_marts_parquet

    if fmt.lower() not in ("parquet", "xlsx") or month is not None:  # xlsx: the default, not asked for
        console.print("[red]--marts writes every month of every mart as Parquet[/]: drop --month and --format")
        raise typer.Exit(2)
    database = published_database(home)
    if not database.exists():
        console.print(f"[red]nothing published yet ({database}): run `cwh run` first[/]")
        raise typer.Exit(1)
    paths = write_marts_parquet(database, (out or home.root / "outputs" / "exports") / "marts")
    console.print(f"wrote {len(paths)} marts as Parquet to {paths[0].parent if paths else '(none)'}")


def _export_journal(home, month: date | None, out: Path | None) -> None:
    """`cwh export --journal`: marts.finance_journal as CSV and XLSX (docs/metrics.md "Finance journal")."""
    from orchestration.outputs.exports import ExportError
    from orchestration.outputs.journal import export_journal

    try:
        paths = export_journal(home, month=month, out=out)
    except ExportError as err:
        console.print(f"[red]{err}[/]")
        raise typer.Exit(1) from err
    for path in paths:
        console.print(f"wrote {path}")
