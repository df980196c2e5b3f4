"""`cwh export --journal`: the month-end close journal of the PUBLISHED snapshot, as CSV and XLSX.

One line per journal × account from `marts.finance_journal` (docs/metrics.md "Finance journal"):
a journal per Shopify Payments payout and per Amazon settlement, split at month end, its reference
the raw payout or settlement id, account codes and names from seeds/journal_accounts.csv. With a
month, the journals of that month (the month parts dated in it).

- CSV (`journal[_YYYY-MM].csv`), for the ledger's import: the mart's columns, money to the cent.
- XLSX (`journal[_YYYY-MM].xlsx`), for people: an About sheet (the publish, the month, how to read
  the signs), a `Journals` sheet (one row per journal: reference, month part, date, currency,
  debits, credits, transfer, whether it balances) and a `Lines` sheet (every line), formatted as
  the finance export (orchestration/outputs/exports.py). Totals rows only where they add up:
  debits and credits in the reporting currency always (equal: every journal balances), in the
  payout currency only when every journal is in one currency.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from connectors.home import Home, published_database
from orchestration.outputs import exports as X
from orchestration.outputs.snapshot import Snapshot, read_snapshot

JOURNAL = "finance_journal"
LINE_COLUMNS = ("journal_date", "reference", "source", "month", "month_part", "month_parts", "account",
                "account_code", "account_name", "currency", "debit", "credit", "amount", "fx_rate", "amount_rc",
                "debit_rc", "credit_rc", "deposit", "deposit_date", "payout_status", "part_start", "part_end",
                "source_rows", "journal_id", "journal_line_id")
# the reporting-currency debit and credit of a line (its debit or credit side, amount_rc's size)
RC_SIDES = {"debit_rc": "case when debit > 0 then abs(amount_rc) else 0 end",
            "credit_rc": "case when credit > 0 then abs(amount_rc) else 0 end"}
# a journal's lines in the order a ledger shows them: the accounts, then the transfer
LINE_ORDER = "month, source, reference, account = 'transfer', account_code, account"
SUMMARY_SQL = """
    select journal_id, reference, source, month, month_part, month_parts, max(journal_date) as journal_date,
           max(currency) as currency, sum(debit) as debit, sum(credit) as credit,
           sum(case when account = 'transfer' then amount else 0 end) as transfer,
           sum(case when account = 'transfer' then amount_rc else 0 end) as transfer_rc,
           max(deposit) as deposit, sum(debit) = sum(credit) as balances
    from marts.finance_journal {where}
    group by journal_id, reference, source, month, month_part, month_parts
    order by month, source, reference"""


def read_journal(database: Path, month: date | None) -> dict[str, tuple[list[str], list[str], list[tuple]]]:
    """{"Journals": summary, "Lines": every line}: (column names, DuckDB types, rows) of `month` or all."""
    where = "where month = $month" if month else ""
    params = {"month": month} if month else None
    out = {}
    with duckdb.connect(str(database), read_only=True) as con:
        if not X._relation_exists(con, f"marts.{JOURNAL}"):
            raise X.ExportError(f"the published snapshot has no marts.{JOURNAL}: run `cwh run` to publish it")
        selected = ", ".join(f"{RC_SIDES[name]} as {name}" if name in RC_SIDES else name for name in LINE_COLUMNS)
        queries = {"Journals": SUMMARY_SQL.format(where=where),
                   "Lines": f"select {selected} from marts.{JOURNAL} {where} order by {LINE_ORDER}"}
        for name, sql in queries.items():
            result = con.execute(sql, params)
            out[name] = ([d[0] for d in result.description], [str(d[1]) for d in result.description],
                         result.fetchall())
        if month and not out["Journals"][2]:
            first, last = con.execute(f"select min(month), max(month) from marts.{JOURNAL}").fetchone()
            covers = f"the journal covers {first:%Y-%m} … {last:%Y-%m}" if first else "the journal is empty"
            raise X.ExportError(f"no journal for {month:%Y-%m}; {covers}")
    return out


def describe(names: list[str], types: list[str], currency: str) -> list[X.Column]:
    """The finance export's column kinds and labels; money without `_rc` is in the payout's currency."""
    table = X.ExportTable(JOURNAL, f"select * from marts.{JOURNAL}", "month = $month", LINE_ORDER,
                          native_currency="payout currency")
    kinds = [X.column_kind(name, type_name) for name, type_name in zip(names, types, strict=True)]
    return [X.Column(name, kind, X.column_label(table, name, kind, currency)) for name, kind in zip(names, kinds,
                                                                                                    strict=True)]


def _totals(columns: list[X.Column], rows: list[tuple]) -> list | None:
    """Σ of the reporting-currency debits and credits (and transfers); of the payout-currency debits,
    credits and transfers only when every row is in one currency."""
    names = [c.name for c in columns]
    one_currency = len({row[names.index("currency")] for row in rows}) == 1
    summed = {"debit_rc", "credit_rc", "transfer_rc"} | ({"debit", "credit", "transfer"} if one_currency else set())
    if not rows or not summed & set(names):
        return None
    return [sum((row[c] for row in rows), Decimal(0)) if column.name in summed else None
            for c, column in enumerate(columns)]


def _sheet(workbook, styles, name: str, columns: list[X.Column], rows: list[tuple]) -> None:
    sheet = workbook.add_worksheet(name)
    totals = _totals(columns, rows)
    for c, (column, width) in enumerate(zip(columns, X.column_widths(columns, rows, totals), strict=True)):
        sheet.write_string(0, c, column.label, styles.header)
        sheet.set_column(c, c, width)
    for r, row in enumerate(rows, start=1):
        for c, (value, column) in enumerate(zip(row, columns, strict=True)):
            X._write_cell(sheet, r, c, value, column.kind, styles.of(column.kind))
    if totals:
        r = len(rows) + 1
        sheet.write_string(r, 0, "Total", styles.of("text", total=True))
        for c, (value, column) in enumerate(zip(totals, columns, strict=True)):
            if c and value is not None:
                X._write_cell(sheet, r, c, value, column.kind, styles.of(column.kind, total=True))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(rows), 1), max(len(columns) - 1, 0))


def _about(workbook, styles, snapshot: Snapshot, month: date | None, counts: dict[str, int]) -> None:
    sheet = workbook.add_worksheet("About")
    sheet.write_string(0, 0, "Month-end journal from the published warehouse", styles.title)
    facts = [("Run id", snapshot.run_id, "text"), ("Logical date", snapshot.logical_date, "date"),
             ("Published at (UTC)", snapshot.published_at, "instant"),
             ("Reporting currency", snapshot.reporting_currency, "text"),
             ("Month", month, "month") if month else ("Month", "every month", "text"),
             ("Journals", counts["Journals"], "count"), ("Lines", counts["Lines"], "count")]
    for r, (label, value, kind) in enumerate(facts, start=2):
        sheet.write_string(r, 0, label, styles.bold)
        X._write_cell(sheet, r, 1, "n/a" if value is None else value, kind, styles.of(kind))
    notes = ("One journal per Shopify Payments payout and per Amazon settlement, split at month end (month part "
             "1 of 2 …); its reference is the raw payout or settlement id.",
             "Amounts are in the payout's own currency, signed as cash to the seller; income is a credit, a cost "
             "a debit, the transfer (the deposit, to the clearing account) a debit.",
             f"Amount ({snapshot.reporting_currency}) converts each line at the month part's rate; the transfers "
             "of a payout's parts add up to its deposit.",
             "Account codes and names: dbt_project/seeds/journal_accounts.csv. Definitions: docs/metrics.md "
             "\"Finance journal\".")
    for r, note in enumerate(notes, start=len(facts) + 3):
        sheet.write_string(r, 0, note)
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 40)


def write_journal_xlsx(path: Path, tables: dict[str, tuple[list[str], list[str], list[tuple]]],
                       snapshot: Snapshot, month: date | None) -> Path:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"remove_timezone": True})
    try:
        styles = X._Styles(workbook)
        _about(workbook, styles, snapshot, month, {name: len(rows) for name, (_c, _t, rows) in tables.items()})
        for name, (names, types, rows) in tables.items():
            _sheet(workbook, styles, name, describe(names, types, snapshot.reporting_currency), rows)
    finally:
        workbook.close()
    return path


def export_journal(home: Home, *, month: date | None = None, out: Path | None = None) -> list[Path]:
    """Write the journal of the published snapshot (of `month`, or every month) as CSV and XLSX."""
    database = published_database(home)
    if not database.exists():
        raise X.ExportError(f"nothing published yet ({database}): run `cwh run` first")
    tables = read_journal(database, month)
    with duckdb.connect(str(database), read_only=True) as con:
        snapshot = read_snapshot(con)
    folder = out or home.root / "outputs" / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"journal_{month:%Y-%m}" if month else "journal"
    columns, types, rows = tables["Lines"]
    return [X.write_csv(folder, name, columns, rows, types),
            write_journal_xlsx(folder / f"{name}.xlsx", tables, snapshot, month)]


__all__ = ["export_journal", "read_journal", "write_journal_xlsx", "JOURNAL", "LINE_COLUMNS"]
