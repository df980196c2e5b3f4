"""Amazon reports in the dialects sellers actually download, from fixtures written after the
vendor's documented layouts (tests/fixtures/amazon/):

- Seller Central's .csv download: comma-separated, every field quoted (header too), `""` inside
  product names, Windows-1252 bytes (0x96 –, 0x85 …, 0xA0 no-break space, 0x99 ™, 0x92 ’), CRLF;
- a European legacy settlement: quantity rows, decimal commas, `dd.mm.yyyy hh:mm:ss UTC` dates.

Every expected value is computed by hand from the fixture's text."""

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from connectors.registry import parse
from connectors.vendors.amazon import settlement_balance

D = Decimal
FIXTURES = Path(__file__).parent.parent / "fixtures" / "amazon"
MUG = 'Stoneware Mug \u2013 12 oz "Ocean"\u2122'
TEE = "Linen Tee\u2026\u00a0Size M"


def test_fixtures_are_really_in_the_vendor_dialect():
    orders = (FIXTURES / "all_orders_cp1252.csv").read_bytes()
    assert orders.startswith(b'"amazon-order-id","merchant-order-id",') and b"\r\n" in orders
    for byte in (b"\x96", b"\x85", b"\xa0", b"\x99"):
        assert byte in orders  # Windows-1252, not UTF-8
    assert b'""Ocean""' in orders
    assert b"\x92" in (FIXTURES / "fba_returns_cp1252.csv").read_bytes()


def test_all_orders_csv_download_in_windows_1252_lands_every_item():
    parsed = parse("amazon_orders", FIXTURES / "all_orders_cp1252.csv")
    assert parsed.quarantine.height == 0 and parsed.layout.extra_headers == []
    frame = parsed.frame
    assert frame.height == 4
    assert frame.select("amazon_order_id", "sku", "sku_occurrence").rows() == [
        ("113-1234567-0000001", "MUG-12", 1), ("113-1234567-0000001", "MUG-12", 2),
        ("113-1234567-0000002", "TEE-M", 1), ("113-1234567-0000003", "TEE-M", 1)]
    assert frame["product_name"].to_list() == [MUG, MUG, TEE, TEE]
    # 07:22:33 at -07:00 is 14:22:33 UTC; 23:59:59 at -07:00 is the next UTC day
    assert frame["purchase_date"].to_list()[1:3] == [datetime(2026, 5, 4, 14, 22, 33, tzinfo=UTC),
                                                     datetime(2026, 5, 5, 6, 59, 59, tzinfo=UTC)]
    shipped = frame.filter(pl.col("order_status") == "Shipped")
    assert shipped["quantity"].sum() == 4  # 2 + 1 MUG-12 (both items of the order) + 1 TEE-M
    assert shipped["item_price"].to_list() == [D("50.00"), D("25.00"), D("1018.00")]
    assert shipped["item_price"].sum() == D("1093.00")
    assert shipped["item_tax"].sum() == D("5.25")
    assert shipped["item_promotion_discount"].to_list() == [D("-5.00"), D("0.00"), D("0.00")]
    assert shipped["ship_promotion_discount"][0] == D("-4.99") and shipped["shipping_price"][0] == D("4.99")
    assert frame["promotion_ids"][0] == "PLM-MUG-10OFF,Free shipping"  # a quoted comma is data
    business = frame.row(2, named=True)
    assert (business["is_business_order"], business["purchase_order_number"]) == (True, "PO-55")
    pending = frame.row(3, named=True)
    assert (pending["order_status"], pending["currency"], pending["item_price"]) == ("Pending", None, None)
    assert "SPRINGFIELD" not in frame.write_csv() and "62704" not in frame.write_csv()


def test_fba_returns_csv_download_in_windows_1252_lands_without_comments():
    parsed = parse("amazon_returns", FIXTURES / "fba_returns_cp1252.csv")
    assert parsed.quarantine.height == 0
    frame = parsed.frame
    assert frame["return_date"].to_list() == [datetime(2026, 5, 12, 18, 4, 11, tzinfo=UTC),
                                              datetime(2026, 5, 13, 14, 0, tzinfo=UTC)]
    assert frame["product_name"].to_list() == [MUG, TEE]
    assert frame["quantity"].to_list() == [1, 2] and frame["quantity"].sum() == 3
    assert frame["detailed_disposition"].to_list() == ["SELLABLE", "CUSTOMER_DAMAGED"]
    assert frame["license_plate_number"].to_list() == ["LPNRR0000000001", "LPNRR0000000002"]
    assert "customer_comments" not in frame.columns and "555-0100" not in frame.write_csv()


def test_settlement_saved_as_quoted_csv_lands_and_balances_to_the_cent():
    parsed = parse("amazon_settlements", FIXTURES / "settlement_v2.csv")
    assert parsed.layout.format.name == "amazon_settlement_flat_file_v2"
    assert parsed.quarantine.height == 0 and parsed.non_data_rows == 1
    frame = parsed.frame
    assert frame["amount"].to_list() == [D("1225.00"), D("4.99"), D("-183.75"), D("-5.32"), D("-1.20")]
    assert frame["total_amount"][0] == D("1039.72") and frame["currency"][0] == "USD"
    assert frame["posted_date_time"][0] == datetime(2026, 5, 5, 14, 22, 33, tzinfo=UTC)
    assert frame["deposit_date"][0] == datetime(2026, 5, 20, 8, tzinfo=UTC)
    assert frame.filter(pl.col("amount_description") == "Principal")["quantity_purchased"].to_list() == [1]
    balance = settlement_balance(parsed.table).row(0, named=True)
    assert (balance["components_sum"], balance["balanced"]) == (D("1039.72"), True)


def test_european_legacy_settlement_with_quantity_rows_and_decimal_commas():
    parsed = parse("amazon_settlements", FIXTURES / "settlement_legacy_de.txt")
    assert parsed.layout.format.name == "amazon_settlement_flat_file_legacy"
    assert parsed.quarantine.height == 0, parsed.quarantine.to_dicts()  # the quantity rows are data
    frame = parsed.frame
    got = list(zip(frame["_line"], frame["sku"], frame["amount_description"], frame["amount"],
                   frame["quantity_purchased"], strict=True))
    assert got == [
        (4, "TASSE-12", "Principal", D("53.44"), 2),
        (5, "TASSE-12", "Shipping", D("4.99"), 2),
        (6, "TASSE-12", "Commission", D("-8.77"), 2),
        (7, "TASSE-12", "FBAPerUnitFulfillmentFee", D("-4.62"), 2),
        (9, "SCHAL-GRAU", "Principal", D("1234.56"), 1),
        (10, "SCHAL-GRAU", "Commission", D("-61.73"), 1),
        (11, None, "Storage Fee", D("-9.51"), None),
    ]
    # units of the settlement's sales, once per item: 2 + 1
    assert frame.filter(pl.col("amount_description") == "Principal")["quantity_purchased"].sum() == 3
    first = frame.row(0, named=True)
    assert (first["currency"], first["total_amount"], first["marketplace_name"]) == ("EUR", D("1208.36"), "Amazon.de")
    assert first["settlement_start_date"] == datetime(2018, 5, 1, 9, 10, 7, tzinfo=UTC)
    assert first["deposit_date"] == datetime(2018, 5, 17, 9, 10, 7, tzinfo=UTC)
    assert frame["posted_date"].to_list()[:1] == [date(2018, 5, 3)] and frame["posted_date"][6] == date(2018, 5, 8)
    balance = settlement_balance(parsed.table).row(0, named=True)
    assert (balance["components_sum"], balance["balanced"]) == (D("1208.36"), True)
