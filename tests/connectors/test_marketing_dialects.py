"""Real dialects of the marketing, sessions, 3PL and Shopify Payments exports land exactly.

Fixtures under tests/fixtures/{marketing,sessions,threepl,shopify_payments}/ are written from each
vendor's documented layout (a few rows each); expectations are computed by hand from those rows.
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.engine import FileRejected
from connectors.registry import parse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture(name: str) -> Path:
    return FIXTURES / name


def column(parsed, name: str) -> list:
    return parsed.frame[name].to_list()


# --------------------------------------------------------------------------------------------
# Google Ads UI downloads


@pytest.mark.parametrize("name, header_line", [
    ("marketing/google_ads_excel_csv_utf16.csv", 3),  # Excel CSV: UTF-16LE + BOM, tab, title lines
    ("marketing/google_ads_tab_utf8.tsv", 1),          # tab-separated UTF-8
])
def test_google_excel_csv_and_tab_downloads_land_like_the_comma_csv(name, header_line):
    parsed = parse("google_ads", fixture(name))
    assert parsed.layout.format.name == "google_ads_ui_csv"
    assert parsed.layout.header_line == header_line
    assert parsed.quarantine.height == 0
    assert parsed.non_data_rows == (3 if header_line == 3 else 0)  # Total: Account / Search / PMax
    assert column(parsed, "date") == [date(2024, 12, 1), date(2024, 12, 1), date(2024, 12, 2), date(2024, 12, 2)]
    assert column(parsed, "campaign_name") == ["DTC | Search | Brand", "DTC | PMax", "DTC | Search | Brand",
                                               "Web | Search | Generic"]
    assert column(parsed, "spend") == [Decimal("45.67"), Decimal("113.09"), Decimal("39.05"), Decimal("0")]
    assert sum(column(parsed, "spend")) == Decimal("197.81")  # the file's own `Total: Account`
    assert column(parsed, "impressions") == [1204, 20431, 998, 0]
    assert column(parsed, "currency") == ["USD"] * 4
    assert column(parsed, "_line") == [header_line + 1, header_line + 2, header_line + 3, header_line + 4]


def test_google_excel_csv_without_day_is_refused_naming_day():
    with pytest.raises(FileRejected, match="missing required column\\(s\\) 'Day'"):
        parse("google_ads", fixture("marketing/google_ads_excel_csv_no_day.csv"))


def test_google_account_level_daily_report_lands_as_campaign_all():
    parsed = parse("google_ads", fixture("marketing/google_ads_account_daily.csv"))
    assert parsed.non_data_rows == 1
    assert column(parsed, "campaign_name") == ["(all)", "(all)"]
    assert column(parsed, "spend") == [Decimal("210.40"), Decimal("199.60")]
    assert column(parsed, "date") == [date(2024, 7, 1), date(2024, 7, 2)]


def test_google_report_split_by_device_keeps_each_row_with_its_breakdown(tmp_path):
    path = tmp_path / "device.csv"
    path.write_text("Campaign,Day,Device,Currency code,Cost\n"
                    "Brand,2024-01-01,Mobile phones,USD,10.00\n"
                    "Brand,2024-01-01,Computers,USD,5.50\n"
                    "Brand,2024-01-01,Computers,USD,1.25\n")  # same campaign name twice (two campaigns)
    parsed = parse("google_ads", path)
    assert column(parsed, "breakdown") == ["Device=Mobile phones", "Device=Computers", "Device=Computers #2"]
    assert sum(column(parsed, "spend")) == Decimal("16.75")


# --------------------------------------------------------------------------------------------
# Amazon Ads console downloads


def test_amazon_console_report_in_dollars_with_a_currency_column():
    parsed = parse("amazon_ads", fixture("marketing/amazon_ads_console_sp_usd.csv"))
    assert parsed.layout.format.name == "amazon_ads_console_campaigns_csv"
    assert parsed.layout.extra_headers == []
    assert parsed.quarantine.height == 0
    assert column(parsed, "date") == [date(2019, 12, 1), date(2019, 12, 1), date(2019, 12, 2)]
    assert column(parsed, "campaign_name") == ["SP | US | Brand exact", "SP | US | Category auto",
                                               "SP | US | Brand exact"]
    assert column(parsed, "spend") == [Decimal("3.34"), Decimal("51.97"), Decimal("4.10")]
    assert column(parsed, "conversion_value") == [Decimal("200.00"), Decimal("75.63"), Decimal("0.00")]
    assert column(parsed, "conversions") == [2.0, 3.0, 0.0]
    assert column(parsed, "impressions") == [1532, 8204, 1410]
    assert column(parsed, "campaign_budget_amount") == [Decimal("25.00"), Decimal("40.00"), Decimal("25.00")]
    assert set(column(parsed, "currency")) == {"USD"}
    assert set(column(parsed, "attribution_window")) == {"7d"}
    assert column(parsed, "campaign_id") == [None, None, None]  # the console has no campaign id


def test_amazon_console_report_in_rupees_reads_the_currency_from_the_header():
    parsed = parse("amazon_ads", fixture("marketing/amazon_ads_console_sp_inr.csv"))
    assert parsed.quarantine.height == 0
    assert column(parsed, "currency") == ["INR", "INR"]
    assert column(parsed, "spend") == [Decimal("201.68"), Decimal("0")]
    assert column(parsed, "conversion_value") == [Decimal("600.00"), Decimal("0.00")]
    assert column(parsed, "campaign_budget_amount") == [Decimal("1000.00"), Decimal("500.00")]
    assert column(parsed, "attribution_window") == ["14d", "14d"]
    assert column(parsed, "date") == [date(2021, 3, 5), date(2021, 3, 5)]


def test_amazon_console_dollars_without_currency_ask_for_a_working_command():
    path = fixture("marketing/amazon_ads_console_sp_dollar_no_currency.csv")
    with pytest.raises(FileRejected, match=r"`cwh ingest amazon_ads FILE --currency USD`") as err:
        parse("amazon_ads", path)
    assert "no 'Currency' column" in str(err.value)
    (row,) = parse("amazon_ads", path, {"currency": "CAD"}).table.to_pylist()
    assert (row["currency"], row["spend"], row["conversion_value"]) == ("CAD", Decimal("2.40"), Decimal("19.99"))


def test_amazon_console_rupee_amounts_with_another_currency_are_refused(tmp_path):
    text = fixture("marketing/amazon_ads_console_sp_inr.csv").read_text(encoding="utf-8-sig")
    path = tmp_path / "in.csv"
    path.write_text(text.replace(" (₹)", ""))
    with pytest.raises(FileRejected, match=r"in INR but the file's currency is USD.*--currency INR"):
        parse("amazon_ads", path, {"currency": "USD"})


def test_amazon_console_summary_report_without_date_is_refused_saying_what_to_export():
    with pytest.raises(FileRejected, match='covers Dec 1, 2019 to Dec 31, 2019.*Time unit "Daily"'):
        parse("amazon_ads", fixture("marketing/amazon_ads_console_sp_summary.csv"))


# --------------------------------------------------------------------------------------------
# Meta variants


def test_meta_breakdown_by_age_and_gender_keeps_every_row_with_its_breakdown():
    parsed = parse("meta_ads", fixture("marketing/meta_ads_age_gender.csv"))
    assert parsed.quarantine.height == 0 and parsed.table.num_rows == 5
    assert column(parsed, "breakdown") == ["Age=25-34; Gender=female", "Age=25-34; Gender=male",
                                           "Age=35-44; Gender=female", "Age=35-44; Gender=unknown",
                                           "Age=25-34; Gender=female"]
    first_day = [s for s, d in zip(column(parsed, "spend"), column(parsed, "date"), strict=True)
                 if d == date(2024, 5, 1)]
    assert sum(first_day) == Decimal("26.00")  # 12.34 + 5.66 + 7.01 + 0.99


def test_meta_spend_with_8_decimals_is_rounded_to_the_contract_scale():
    parsed = parse("meta_ads", fixture("marketing/meta_ads_8_decimals.csv"))
    assert parsed.quarantine.height == 0
    assert column(parsed, "spend") == [Decimal("12.340000"), Decimal("7.005000"), Decimal("0.123457")]


def test_meta_daily_export_without_day_lands_on_each_rows_single_day():
    parsed = parse("meta_ads", fixture("marketing/meta_ads_no_day_daily.csv"))
    assert parsed.layout.format.name == "meta_ads_manager_range_csv"
    assert column(parsed, "date") == [date(2024, 6, 1), date(2024, 6, 2)]
    assert column(parsed, "spend") == [Decimal("3.21"), Decimal("4.56")]
    assert column(parsed, "currency") == ["EUR", "EUR"]


def test_meta_multi_day_rows_without_day_are_refused_saying_what_to_export():
    with pytest.raises(FileRejected, match="line 3 covers 2024-06-01 to 2024-06-30.*By time → Day"):
        parse("meta_ads", fixture("marketing/meta_ads_no_day_month.csv"))


def test_meta_without_day_nor_reporting_range_is_refused_naming_day(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("Campaign name,Amount spent (USD)\nBrand,1.00\n")
    with pytest.raises(FileRejected, match="missing required column\\(s\\) 'Day'"):
        parse("meta_ads", path)


def test_meta_account_level_export_lands_as_campaign_all():
    parsed = parse("meta_ads", fixture("marketing/meta_ads_account_daily.csv"))
    assert column(parsed, "campaign_name") == ["(all)", "(all)"]
    assert column(parsed, "ad_group_name") == ["(all)", "(all)"]
    assert column(parsed, "spend") == [Decimal("150.25"), Decimal("149.75")]
    assert column(parsed, "date") == [date(2024, 7, 1), date(2024, 7, 2)]


# --------------------------------------------------------------------------------------------
# sessions


def test_ga4_sessions_by_channel_group_keep_every_group():
    parsed = parse("sessions", fixture("sessions/ga4_sessions_by_channel_group.csv"), {"channel": "shopify_web"})
    assert parsed.layout.header_line == 9  # below GA4's `#` preamble
    assert parsed.quarantine.height == 0 and parsed.layout.extra_headers == []
    by_day: dict = {}
    for day, sessions in zip(column(parsed, "date"), column(parsed, "sessions"), strict=True):
        by_day[day] = by_day.get(day, 0) + sessions
    assert by_day == {date(2024, 5, 1): 5017, date(2024, 5, 2): 3322}
    assert column(parsed, "breakdown")[0] == "Session default channel group=Direct"


def test_sessions_without_channel_print_the_option_form_that_works():
    with pytest.raises(FileRejected) as err:
        parse("sessions", fixture("sessions/ga4_sessions_by_channel_group.csv"))
    assert "`cwh ingest sessions FILE --option channel=amazon_us`" in str(err.value)
    assert "--channel" not in str(err.value)


def test_amazon_business_report_sessions_with_bom_and_us_dates():
    parsed = parse("sessions", fixture("sessions/amazon_business_report_by_date.csv"), {"channel": "amazon_us"})
    assert parsed.layout.format.name == "amazon_business_report_by_date"
    assert parsed.quarantine.height == 0
    assert column(parsed, "date") == [date(2021, 3, 1), date(2021, 3, 2)]
    assert column(parsed, "sessions") == [1876, 1502]
    assert column(parsed, "channel") == ["amazon_us", "amazon_us"]


@pytest.mark.parametrize("feed, name, message", [
    ("sessions", "sessions/ga4_sessions_by_channel_group.csv", "cwh ingest sessions FILE --option channel=amazon_us"),
    ("amazon_ads", "marketing/amazon_ads_console_sp_dollar_no_currency.csv",
     "cwh ingest amazon_ads FILE --currency USD"),
])
def test_the_command_a_rejection_prints_works_as_printed(home, feed, name, message):
    from typer.testing import CliRunner

    from orchestration.cli import app

    runner = CliRunner()
    path = fixture(name)
    with pytest.raises(FileRejected) as err:
        parse(feed, path)
    assert message in str(err.value)
    assert runner.invoke(app, ["ingest", feed, str(path)]).exit_code != 0
    command = message.replace("FILE", str(path)).split()[1:]  # drop `cwh`
    landed = runner.invoke(app, command)
    assert landed.exit_code == 0, landed.output
    assert home.raw(feed).is_dir() and any(home.raw(feed).glob("*.parquet"))


# --------------------------------------------------------------------------------------------
# staging: a breakdown sums to the feed's grain; a re-export of an overlapping period replaces


def test_staging_sums_breakdowns_and_a_re_export_replaces_the_older_rows(home, tmp_path):
    import duckdb

    from connectors.home import build_database
    from connectors.lake import land_file
    from orchestration.pipeline.dbt import failures, run_dbt

    land = lambda feed, path, **options: land_file(home, feed, path, options)  # noqa: E731
    assert land("meta_ads", fixture("marketing/meta_ads_age_gender.csv")).status == "loaded"
    sessions = fixture("sessions/ga4_sessions_by_channel_group.csv")
    assert land("sessions", sessions, channel="shopify_web").status == "loaded"
    # a later re-export of 2024-05-02 without the breakdown (one row) replaces that day's rows
    re_export = tmp_path / "meta_may2.csv"
    re_export.write_text("Day,Campaign name,Ad set name,Ad name,Amount spent (USD),Impressions\n"
                         "2024-05-02,Web | Prospecting,Broad 25-54,Candle reel,10.50,950\n")
    assert land("meta_ads", re_export).status == "loaded"
    # the channel-group report again for 2024-05-02 only, revised: it replaces that day
    sessions_again = tmp_path / "ga4_may2.csv"
    sessions_again.write_text("Session default channel group,Date,Sessions\nDirect,20240502,1200\n"
                              "Organic Search,20240502,2300\n")
    assert land("sessions", sessions_again, channel="shopify_web").status == "loaded"

    result = run_dbt(home, "run", "--select", "stg_meta_ads__ad_daily", "stg_web_analytics__sessions")
    assert not failures(result), failures(result)
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        meta = con.execute("select date, spend, impressions, conversions, conversion_value, source_rows "
                           "from staging.stg_meta_ads__ad_daily order by date").fetchall()
        sessions = con.execute("select date, channel, sessions, source_rows "
                               "from staging.stg_web_analytics__sessions order by date").fetchall()
    assert meta == [
        (date(2024, 5, 1), Decimal("26.000000"), 2050, 2.0, Decimal("84.50"), 4),  # 4 age × gender rows
        (date(2024, 5, 2), Decimal("10.500000"), 950, None, None, 1),              # the re-export only
    ]
    assert sessions == [(date(2024, 5, 1), "shopify_web", 5017, 4), (date(2024, 5, 2), "shopify_web", 3500, 2)]


# --------------------------------------------------------------------------------------------
# Shopify Payments: the 16-column export of a POS + online shop


def test_shopify_payments_16_column_export_without_payout_id_lands_with_its_payouts():
    parsed = parse("shopify_payments", fixture("shopify_payments/shopify_payments_pos_online_16_columns.csv"))
    assert parsed.quarantine.height == 0 and parsed.layout.extra_headers == []
    assert column(parsed, "transaction_date") == [
        datetime(2023, 9, 28, 18, 3, 12, tzinfo=UTC), datetime(2023, 9, 28, 23, 47, 55, tzinfo=UTC),
        datetime(2023, 9, 29, 14, 15, tzinfo=UTC), datetime(2023, 10, 1, 1, 5, 41, tzinfo=UTC)]  # -0400 → UTC
    # no Payout ID column: the payout is named by its date, so reconciliation still groups by payout
    assert column(parsed, "payout_id") == ["date:2023-09-29", "date:2023-09-29", "date:2023-10-02", "date:2023-10-02"]
    assert column(parsed, "card_source") == ["card_present", "online", "online", "card_present"]
    assert column(parsed, "net") == [Decimal("43.78"), Decimal("116.71"), Decimal("-30.00"), Decimal("17.75")]
    assert len(set(column(parsed, "transaction_key"))) == 4


# --------------------------------------------------------------------------------------------
# ShipBob's invoice download


def test_shipbob_invoice_download_keeps_sub_cent_storage_and_skips_totals_and_notes():
    parsed = parse("threepl_billing", fixture("threepl/shipbob_invoice_download.csv"))
    assert parsed.layout.format.name == "shipbob_invoice_download_csv"
    assert parsed.quarantine.height == 0
    assert parsed.non_data_rows == 3  # `Total:` and two footnotes
    assert column(parsed, "amount") == [Decimal("6.01"), Decimal("0.25"), Decimal("1006.50"), Decimal("12.3456"),
                                        Decimal("40.0049"), Decimal("-6.01")]
    assert sum(column(parsed, "amount")) == Decimal("1059.1005")  # the file's own Total:
    assert set(column(parsed, "currency")) == {"USD"}
    assert column(parsed, "invoice_type") == ["Shipping"] * 3 + ["Storage"] * 2 + ["Credits"]
    assert column(parsed, "charge_date")[3] == date(2025, 11, 15)
    assert column(parsed, "reference_id")[0] == "#1042"
    keys = column(parsed, "transaction_id")
    assert len(set(keys)) == 6 and all(k.startswith("sb-") for k in keys)
    # a re-download of the same invoice gives the same keys: it replaces, never doubles
    assert column(parse("threepl_billing", fixture("threepl/shipbob_invoice_download.csv")), "transaction_id") == keys


def test_google_short_total_lines_are_footers_not_broken_records(tmp_path):
    path = tmp_path / "short_totals.csv"
    path.write_text("Campaign,Day,Currency code,Cost\nBrand,2024-01-01,USD,10.00\nTotal: Account,,USD\nTotal: Search\n")
    parsed = parse("google_ads", path)
    assert parsed.quarantine.height == 0 and parsed.non_data_rows == 2
    assert column(parsed, "spend") == [Decimal("10")]
