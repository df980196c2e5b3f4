"""Finance exports: the reconciled contribution tables of the PUBLISHED snapshot as CSV, Parquet or XLSX.

Tables (one file each for CSV/Parquet, one sheet each in the workbook), optionally for one month:

| name | from | rows of month M |
|---|---|---|
| channel_pnl_reconciled | marts.channel_pnl_reconciled | month = M |
| payout_reconciliation | marts.payout_reconciliation | the payout's period overlaps M |
| wholesale_receivables | marts.wholesale_receivables | invoices dated in M |
| restatements | main.restatements | restated month = M |
| marketing_by_campaign | marts.fct_marketing_spend, Σ per month × channel × platform × campaign | month = M |

Spreadsheet safety (OWASP "CSV injection"): every text cell that starts with `=`, `+`, `-`, `@`,
a tab or a carriage return is written with a leading `'`, so a campaign named
`=HYPERLINK("http://x","y")` is shown as text, never evaluated as a formula — in the XLSX and the
CSV files. Parquet keeps the values as they are (typed data for programs, not spreadsheets).
Money stays numeric: XLSX cells are typed numbers with a number format (dates are dates, booleans
booleans), the header row is frozen and has an autofilter.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from connectors.home import Home, published_database

FORMATS = ("csv", "parquet", "xlsx")
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportTable:
    name: str
    query: str        # select …; may use {month_filter}
    month_filter: str  # SQL predicate on :month (a date, first of the month), used when --month is given
    order_by: str


TABLES = (
    ExportTable("channel_pnl_reconciled", "select * from marts.channel_pnl_reconciled", "month = $month",
                "month, channel"),
    ExportTable("payout_reconciliation", "select * from marts.payout_reconciliation",
                "period_start <= last_day($month) and period_end >= $month",
                "source, channel, period_start, payout_id"),
    ExportTable("wholesale_receivables", "select * from marts.wholesale_receivables",
                "invoice_date between $month and last_day($month)", "invoice_date, document_number"),
    ExportTable("restatements", "select * from main.restatements", "month = $month",
                "restated_at, channel, month, line"),
    ExportTable("marketing_by_campaign", """
        select cast(date_trunc('month', spend_date) as date) as month, channel, platform, campaign_name,
               sum(spend_rc) as spend_rc, sum(impressions) as impressions, sum(clicks) as clicks,
               sum(conversion_value_rc) as conversion_value_rc
        from marts.fct_marketing_spend
        group by 1, 2, 3, 4""", "month = $month", "month, channel, platform, campaign_name"),
)


class ExportError(RuntimeError):
    pass


def neutralise(value: str) -> str:
    """OWASP: a text cell a spreadsheet would read as a formula gets a leading apostrophe."""
    return "'" + value if value.startswith(DANGEROUS_PREFIXES) else value


def _relation_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".")
    return bool(con.execute("select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
                            [schema, name]).fetchone()[0])


def read_tables(database: Path, month: date | None) -> dict[str, tuple[list[str], list[str], list[tuple]]]:
    """{table: (column names, duckdb type names, rows)} from the database, filtered to `month`."""
    out = {}
    with duckdb.connect(str(database), read_only=True) as con:
        for table in TABLES:
            source = table.query.split(" from ", 1)[1].split()[0]
            if not _relation_exists(con, source):
                continue
            sql = f"select * from ({table.query}) as t"
            params = {}
            if month is not None:
                sql += f" where {table.month_filter}"
                params["month"] = month
            result = con.execute(f"{sql} order by {table.order_by}", params or None)
            columns = [d[0] for d in result.description]
            types = [str(d[1]) for d in result.description]
            out[table.name] = (columns, types, result.fetchall())
    return out


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


def write_csv(folder: Path, name: str, columns: list[str], rows: list[tuple]) -> Path:
    path = folder / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_text(v) for v in row])
    return path


def write_parquet(database: Path, folder: Path, month: date | None) -> list[Path]:
    """Parquet straight from DuckDB: decimals stay decimals, dates dates."""
    paths = []
    with duckdb.connect(str(database), read_only=True) as con:
        for table in TABLES:
            source = table.query.split(" from ", 1)[1].split()[0]
            if not _relation_exists(con, source):
                continue
            sql = f"select * from ({table.query}) as t"
            if month is not None:
                sql += " where " + table.month_filter.replace("$month", f"date '{month.isoformat()}'")
            path = folder / f"{table.name}.parquet"
            con.execute(f"copy ({sql} order by {table.order_by}) to '{_sql(path)}' (format parquet)")
            paths.append(path)
    return paths


def _sql(path: Path) -> str:
    return str(path).replace("'", "''")


def _number_format(column: str, type_name: str) -> str | None:
    upper = type_name.upper()
    if upper.startswith("DECIMAL") and column.endswith("fx_rate"):
        return "0.00000000"
    if upper.startswith("DECIMAL"):
        return "#,##0.00"
    if upper in ("DOUBLE", "FLOAT", "REAL"):
        return "0.00%" if column.endswith(("_pct", "_share", "_rate")) or column in (
            "revenue_share", "contribution_share", "operating_cost_share") else "0.0000"
    if upper in ("BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT"):
        return "0"
    return None


def write_xlsx(path: Path, tables: dict[str, tuple[list[str], list[str], list[tuple]]]) -> Path:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"remove_timezone": True})
    try:
        header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
        datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        formats: dict[str, object] = {}
        for name, (columns, types, rows) in tables.items():
            sheet = workbook.add_worksheet(name[:31])
            for c, column in enumerate(columns):
                sheet.write_string(0, c, column, header)
                sheet.set_column(c, c, max(10, min(40, len(column) + 2)))
            col_formats = []
            for column, type_name in zip(columns, types, strict=True):
                spec = _number_format(column, type_name)
                if spec and spec not in formats:
                    formats[spec] = workbook.add_format({"num_format": spec})
                col_formats.append(formats.get(spec) if spec else None)
            for r, row in enumerate(rows, start=1):
                for c, value in enumerate(row):
                    if value is None:
                        sheet.write_blank(r, c, None)
                    elif isinstance(value, bool):
                        sheet.write_boolean(r, c, value)
                    elif isinstance(value, (int, float, Decimal)):
                        # typed numeric cell (Excel stores doubles; money keeps its 2 decimals exactly)
                        sheet.write_number(r, c, float(value), col_formats[c])
                    elif isinstance(value, datetime):
                        sheet.write_datetime(r, c, value, datetime_format)
                    elif isinstance(value, date):
                        sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), date_format)
                    else:
                        # write_string never makes a formula; the apostrophe protects re-saved / CSV copies too
                        sheet.write_string(r, c, neutralise(str(value)))
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, max(len(rows), 1), max(len(columns) - 1, 0))
    finally:
        workbook.close()
    return path


def export(home: Home, fmt: str, *, month: str | None = None, out: Path | None = None) -> list[Path]:
    """Write the finance tables of the published snapshot; returns the files written."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    database = published_database(home)
    if not database.exists():
        raise ExportError(f"nothing published yet ({database}): run `cwh run` first")
    chosen = None
    if month is not None:
        try:
            chosen = date.fromisoformat(f"{month}-01")
        except ValueError as err:
            raise ExportError(f"--month takes YYYY-MM, got {month!r}") from err
    folder = out or home.root / "outputs" / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = f"_{month}" if month else ""
    if fmt == "parquet":
        target = folder / f"finance{suffix}"
        target.mkdir(parents=True, exist_ok=True)
        return write_parquet(database, target, chosen)
    tables = read_tables(database, chosen)
    if fmt == "csv":
        target = folder / f"finance{suffix}"
        target.mkdir(parents=True, exist_ok=True)
        return [write_csv(target, name, columns, rows) for name, (columns, _types, rows) in tables.items()]
    return [write_xlsx(folder / f"finance{suffix}.xlsx", tables)]


__all__ = ["export", "neutralise", "read_tables", "TABLES", "FORMATS", "ExportError"]
