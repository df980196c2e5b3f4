"""The month-end close journal against the demo generator's own truth.

The generator knows what each payout deposited (truth/payouts.csv: every Shopify payout × channel,
Σ Net of its transactions; truth/settlements.csv: every Amazon settlement's total) and every
settlement component it wrote, summed per month of its posted date (truth/settlement_components.csv).
The journal built by dbt must balance to those deposits to the cent, split each settlement at
month end exactly as those components fall, and `cwh export --journal` must write the same
journals as CSV and XLSX (read back with openpyxl).
"""

from __future__ import annotations

import calendar
import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest
from typer.testing import CliRunner

from connectors.home import build_database, published_database
from connectors.lake import Home, land_all
from orchestration.cli import app
from orchestration.demo import generate
from orchestration.pipeline.dbt import failures, run_dbt
from orchestration.pipeline.publish import publish

# The accounts of docs/metrics.md "Finance journal", written here from the settlement report's own
# vocabulary (amount-type, amount-description), not read from the project's seeds.
SALES_TYPES = {("ItemPrice", "Principal"): "sales", ("ItemPrice", "Shipping"): "shipping_income",
               ("ItemPrice", "GiftWrap"): "shipping_income", ("Promotion", "Principal"): "promotions",
               ("Promotion", "Shipping"): "promotions"}
FEES = {"Commission": "marketplace_fees", "RefundCommission": "marketplace_fees",
        "VariableClosingFee": "marketplace_fees", "FixedClosingFee": "marketplace_fees",
        "Subscription Fee": "marketplace_fees", "FBAPerUnitFulfillmentFee": "fulfilment_fees",
        "FBAWeightBasedFee": "fulfilment_fees", "ShippingChargeback": "fulfilment_fees",
        "Storage Fee": "fulfilment_fees", "REVERSAL_REIMBURSEMENT": "reimbursements",
        "WAREHOUSE_DAMAGE": "reimbursements"}


def settlement_account(transaction_type: str, amount_type: str, description: str, amount: Decimal) -> str:
    if amount_type in ("ItemPrice", "ItemWithheldTax") and "Tax" in description:
        return "tax_collected"
    if (amount_type, description) in SALES_TYPES:
        return SALES_TYPES[(amount_type, description)] if transaction_type == "Order" else "refunds"
    if "Reserve" in description:
        return "reserves_held" if amount < 0 else "reserves_released"
    return FEES[description]


def truth(root: Path, name: str) -> list[dict]:
    with (root / "demo" / "truth" / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def truth_deposits(root: Path) -> dict[tuple[str, str], Decimal]:
    """(source, payout or settlement id) -> what the generator deposited."""
    deposits: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in truth(root, "payouts.csv"):
        if row["source"] == "shopify_payments":  # one row per payout × channel
            deposits[(row["source"], row["payout_id"])] += Decimal(row["reported"])
    for row in truth(root, "settlements.csv"):
        deposits[("amazon_settlement", row["settlement_id"])] = Decimal(row["total_amount"])
    return dict(deposits)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Home:
    home = Home(tmp_path_factory.mktemp("journal") / "home")
    generate(home.root, days=60, orders_per_day=40)
    land_all(home)
    # the journal, what it is built from and the tests of those alone (the balance test among them)
    result = run_dbt(home, "build", "--select", "+finance_journal", "--indirect-selection", "cautious",
                     "--exclude-resource-type", "unit_test")
    assert result.success, failures(result)
    return home


def journal_rows(home: Home, database: Path | None = None) -> list[dict]:
    with duckdb.connect(str(database or build_database(home)), read_only=True) as con:
        result = con.execute("select * from marts.finance_journal")
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def test_every_payout_journal_balances_to_what_the_generator_deposited(built):
    deposits = truth_deposits(built.root)
    rows = journal_rows(built)
    transfers: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    journals: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        journals[row["journal_id"]].append(row)
        if row["account"] == "transfer":
            transfers[(row["source"], row["reference"])] += row["amount"]
    assert len(deposits) > 60 and {source for source, _ in deposits} == {"shopify_payments", "amazon_settlement"}
    assert set(transfers) == set(deposits), "payouts missing from the journal, or journals of no payout"
    wrong = {key: (transfers[key], want) for key, want in deposits.items() if transfers[key] != want}
    assert not wrong, list(wrong.items())[:10]
    for journal_id, lines in journals.items():
        transfer = [line for line in lines if line["account"] == "transfer"]
        assert len(transfer) == 1, journal_id
        assert sum(line["debit"] for line in lines) == sum(line["credit"] for line in lines), journal_id
        assert sum(line["amount"] for line in lines if line["account"] != "transfer") == transfer[0]["amount"]
        assert len({line["currency"] for line in lines}) == 1 and all(line["account_code"] for line in lines)


def test_the_balance_check_fails_a_payout_whose_deposit_is_a_cent_off(built):
    """The dbt test behind the Dagster check of the mart: a deposit one cent off is caught."""
    payout = journal_rows(built)[0]["reference"]
    shift = "update intermediate.int_payouts set reported = reported + {} where payout_id = ?"
    with duckdb.connect(str(build_database(built))) as con:
        con.execute(shift.format("0.01"), [payout])
    try:
        result = run_dbt(built, "test", "--select", "assert_journals_balance_to_deposits")
        assert not result.success
        assert any("assert_journals_balance_to_deposits" in line and "fail" in line for line in failures(result))
    finally:
        with duckdb.connect(str(build_database(built))) as con:
            con.execute(shift.format("-0.01"), [payout])
    assert run_dbt(built, "test", "--select", "assert_journals_balance_to_deposits").success


def test_a_settlement_across_a_month_end_splits_as_its_components_were_posted(built):
    want: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    months: dict[str, set[str]] = defaultdict(set)
    for c in truth(built.root, "settlement_components.csv"):
        amount = Decimal(c["amount"])
        account = settlement_account(c["transaction_type"], c["amount_type"], c["amount_description"], amount)
        want[(c["settlement_id"], c["posted_month"], account)] += amount
        want[(c["settlement_id"], c["posted_month"], "transfer")] += amount
        months[c["settlement_id"]].add(c["posted_month"])
    want = {key: value for key, value in want.items() if value != 0 or key[2] == "transfer"}
    spanning = sorted(sid for sid, posted in months.items() if len(posted) == 2)
    assert len(spanning) >= 2, "the demo should have settlements across a month end"
    got = {(r["reference"], f"{r['month']:%Y-%m}", r["account"]): r["amount"] for r in journal_rows(built)
           if r["source"] == "amazon_settlement"}
    assert got == want
    parts = {(r["reference"], f"{r['month']:%Y-%m}"): (r["month_part"], r["month_parts"], r["journal_date"])
             for r in journal_rows(built) if r["source"] == "amazon_settlement"}
    for sid in spanning:
        first, second = sorted(months[sid])
        assert parts[(sid, first)][:2] == (1, 2) and parts[(sid, second)][:2] == (2, 2)
        # the first part is dated on its month's last day, the second in its own month
        dated = parts[(sid, first)][2]
        assert f"{dated:%Y-%m}" == first and dated.day == calendar.monthrange(dated.year, dated.month)[1]
        assert parts[(sid, second)][2].strftime("%Y-%m") == second


def test_shopify_journals_book_the_orders_and_refunds_the_generator_made(built):
    """Over the window, the Shopify journals' sales, promotions, shipping and refunds are the P&L truth's
    gross sales, discounts, shipping income (net of shipping refunded) and returns of the Shopify channels:
    each charge split in its order's proportions, each refund into refunds and tax."""
    want: dict[str, Decimal] = defaultdict(Decimal)
    for row in truth(built.root, "pnl_daily.csv"):
        if row["channel"] in ("shopify_web", "shopify_pos"):
            for line in ("gross_sales", "discounts", "shipping_income", "returns"):
                want[line] += Decimal(row[line])
    got: dict[str, Decimal] = defaultdict(Decimal)
    for row in journal_rows(built):
        if row["source"] == "shopify_payments":
            got[row["account"]] += row["amount"]
    assert want["gross_sales"] > 10000
    assert got["sales"] == want["gross_sales"]
    assert got["promotions"] == -want["discounts"]
    # refunds hold the shipping refunded, which the P&L nets into shipping income
    assert got["shipping_income"] + got["refunds"] == want["shipping_income"] - want["returns"]
    assert got["tax_collected"] > 0 and got["other"] == 0


@pytest.fixture(scope="module")
def published(built) -> Home:
    result = publish(built, run_id="journal-test", logical_date=built_end(built), watermarks={}, checks=[])
    assert result.published
    return built


def built_end(home: Home):
    return max(row["journal_date"] for row in journal_rows(home))


def test_cwh_export_journal_writes_csv_and_xlsx_that_balance(published, tmp_path, monkeypatch):
    home = published
    monkeypatch.setenv("CWH_HOME", str(home.root))
    rows = journal_rows(home, published_database(home))
    month = sorted({r["month"] for r in rows if r["month_parts"] == 2 and r["source"] == "amazon_settlement"})[-1]
    result = CliRunner().invoke(app, ["export", "--journal", "--month", f"{month:%Y-%m}", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    in_month = [r for r in rows if r["month"] == month]

    with (tmp_path / f"journal_{month:%Y-%m}.csv").open(newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert sorted((r["journal_line_id"], r["amount"], r["debit"], r["credit"], r["account_code"]) for r in lines) == \
        sorted((r["journal_line_id"], f"{r['amount']:.2f}", f"{r['debit']:.2f}", f"{r['credit']:.2f}",
                r["account_code"]) for r in in_month)

    workbook = openpyxl.load_workbook(tmp_path / f"journal_{month:%Y-%m}.xlsx")
    assert workbook.sheetnames == ["About", "Journals", "Lines"]
    sheet = list(workbook["Journals"].iter_rows(values_only=True))
    header, body, total = sheet[0], sheet[1:-1], sheet[-1]
    col = {label: i for i, label in enumerate(header)}
    assert len(body) == len({r["journal_id"] for r in in_month}) and total[0] == "Total"
    for journal in body:  # every journal balances: debits = credits in its own currency, to the cent
        assert journal[col["Balances"]] is True
        assert round(journal[col["Debit (payout currency)"]], 2) == round(journal[col["Credit (payout currency)"]], 2)
    # the transfer of the settlement's part in this month: the generator's components posted in it
    components: dict[str, Decimal] = defaultdict(Decimal)
    for c in truth(home.root, "settlement_components.csv"):
        if c["posted_month"] == f"{month:%Y-%m}":
            components[c["settlement_id"]] += Decimal(c["amount"])
    amazon = {j[col["Reference"]]: j[col["Transfer (payout currency)"]] for j in body
              if j[col["Source"]] == "amazon_settlement"}
    assert amazon and {ref: round(Decimal(str(v)), 2) for ref, v in amazon.items()} == dict(components)
    # totals row: Σ of the reporting-currency transfers written above it
    assert total[col["Transfer (USD)"]] == pytest.approx(sum(j[col["Transfer (USD)"]] for j in body), abs=0.005)

    lines_sheet = list(workbook["Lines"].iter_rows(values_only=True))
    head, line_rows, line_total = lines_sheet[0], lines_sheet[1:-1], lines_sheet[-1]
    debit_rc, credit_rc = head.index("Debit (USD)"), head.index("Credit (USD)")
    assert len(line_rows) == len(in_month)
    assert line_total[debit_rc] == pytest.approx(line_total[credit_rc], abs=0.005)
    assert line_total[debit_rc] == pytest.approx(sum(r[debit_rc] for r in line_rows), abs=0.005)


def test_cwh_export_journal_refuses_parquet(published, monkeypatch, tmp_path):
    monkeypatch.setenv("CWH_HOME", str(published.root))
    result = CliRunner().invoke(app, ["export", "--journal", "--format", "parquet", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--journal writes CSV and XLSX" in result.output
    assert not list(tmp_path.iterdir())


def test_cwh_export_journal_of_a_month_without_journals_says_which_months_it_covers(published, monkeypatch,
                                                                                     tmp_path):
    monkeypatch.setenv("CWH_HOME", str(published.root))
    result = CliRunner().invoke(app, ["export", "--journal", "--month", "2020-01", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "no journal for 2020-01; the journal covers 2026-" in result.output
    assert not list(tmp_path.iterdir())
