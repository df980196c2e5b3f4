"""`cwh export --journal` of a small hand-made published snapshot, read back as its readers read it:
the CSV as text (the ledger import), the workbook with openpyxl (headers naming the payout's currency,
one row per journal, totals only where they add up, equal to the sums written here by hand)."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from orchestration.outputs.exports import ExportError
from orchestration.outputs.journal import export_journal
from tests.outputs.conftest import published_snapshot

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)
D = Decimal
# an Amazon.ca settlement across the end of September (CAD) and a Shopify payout of October (USD):
# reference, source, month, part, parts, currency, account, name, amount, debit, credit, fx_rate, amount_rc
LINES = [
    ("777", "amazon_settlement", SEP, 1, 2, "CAD", "sales", "Sales", D("100.00"), D(0), D("100.00"), D("0.7"),
     D("70.00")),
    ("777", "amazon_settlement", SEP, 1, 2, "CAD", "marketplace_fees", "Marketplace fees", D("-15.00"), D("15.00"),
     D(0), D("0.7"), D("-10.50")),
    ("777", "amazon_settlement", SEP, 1, 2, "CAD", "transfer", "Clearing", D("85.00"), D("85.00"), D(0), D("0.7"),
     D("59.50")),
    ("777", "amazon_settlement", OCT, 2, 2, "CAD", "sales", "Sales", D("50.00"), D(0), D("50.00"), D("0.72"),
     D("36.00")),
    ("777", "amazon_settlement", OCT, 2, 2, "CAD", "marketplace_fees", "Marketplace fees", D("-7.50"), D("7.50"),
     D(0), D("0.72"), D("-5.40")),
    ("777", "amazon_settlement", OCT, 2, 2, "CAD", "transfer", "Clearing", D("42.50"), D("42.50"), D(0), D("0.72"),
     D("30.60")),
    ("95000001", "shopify_payments", OCT, 1, 1, "USD", "sales", "Sales", D("200.00"), D(0), D("200.00"), D(1),
     D("200.00")),
    # an account name a spreadsheet would run as a formula (the seed is user-edited)
    ("95000001", "shopify_payments", OCT, 1, 1, "USD", "payment_fees", "-Fees", D("-6.10"), D("6.10"), D(0), D(1),
     D("-6.10")),
    ("95000001", "shopify_payments", OCT, 1, 1, "USD", "transfer", "Clearing", D("193.90"), D("193.90"), D(0), D(1),
     D("193.90")),
]


@pytest.fixture
def home(tmp_path):
    with published_snapshot(tmp_path, [("run-9", date(2026, 11, 2), "2026-11-02 02:07:30+00")]) as (home, con):
        con.execute("""create table marts.finance_journal (journal_line_id varchar, journal_id varchar,
            source varchar, reference varchar, month date, month_part bigint, month_parts bigint, journal_date date,
            part_start date, part_end date, deposit_date date, payout_status varchar, currency varchar,
            account varchar, account_code varchar, account_name varchar, source_rows bigint,
            amount decimal(18, 2), debit decimal(18, 2), credit decimal(18, 2), deposit decimal(18, 2),
            fx_rate decimal(18, 8), amount_rc decimal(18, 2))""")
        for ref, source, month, part, parts, cur, account, name, amount, debit, credit, rate, rc in LINES:
            journal = f"{source}:{ref}:{month}"
            con.execute("insert into marts.finance_journal values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                        "?, ?, ?, ?, ?, ?, ?)",
                        [f"{journal}:{account}", journal, source, ref, month, part, parts, month, month, month,
                         date(2026, 10, 16), "settled", cur, account, "1000", name, 3, amount, debit, credit,
                         D("127.50") if ref == "777" else D("193.90"), rate, rc])
    return home


def read_sheet(path, name) -> tuple[list[str], list[tuple], tuple]:
    rows = list(openpyxl.load_workbook(path)[name].iter_rows(values_only=True))
    return list(rows[0]), rows[1:-1], rows[-1]


def test_a_month_of_two_currencies_totals_only_the_reporting_currency(home, tmp_path):
    csv_path, xlsx_path = export_journal(home, month=OCT, out=tmp_path)
    assert (csv_path.name, xlsx_path.name) == ("journal_2026-10.csv", "journal_2026-10.xlsx")
    with csv_path.open(newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert [(r["reference"], r["account"], r["amount"], r["debit"], r["credit"], r["amount_rc"]) for r in lines] == [
        ("777", "marketplace_fees", "-7.50", "7.50", "0.00", "-5.40"),
        ("777", "sales", "50.00", "0.00", "50.00", "36.00"),
        ("777", "transfer", "42.50", "42.50", "0.00", "30.60"),
        ("95000001", "payment_fees", "-6.10", "6.10", "0.00", "-6.10"),
        ("95000001", "sales", "200.00", "0.00", "200.00", "200.00"),
        ("95000001", "transfer", "193.90", "193.90", "0.00", "193.90")]
    assert lines[3]["account_name"] == "'-Fees"  # neutralised, never a formula
    assert (lines[0]["debit_rc"], lines[1]["credit_rc"]) == ("5.40", "36.00")

    head, rows, total = read_sheet(xlsx_path, "Lines")
    assert "Debit (payout currency)" in head and "Debit (USD)" in head and "Amount (USD)" in head
    assert len(rows) == 6 and total[0] == "Total"
    assert total[head.index("Debit (payout currency)")] is None  # CAD + USD: no total
    assert total[head.index("Debit (USD)")] == pytest.approx(5.40 + 30.60 + 6.10 + 193.90)
    assert total[head.index("Credit (USD)")] == pytest.approx(36.00 + 200.00)
    assert rows[3][head.index("Account name")] == "'-Fees"

    head, journals, total = read_sheet(xlsx_path, "Journals")
    by_ref = {j[head.index("Reference")]: j for j in journals}
    assert set(by_ref) == {"777", "95000001"}
    assert by_ref["777"][head.index("Month part")] == 2 and by_ref["777"][head.index("Month parts")] == 2
    assert by_ref["777"][head.index("Transfer (payout currency)")] == pytest.approx(42.50)
    assert all(j[head.index("Balances")] is True for j in journals)
    assert total[head.index("Transfer (USD)")] == pytest.approx(30.60 + 193.90)
    assert total[head.index("Transfer (payout currency)")] is None


def test_a_month_of_one_currency_totals_its_debits_and_credits(home, tmp_path):
    _csv, xlsx_path = export_journal(home, month=SEP, out=tmp_path)
    head, rows, total = read_sheet(xlsx_path, "Lines")
    assert len(rows) == 3
    assert total[head.index("Debit (payout currency)")] == pytest.approx(100.00)
    assert total[head.index("Credit (payout currency)")] == pytest.approx(100.00)
    about = {row[0]: row[1] for row in openpyxl.load_workbook(xlsx_path)["About"].iter_rows(values_only=True)
             if row[0]}
    assert about["Run id"] == "run-9" and about["Journals"] == 1 and about["Lines"] == 3


def test_every_month_and_a_month_without_journals(home, tmp_path):
    csv_path, _xlsx = export_journal(home, out=tmp_path)
    assert csv_path.name == "journal.csv"
    with csv_path.open(newline="") as handle:
        assert len(list(csv.DictReader(handle))) == len(LINES)
    with pytest.raises(ExportError, match="no journal for 2026-11; the journal covers 2026-09 … 2026-10"):
        export_journal(home, month=date(2026, 11, 1), out=tmp_path / "none")
