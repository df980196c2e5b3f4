"""Finance signs off the contribution table: payouts reconciled to the facts, restatements, exports.

The demo generator computes every payout's expected and reported amount from its simulated events
(truth/payouts.csv), plants chargeback fees outside Shopify's Fee column in one payout (payment
fees: explained), a slow
wholesale payer, and a refund of September that arrives in a late file. Here the files are landed,
`dbt build` runs, and the marts must equal that truth to the cent; the nightly run is replayed with
the late file withheld and then delivered, and the restatement must say what moved, by how much and
why; the exports are read back (the XLSX as its XML, the way a spreadsheet would).
"""

from __future__ import annotations

import csv
import re
import shutil
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from connectors.home import build_database, published_database
from connectors.lake import Home, land_all
from orchestration.cli import app
from orchestration.demo import generate
from orchestration.demo.writers import META
from orchestration.launch import nightly_run
from orchestration.pipeline.dbt import failures, run_dbt

NOV_1 = date(2026, 11, 1)
INJECTION = '=HYPERLINK("http://x","y")'
MONEY = ("expected", "reported", "variance", "unexplained", "expected_rc", "reported_rc", "unexplained_rc")


def truth_rows(root: Path, name: str) -> list[dict]:
    with (root / "demo" / "truth" / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("recon_demo") / "home"
    generate(root, days=60, orders_per_day=40)
    # a campaign whose name is a spreadsheet formula flows through the warehouse to the exports
    inject = root / "landing" / "meta_ads" / "meta_ads_campaign_names.csv"
    with inject.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(META)
        writer.writerow(["2026-10-05", INJECTION, "Ad set", "+cmd|' /C calc'!A0", "12.34", "1000", "800", "10",
                         "1", "50.00", "2026-10-05", "2026-10-05"])
    return root


@pytest.fixture(scope="module")
def built(demo_root, tmp_path_factory) -> Home:
    home = Home(tmp_path_factory.mktemp("recon_build") / "home")
    shutil.copytree(demo_root, home.root)
    land_all(home)
    result = run_dbt(home, "build")
    assert result.success, failures(result)
    return home


def query(path: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params).fetchall()


# ---- payout reconciliation against the generator's truth -----------------------------------------------
def test_every_payout_equals_the_truth_to_the_cent(built):
    truth = {(t["source"], t["channel"], t["payout_id"]): t for t in truth_rows(built.root, "payouts.csv")}
    rows = query(build_database(built), f"select source, channel, payout_id, currency, {', '.join(MONEY)}, "
                                        "is_reconciled from marts.payout_reconciliation")
    assert len(truth) > 100 and {r[0] for r in rows} == {"shopify_payments", "amazon_settlement"}
    warehouse = {(r[0], r[1], r[2]): r for r in rows}
    assert set(warehouse) == set(truth), "payouts missing or extra"
    problems = []
    for key, want in truth.items():
        got = warehouse[key]
        assert got[3] == want["currency"]
        for name, value in zip(MONEY, got[4:11], strict=True):
            assert isinstance(value, Decimal)
            if value != Decimal(want[name]):
                problems.append(f"{key} {name}: truth {want[name]} warehouse {value}")
        if got[11] != (want["is_reconciled"] == "True"):
            problems.append(f"{key} is_reconciled: truth {want['is_reconciled']} warehouse {got[11]}")
    assert not problems, "\n".join(problems[:30])


def test_chargeback_fees_are_payment_fees_and_every_payout_reconciles(built):
    rows = query(build_database(built), """
        select source, channel, payout_id, variance, timing, unexplained, is_reconciled, expected_fees
        from marts.payout_reconciliation""")
    chargebacks = query(build_database(built), """
        select p.payout_id, sum(f.amount) from marts.fct_fees as f
        join staging.stg_shopify__payment_transactions as p on f.fee_line_id = 'shopify_payments:' || p.transaction_key
            || ':amount'
        where p.transaction_type = 'adjustment' group by p.payout_id""")
    # 4 chargeback fees of 15.00 (ceil(40 / 10)), all in one payout: payment fees, so expected there
    assert [amount for _, amount in chargebacks] == [Decimal("60.00")]
    payout = chargebacks[0][0]
    fees = {r[2]: r[7] for r in rows if r[:2] == ("shopify_payments", "shopify_web")}
    fee_facts = query(build_database(built), """
        select sum(f.amount) from marts.fct_fees as f
        join staging.stg_shopify__payment_transactions as p
            on f.fee_line_id in ('shopify_payments:' || p.transaction_key,
                                 'shopify_payments:' || p.transaction_key || ':amount')
        where p.payout_id = ? and f.channel = 'shopify_web'""", [payout])[0][0]
    assert fees[payout] == -fee_facts
    # every payout reconciles: exactly, or by timing (orders of one settlement period paid in the next)
    for source, channel, payout, variance, timing, unexplained, is_reconciled, _ in rows:
        assert unexplained == 0 and is_reconciled, (source, channel, payout)
        assert variance == timing, (source, channel, payout, variance, timing)
    amazon_timing = [r for r in rows if r[0] == "amazon_settlement" and r[4] != 0]
    assert len(amazon_timing) >= 4, "Amazon settlements should show timing differences at period boundaries"


def test_amazon_reported_is_the_settlement_total(built):
    truth = {t["settlement_id"]: Decimal(t["total_amount"]) for t in truth_rows(built.root, "settlements.csv")}
    rows = dict(query(build_database(built), "select payout_id, reported from marts.payout_reconciliation "
                                             "where source = 'amazon_settlement'"))
    assert rows == truth


def test_channel_months_say_which_numbers_finance_can_sign_off(built):
    rows = {(r[0], r[1]): r[2:] for r in query(build_database(built), """
        select channel, month, reconciliation_status, payouts, payouts_reconciled, unexplained_rc, open_invoices,
               open_receivables_rc, contribution_after_opex
        from marts.channel_pnl_reconciled""")}
    pnl = dict(query(build_database(built), "select channel || month, contribution_after_opex "
                                            "from marts.channel_pnl_monthly"))
    assert {f"{c}{m}": v[-1] for (c, m), v in rows.items()} == pnl
    sep, octo = date(2026, 9, 1), date(2026, 10, 1)
    # the chargeback fees are payment fees: October's web payouts reconcile too
    for channel in ("shopify_web", "shopify_pos", "amazon_us", "amazon_ca"):
        for month in (sep, octo):
            status, payouts, reconciled, unexplained, *_ = rows[(channel, month)]
            # Amazon's settlements cover October only to the 27th: not closed, so not signed off yet
            signed = "awaiting_payouts" if month == octo and channel.startswith("amazon") else "reconciled"
            assert (status, unexplained) == (signed, 0) and payouts == reconciled > 0, (channel, month)
    assert rows[("unallocated", sep)][0] == "no_payouts"
    # wholesale: the month's invoices against payments received
    receivables = truth_rows(built.root, "receivables.csv")
    for month in (sep, octo):
        invoices = [r for r in receivables if r["invoice_date"][:7] == f"{month:%Y-%m}"]
        open_ = [r for r in invoices if r["ageing_bucket"] != "paid"]
        status, _, _, _, open_invoices, open_rc, _ = rows[("wholesale", month)]
        assert status == ("receivables_open" if open_ else "receivables_collected")
        assert open_invoices == len(open_)
        assert open_rc == sum(Decimal(r["open_amount_rc"]) for r in open_)


def test_wholesale_receivables_and_ageing_equal_the_truth(built):
    truth = {r["document_number"]: r for r in truth_rows(built.root, "receivables.csv")}
    rows = query(build_database(built), """
        select document_number, invoice_amount, credited_amount, open_amount, open_amount_rc, days_past_due,
               ageing_bucket, as_of_date, paid_date
        from marts.wholesale_receivables""")
    assert {r[0] for r in rows} == set(truth)
    for number, amount, credited, open_amount, open_rc, days, bucket, as_of, _paid in rows:
        want = truth[number]
        assert (amount, credited, open_amount, open_rc) == tuple(
            Decimal(want[k]) for k in ("invoice_amount", "credited_amount", "open_amount", "open_amount_rc")), number
        assert (bucket, as_of.isoformat()) == (want["ageing_bucket"], want["as_of_date"]), number
        assert days == (int(want["days_past_due"]) if want["days_past_due"] else None), number
    buckets = {r[6] for r in rows}
    assert {"paid", "current", "1-30"} <= buckets, "the slow payer's invoices are overdue"


# ---- restatements: a late refund into a closed month -----------------------------------------------------
# the nights' run ids, named here so a restatement can be checked to name them (Dagster run ids are UUIDs)
FINANCE_RUNS = [f"f1ace000-0000-4000-8000-00000000000{n}" for n in (1, 2, 3)]


@pytest.fixture(scope="module")
def restated(demo_root, tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("recon_nightly") / "home")
    shutil.copytree(demo_root, home.root)
    late = truth_rows(home.root, "late_data.csv")
    assert len(late) == 1
    late_file = home.landing("shopify_payments") / late[0]["file"]
    held_back = home.root.parent / late_file.name
    shutil.move(late_file, held_back)
    first = nightly_run(home, NOV_1, run_id=FINANCE_RUNS[0])
    assert first.published, [c.detail for c in first.blocking_failures]
    with duckdb.connect(str(published_database(home)), read_only=True) as con:
        before = dict(con.execute("select channel || ':' || month, returns from marts.channel_pnl_monthly").fetchall())
        first_restatements = con.execute("select count(*) from main.restatements").fetchone()[0]
    shutil.move(held_back, late_file)  # the late export arrives after September was published
    second = nightly_run(home, NOV_1, run_id=FINANCE_RUNS[1])
    assert second.published, [c.detail for c in second.blocking_failures]
    return home, late[0], before, first_restatements


def test_a_late_refund_into_a_closed_month_is_a_restatement_with_its_reason(restated):
    home, late, before, first_restatements = restated
    assert first_restatements == 0  # nothing was restated by the first publish
    rows = query(published_database(home), """
        select run_id, logical_date, channel, month, line, previously_published, restated, delta, previous_run_id,
               reason
        from main.restatements order by line""")
    returns = Decimal(late["returns"])
    shipping = Decimal(late["shipping_income"])
    month = date.fromisoformat(late["month"] + "-01")
    assert late["channel"] == "shopify_web" and month == date(2026, 9, 1)
    moved = {r[4]: r for r in rows}
    assert {(r[2], r[3]) for r in rows} == {(late["channel"], month)}, "only that channel-month moves"
    row = moved["returns"]
    assert row[0] == FINANCE_RUNS[1] and row[1] == NOV_1 and row[8] == FINANCE_RUNS[0]
    assert row[7] == returns and row[6] - row[5] == returns
    assert row[5] == before[f"{late['channel']}:{month}"]
    # what the refund moves: returns up, net sales down, shipping refunded, COGS down by the assumed
    # restock (seeds/channels.csv refund_restock_share), every margin down by the rest
    total = returns - shipping
    cogs = Decimal(late["cogs"])
    assert cogs < 0
    margin = -total - cogs
    expected = {"returns": returns, "net_sales": -returns, "net_revenue": -total, "cogs": cogs, "cm1": margin,
                "cm2": margin, "cm3": margin, "contribution_after_opex": margin}
    if shipping:
        expected["shipping_income"] = shipping
    assert {line: r[7] for line, r in moved.items()} == expected
    reason = row[9]
    assert reason.startswith("late-arriving data: 1 refund(s) with event dates in 2026-09")
    assert late["file"] in reason and FINANCE_RUNS[0] in reason
    # the month's published figures changed by exactly that
    after = dict(query(published_database(home), "select channel || ':' || month, returns "
                                                 "from marts.channel_pnl_monthly"))
    assert after[f"{late['channel']}:{month}"] - before[f"{late['channel']}:{month}"] == returns
    assert {k: v for k, v in after.items() if k != f"{late['channel']}:{month}"} == \
        {k: v for k, v in before.items() if k != f"{late['channel']}:{month}"}


def test_restatement_history_is_carried_by_the_next_publish(restated):
    home, *_ = restated
    count = len(query(published_database(home), "select * from main.restatements"))
    third = nightly_run(home, NOV_1, run_id=FINANCE_RUNS[2])
    assert third.published
    rows = query(published_database(home), "select run_id from main.restatements")
    assert len(rows) == count and {r[0] for r in rows} == {FINANCE_RUNS[1]}  # nothing new moved, history kept


# ---- exports from the published snapshot -------------------------------------------------------------------
def cwh(home: Home, *args: str):
    result = CliRunner().invoke(app, list(args), env={"CWH_HOME": str(home.root)})
    assert result.exit_code == 0, result.output
    return result


def sheet_cells(xlsx: Path, sheet_name: str) -> tuple[list[list[tuple[str, str | None]]], str]:
    """Rows of (type, value) read from the sheet's XML: t="s" shared string, "b" boolean, none = number."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    with zipfile.ZipFile(xlsx) as z:
        strings = [si.findtext("m:t", namespaces=ns) or "".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t"))
                   for si in ElementTree.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", ns)]
        workbook = ElementTree.fromstring(z.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        sheet = next(s for s in workbook.find("m:sheets", ns) if s.get("name") == sheet_name)
        target = next(r.get("Target") for r in rels if r.get("Id") == sheet.get(rel))
        xml = z.read(f"xl/{target}").decode()
    rows = []
    for row in ElementTree.fromstring(xml).find("m:sheetData", ns):
        cells = []
        for c in row:
            kind, value = c.get("t") or "n", c.findtext("m:v", namespaces=ns)
            cells.append((kind, strings[int(value)] if kind == "s" else value))
        rows.append(cells)
    return rows, xml


def test_exports_write_typed_tables_and_neutralise_formulas(restated, tmp_path):
    home, late, *_ = restated
    published = published_database(home)
    pnl = query(published, "select channel, month, net_revenue, contribution_after_opex, reconciliation_status "
                           "from marts.channel_pnl_reconciled order by month, channel")
    payouts = query(published, "select count(*) from marts.payout_reconciliation")[0][0]

    # CSV: every table, formulas neutralised, money as plain decimals
    cwh(home, "export", "--format", "csv", "--out", str(tmp_path / "csv"))
    folder = tmp_path / "csv" / "finance"
    with (folder / "channel_pnl_reconciled.csv").open() as handle:
        got = list(csv.DictReader(handle))
    assert [(r["channel"], r["month"], Decimal(r["net_revenue"]), Decimal(r["contribution_after_opex"]),
             r["reconciliation_status"]) for r in got] == [(c, m.isoformat(), n, x, s) for c, m, n, x, s in pnl]
    with (folder / "payout_reconciliation.csv").open() as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == payouts
    with (folder / "restatements.csv").open() as handle:
        restatements = list(csv.DictReader(handle))
    assert {r["line"]: Decimal(r["delta"]) for r in restatements}["returns"] == Decimal(late["returns"])
    with (folder / "marketing_by_campaign.csv").open() as handle:
        campaigns = list(csv.DictReader(handle))
    names = {r["campaign_name"] for r in campaigns}
    assert "'" + INJECTION in names and INJECTION not in names
    assert all(not v.startswith(("=", "+", "@")) for r in campaigns for v in r.values())

    # Parquet: typed columns, the same rows
    cwh(home, "export", "--format", "parquet", "--out", str(tmp_path / "pq"))
    table = pq.read_table(tmp_path / "pq" / "finance" / "channel_pnl_reconciled.parquet")
    assert table.num_rows == len(pnl)
    assert str(table.schema.field("net_revenue").type) == "decimal128(18, 2)"
    assert str(table.schema.field("month").type) == "date32[day]"
    assert pq.read_table(tmp_path / "pq" / "finance" / "payout_reconciliation.parquet").num_rows == payouts

    # XLSX: typed numeric cells, frozen header, autofilter, no formula anywhere, injection neutralised
    cwh(home, "export", "--format", "xlsx", "--out", str(tmp_path / "xlsx"))
    xlsx = tmp_path / "xlsx" / "finance.xlsx"
    rows, xml = sheet_cells(xlsx, "channel_pnl_reconciled")
    header = [v for _, v in rows[0]]
    assert 'state="frozen"' in xml and 'ySplit="1"' in xml and "<autoFilter" in xml
    ni, ci = header.index("Net revenue (USD)"), header.index("Channel")  # headers people read
    *data, total = rows[1:]
    assert [(r[ci][1], Decimal(r[ni][1]).quantize(Decimal("0.01"))) for r in data] == \
        [(c, n) for c, _, n, _, _ in pnl]
    assert total[0] == ("s", "Total")
    assert Decimal(total[ni][1]).quantize(Decimal("0.01")) == sum(n for _, _, n, _, _ in pnl)
    assert all(r[ni][0] == "n" for r in rows[1:]), "money must be numeric cells"
    with zipfile.ZipFile(xlsx) as z:
        everything = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xml"))
    assert "<f>" not in everything and "<f " not in everything, "no cell may be a formula"
    campaign_rows, _ = sheet_cells(xlsx, "marketing_by_campaign")
    values = [v for row in campaign_rows[1:] for kind, v in row if kind == "s"]
    assert "'" + INJECTION in values and "'+cmd|' /C calc'!A0" not in values  # the ad name is not exported
    assert not any(re.match(r"^[=+@\-]", v) for v in values)

    # --month: one month only
    cwh(home, "export", "--format", "csv", "--month", "2026-09", "--out", str(tmp_path / "sep"))
    with (tmp_path / "sep" / "finance_2026-09" / "channel_pnl_reconciled.csv").open() as handle:
        months = {r["month"] for r in csv.DictReader(handle)}
    assert months == {"2026-09-01"}
    with (tmp_path / "sep" / "finance_2026-09" / "payout_reconciliation.csv").open() as handle:
        for r in csv.DictReader(handle):
            assert r["period_start"] <= "2026-09-30" and r["period_end"] >= "2026-09-01"


def test_export_refuses_without_a_published_snapshot(tmp_path):
    result = CliRunner().invoke(app, ["export", "--format", "csv"], env={"CWH_HOME": str(tmp_path)})
    assert result.exit_code == 1 and "nothing published yet" in result.output
