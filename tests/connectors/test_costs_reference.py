"""Wholesale invoices, 3PL billing, COGS, operating costs, FX rates, sessions, inventory snapshots
and channel targets → canonical tables."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from connectors.engine import FileRejected, pii_hash
from connectors.registry import parse


def write(tmp_path, name, text, *, bom=False, crlf=False):
    """Write an inline file; `text` uses \\n line ends (CRLF on request)."""
    if crlf:
        text = text.replace("\n", "\r\n")
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def rows_by(parsed, key):
    return {r[key]: r for r in parsed.frame.to_dicts()}


# ---------------------------------------------------------------------------------------------
# wholesale invoices

WHOLESALE_HEADER = ("document_type,document_number,line_number,original_document_number,customer_account,"
                    "customer_name,payment_terms,sku,units,unit_price,discount,currency,invoice_date,ship_date,"
                    "due_date,paid_date,restock")
WHOLESALE = WHOLESALE_HEADER + """
invoice,INV-1001,1,,WH-1006,The Cotswold Store,Net 30,FH-VASE,12,18.4,11.04,gbp,2026-05-02,2026-05-04,2026-06-01,2026-05-28,
invoice,INV-1001,2,,WH-1006,The Cotswold Store,Net 30,FH-MUG,6,7.1250,0.00,GBP,2026-05-02,2026-05-04,2026-06-01,2026-05-28,
Credit Note,CN-2001,1,INV-1001,WH-1006,The Cotswold Store,Net 30,FH-VASE,6,18.40,0,GBP,2026-05-20,,,,yes
"""  # noqa: E501  (a vendor export's lines are kept whole, as the vendor writes them)


def test_wholesale_clean_file(tmp_path):
    parsed = parse("wholesale_invoices", write(tmp_path, "wholesale.csv", WHOLESALE))
    assert parsed.quarantine.height == 0
    assert parsed.layout.extra_headers == []
    frame = parsed.frame.sort("document_number", "line_number")
    assert frame["document_type"].to_list() == ["credit_note", "invoice", "invoice"]
    invoice_line = frame.row(1, named=True)
    assert invoice_line == invoice_line | {
        "document_number": "INV-1001", "line_number": 1, "original_document_number": None,
        "customer_account": "WH-1006", "customer_name": "The Cotswold Store", "payment_terms": "Net 30",
        "sku": "FH-VASE", "units": 12, "unit_price": Decimal("18.4"), "discount": Decimal("11.04"),
        "currency": "GBP", "invoice_date": date(2026, 5, 2), "ship_date": date(2026, 5, 4),
        "due_date": date(2026, 6, 1), "paid_date": date(2026, 5, 28), "restock": None, "_line": 2}
    assert frame.row(2, named=True)["unit_price"] == Decimal("7.125")
    credit = frame.row(0, named=True)
    assert (credit["original_document_number"], credit["units"], credit["restock"], credit["ship_date"]) == (
        "INV-1001", 6, True, None)
    assert credit["discount"] == Decimal("0")
    assert frame["contact_email_hash"].to_list() == [None, None, None]


def test_wholesale_messy_file(tmp_path):
    # reordered columns, BOM + CRLF, a quoted multi-line name, thousands separators and currency
    # symbols, an optional hashed email, an unknown ERP column and empty trailing rows
    text = (
        "sku,units,unit_price,discount,tax_amount,currency,document_type,document_number,line_number,"
        "customer_account,customer_name,contact_email,invoice_date,restock,erp_batch\n"
        'FH-LAMP,"1,200",$1.50,"$1,080.00",12.5,USD,invoice,INV-7,1,WH-9,"Maple & Co\nBoston",'
        'Buyer@Maple.example ,05/03/2026,,B-17\n'
        "FH-LAMP,24,1.50,,,USD,credit_note,CN-8,1,WH-9,Maple,,2026-05-09,no,B-18\n"
        ",,,,,,,,,,,,,,\n\n"
    )
    parsed = parse("wholesale_invoices", write(tmp_path, "erp.csv", text, bom=True, crlf=True))
    assert parsed.quarantine.height == 0
    assert parsed.layout.extra_headers == ["erp_batch"]
    first, second = parsed.frame.to_dicts()
    assert first["units"] == 1200 and first["unit_price"] == Decimal("1.5")
    assert first["discount"] == Decimal("1080.00") and first["tax_amount"] == Decimal("12.50")
    assert first["customer_name"] == "Maple & Co\r\nBoston" or first["customer_name"] == "Maple & Co\nBoston"
    assert first["invoice_date"] == date(2026, 5, 3)
    assert first["contact_email_hash"] == pii_hash("buyer@maple.example")
    assert "maple.example" not in json.dumps(parsed.frame.to_dicts(), default=str).lower()
    assert (second["_line"], second["restock"], second["discount"]) == (4, False, None)


def test_wholesale_bad_value_is_quarantined_with_its_line(tmp_path):
    text = WHOLESALE.replace("FH-MUG,6,", "FH-MUG,six,")
    parsed = parse("wholesale_invoices", write(tmp_path, "wholesale.csv", text))
    assert parsed.frame["_line"].to_list() == [2, 4]
    [bad] = parsed.quarantine.to_dicts()
    assert bad["line"] == 3
    assert bad["reason"] == "column 'units': 'six' is not a whole number"


def test_wholesale_missing_required_column_is_rejected(tmp_path):
    text = WHOLESALE.replace(",sku,", ",item,")
    with pytest.raises(FileRejected, match="'sku'"):
        parse("wholesale_invoices", write(tmp_path, "wholesale.csv", text))


def test_wholesale_rejects_another_feeds_file(tmp_path):
    with pytest.raises(FileRejected, match="not a wholesale"):
        parse("wholesale_invoices", write(tmp_path, "shipbob.csv", THREEPL))


# ---------------------------------------------------------------------------------------------
# 3PL billing

THREEPL = """transaction_id,amount,currency_code,charge_date,invoice_id,invoice_date,invoice_type,transaction_fee,reference_id,reference_type,fulfillment_center
70000001,-12.34,usd,2026-05-04,8801234,2026-05-11,Shipping,Shipping,SB-100234,Shipment,Reno (NV)
70000002,N/A,USD,2026-05-04,8801234,2026-05-11,Shipping,Per Pick Fee,SB-100235,Shipment,Reno (NV)
70000003,-140.00,USD,2026-05-31,8801299,2026-06-07,Storage,Warehousing Fee,,FC,Reno (NV)
"""  # noqa: E501  (a vendor export's lines are kept whole, as the vendor writes them)


def test_threepl_clean_rows_and_na_amount_quarantined(tmp_path):
    parsed = parse("threepl_billing", write(tmp_path, "shipbob.csv", THREEPL))
    rows = rows_by(parsed, "transaction_id")
    assert set(rows) == {"70000001", "70000003"}
    assert rows["70000001"] == rows["70000001"] | {
        "amount": Decimal("-12.34"), "currency": "USD", "charge_date": date(2026, 5, 4),
        "invoice_id": "8801234", "invoice_date": date(2026, 5, 11), "invoice_type": "Shipping",
        "transaction_fee": "Shipping", "reference_id": "SB-100234", "reference_type": "Shipment",
        "fulfillment_center": "Reno (NV)", "_line": 2}
    assert rows["70000003"]["reference_id"] is None and rows["70000003"]["invoice_type"] == "Storage"
    [bad] = parsed.quarantine.to_dicts()
    assert bad["line"] == 3 and bad["reason"] == "column 'amount': 'N/A' is not an amount"
    assert json.loads(bad["raw_values"])["currency_code"] == "USD"


def test_threepl_messy_file(tmp_path):
    text = (
        "invoice_type,transaction_id,charge_date,amount,currency_code,fulfillment_center,invoiced_status,new_col\n"
        '"Additional Fees",9001,2026-05-06T00:00:00Z,"-$1,234.50",USD,"Reno\n(NV)",Invoiced,x\n'
        "Receiving,9002,2026-05-07,(35.00),USD,Reno (NV),Pending,y\n\n\n"
    )
    parsed = parse("threepl_billing", write(tmp_path, "shipbob.csv", text, bom=True, crlf=True))
    assert parsed.layout.extra_headers == ["new_col"]
    assert parsed.quarantine.height == 0
    rows = rows_by(parsed, "transaction_id")
    assert rows["9001"]["amount"] == Decimal("-1234.50") and rows["9001"]["charge_date"] == date(2026, 5, 6)
    assert rows["9002"]["amount"] == Decimal("-35.00") and rows["9002"]["_line"] == 4
    assert rows["9002"]["invoice_id"] is None


def test_threepl_missing_currency_code_is_rejected(tmp_path):
    text = THREEPL.replace("currency_code", "ccy")
    with pytest.raises(FileRejected, match="'currency_code'"):
        parse("threepl_billing", write(tmp_path, "shipbob.csv", text))


def test_threepl_rejects_another_feeds_file(tmp_path):
    with pytest.raises(FileRejected, match="it looks like a 'cogs' file"):
        parse("threepl_billing", write(tmp_path, "cogs.csv", COGS))


# ---------------------------------------------------------------------------------------------
# COGS

COGS = """sku,unit_cost,currency,effective_from
FH-VASE,7.3612,usd,2025-01-01
FH-VASE,7.9000,USD,2026-05-15
FH-MUG,"1,002.5",USD,01/01/2025
"""


def test_cogs_effective_dated_rows(tmp_path):
    parsed = parse("cogs", write(tmp_path, "cogs.csv", COGS, bom=True, crlf=True))
    assert parsed.quarantine.height == 0
    assert sorted((r["sku"], r["effective_from"], r["unit_cost"], r["currency"]) for r in parsed.frame.to_dicts()) == [
        ("FH-MUG", date(2025, 1, 1), Decimal("1002.5"), "USD"),
        ("FH-VASE", date(2025, 1, 1), Decimal("7.3612"), "USD"),
        ("FH-VASE", date(2026, 5, 15), Decimal("7.9"), "USD"),
    ]


def test_cogs_too_precise_cost_is_quarantined(tmp_path):
    text = COGS.replace("7.9000", "7.90001") + "\n\n"
    parsed = parse("cogs", write(tmp_path, "cogs.csv", text))
    assert parsed.table.num_rows == 2
    [bad] = parsed.quarantine.to_dicts()
    assert bad["line"] == 3 and bad["reason"] == "column 'unit_cost': '7.90001' has more than 4 decimals"


def test_cogs_missing_effective_from_is_rejected(tmp_path):
    with pytest.raises(FileRejected, match="'effective_from'"):
        parse("cogs", write(tmp_path, "cogs.csv", "sku,unit_cost,currency\nFH-1,1.00,USD\n"))


# ---------------------------------------------------------------------------------------------
# operating costs

OPEX = """month,channel,cost_type,amount,currency
2026-05,shopify_web,staff,"$4,960.00",usd
2026-05-01,amazon_us,agency,1200,USD
May 2026,wholesale,software,130.20,EUR
2026/6,unallocated,software,99,USD
"""


def test_operating_costs_months_are_first_days(tmp_path):
    parsed = parse("operating_costs", write(tmp_path, "opex.csv", OPEX))
    assert parsed.quarantine.height == 0
    assert [(r["month"], r["channel"], r["amount"], r["currency"]) for r in parsed.frame.to_dicts()] == [
        (date(2026, 5, 1), "shopify_web", Decimal("4960.00"), "USD"),
        (date(2026, 5, 1), "amazon_us", Decimal("1200.00"), "USD"),
        (date(2026, 5, 1), "wholesale", Decimal("130.20"), "EUR"),
        (date(2026, 6, 1), "unallocated", Decimal("99.00"), "USD"),
    ]


def test_operating_costs_bad_month_is_quarantined(tmp_path):
    text = "channel,currency,amount,cost_type,month,comment\n" \
           "shopify_web,USD,10,staff,Q2 2026,x\nshopify_web,USD,10,staff,2026-07,y\n"
    parsed = parse("operating_costs", write(tmp_path, "opex.csv", text, crlf=True))
    assert parsed.layout.extra_headers == ["comment"]
    assert parsed.frame["month"].to_list() == [date(2026, 7, 1)]
    [bad] = parsed.quarantine.to_dicts()
    assert bad["line"] == 2 and bad["reason"] == "column 'month': 'Q2 2026' is not a date"


def test_operating_costs_rejects_another_feeds_file(tmp_path):
    with pytest.raises(FileRejected, match="it looks like a 'cogs' file"):
        parse("operating_costs", write(tmp_path, "cogs.csv", COGS))


# ---------------------------------------------------------------------------------------------
# FX rates

FX = """date,currency,rate_to_usd
2026-05-01,eur,1.0840
2026-05-01,CAD,0.73100000
2026-05-02,EUR,
"""


def test_fx_quote_currency_from_header_and_missing_rate_quarantined(tmp_path):
    parsed = parse("fx_rates", write(tmp_path, "fx.csv", FX + "\n\n"))
    assert [(r["date"], r["currency"], r["quote_currency"], r["rate"]) for r in parsed.frame.to_dicts()] == [
        (date(2026, 5, 1), "EUR", "USD", Decimal("1.084")),
        (date(2026, 5, 1), "CAD", "USD", Decimal("0.731")),
    ]
    # a missing rate never becomes 1.0: the row goes to quarantine
    [bad] = parsed.quarantine.to_dicts()
    assert bad["line"] == 4 and bad["reason"] == "column 'rate_to_usd': missing value"


def test_fx_header_case_and_messy_file(tmp_path):
    text = 'Rate_To_EUR,Date,Currency,source\n"0,9225",2026-05-03,usd,ECB\n1.17,2026-05-03,GBP,ECB\n'
    parsed = parse("fx_rates", write(tmp_path, "fx.csv", text, bom=True, crlf=True))
    assert parsed.layout.extra_headers == ["source"]
    assert [(r["currency"], r["quote_currency"], r["rate"]) for r in parsed.frame.to_dicts()] == [
        ("USD", "EUR", Decimal("0.9225")), ("GBP", "EUR", Decimal("1.17"))]


def test_fx_without_rate_column_is_rejected(tmp_path):
    with pytest.raises(FileRejected, match=r"'rate_to_<CUR>'"):
        parse("fx_rates", write(tmp_path, "fx.csv", "date,currency,rate\n2026-05-01,EUR,1.08\n"))


def test_fx_rate_with_too_many_decimals_is_quarantined(tmp_path):
    parsed = parse("fx_rates", write(tmp_path, "fx.csv", FX.replace("0.73100000", "0.731000001")))
    assert parsed.frame["currency"].to_list() == ["EUR"]
    assert "column 'rate_to_usd': '0.731000001' has more than 8 decimals" in parsed.quarantine["reason"].to_list()


# ---------------------------------------------------------------------------------------------
# sessions

def test_sessions_template(tmp_path):
    text = "date,channel,sessions,notes\n2026-05-01,shopify_web,\"1,933\",a\n2026-05-01,amazon_us,90,\n\n"
    parsed = parse("sessions", write(tmp_path, "sessions.csv", text, bom=True, crlf=True))
    assert parsed.layout.extra_headers == ["notes"]
    assert parsed.frame.select("date", "channel", "sessions", "_line").rows() == [
        (date(2026, 5, 1), "shopify_web", 1933, 2), (date(2026, 5, 1), "amazon_us", 90, 3)]


def test_sessions_ga4_style_export_with_channel_option(tmp_path):
    text = "Date,Sessions,Engaged sessions\n20260501,1204,800\n20260502,x,1\n20260503,998,700\n"
    parsed = parse("sessions", write(tmp_path, "ga4.csv", text), {"channel": "shopify_web"})
    assert parsed.frame.select("date", "channel", "sessions").rows() == [
        (date(2026, 5, 1), "shopify_web", 1204), (date(2026, 5, 3), "shopify_web", 998)]
    [bad] = parsed.quarantine.to_dicts()
    assert bad["line"] == 3 and bad["reason"] == "column 'Sessions': 'x' is not a whole number"


AMAZON_BUSINESS = '''"Date","Ordered Product Sales","Units Ordered","Total Order Items","Sessions - Total","Sessions - Total - B2B","Page Views - Total","Unit Session Percentage"
"05/01/2026","$1,234.50","40","38","1,510","12","2,900","2.65%"
"05/02/2026","$998.00","31","30","1,204","9","2,300","2.57%"
'''  # noqa: E501  (a vendor export's lines are kept whole, as the vendor writes them)


def test_sessions_amazon_business_report_needs_the_channel(tmp_path):
    path = write(tmp_path, "BusinessReport.csv", AMAZON_BUSINESS)
    with pytest.raises(FileRejected, match="--option channel=amazon_us"):
        parse("sessions", path)
    parsed = parse("sessions", path, {"channel": "amazon_us"})
    assert parsed.layout.format.name == "amazon_business_report_by_date"
    assert parsed.layout.extra_headers == []
    assert parsed.frame.select("date", "channel", "sessions").rows() == [
        (date(2026, 5, 1), "amazon_us", 1510), (date(2026, 5, 2), "amazon_us", 1204)]


def test_sessions_missing_sessions_column_is_rejected(tmp_path):
    with pytest.raises(FileRejected, match="'sessions'"):
        parse("sessions", write(tmp_path, "s.csv", "date,channel,visits\n2026-05-01,shopify_web,3\n"))


def test_sessions_rejects_another_feeds_file(tmp_path):
    with pytest.raises(FileRejected, match="it looks like a 'operating_costs' file"):
        parse("sessions", write(tmp_path, "opex.csv", OPEX))


# ---------------------------------------------------------------------------------------------
# inventory snapshots

INVENTORY = """date,location,sku,on_hand,sellable,inbound,snapshot_at
2026-05-03,3PL - ShipBob Reno,FH-VASE,"1,040",1014,0,2026-05-03T23:55:00-07:00
2026-05-03,Amazon FBA US,FH-VASE,52,50,120,
"""


def test_inventory_template(tmp_path):
    parsed = parse("inventory_snapshots", write(tmp_path, "inv.csv", INVENTORY + ",,,,,,\n", bom=True, crlf=True))
    assert parsed.quarantine.height == 0
    assert parsed.frame.rows() == [
        (date(2026, 5, 3), "3PL - ShipBob Reno", "FH-VASE", 1040, 1014, 0,
         datetime(2026, 5, 4, 6, 55, tzinfo=UTC), 2),
        (date(2026, 5, 3), "Amazon FBA US", "FH-VASE", 52, 50, 120, None, 3),
    ]


def test_inventory_bad_value_and_missing_column(tmp_path):
    parsed = parse("inventory_snapshots", write(tmp_path, "inv.csv", INVENTORY.replace(",52,", ",lots,")))
    assert parsed.frame["_line"].to_list() == [2]
    [bad] = parsed.quarantine.to_dicts()
    assert bad["line"] == 3 and bad["reason"] == "column 'on_hand': 'lots' is not a whole number"
    with pytest.raises(FileRejected, match="'on_hand'"):
        parse("inventory_snapshots", write(tmp_path, "inv2.csv", INVENTORY.replace("on_hand", "qty")))


def test_inventory_template_without_location_needs_the_option(tmp_path):
    text = "date,sku,on_hand,sellable,inbound\n2026-05-03,FH-1,5,5,0\n"
    path = write(tmp_path, "inv.csv", text)
    with pytest.raises(FileRejected, match="--location"):
        parse("inventory_snapshots", path)
    parsed = parse("inventory_snapshots", path, {"location": "3PL - ShipBob Reno"})
    assert parsed.frame["location"].to_list() == ["3PL - ShipBob Reno"]


FBA_HEADER = ("sku\tfnsku\tasin\tproduct-name\tcondition\tyour-price\tmfn-listing-exists\tmfn-fulfillable-quantity\t"
              "afn-listing-exists\tafn-warehouse-quantity\tafn-fulfillable-quantity\tafn-unsellable-quantity\t"
              "afn-reserved-quantity\tafn-total-quantity\tper-unit-volume\tafn-inbound-working-quantity\t"
              "afn-inbound-shipped-quantity\tafn-inbound-receiving-quantity")
FBA = FBA_HEADER + """
FH-VASE\tX00A1\tB0VASE01\tVase 12" "tall"\tNew\t19.99\tNo\t\tYes\t40\t35\t2\t3\t52\t0.10\t0\t10\t2
FH-MUG\tX00A2\tB0MUG001\tMug\tNew\t9.99\tNo\t\tYes\t5\t5\t0\t0\t5\t0.05\t0\tabc\t1
FH-BOWL\tX00A3\tB0BOWL01\tBowl\tNew\t12.00\tNo\t\tYes\t0\t0\t0\t0\t0\t0.05\t0\t\t
"""


def test_inventory_fba_report_needs_date_and_location(tmp_path):
    path = write(tmp_path, "fba_inventory.txt", FBA)
    with pytest.raises(FileRejected, match="--date"):
        parse("inventory_snapshots", path, {"location": "Amazon FBA US"})
    with pytest.raises(FileRejected, match="--location"):
        parse("inventory_snapshots", path, {"date": "2026-05-03"})
    parsed = parse("inventory_snapshots", path, {"date": "2026-05-03", "location": "Amazon FBA US"})
    assert parsed.layout.format.name == "fba_manage_inventory_txt"
    assert parsed.layout.extra_headers == []
    assert parsed.frame.select("date", "location", "sku", "on_hand", "sellable", "inbound", "_line").rows() == [
        (date(2026, 5, 3), "Amazon FBA US", "FH-VASE", 40, 35, 12, 2),
        (date(2026, 5, 3), "Amazon FBA US", "FH-BOWL", 0, 0, None, 4),
    ]
    [bad] = parsed.quarantine.to_dicts()
    assert bad["line"] == 3
    assert "afn-inbound-shipped-quantity=abc" in bad["reason"] and bad["reason"].startswith("column 'inbound'")
    assert json.loads(bad["raw_values"])["afn-inbound-shipped-quantity"] == "abc"


def test_inventory_fba_report_with_snapshot_date_and_location_columns(tmp_path):
    lines = FBA.splitlines()[:2]
    text = "snapshot-date\tlocation\t" + lines[0] + "\n2026-05-04\tAmazon FBA CA\t" + lines[1] + "\n"
    parsed = parse("inventory_snapshots", write(tmp_path, "fba.txt", text, crlf=True))
    assert parsed.frame.select("date", "location", "sku", "inbound").rows() == [
        (date(2026, 5, 4), "Amazon FBA CA", "FH-VASE", 12)]


def test_inventory_fba_report_missing_a_required_column(tmp_path):
    text = FBA.replace("afn-fulfillable-quantity", "afn-fulfillable")
    with pytest.raises(FileRejected, match="'afn-fulfillable-quantity'"):
        parse("inventory_snapshots", write(tmp_path, "fba.txt", text), {"date": "2026-05-03", "location": "x"})


SHOPIFY_INVENTORY = """Handle,Title,Option1 Name,Option1 Value,Option2 Name,Option2 Value,Option3 Name,Option3 Value,SKU,HS Code,COO,Location,Incoming,Unavailable,Committed,Available,On hand
stoneware-vase,"Stoneware vase, tall",Size,L,,,,,FH-VASE,,,Main warehouse,24,1,3,"1,010","1,014"
mug,Mug,Title,Default Title,,,,,FH-MUG,,,Main warehouse,not stocked,not stocked,not stocked,not stocked,not stocked
mug,Mug,Title,Default Title,,,,,FH-MUG,,,Pop-up shop,0,0,0,7,7
"""  # noqa: E501  (a vendor export's lines are kept whole, as the vendor writes them)


def test_inventory_shopify_export(tmp_path):
    path = write(tmp_path, "inventory_export_1.csv", SHOPIFY_INVENTORY, bom=True, crlf=True)
    with pytest.raises(FileRejected, match="--date"):
        parse("inventory_snapshots", path)
    parsed = parse("inventory_snapshots", path, {"date": "2026-05-03"})
    assert parsed.layout.format.name == "shopify_inventory_export_csv"
    assert parsed.layout.extra_headers == []
    assert parsed.non_data_rows == 1  # the `not stocked` row is no stock position
    assert parsed.quarantine.height == 0
    assert parsed.frame.select("date", "location", "sku", "on_hand", "sellable", "inbound", "_line").rows() == [
        (date(2026, 5, 3), "Main warehouse", "FH-VASE", 1014, 1010, 24, 2),
        (date(2026, 5, 3), "Pop-up shop", "FH-MUG", 7, 7, 0, 4),
    ]


def test_inventory_shopify_available_only_export_is_rejected(tmp_path):
    text = "Handle,Title,SKU,Location,Available\nmug,Mug,FH-MUG,Main warehouse,7\n"
    with pytest.raises(FileRejected, match="'On hand'"):
        parse("inventory_snapshots", write(tmp_path, "inventory_export.csv", text), {"date": "2026-05-03"})


def test_inventory_rejects_another_feeds_file(tmp_path):
    with pytest.raises(FileRejected, match="it looks like a 'fx_rates' file"):
        parse("inventory_snapshots", write(tmp_path, "fx.csv", FX), {"date": "2026-05-03", "location": "x"})


# ---------------------------------------------------------------------------------------------
# channel targets

TARGETS = """month,channel,net_revenue_target,orders_target,conversion_rate_target,marketing_spend_budget,cm3_margin_target
2026-05,shopify_web,"$112,500.00","1,240",2.6%,"13,020.00",18%
May 2026,amazon_us,41000,620,0.11,2480,0.12
2026-05-01,wholesale,29000,12,,0,"35,5 %"
"""  # noqa: E501  (a vendor export's lines are kept whole, as the vendor writes them)


def test_channel_targets_percentages_and_months(tmp_path):
    parsed = parse("channel_targets", write(tmp_path, "targets.csv", TARGETS, bom=True, crlf=True))
    assert parsed.quarantine.height == 0
    rows = rows_by(parsed, "channel")
    assert rows["shopify_web"] == rows["shopify_web"] | {
        "month": date(2026, 5, 1), "net_revenue_target": Decimal("112500.00"), "orders_target": 1240,
        "conversion_rate_target": Decimal("0.026"), "marketing_spend_budget": Decimal("13020.00"),
        "cm3_margin_target": Decimal("0.18"), "currency": None}
    us = rows["amazon_us"]
    assert (us["month"], us["conversion_rate_target"]) == (date(2026, 5, 1), Decimal("0.11"))
    assert rows["wholesale"]["conversion_rate_target"] is None
    assert rows["wholesale"]["cm3_margin_target"] == Decimal("0.355")


def test_channel_targets_bad_value_extra_column_and_rejections(tmp_path):
    text = TARGETS.replace(",620,", ",six hundred,").replace("cm3_margin_target\n", "cm3_margin_target,owner\n")
    parsed = parse("channel_targets", write(tmp_path, "targets.csv", text))
    assert parsed.layout.extra_headers == ["owner"]
    assert sorted(parsed.frame["channel"].to_list()) == ["shopify_web", "wholesale"]
    [bad] = parsed.quarantine.to_dicts()
    assert bad["line"] == 3 and bad["reason"] == "column 'orders_target': 'six hundred' is not a whole number"
    with pytest.raises(FileRejected, match="'cm3_margin_target'"):
        parse("channel_targets", write(tmp_path, "t2.csv", TARGETS.replace(",cm3_margin_target", ",margin")))
    with pytest.raises(FileRejected, match="it looks like a 'operating_costs' file"):
        parse("channel_targets", write(tmp_path, "opex.csv", OPEX))


def test_reference_feeds_reject_each_others_files(tmp_path):
    with pytest.raises(FileRejected, match="it looks like a 'inventory_snapshots' file"):
        parse("cogs", write(tmp_path, "inventory.csv", INVENTORY))
    with pytest.raises(FileRejected, match="it looks like a 'inventory_snapshots' file"):
        parse("fx_rates", write(tmp_path, "inventory.csv", INVENTORY))


@pytest.mark.parametrize("text, expected", [
    ("2026-05", "2026-05-01"), (" 2026-06 ", "2026-06-01"), ("2026/5", "2026-05-01"), ("05/2026", "2026-05-01"),
    ("May 2026", "2026-05-01"), ("December-2025", "2025-12-01"), ("2026-05-17", "2026-05-01"),
    ("17.05.2026", "2026-05-01"), ("Sep 3, 2026", "2026-09-01"), ("1/15/2026", "2026-01-01"),
    ("2026-13", "2026-13"), ("nope", "nope"), (None, None),  # no month: left as written, for the quarantine
])
def test_a_month_in_any_layout_becomes_its_first_day(text, expected):
    from connectors.vendors.finance import month_start

    frame = pl.DataFrame({"month": ["2026-05", text]}, schema={"month": pl.String})
    assert month_start(frame, "month")["month"].to_list() == ["2026-05-01", expected]
