"""`cwh sql`: a read-only SQL shell on the published warehouse.

The file is opened read-only, so an analyst (or a script) can never change the audited snapshot; a
publish that swaps the file in while the shell is open does not disturb it (the shell keeps reading
the snapshot it opened). Unqualified names look in `marts` first, then `main` (publish_log,
restatements): `select * from channel_pnl_monthly` works.
"""

from __future__ import annotations

import csv
import sys
from decimal import Decimal
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from orchestration.cli.app import _home, app, console

SEARCH_PATH = "marts,main"
TABLE_ROWS = 200  # a terminal table shows this many rows; --csv/--tsv write them all
FORMATS = ("table", "csv", "tsv")
HELP = """SQL statements end with ';' (DuckDB SQL; the file is read-only). Dot commands:
  .tables          the published tables and views, by schema
  .help            this text
  .quit            leave (Ctrl-D too)"""


@app.command()
def sql(
    command: Annotated[str | None, typer.Option(
        "--command", "-c", help="Run these statements and exit (the last one's rows are printed).")] = None,
    output: Annotated[str | None, typer.Option(
        "--format", "-f", help="table, csv or tsv; default: table on a terminal, tsv when piped.",
        metavar="FORMAT")] = None,
    csv_output: Annotated[bool, typer.Option("--csv", help="Same as --format csv.")] = False,
) -> None:
    """A read-only SQL shell on the published warehouse (DuckDB SQL). Without -c: an interactive
    prompt on a terminal, or the statements read from standard input (`cwh sql < query.sql`)."""
    import duckdb

    from connectors.home import published_database

    chosen = _output_format("csv" if csv_output else output)
    database = published_database(_home())
    if not database.exists():
        console.print(f"nothing published yet ({database}): `cwh run` publishes the warehouse "
                      "(`cwh demo` first for demo data)")
        raise typer.Exit(1)
    try:
        con = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as err:
        console.print(f"[red]cannot open {database}[/]: {err}")
        raise typer.Exit(1) from None
    with con:
        con.execute(f"set search_path = '{SEARCH_PATH}'")
        if command is None and sys.stdin.isatty():
            _interactive(con, database, chosen)
            return
        script = command if command is not None else sys.stdin.read()
        if not _run(con, script, chosen):
            raise typer.Exit(1)


def _output_format(requested: str | None) -> str:
    if requested is None:
        return "table" if sys.stdout.isatty() else "tsv"
    if requested.lower() not in FORMATS:
        raise typer.BadParameter(f"{requested!r} is not a format: one of {', '.join(FORMATS)}",
                                 param_hint="--format")
    return requested.lower()


def _run(con, script: str, output: str) -> bool:
    """Run `script` (one or more statements) and print the last result; False on an error."""
    import duckdb

    if not script.strip():
        return True
    try:
        result = con.execute(script)
        if not result.description:
            return True
        names = [d[0] for d in result.description]
        if output in ("csv", "tsv"):
            _write_delimited(names, result, "," if output == "csv" else "\t")
        else:
            _print_table(names, result.fetchall())
    except duckdb.Error as err:
        console.print(f"[red]{_explain(err)}[/]", soft_wrap=True, highlight=False)
        return False
    return True


def _explain(err: Exception) -> str:
    text = str(err)
    if "read-only mode" in text:
        return f"{text}\nThe published warehouse is read-only: it changes only when `cwh run` publishes a night."
    return text


def _write_delimited(names: list[str], result, delimiter: str) -> None:
    """Every row, streamed (a fact table does not have to fit in memory)."""
    writer = csv.writer(sys.stdout, delimiter=delimiter, lineterminator="\n")
    writer.writerow(names)
    while batch := result.fetchmany(10_000):
        writer.writerows([_plain(v) for v in row] for row in batch)
    sys.stdout.flush()


def _print_table(names: list[str], rows: list[tuple]) -> None:
    table = Table(*names, header_style="bold")
    for index, column in enumerate(table.columns):
        if rows and all(isinstance(row[index], int | float | Decimal) or row[index] is None for row in rows):
            column.justify = "right"
    for row in rows[:TABLE_ROWS]:  # Text: a value is never read as rich markup
        table.add_row(*(Text("NULL", style="dim") if v is None else Text(_plain(v)) for v in row))
    console.print(table, highlight=False)
    shown = f"{TABLE_ROWS:,} of {len(rows):,} rows shown (--csv writes them all)" if len(rows) > TABLE_ROWS \
        else f"{len(rows):,} row{'s' if len(rows) != 1 else ''}"
    console.print(f"[dim]{shown}[/]")


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _interactive(con, database, output: str) -> None:
    import readline  # noqa: F401  line editing and history for input()

    console.print(f"[bold]{database}[/] (read-only). Statements end with ';'. .tables lists the tables, "
                  ".help for help, .quit or Ctrl-D to leave.", highlight=False)
    buffer: list[str] = []
    while True:
        try:
            line = input("cwh> " if not buffer else "...> ")
        except EOFError:
            console.print()
            return
        except KeyboardInterrupt:  # Ctrl-C drops the statement being typed, as psql and duckdb do
            console.print()
            buffer.clear()
            continue
        if not buffer and line.strip().startswith("."):
            if not _dot_command(con, line.strip(), output):
                return
            continue
        buffer.append(line)
        if line.rstrip().endswith(";"):
            _run(con, "\n".join(buffer), output)
            buffer.clear()


def _dot_command(con, line: str, output: str) -> bool:
    """Run a dot command; False when it asks to leave."""
    word = line.split()[0].lower()
    if word in (".quit", ".exit", ".q"):
        return False
    if word == ".tables":
        _run(con, "select schema_name as schema, table_name as name, 'table' as kind from duckdb_tables() "
                  "union all select schema_name, view_name, 'view' from duckdb_views() where not internal "
                  "order by 1, 2", output)
    elif word == ".help":
        console.print(HELP, highlight=False)
    else:
        console.print(f"unknown command {word}: .tables, .help or .quit", highlight=False)
    return True
