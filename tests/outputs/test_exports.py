"""The finance exports of a small hand-made published snapshot, read back the way their readers read
them: the workbook with openpyxl (headers with the currency, the About sheet, totals equal to the
sums of the rows written here, number formats, widths), the CSV as text (money at 2 decimals, ratios
at 6), the Parquet footer with pyarrow (run, currency, source mart)."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pyarrow.parquet as pq
import pytest

from orchestration.outputs.exports import export, write_csv
from tests.outputs.conftest import published_snapshot

RUN = "run-2026-11-02"
PNL = [  # channel, month, net_revenue, contribution_after_opex, cm3_pct, payouts, open_receivables_rc, status,
    # accrued_marketplace_fees (estimated fees of the unsettled items: only in a provisional month)
    ("amazon_us", date(2026, 9, 1), Decimal("12345.67"), Decimal("2345.10"), 1 / 3, 2, None, "closed", Decimal("0.00")),
    ("shopify_web", date(2026, 9, 1), Decimal("98765.43"), Decimal("-1234.56"), 0.123456789, 31, None, "closed",
     Decimal("0.00")),
    ("unallocated", date(2026, 9, 1), Decimal("0.00"), Decimal("-500.00"), None, 0, None, "closed", Decimal("0.00")),
    ("amazon_us", date(2026, 10, 1), Decimal("1000.01"), Decimal("100.00"), 0.25, 1234, None, "provisional",
     Decimal("123.45")),
    ("wholesale", date(2026, 10, 1), Decimal("4000.00"), Decimal("800.00"), 0.2, 0, Decimal("900.00"), "open",
     Decimal("0.00")),
]
CAMPAIGN = '=HYPERLINK("http://x","y")'


@pytest.fixture
def home(tmp_path):
    runs = [("run-old", date(2026, 11, 1), "2026-11-01 02:05:00+00"),
            (RUN, date(2026, 11, 2), "2026-11-02 02:07:30+00")]
    with published_snapshot(tmp_path, runs) as (home, con):
        con.execute("""create table marts.channel_pnl_reconciled (channel varchar, month date,
            net_revenue decimal(18, 2), contribution_after_opex decimal(18, 2), cm3_pct double, payouts bigint,
            open_receivables_rc decimal(18, 2), period_status varchar,
            accrued_marketplace_fees decimal(18, 2))""")
        con.executemany("insert into marts.channel_pnl_reconciled values (?, ?, ?, ?, ?, ?, ?, ?, ?)", PNL)
        con.execute("""create table marts.payout_reconciliation as select * from (values
            ('s:1', 'amazon_settlement', '1', 'amazon_ca', 'CAD', date '2026-09-01', date '2026-09-14',
             1000.00::decimal(18, 2), 0.71234567::decimal(18, 8), 712.35::decimal(18, 2), 12::bigint))
            as t(payout_key, source, payout_id, channel, currency, period_start, period_end, expected, fx_rate,
                 expected_rc, transactions)""")
        con.execute("""create table marts.fct_marketing_spend as select * from (values
            (date '2026-09-03', 'shopify_web', 'google_ads', 'Brand', 100.10::decimal(18, 2), 1500000::bigint,
             2000::bigint, 400.00::decimal(18, 2)),
            (date '2026-09-04', 'shopify_web', 'google_ads', 'Brand', 0.05::decimal(18, 2), 1::bigint, 0::bigint,
             0.00::decimal(18, 2)),
            (date '2026-09-04', 'amazon_us', 'meta_ads', ?, 50.00::decimal(18, 2), 20000::bigint, 300::bigint,
             null::decimal(18, 2)))
            as t(spend_date, channel, platform, campaign_name, spend_rc, impressions, clicks, conversion_value_rc)""",
                    [CAMPAIGN])
    return home


def header(sheet) -> list[str]:
    return [cell.value for cell in sheet[1]]


def test_the_workbook_reads_as_finance_expects(home, tmp_path):
    [path] = export(home, "xlsx", out=tmp_path / "out")
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["About", "channel_pnl_reconciled", "payout_reconciliation",
                                   "marketing_by_campaign"]

    about = {row[0]: row[1:] for row in workbook["About"].iter_rows(values_only=True) if row[0]}
    assert about["Run id"][0] == RUN  # the newest publish, not the first
    assert about["Logical date"][0] == datetime(2026, 11, 2)
    assert about["Published at (UTC)"][0] == datetime(2026, 11, 2, 2, 7, 30)
    assert about["Reporting currency"][0] == "USD"
    assert about["Month exported"][0] == "every month"
    statuses = [row[1:4] for row in workbook["About"].iter_rows(values_only=True)
                if isinstance(row[1], datetime) and row[0] is None]
    assert statuses == [(datetime(2026, 9, 1), "closed", "amazon_us, shopify_web, unallocated"),
                        (datetime(2026, 10, 1), "open", "wholesale"),
                        (datetime(2026, 10, 1), "provisional", "amazon_us")]
    assert about["channel_pnl_reconciled"][:2] == ("marts.channel_pnl_reconciled", 5)

    pnl = workbook["channel_pnl_reconciled"]
    assert header(pnl) == ["Channel", "Month", "Net revenue (USD)", "Contribution after opex (USD)", "CM3 %",
                           "Payouts", "Open receivables (USD)", "Period status", "Accrued marketplace fees (USD)"]
    assert [c.value for c in pnl["A"][1:6]] == [p[0] for p in PNL]
    total = [c.value for c in pnl[7]]
    assert total[0] == "Total" and pnl["A7"].font.b
    assert total[2] == pytest.approx(float(sum(p[2] for p in PNL)))  # 116111.11
    assert total[3] == pytest.approx(float(sum(p[3] for p in PNL)))  # 1510.54
    assert total[5] == sum(p[5] for p in PNL)
    assert total[4] is None and total[6] is None  # a ratio and a balance are not summed
    assert total[8] == pytest.approx(123.45)  # the accrued part is totalled like the P&L lines
    assert pnl.auto_filter.ref == "A1:I6" and pnl.freeze_panes == "A2"  # the filter leaves the totals row alone
    assert pnl["B2"].number_format == "mmm yyyy" and pnl["C2"].number_format == "#,##0.00"
    assert pnl["E2"].number_format == "0.0%" and pnl["F2"].number_format == "#,##0"
    assert pnl["C7"].number_format == "#,##0.00" and pnl["F7"].number_format == "#,##0"
    widths = {col: pnl.column_dimensions[col].width for col in "ABCD"}
    assert widths["D"] > len("Contribution after opex (USD)") > widths["A"] > len("shopify_web")

    payouts = workbook["payout_reconciliation"]
    assert header(payouts)[7:10] == ["Expected (payout currency)", "FX rate (payout currency to USD)",
                                     "Expected (USD)"]
    assert [c.value for c in payouts[3]][9:] == [pytest.approx(712.35), 12]  # only the USD column is summed

    campaigns = workbook["marketing_by_campaign"]
    assert header(campaigns) == ["Month", "Channel", "Platform", "Campaign name", "Spend (USD)", "Impressions",
                                 "Clicks", "Conversion value (USD)"]
    rows = list(campaigns.iter_rows(min_row=2, values_only=True))
    assert rows[-1] == ("Total", None, None, None, pytest.approx(150.15), 1520001, 2300, pytest.approx(400.00))
    assert "'" + CAMPAIGN in [r[3] for r in rows]
    assert campaigns["F2"].number_format == "#,##0"


def test_a_month_workbook_says_which_month(home, tmp_path):
    [path] = export(home, "xlsx", month="2026-10", out=tmp_path / "out")
    workbook = openpyxl.load_workbook(path)
    about = {row[0]: row[1:] for row in workbook["About"].iter_rows(values_only=True) if row[0]}
    assert about["Month exported"][0] == datetime(2026, 10, 1)
    assert workbook["About"]["B7"].number_format == "mmm yyyy"
    pnl = workbook["channel_pnl_reconciled"]
    assert [c.value for c in pnl[4]][:4] == ["Total", None, pytest.approx(5000.01), pytest.approx(900.00)]


def test_csv_writes_money_to_the_cent_and_ratios_to_six_places(home, tmp_path):
    export(home, "csv", out=tmp_path / "out")
    with (tmp_path / "out" / "finance" / "channel_pnl_reconciled.csv").open() as handle:
        got = list(csv.DictReader(handle))
    assert [r["cm3_pct"] for r in got] == ["0.333333", "0.123457", "", "0.250000", "0.200000"]
    assert [r["net_revenue"] for r in got] == ["12345.67", "98765.43", "0.00", "1000.01", "4000.00"]
    written = write_csv(tmp_path, "t", ["amount", "margin_pct", "fx_rate", "orders"],
                        [(Decimal("1234.5650"), 0.1234566, Decimal("0.71234567"), 12),
                         (Decimal("-2.005"), -1.0, Decimal("1.00000000"), None)],
                        ["DECIMAL(18,4)", "DOUBLE", "DECIMAL(18,8)", "BIGINT"])
    assert written.read_text() == ("amount,margin_pct,fx_rate,orders\n1234.57,0.123457,0.71234567,12\n"
                                   "-2.01,-1.000000,1.00000000,\n")  # half away from zero, as the marts round


def test_parquet_files_carry_the_run_and_the_currency(home, tmp_path):
    paths = export(home, "parquet", month="2026-09", out=tmp_path / "out")
    assert sorted(p.name for p in paths) == ["channel_pnl_reconciled.parquet", "marketing_by_campaign.parquet",
                                             "payout_reconciliation.parquet"]
    for path in paths:
        metadata = {k.decode(): v.decode() for k, v in pq.read_metadata(path).metadata.items()}
        source = {"channel_pnl_reconciled": "marts.channel_pnl_reconciled",
                  "payout_reconciliation": "marts.payout_reconciliation",
                  "marketing_by_campaign": "marts.fct_marketing_spend"}[path.stem]
        assert metadata["run_id"] == RUN and metadata["logical_date"] == "2026-11-02"
        assert datetime.fromisoformat(metadata["published_at"]) == datetime(2026, 11, 2, 2, 7, 30, tzinfo=UTC)
        assert metadata["reporting_currency"] == "USD" and metadata["source"] == source
        assert metadata["month"] == "2026-09"
    table = pq.read_table(tmp_path / "out" / "finance_2026-09" / "channel_pnl_reconciled.parquet")
    assert table.num_rows == 3 and str(table.schema.field("net_revenue").type) == "decimal128(18, 2)"
