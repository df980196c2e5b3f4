"""What every `cwh` command checks before it starts work: the form of its dates, months and feed
names (one-line message, exit code 2, as click does for any bad option), and that a month asked for
is one the warehouse holds data for (exit code 1: the arguments were well formed, the data is not
there).

Commands declare their options with the helpers below (`date_option`, `month_option`,
`feed_argument`); tests/orchestration/test_cli_errors.py holds every command to it.
"""

from __future__ import annotations

import difflib
import re
from datetime import date, timedelta
from pathlib import Path

import typer

from orchestration.cli.app import console

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_date(value: str | date) -> date:
    """YYYY-MM-DD, a real day (2026-02-30 is refused with the same message)."""
    if isinstance(value, date):
        return value
    text = value.strip()
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise typer.BadParameter(f"{value!r} is not a date: expected YYYY-MM-DD, e.g. 2026-11-01")


def parse_month(value: str | date) -> date:
    """YYYY-MM → the first day of that month."""
    if isinstance(value, date):
        return value.replace(day=1)
    match = _MONTH.fullmatch(value.strip())
    if match and 1 <= int(match.group(2)) <= 12:
        return date(int(match.group(1)), int(match.group(2)), 1)
    raise typer.BadParameter(f"{value!r} is not a month: expected YYYY-MM, e.g. 2026-10")


def parse_feed(value: str) -> str:
    """A feed of connectors.registry (data_contracts/*.yml), or the nearest names as a suggestion."""
    from connectors.registry import FEEDS

    if value in FEEDS:
        return value
    raise typer.BadParameter(f"unknown feed {value!r}; {suggest(value, FEEDS)} (`cwh feeds` lists them)")


def suggest(value: str, names) -> str:
    """'did you mean X?' with the closest names (difflib, then the names that contain the value)."""
    names = list(names)
    close = difflib.get_close_matches(value.lower(), names, n=2, cutoff=0.5) \
        or [name for name in names if value.lower() in name][:2]
    if not close:
        return "feeds: " + ", ".join(names)
    return "did you mean " + " or ".join(close) + "?"


def date_option(*names: str, help: str) -> typer.models.OptionInfo:  # noqa: A002  typer's own name
    return typer.Option(*names, help=help, parser=parse_date, metavar="YYYY-MM-DD")


def month_option(*names: str, help: str) -> typer.models.OptionInfo:  # noqa: A002
    return typer.Option(*names, help=help, parser=parse_month, metavar="YYYY-MM")


def feed_argument(help: str) -> typer.models.ArgumentInfo:  # noqa: A002
    return typer.Argument(help=help, parser=parse_feed, metavar="FEED")


def months_covered(database: Path) -> list[date]:
    """The months the channel P&L of `database` holds rows for, oldest first (none when the file has
    no P&L: a build that never got as far)."""
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        try:
            rows = con.execute("select distinct month from marts.channel_pnl_monthly order by month").fetchall()
        except duckdb.CatalogException:
            return []
    return [row[0] for row in rows]


def require_data(database: Path, month: date | None, *, week: date | None = None) -> None:
    """Stop with exit code 1 and one line when the warehouse has no data for `month` (or for the
    week of the day `week`, or none at all): a report, an export, a digest or a P&L of nothing would
    be zeros and blank charts."""
    months = months_covered(database)
    if not months:
        console.print(f"no data in the warehouse yet ({database}): land files and `cwh run` first")
        raise typer.Exit(1)
    covers = f"the warehouse covers {months[0]:%Y-%m} … {months[-1]:%Y-%m}"
    if month is not None and month not in months:
        console.print(f"no data for {month:%Y-%m}; {covers}", highlight=False)
        raise typer.Exit(1)
    if week is not None:
        monday = week - timedelta(days=week.weekday())
        if not {monday.replace(day=1), (monday + timedelta(days=6)).replace(day=1)} & set(months):
            console.print(f"no data for the week of {monday}; {covers}", highlight=False)
            raise typer.Exit(1)
