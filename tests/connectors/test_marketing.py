"""Ad platform exports (Google Ads, Meta Ads, Pinterest Ads, Amazon Ads) → canonical tables."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.engine import FileRejected
from connectors.registry import feed_spec, parse
from connectors.vendors.ad_platforms import CORE_COLUMNS

AD_FEEDS = ("google_ads", "meta_ads", "pinterest_ads", "amazon_ads")


def write(tmp_path: Path, name: str, text: str, *, bom: bool = False, crlf: bool = False) -> Path:
    """A vendor file from an inline string (leading indentation-free lines, `\n` ends)."""
    body = text.lstrip("\n")
    if crlf:
        body = body.replace("\n", "\r\n")
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + body.encode())
    return path


def rows(parsed) -> list[dict]:
    return parsed.table.to_pylist()


# --------------------------------------------------------------------------------------------
# shared shape


def test_ad_feeds_share_the_canonical_core_columns():
    for feed in AD_FEEDS:
        contract = feed_spec(feed).contract
        assert tuple(contract.column_names[: len(CORE_COLUMNS)]) == CORE_COLUMNS, feed
        types = {c.name: c.type for c in contract.columns}
        assert types["spend"] == "decimal(18,6)"
        assert types["conversion_value"] == "decimal(18,2)"
        assert types["date"] == "date" and types["impressions"] == "integer"
        assert "platform-reported" in contract.column("conversions").description
    # the grain plus the row's breakdown: the key names one row of the vendor file
    assert feed_spec("google_ads").contract.primary_key == ("date", "campaign_name", "breakdown")
    ad_grain = ("date", "campaign_name", "ad_group_name", "ad_name", "breakdown")
    assert feed_spec("meta_ads").contract.primary_key == ad_grain
    assert feed_spec("pinterest_ads").contract.primary_key == ad_grain
    # console downloads have no campaign id; names are unique within an advertiser profile
    assert feed_spec("amazon_ads").contract.primary_key == ("date", "campaign_name", "breakdown")


# --------------------------------------------------------------------------------------------
# Google Ads

GOOGLE_UI = """
Campaign report
"January 1, 2024 - January 2, 2024"
Campaign type,Campaign,Day,Currency code,Cost,Clicks,Impr.,CTR,Avg. CPC,Conversions,Conv. rate,Conv. value,Cost / conv.
Search,DTC | Search | Brand,2024-01-01,USD,"1,234.50",100,"2,000",5.00%,12.35,3.50,3.50%,"1,050.25",352.71
Performance Max,DTC | PMax,2024-01-01,USD,80.10,40,"12,345",0.32%,2.00,1.25,3.13%,99.00,64.08
Search,DTC | Search | Brand,2024-01-02,USD,,10,200,5.00%,0.00,0.00,0.00%,0.00,0.00
Total: Account,,,USD,"1,314.60",150,"14,545",1.03%,8.76,4.75,3.17%,"1,149.25",276.76
Total: Search,--,--,USD,"1,234.50",110,"2,200",5.00%,11.22,3.50,3.18%,"1,050.25",352.71
Total: Performance Max,--,--,USD,80.10,40,"12,345",0.32%,2.00,1.25,3.13%,99.00,64.08
"""


def test_google_ui_report_skips_title_lines_and_counts_total_rows(tmp_path):
    parsed = parse("google_ads", write(tmp_path, "campaign_report.csv", GOOGLE_UI))
    assert parsed.layout.format.name == "google_ads_ui_csv"
    assert parsed.layout.header_line == 3
    assert parsed.non_data_rows == 3
    assert parsed.layout.extra_headers == []
    assert rows(parsed) == [
        {"date": date(2024, 1, 1), "campaign_id": None, "campaign_name": "DTC | Search | Brand",
         "ad_group_name": "(all)", "ad_name": "(all)", "campaign_type": "Search", "currency": "USD",
         "spend": Decimal("1234.500000"), "impressions": 2000, "clicks": 100, "conversions": 3.5,
         "conversion_value": Decimal("1050.25"), "breakdown": "(none)", "_line": 4},
        {"date": date(2024, 1, 1), "campaign_id": None, "campaign_name": "DTC | PMax",
         "ad_group_name": "(all)", "ad_name": "(all)", "campaign_type": "Performance Max", "currency": "USD",
         "spend": Decimal("80.100000"), "impressions": 12345, "clicks": 40, "conversions": 1.25,
         "conversion_value": Decimal("99.00"), "breakdown": "(none)", "_line": 5},
    ]


def test_google_ui_blank_cost_is_quarantined_with_its_line(tmp_path):
    parsed = parse("google_ads", write(tmp_path, "campaign_report.csv", GOOGLE_UI))
    quarantine = parsed.quarantine.to_dicts()
    assert [q["line"] for q in quarantine] == [6]
    assert quarantine[0]["reason"] == "column 'Cost': missing value"
    assert '"Day": "2024-01-02"' in quarantine[0]["raw_values"]
    assert parsed.table.num_rows == 2


def test_google_ui_total_label_in_an_unread_first_column(tmp_path):
    text = """
Campaign status,Campaign,Day,Cost,Currency code
Enabled,Brand,2024-03-01,10.00,EUR
Total: Account,--,--,10.00,EUR
"""
    parsed = parse("google_ads", write(tmp_path, "r.csv", text))
    assert parsed.non_data_rows == 1
    assert parsed.frame["campaign_name"].to_list() == ["Brand"]
    assert parsed.frame["currency"].to_list() == ["EUR"]
    assert parsed.quarantine.height == 0


def test_google_ui_messy_file(tmp_path):
    # BOM + CRLF, reordered columns, an unknown column, a quoted name over two lines, `--`
    # placeholders, empty trailing rows
    text = """
Day,Cost,Campaign,Impr.,Clicks,Currency code,Labels,Conv. value,Conversions
2024-01-05,"2,000.00","Spring
sale",1000,10,USD,x,--,--
2024-01-06,5.5,Brand,"1,000",0,USD,,12.5,1



"""
    parsed = parse("google_ads", write(tmp_path, "r.csv", text, bom=True, crlf=True))
    assert parsed.layout.extra_headers == ["Labels"]
    assert parsed.quarantine.height == 0
    got = rows(parsed)
    assert [r["campaign_name"].replace("\r", "") for r in got] == ["Spring\nsale", "Brand"]
    assert [r["spend"] for r in got] == [Decimal("2000"), Decimal("5.5")]
    assert [r["impressions"] for r in got] == [1000, 1000]
    assert [r["conversion_value"] for r in got] == [None, Decimal("12.50")]
    assert [r["conversions"] for r in got] == [None, 1.0]
    assert [r["_line"] for r in got] == [2, 4]


def test_google_api_cost_micros_become_spend_exactly(tmp_path):
    text = """
segments.date,campaign.id,campaign.name,customer.currency_code,metrics.impressions,metrics.clicks,metrics.cost_micros,metrics.conversions,metrics.conversions_value
2024-01-01,20412233101,Brand,USD,1000,50,12340000,1.5,245.67000000000002
2024-01-01,20412233102,Generic,USD,10,0,1,0,0
2024-01-01,20412233103,Big,usd,99,9,987654321012345,0.0,0
2024-01-02,20412233101,Brand,USD,1000,50,0,0,0
"""
    parsed = parse("google_ads", write(tmp_path, "api.csv", text))
    assert parsed.layout.format.name == "google_ads_api_csv"
    assert parsed.quarantine.height == 0
    frame = parsed.frame
    assert frame["spend"].to_list() == [
        Decimal("12.340000"), Decimal("0.000001"), Decimal("987654321.012345"), Decimal("0")]
    assert frame["campaign_id"].to_list() == ["20412233101", "20412233102", "20412233103", "20412233101"]
    assert frame["currency"].to_list() == ["USD"] * 4
    assert frame["conversion_value"].to_list()[0] == Decimal("245.67")  # float noise rounded to cents
    assert frame["ad_group_name"].to_list() == ["(all)"] * 4


def test_google_api_fractional_micros_are_quarantined(tmp_path):
    text = """
segments.date,campaign.name,customer.currency_code,metrics.cost_micros
2024-01-01,Brand,USD,12.5
2024-01-01,Other,USD,2500000
"""
    parsed = parse("google_ads", write(tmp_path, "api.csv", text))
    assert parsed.frame["spend"].to_list() == [Decimal("2.5")]
    (bad,) = parsed.quarantine.to_dicts()
    assert bad["line"] == 2
    assert "column 'metrics.cost_micros'" in bad["reason"] and "micros" in bad["reason"]


def test_google_missing_cost_column_is_rejected_naming_it(tmp_path):
    text = "Campaign,Day,Currency code,Clicks\nBrand,2024-01-01,USD,3\n"
    with pytest.raises(FileRejected, match="'Cost'"):
        parse("google_ads", write(tmp_path, "r.csv", text))


def test_google_without_currency_needs_the_option(tmp_path):
    path = write(tmp_path, "r.csv", "Campaign,Day,Cost\nBrand,2024-01-01,3.00\n")
    with pytest.raises(FileRejected, match=r"google_ads: \{currency: USD\}"):
        parse("google_ads", path)
    assert parse("google_ads", path, {"currency": "cad"}).frame["currency"].to_list() == ["CAD"]


def test_google_rejects_another_feeds_file(tmp_path):
    path = write(tmp_path, "meta.csv", "Day,Campaign name,Amount spent (USD)\n2024-01-01,C,1.00\n")
    with pytest.raises(FileRejected, match="meta_ads"):
        parse("google_ads", path)


# --------------------------------------------------------------------------------------------
# Meta Ads

META = """
Day,Campaign name,Ad set name,Ad name,Amount spent (EUR),Impressions,Reach,Link clicks,Purchases,Purchases conversion value,Reporting starts,Reporting ends
2024-02-01,Web | Prospecting,Broad 25-54,Throw carousel,12.34,"1,000",800,10,2,145.50,2024-02-01,2024-02-29
2024-02-01,Web | Prospecting,Broad 25-54,Candle reel,0.99,50,45,0,,,2024-02-01,2024-02-29
"""  # noqa: E501  (a vendor export's lines are kept whole, as the vendor writes them)


def test_meta_manager_export_reads_currency_from_spend_header(tmp_path):
    parsed = parse("meta_ads", write(tmp_path, "meta.csv", META))
    assert parsed.layout.format.name == "meta_ads_manager_csv"
    assert parsed.layout.constants["currency"] == "EUR"
    assert parsed.quarantine.height == 0
    assert rows(parsed)[0] == {
        "date": date(2024, 2, 1), "campaign_id": None, "campaign_name": "Web | Prospecting",
        "ad_group_name": "Broad 25-54", "ad_name": "Throw carousel", "campaign_type": None,
        "currency": "EUR", "spend": Decimal("12.34"), "impressions": 1000, "clicks": 10,
        "conversions": 2.0, "conversion_value": Decimal("145.50"), "reach": 800,
        "reporting_starts": date(2024, 2, 1), "reporting_ends": date(2024, 2, 29), "breakdown": "(none)",
        "_line": 2}
    assert parsed.frame["conversions"].to_list() == [2.0, None]


def test_meta_subset_export_fills_missing_levels(tmp_path):
    text = "Campaign name,Day,Amount spent (gbp)\nRetargeting,2024-02-03,\"£1,234.00\"\n"
    parsed = parse("meta_ads", write(tmp_path, "meta.csv", text))
    (row,) = rows(parsed)
    assert (row["ad_group_name"], row["ad_name"], row["currency"]) == ("(all)", "(all)", "GBP")
    assert row["spend"] == Decimal("1234")
    assert row["impressions"] is None and row["reach"] is None


def test_meta_renamed_optional_column_still_loads(tmp_path):
    text = META.replace("Reach", "Reach (estimated)", 1)
    parsed = parse("meta_ads", write(tmp_path, "meta.csv", text))
    assert parsed.layout.extra_headers == ["Reach (estimated)"]
    assert parsed.table.num_rows == 2
    assert parsed.frame["reach"].to_list() == [None, None]
    assert parsed.frame["impressions"].to_list() == [1000, 50]


def test_meta_messy_file(tmp_path):
    text = """
Amount spent (USD),Ad name,Day,Campaign name,Ad set name,Impressions,Quality ranking,Mystery
"1,500.25","Reel
v2",2024-02-05,Brand,All,10,Average,z


"""
    parsed = parse("meta_ads", write(tmp_path, "meta.csv", text, bom=True, crlf=True))
    assert parsed.layout.extra_headers == ["Mystery"]
    (row,) = rows(parsed)
    assert row["spend"] == Decimal("1500.25") and row["currency"] == "USD"
    assert row["ad_name"].replace("\r", "") == "Reel\nv2"
    assert row["_line"] == 2


def test_meta_bad_value_is_quarantined_naming_the_column(tmp_path):
    text = (META.rstrip("\n")
            + "\n2024-02-02,Web | Prospecting,Broad 25-54,Throw carousel,abc,5,5,0,0,0,2024-02-01,2024-02-29\n")
    parsed = parse("meta_ads", write(tmp_path, "meta.csv", text))
    (bad,) = parsed.quarantine.to_dicts()
    assert bad["line"] == 4
    assert bad["reason"] == "column 'Amount spent (EUR)': 'abc' is not an amount"
    assert parsed.table.num_rows == 2


def test_meta_missing_required_column_is_rejected(tmp_path):
    text = "Day,Campaign name,Impressions\n2024-02-01,C,10\n"
    with pytest.raises(FileRejected, match="'Amount spent'"):
        parse("meta_ads", write(tmp_path, "meta.csv", text))


def test_meta_api_shape(tmp_path):
    text = """
date_start,date_stop,campaign_id,campaign_name,adset_name,spend,impressions,clicks,account_currency
2024-02-01,2024-02-01,120200001,Prospecting,Broad,3.21,100,4,GBP
"""
    parsed = parse("meta_ads", write(tmp_path, "insights.csv", text))
    assert parsed.layout.format.name == "meta_ads_api_csv"
    (row,) = rows(parsed)
    assert row == {
        "date": date(2024, 2, 1), "campaign_id": "120200001", "campaign_name": "Prospecting",
        "ad_group_name": "Broad", "ad_name": "(all)", "campaign_type": None, "currency": "GBP",
        "spend": Decimal("3.21"), "impressions": 100, "clicks": 4, "conversions": None,
        "conversion_value": None, "reach": None, "reporting_starts": date(2024, 2, 1),
        "reporting_ends": date(2024, 2, 1), "breakdown": "(none)", "_line": 2}


def test_meta_rejects_a_pinterest_file(tmp_path):
    path = write(tmp_path, "p.csv", "Date,Campaign name,Ad group name,Spend in account currency\n2024-01-01,C,G,1\n")
    with pytest.raises(FileRejected, match="pinterest_ads"):
        parse("meta_ads", path)


# --------------------------------------------------------------------------------------------
# Pinterest Ads

PINTEREST = """
Date,Campaign name,Ad group name,Spend in account currency,Impressions,Reach,Outbound clicks,Saves,Engagements,Total conversions (Checkout),Total order value (Checkout)
2024-03-01,Web | Home decor,Cozy living rooms,17.50,"4,000",3000,20,16,48,1,80.125
2024-03-01,Web | Home decor,Tablescapes,$2.25,300,250,1,0,3,0,0
"""  # noqa: E501  (a vendor export's lines are kept whole, as the vendor writes them)


def test_pinterest_export_with_currency_option(tmp_path):
    parsed = parse("pinterest_ads", write(tmp_path, "pin.csv", PINTEREST), {"currency": "USD"})
    assert parsed.quarantine.height == 0
    assert rows(parsed)[0] == {
        "date": date(2024, 3, 1), "campaign_id": None, "campaign_name": "Web | Home decor",
        "ad_group_name": "Cozy living rooms", "ad_name": "(all)", "campaign_type": None,
        "currency": "USD", "spend": Decimal("17.5"), "impressions": 4000, "clicks": 20,
        "conversions": 1.0, "conversion_value": Decimal("80.13"), "reach": 3000, "saves": 16,
        "engagements": 48, "breakdown": "(none)", "_line": 2}
    assert parsed.frame["spend"].to_list()[1] == Decimal("2.25")


def test_pinterest_without_currency_is_rejected_with_the_hint(tmp_path):
    with pytest.raises(FileRejected) as err:
        parse("pinterest_ads", write(tmp_path, "pin.csv", PINTEREST))
    message = str(err.value)
    assert "pinterest_ads: {currency: USD}" in message
    assert "config/feed_options.yml" in message and "--currency" in message


def test_pinterest_currency_column_wins_over_no_option(tmp_path):
    text = "Date,Campaign name,Spend in account currency,Currency\n03/02/2024,C,1.00,eur\n"
    (row,) = rows(parse("pinterest_ads", write(tmp_path, "pin.csv", text)))
    assert (row["currency"], row["date"], row["ad_group_name"]) == ("EUR", date(2024, 3, 2), "(all)")


def test_pinterest_messy_and_bad_rows(tmp_path):
    text = """
Spend in account currency,Ad group name,Campaign name,Date,Impressions,Brand new metric
5.00,"Group
A",Camp,2024-03-03,ten,1
6.00,B,Camp,2024-03-03,"1,200",2


"""
    parsed = parse("pinterest_ads", write(tmp_path, "pin.csv", text, bom=True, crlf=True), {"currency": "USD"})
    assert parsed.layout.extra_headers == ["Brand new metric"]
    (bad,) = parsed.quarantine.to_dicts()
    assert bad["line"] == 2 and bad["reason"] == "column 'Impressions': 'ten' is not a whole number"
    assert rows(parsed)[0]["impressions"] == 1200 and rows(parsed)[0]["_line"] == 4


def test_pinterest_missing_spend_is_rejected(tmp_path):
    with pytest.raises(FileRejected, match="'Spend in account currency'"):
        no_spend = "Date,Campaign name,Ad group name,Impressions\n2024-03-01,C,G,1\n"
        parse("pinterest_ads", write(tmp_path, "pin.csv", no_spend), {"currency": "USD"})


# --------------------------------------------------------------------------------------------
# Amazon Ads

AMAZON = """
date,campaignId,campaignName,campaignStatus,campaignBudgetAmount,campaignBudgetCurrencyCode,impressions,clicks,cost,purchases7d,sales7d,unitsSoldClicks7d
2024-04-01,301122334455,SP | US | Brand exact,ENABLED,50.0,USD,5000,30,25.12,2,40.5,3
2024-04-01,301122334456,SP | US | Category auto,PAUSED,80,USD,100,1,0.890000000000001,0,0,0
"""


def test_amazon_sp_campaign_report(tmp_path):
    parsed = parse("amazon_ads", write(tmp_path, "sp.csv", AMAZON))
    assert parsed.quarantine.height == 0
    assert rows(parsed)[0] == {
        "date": date(2024, 4, 1), "campaign_id": "301122334455", "campaign_name": "SP | US | Brand exact",
        "ad_group_name": "(all)", "ad_name": "(all)", "campaign_type": "Sponsored Products",
        "currency": "USD", "spend": Decimal("25.12"), "impressions": 5000, "clicks": 30,
        "conversions": 2.0, "conversion_value": Decimal("40.50"), "campaign_status": "ENABLED",
        "campaign_budget_amount": Decimal("50.00"), "attribution_window": "7d", "units_sold": 3,
        "breakdown": "(none)", "_line": 2}
    assert parsed.frame["spend"].to_list()[1] == Decimal("0.890000")  # float noise rounded to micros


def test_amazon_attribution_window_detected_from_headers(tmp_path):
    text = """
date,campaignId,campaignName,cost,purchases14d,sales14d,unitsSoldClicks14d
2024-04-02,1,C,1.00,5,99.90,6
"""
    (row,) = rows(parse("amazon_ads", write(tmp_path, "sp.csv", text), {"currency": "CAD"}))
    assert (row["attribution_window"], row["conversions"], row["conversion_value"], row["units_sold"]) == \
        ("14d", 5.0, Decimal("99.90"), 6)
    assert row["currency"] == "CAD"


def test_amazon_prefers_7d_when_several_windows(tmp_path):
    text = """
date,campaignId,campaignName,cost,purchases1d,sales1d,unitsSoldClicks1d,purchases7d,sales7d,unitsSoldClicks7d,purchases30d,sales30d,unitsSoldClicks30d
2024-04-02,1,C,1.00,1,10.00,1,2,20.00,2,3,30.00,3
"""
    parsed = parse("amazon_ads", write(tmp_path, "sp.csv", text), {"currency": "USD"})
    (row,) = rows(parsed)
    assert (row["attribution_window"], row["conversions"], row["conversion_value"], row["units_sold"]) == \
        ("7d", 2.0, Decimal("20.00"), 2)
    assert parsed.layout.extra_headers == []  # the other windows are known headers


def test_amazon_mixed_windows_are_rejected(tmp_path):
    text = "date,campaignId,campaignName,cost,purchases1d,sales14d\n2024-04-02,1,C,1.00,1,10.00\n"
    with pytest.raises(FileRejected, match="attribution windows"):
        parse("amazon_ads", write(tmp_path, "sp.csv", text), {"currency": "USD"})


def test_amazon_without_currency_is_rejected_with_the_hint(tmp_path):
    text = "date,campaignId,campaignName,cost\n2024-04-02,1,C,1.00\n"
    with pytest.raises(FileRejected, match=r"amazon_ads: \{currency: USD\}.*config/feed_options.yml"):
        parse("amazon_ads", write(tmp_path, "sp.csv", text))


def test_amazon_messy_and_bad_rows(tmp_path):
    text = """
campaignName,cost,date,campaignId,campaignBudgetCurrencyCode,clicks,topOfSearchImpressionShare,newColumn
"Brand,
exact",1.50,2024-04-03,7,USD,3,0.1,x
Auto,2.00,2024-04-03,,USD,3,0.1,x
Auto,2.00,2024-04-04,8,USD,3.5,0.1,x


"""
    parsed = parse("amazon_ads", write(tmp_path, "sp.csv", text, bom=True, crlf=True))
    assert parsed.layout.extra_headers == ["newColumn"]
    got = rows(parsed)
    # campaign id is optional (the key is the campaign name)
    assert [r["campaign_id"] for r in got] == ["7", None]
    assert got[0]["campaign_name"].replace("\r", "") == "Brand,\nexact"
    assert got[0]["attribution_window"] is None and got[0]["conversions"] is None
    reasons = {q["line"]: q["reason"] for q in parsed.quarantine.to_dicts()}
    assert reasons == {5: "column 'clicks': '3.5' is not a whole number"}


def test_amazon_missing_campaign_name_is_rejected(tmp_path):
    text = "date,campaignId,cost,campaignBudgetCurrencyCode\n2024-04-02,7,1.00,USD\n"
    with pytest.raises(FileRejected, match="'campaignName'"):
        parse("amazon_ads", write(tmp_path, "sp.csv", text))


def test_amazon_json_report_is_not_read(tmp_path):
    path = tmp_path / "report.json"
    path.write_text('[{"date": "2024-04-01", "campaignId": 1, "campaignName": "C", "cost": 1.0}]')
    with pytest.raises(FileRejected):
        parse("amazon_ads", path, {"currency": "USD"})


def test_amazon_rejects_a_google_api_file(tmp_path):
    path = write(tmp_path, "g.csv", "segments.date,campaign.name,metrics.cost_micros\n2024-01-01,B,1\n")
    with pytest.raises(FileRejected, match="google_ads"):
        parse("amazon_ads", path, {"currency": "USD"})


# --------------------------------------------------------------------------------------------
# demo data


def test_demo_ad_files_land_without_quarantine(tmp_path):
    yaml = pytest.importorskip("yaml")
    demo = pytest.importorskip("orchestration.demo")
    demo.generate(tmp_path, days=40, orders_per_day=10)
    options = yaml.safe_load((tmp_path / "config" / "feed_options.yml").read_text()) or {}
    seen = 0
    for feed in AD_FEEDS:
        for path in sorted((tmp_path / "landing" / feed).glob("*")):
            parsed = parse(feed, path, options.get(feed) or {})
            assert parsed.quarantine.height == 0, (path.name, parsed.quarantine.to_dicts()[:3])
            assert parsed.table.num_rows > 0
            seen += 1
    assert seen >= 4
