"""Finance exports: the reconciled contribution tables of the PUBLISHED snapshot as CSV, Parquet or XLSX.

Tables (one file each for CSV/Parquet, one sheet each in the workbook), optionally for one month:

| name | from | rows of month M |
|---|---|---|
| channel_pnl_reconciled | marts.channel_pnl_reconciled | month = M |
| payout_reconciliation | marts.payout_reconciliation | the payout's period overlaps M |
| wholesale_receivables | marts.wholesale_receivables | invoices dated in M |
| restatements | main.restatements | restated month = M |
| marketing_by_campaign | marts.fct_marketing_spend, Σ per month × channel × platform × campaign | month = M |

Each format for its reader:
- XLSX, for people: an "About" sheet first (run id, logical date, published time, reporting
  currency, the month exported, each month's period status when the P&L has one, what each sheet
  holds); headers in words with the currency ("Net revenue (USD)"; amounts in a payout's or an
  invoice's own currency say so); money `#,##0.00`, counts `#,##0`, ratios `0.0%`, months
  `mmm yyyy`; a bold totals row under the tables whose columns add up (money in the reporting
  currency and counts; never ratios, balances or mixed currencies), written as values; columns as
  wide as their content; the header frozen with an autofilter over the data rows.
- CSV, for programs that parse text: the column names as in the marts, money at 2 decimals (half
  away from zero), ratios (`*_pct`, `*_share`, `*_rate`: fractions, 0.25 = 25%) at 6 decimals,
  FX rates at their 8, dates ISO 8601.
- Parquet, typed (decimals stay decimals), with key-value metadata in each file's footer: run_id,
  logical_date, published_at, reporting_currency, source (the mart) and month (when one is chosen).

Spreadsheet safety (OWASP "CSV injection"): every text cell that starts with `=`, `+`, `-`, `@`,
a tab or a carriage return is written with a leading `'`, so a campaign named
`=HYPERLINK("http://x","y")` is shown as text, never evaluated as a formula — in the XLSX and the
CSV files; no cell of the workbook is a formula (totals included). Parquet keeps the values as they
are (typed data for programs, not spreadsheets).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb

from connectors.home import Home, published_database
from orchestration.outputs.snapshot import Snapshot, period_statuses, read_snapshot

FORMATS = ("csv", "parquet", "xlsx")
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
RATIO_DECIMALS = 6  # CSV: a fraction to 6 places is 0.0001 percentage point
CENT = Decimal("0.01")
PNL_LINES = ("gross_sales", "discounts", "returns", "net_sales", "shipping_income", "net_revenue", "cogs", "cm1",
             "fulfillment_costs", "payment_fees", "marketplace_fees", "reimbursements", "cm2", "marketing_spend",
             "cm3", "operating_costs", "contribution_after_opex")
PAYOUT_COMPONENTS_RC = ("expected_rc", "reported_rc", "variance_rc", "timing_rc", "refunds_rc", "fees_rc",
                        "reimbursements_rc", "reserves_rc", "adjustments_rc", "unexplained_rc")


@dataclass(frozen=True)
class ExportTable:
    name: str
    query: str        # select …; may use {month_filter}
    month_filter: str  # SQL predicate on :month (a date, first of the month), used when --month is given
    order_by: str
    description: str = ""
    totals: tuple[str, ...] = ()  # the columns the XLSX totals row sums (those the table has)
    native_currency: str | None = None  # what its money columns without `_rc` are in (None: reporting currency)

    @property
    def source(self) -> str:
        return self.query.split(" from ", 1)[1].split()[0]


TABLES = (
    ExportTable("channel_pnl_reconciled", "select * from marts.channel_pnl_reconciled", "month = $month",
                "month, channel", "Channel P&L per month with its payout reconciliation status",
                PNL_LINES + ("accrued_marketplace_fees", "accrued_fulfillment_costs", "payouts", "payouts_reconciled",
                             "unexplained_rc", "invoices")),
    ExportTable("payout_reconciliation", "select * from marts.payout_reconciliation",
                "period_start <= last_day($month) and period_end >= $month",
                "source, channel, period_start, payout_id", "Every payout and settlement: expected vs reported",
                ("transactions",) + PAYOUT_COMPONENTS_RC, "payout currency"),
    ExportTable("wholesale_receivables", "select * from marts.wholesale_receivables",
                "invoice_date between $month and last_day($month)", "invoice_date, document_number",
                "Wholesale invoices and what is still open", ("invoice_amount_rc", "open_amount_rc"),
                "invoice currency"),
    ExportTable("restatements", "select * from main.restatements", "month = $month",
                "restated_at, channel, month, line", "Published months that moved, line by line, and why"),
    ExportTable("marketing_by_campaign", """
        select cast(date_trunc('month', spend_date) as date) as month, channel, platform, campaign_name,
               sum(spend_rc) as spend_rc, sum(impressions) as impressions, sum(clicks) as clicks,
               sum(conversion_value_rc) as conversion_value_rc
        from marts.fct_marketing_spend
        group by 1, 2, 3, 4""", "month = $month", "month, channel, platform, campaign_name",
                "Ad spend per month, channel, platform and campaign",
                ("spend_rc", "impressions", "clicks", "conversion_value_rc")),
)
TABLES_BY_NAME = {table.name: table for table in TABLES}
INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT")
WORDS = {"cogs": "COGS", "cm1": "CM1", "cm2": "CM2", "cm3": "CM3", "fx": "FX", "id": "ID", "pct": "%", "sku": "SKU",
         "aov": "AOV", "roas": "ROAS", "mer": "MER", "cac": "CAC"}


class ExportError(RuntimeError):
    pass


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # money, number, ratio, fx_rate, count, month, date, instant, flag, text
    label: str


def column_kind(name: str, type_name: str) -> str:
    upper = type_name.upper()
    if upper.startswith("DECIMAL"):
        return "fx_rate" if name.endswith("fx_rate") else "money"
    if upper in ("DOUBLE", "FLOAT", "REAL"):
        return "ratio" if name.endswith(("_pct", "_share", "_rate")) else "number"
    if upper in INTEGER_TYPES:
        return "count"
    if upper == "DATE":
        return "month" if name == "month" or name.endswith("_month") else "date"
    if upper.startswith("TIMESTAMP"):
        return "instant"
    return "flag" if upper == "BOOLEAN" else "text"


def column_label(table: ExportTable | None, name: str, kind: str, currency: str) -> str:
    """`net_revenue` -> "Net revenue (USD)"; a payout's own-currency `expected` -> "Expected (payout currency)"."""
    words = " ".join(WORDS.get(word, word) for word in name.removesuffix("_rc").split("_"))
    text = words[:1].upper() + words[1:]
    native = table.native_currency if table else None
    if kind == "money":
        return f"{text} ({currency if name.endswith('_rc') or native is None else native})"
    if kind == "fx_rate":
        return f"{text} ({native or 'currency'} to {currency})"
    return f"{text} (UTC)" if kind == "instant" else text


def describe(table_name: str, names: list[str], types: list[str], currency: str) -> list[Column]:
    table = TABLES_BY_NAME.get(table_name)
    described = []
    for name, type_name in zip(names, types, strict=True):
        kind = column_kind(name, type_name)
        described.append(Column(name, kind, column_label(table, name, kind, currency)))
    return described


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
            if not _relation_exists(con, table.source):
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


def _text(value, kind: str = "text") -> str:
    """A CSV field: money to the cent, ratios to RATIO_DECIMALS places, dates ISO, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if kind in ("money", "number") and isinstance(value, (Decimal, float)):
        return str(Decimal(str(value)).quantize(CENT, ROUND_HALF_UP))
    if kind == "ratio" and isinstance(value, float):
        return f"{value:.{RATIO_DECIMALS}f}"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


def write_csv(folder: Path, name: str, columns: list[str], rows: list[tuple], types: list[str] | None = None) -> Path:
    kinds = [column_kind(c, t) for c, t in zip(columns, types, strict=True)] if types else ["text"] * len(columns)
    path = folder / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_text(v, k) for v, k in zip(row, kinds, strict=True)])
    return path


def parquet_metadata(snapshot: Snapshot, table: ExportTable, month: date | None) -> dict[str, str]:
    """The key-value metadata of one exported Parquet file (its footer)."""
    meta = {"run_id": snapshot.run_id or "", "logical_date": _iso(snapshot.logical_date),
            "published_at": _iso(snapshot.published_at), "reporting_currency": snapshot.reporting_currency,
            "source": table.source}
    if month is not None:
        meta["month"] = month.strftime("%Y-%m")
    return meta


def _iso(value) -> str:
    return "" if value is None else value.isoformat()


def write_parquet(database: Path, folder: Path, month: date | None, snapshot: Snapshot | None = None) -> list[Path]:
    """Parquet straight from DuckDB: decimals stay decimals, dates dates; the run in the footer."""
    paths = []
    with duckdb.connect(str(database), read_only=True) as con:
        snapshot = snapshot or read_snapshot(con)
        for table in TABLES:
            if not _relation_exists(con, table.source):
                continue
            sql = f"select * from ({table.query}) as t"
            if month is not None:
                sql += " where " + table.month_filter.replace("$month", f"date '{month.isoformat()}'")
            path = folder / f"{table.name}.parquet"
            metadata = ", ".join(f"{key}: '{_sql(value)}'" for key, value in
                                 parquet_metadata(snapshot, table, month).items())
            con.execute(f"copy ({sql} order by {table.order_by}) to '{_sql(path)}' "
                        f"(format parquet, kv_metadata {{{metadata}}})")
            paths.append(path)
    return paths


def _sql(value: Path | str) -> str:
    return str(value).replace("'", "''")


NUMBER_FORMATS = {"money": "#,##0.00", "number": "#,##0.00", "ratio": "0.0%", "fx_rate": "0.00000000",
                  "count": "#,##0", "month": "mmm yyyy", "date": "yyyy-mm-dd", "instant": "yyyy-mm-dd hh:mm"}
DISPLAY_WIDTH = {"ratio": 7, "fx_rate": 10, "month": 8, "date": 10, "instant": 16, "flag": 5}
MIN_WIDTH, MAX_WIDTH = 8, 60


def _display_width(value, kind: str) -> int:
    """How many characters the cell shows (for the column's width)."""
    if value is None:
        return 0
    if kind in DISPLAY_WIDTH:
        return DISPLAY_WIDTH[kind]
    if kind in ("money", "number"):
        return len(f"{float(value):,.2f}")
    if kind == "count":
        return len(f"{value:,}")
    return len(neutralise(str(value)))


def column_widths(columns: list[Column], rows: list[tuple], totals: list | None = None) -> list[int]:
    widths = []
    for c, column in enumerate(columns):
        values = [row[c] for row in rows] + ([totals[c]] if totals else [])
        longest = max([len(column.label)] + [_display_width(v, column.kind) for v in values])
        widths.append(max(MIN_WIDTH, min(MAX_WIDTH, longest + 2)))
    return widths


def totals_row(table_name: str, columns: list[Column], rows: list[tuple]) -> list | None:
    """The sums of the table's totals columns (exact: decimals summed as decimals), None elsewhere."""
    table = TABLES_BY_NAME.get(table_name)
    summed = [c for c, column in enumerate(columns) if table and column.name in table.totals]
    if not summed or not rows:
        return None
    totals: list = [None] * len(columns)
    for c in summed:
        totals[c] = sum((row[c] for row in rows if row[c] is not None), Decimal(0) if columns[c].kind == "money" else 0)
    return totals


class _Styles:
    """The workbook's cell formats, one per kind (bold for the totals row)."""

    def __init__(self, workbook):
        self.workbook = workbook
        self.header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "valign": "top"})
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.bold = workbook.add_format({"bold": True})
        self._cache: dict[tuple[str, bool], object] = {}

    def of(self, kind: str, total: bool = False):
        key = (kind, total)
        if key not in self._cache:
            spec = {"num_format": NUMBER_FORMATS[kind]} if kind in NUMBER_FORMATS else {}
            if total:
                spec.update(bold=True, top=1)
            self._cache[key] = self.workbook.add_format(spec) if spec else None
        return self._cache[key]


def _write_cell(sheet, r: int, c: int, value, kind: str, style) -> None:
    if value is None:
        sheet.write_blank(r, c, None, style)
    elif isinstance(value, bool):
        sheet.write_boolean(r, c, value, style)
    elif isinstance(value, (int, float, Decimal)):
        # typed numeric cell (Excel stores doubles; money keeps its 2 decimals exactly)
        sheet.write_number(r, c, float(value), style)
    elif isinstance(value, datetime):
        instant = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        sheet.write_datetime(r, c, instant, style)
    elif isinstance(value, date):
        sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), style)
    else:
        # write_string never makes a formula; the apostrophe protects re-saved / CSV copies too
        sheet.write_string(r, c, neutralise(str(value)), style)


def _table_sheet(workbook, styles: _Styles, name: str, columns: list[Column], rows: list[tuple]) -> None:
    sheet = workbook.add_worksheet(name[:31])
    totals = totals_row(name, columns, rows)
    for c, (column, width) in enumerate(zip(columns, column_widths(columns, rows, totals), strict=True)):
        sheet.write_string(0, c, column.label, styles.header)
        sheet.set_column(c, c, width)
    for r, row in enumerate(rows, start=1):
        for c, (value, column) in enumerate(zip(row, columns, strict=True)):
            _write_cell(sheet, r, c, value, column.kind, styles.of(column.kind))
    if totals:
        r = len(rows) + 1
        sheet.write_string(r, 0, "Total", styles.of("text", total=True))
        for c, (value, column) in enumerate(zip(totals, columns, strict=True)):
            if c:
                _write_cell(sheet, r, c, value, column.kind, styles.of(column.kind, total=True))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(rows), 1), max(len(columns) - 1, 0))  # the data rows, not the totals


def _about_sheet(workbook, styles: _Styles, snapshot: Snapshot, month: date | None, statuses: list[dict],
                 sheets: dict[str, int]) -> None:
    """What the workbook holds: the publish it comes from, its currency, period status, the sheets."""
    sheet = workbook.add_worksheet("About")
    sheet.write_string(0, 0, "Finance export from the published warehouse", styles.title)
    facts = [("Run id", snapshot.run_id, "text"), ("Logical date", snapshot.logical_date, "date"),
             ("Published at (UTC)", snapshot.published_at, "instant"),
             ("Reporting currency", snapshot.reporting_currency, "text"),
             ("Month exported", month, "month") if month else ("Month exported", "every month", "text")]
    r = 2
    for label, value, kind in facts:
        sheet.write_string(r, 0, label, styles.bold)
        _write_cell(sheet, r, 1, "n/a" if value is None else value, kind, styles.of(kind))
        r += 1
    r += 1
    sheet.write_string(r, 0, "Period status", styles.header)
    if statuses:
        for c, head in enumerate(("Month", "Status", "Channels"), start=1):
            sheet.write_string(r, c, head, styles.header)
        for status in statuses:
            r += 1
            _write_cell(sheet, r, 1, status["month"], "month", styles.of("month"))
            sheet.write_string(r, 2, str(status["period_status"]))
            sheet.write_string(r, 3, str(status["channels"]))
    else:
        sheet.write_string(r, 1, "not in this snapshot's P&L")
    r += 2
    for c, head in enumerate(("Sheet", "Source", "Rows", "What it holds")):
        sheet.write_string(r, c, head, styles.header)
    for name, count in sheets.items():
        r += 1
        table = TABLES_BY_NAME[name]
        for c, (value, kind) in enumerate(((name, "text"), (table.source, "text"), (count, "count"),
                                           (table.description, "text"))):
            _write_cell(sheet, r, c, value, kind, styles.of(kind))
    r += 2
    for note in (f"Money is in {snapshot.reporting_currency} unless its header names another currency "
                 "(a payout's or an invoice's own).",
                 "Totals rows are sums written as values; ratios, balances and mixed currencies are not totalled.",
                 "Definitions: docs/metrics.md. Text a spreadsheet would run as a formula starts with '."):
        sheet.write_string(r, 0, note)
        r += 1
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 40)
    sheet.set_column(2, 2, 12)
    sheet.set_column(3, 3, 50)


def write_xlsx(path: Path, tables: dict[str, tuple[list[str], list[str], list[tuple]]],
               snapshot: Snapshot | None = None, *, month: date | None = None,
               statuses: list[dict] | None = None) -> Path:
    import xlsxwriter

    snapshot = snapshot or Snapshot(None, None, None, "USD")
    workbook = xlsxwriter.Workbook(str(path), {"remove_timezone": True})
    try:
        styles = _Styles(workbook)
        _about_sheet(workbook, styles, snapshot, month, statuses or [],
                     {name: len(rows) for name, (_c, _t, rows) in tables.items()})
        for name, (names, types, rows) in tables.items():
            _table_sheet(workbook, styles, name, describe(name, names, types, snapshot.reporting_currency), rows)
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
    with duckdb.connect(str(database), read_only=True) as con:
        snapshot, statuses = read_snapshot(con), period_statuses(con, chosen)
    folder = out or home.root / "outputs" / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = f"_{month}" if month else ""
    if fmt == "parquet":
        target = folder / f"finance{suffix}"
        target.mkdir(parents=True, exist_ok=True)
        return write_parquet(database, target, chosen, snapshot)
    tables = read_tables(database, chosen)
    if fmt == "csv":
        target = folder / f"finance{suffix}"
        target.mkdir(parents=True, exist_ok=True)
        return [write_csv(target, name, columns, rows, types) for name, (columns, types, rows) in tables.items()]
    return [write_xlsx(folder / f"finance{suffix}.xlsx", tables, snapshot, month=chosen, statuses=statuses)]


__all__ = ["export", "neutralise", "read_tables", "TABLES", "FORMATS", "ExportError"]
