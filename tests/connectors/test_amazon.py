"""Amazon settlements (flat file V2 and legacy flat file), All Orders and FBA returns → canonical tables."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from connectors.engine import FileRejected, parse_batches, sniff
from connectors.registry import feed_spec, parse
from connectors.vendors.amazon import settlement_balance

D = Decimal

# ---- helpers -----------------------------------------------------------------------------------


def write_tsv(path, header, rows, *, bom=False, crlf=False, trailing_blank=0):
    """A tab-separated file as Amazon writes it: no quoting at all."""
    eol = "\r\n" if crlf else "\n"
    lines = ["\t".join(header)] + ["\t".join(row.get(h, "") for h in header) for row in rows]
    text = eol.join(lines) + eol + eol * trailing_blank
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


V2 = ["settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount",
      "currency", "transaction-type", "order-id", "merchant-order-id", "adjustment-id", "shipment-id",
      "marketplace-name", "amount-type", "amount-description", "amount", "fulfillment-id", "posted-date",
      "posted-date-time", "order-item-code", "merchant-order-item-id", "merchant-adjustment-item-id", "sku",
      "quantity-purchased", "promotion-id"]
LEGACY = ["settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount",
          "currency", "transaction-type", "order-id", "merchant-order-id", "adjustment-id", "shipment-id",
          "marketplace-name", "shipment-fee-type", "shipment-fee-amount", "order-fee-type", "order-fee-amount",
          "fulfillment-id", "posted-date", "order-item-code", "merchant-order-item-id",
          "merchant-adjustment-item-id", "sku", "quantity-purchased", "price-type", "price-amount",
          "item-related-fee-type", "item-related-fee-amount", "misc-fee-amount", "other-fee-amount",
          "other-fee-reason-description", "promotion-id", "promotion-type", "promotion-amount",
          "direct-payment-type", "direct-payment-amount", "other-amount"]
LEGACY_OLD = [h for h in LEGACY if h not in ("promotion-id", "promotion-type", "promotion-amount")]


def v2_summary(sid="24680135791", total="23.97", currency="USD"):
    return {"settlement-id": sid, "settlement-start-date": "2026-05-04T08:00:00+00:00",
            "settlement-end-date": "2026-05-18 08:00:00 UTC", "deposit-date": "2026-05-20T08:00:00+00:00",
            "total-amount": total, "currency": currency}


def v2_component(amount_type, desc, amount, *, sid="24680135791", ttype="Order", order="111-2233445-5566778",
                 posted="2026-05-05", posted_time="2026-05-05T14:22:33+00:00", sku="MUG-12", qty="1", **extra):
    return {"settlement-id": sid, "transaction-type": ttype, "order-id": order, "marketplace-name": "Amazon.com",
            "amount-type": amount_type, "amount-description": desc, "amount": amount, "fulfillment-id": "AFN",
            "posted-date": posted, "posted-date-time": posted_time, "order-item-code": "40111222333444",
            "sku": sku, "quantity-purchased": qty, **extra}


def v2_rows():
    return [
        v2_summary(),
        v2_component("ItemPrice", "Principal", "25.00"),
        v2_component("ItemPrice", "Shipping", "4.99"),
        v2_component("Promotion", "Principal", "-2.50", **{"promotion-id": "PLM-SPRING"}),
        v2_component("ItemFees", "Commission", "-3.75"),
        v2_component("ItemFees", "FBAPerUnitFulfillmentFee", "-5.32"),
        v2_component("other-transaction", "Storage Fee", "-1.20", ttype="other-transaction", order="", sku="",
                     qty="", **{"marketplace-name": "", "fulfillment-id": ""}),
        v2_component("FBA Inventory Reimbursement", "REVERSAL_REIMBURSEMENT", "6.75", ttype="other-transaction",
                     order="", qty="", **{"adjustment-id": "ADJ-9"}),
    ]


def legacy_summary(sid="13579246801", total="100.00", currency="USD"):
    return {"settlement-id": sid, "settlement-start-date": "04.05.2026 08:00:00 UTC",
            "settlement-end-date": "18.05.2026 08:00:00 UTC", "deposit-date": "20.05.2026 08:00:00 UTC",
            "total-amount": total, "currency": currency}


def legacy_row(sid="13579246801", ttype="Order", order="111-0000000-0000001", posted="05.05.2026", **amounts):
    row = {"settlement-id": sid, "transaction-type": ttype, "order-id": order, "marketplace-name": "Amazon.com",
           "fulfillment-id": "AFN", "posted-date": posted, "order-item-code": "50111", "sku": "TEE-M",
           "quantity-purchased": "1" if order else ""}
    row.update({k.replace("_", "-"): v for k, v in amounts.items()})
    return row


def legacy_rows():
    fee = {"marketplace-name": "", "fulfillment-id": "", "order-id": "", "sku": "", "order-item-code": ""}
    return [
        legacy_summary(total="51.73"),
        # one wide row carrying four amounts
        legacy_row(price_type="Principal", price_amount="40.00", item_related_fee_type="Commission",
                   item_related_fee_amount="-6.00", promotion_id="PLM-1", promotion_type="Principal",
                   promotion_amount="-4.00", misc_fee_amount="-0.10"),
        legacy_row(price_type="Shipping", price_amount="5.00", promotion_type="Shipping", promotion_amount="-5.00",
                   shipment_fee_type="FBA transportation fee", shipment_fee_amount="-1.00",
                   order_fee_type="Gift wrap chargeback", order_fee_amount="-0.50",
                   other_fee_amount="-0.25", other_fee_reason_description="Damaged inbound",
                   direct_payment_type="StorageRenewalBilling", direct_payment_amount="3.00"),
        legacy_row(ttype="Refund", order="111-0000000-0000002", posted="10.05.2026",
                   **{"adjustment-id": "AMZ-ADJ-1"}, price_type="Principal", price_amount="-20.00",
                   item_related_fee_type="Commission", item_related_fee_amount="3.00"),
        legacy_row(ttype="Storage Fee", other_amount="-2.35", **fee),
        legacy_row(ttype="Subscription Fee", other_amount="-39.99", **fee),
        legacy_row(ttype="REVERSAL_REIMBURSEMENT", other_amount="12.92", **{**fee, "sku": "TEE-M"}),
        legacy_row(ttype="WAREHOUSE_DAMAGE", other_amount="67.00", **{**fee, "sku": "TEE-L"}),
    ]


def balance_of(parsed):
    return {r["settlement_id"]: r for r in settlement_balance(parsed.table).iter_rows(named=True)}


# ---- settlements: flat file V2 ---------------------------------------------------------------------


def test_v2_settlement_lands_one_row_per_component_with_settlement_values_carried(tmp_path):
    parsed = parse("amazon_settlements", write_tsv(tmp_path / "settlement.txt", V2, v2_rows()))
    assert parsed.layout.format.name == "amazon_settlement_flat_file_v2"
    assert parsed.quarantine.height == 0
    assert parsed.non_data_rows == 1  # the summary row is not a component
    frame = parsed.frame
    assert frame["line_id"].to_list() == ["3", "4", "5", "6", "7", "8", "9"]
    assert frame["amount"].to_list() == [D("25.00"), D("4.99"), D("-2.50"), D("-3.75"), D("-5.32"),
                                         D("-1.20"), D("6.75")]
    first = frame.row(0, named=True)
    assert first["settlement_id"] == "24680135791"
    assert first["settlement_start_date"] == datetime(2026, 5, 4, 8, tzinfo=UTC)
    assert first["settlement_end_date"] == datetime(2026, 5, 18, 8, tzinfo=UTC)  # `… UTC` layout
    assert first["deposit_date"] == datetime(2026, 5, 20, 8, tzinfo=UTC)
    assert first["total_amount"] == D("23.97") and first["currency"] == "USD"
    assert first["posted_date"] == date(2026, 5, 5)
    assert first["posted_date_time"] == datetime(2026, 5, 5, 14, 22, 33, tzinfo=UTC)
    assert first["quantity_purchased"] == 1 and first["report_layout"] == "v2"
    assert (first["amount_type"], first["amount_description"]) == ("ItemPrice", "Principal")
    promo = frame.row(2, named=True)
    assert promo["promotion_id"] == "PLM-SPRING" and promo["amount_type"] == "Promotion"
    storage = frame.row(5, named=True)
    assert (storage["transaction_type"], storage["amount_type"], storage["amount_description"]) == (
        "other-transaction", "other-transaction", "Storage Fee")
    assert storage["order_id"] is None and storage["total_amount"] == D("23.97") and storage["currency"] == "USD"
    assert frame["total_amount"].unique().to_list() == [D("23.97")]
    bal = balance_of(parsed)["24680135791"]
    assert bal["components_sum"] == D("23.97") and bal["difference"] == 0 and bal["balanced"] is True


def test_settlement_balance_flags_a_settlement_whose_components_do_not_add_up(tmp_path):
    rows = v2_rows()
    rows[0]["total-amount"] = "23.98"  # one cent more than the components
    parsed = parse("amazon_settlements", write_tsv(tmp_path / "settlement.txt", V2, rows))
    bal = balance_of(parsed)["24680135791"]
    assert bal["balanced"] is False and bal["difference"] == D("-0.01")


def test_v2_messy_file_bom_crlf_reordered_extra_column_thousands_and_trailing_rows(tmp_path):
    header = list(reversed(V2)) + ["new-amazon-column"]
    rows = v2_rows()
    rows[0]["total-amount"] = "1,223.97"
    rows[1]["amount"] = "1,225.00"  # thousands separator
    rows[2]["sku"] = 'MUG-12"-"BLUE'  # Amazon does not quote: the quote characters are data
    rows[3]["new-amazon-column"] = "x"
    path = write_tsv(tmp_path / "settlement.txt", header, rows, bom=True, crlf=True, trailing_blank=2)
    parsed = parse("amazon_settlements", path)
    assert parsed.quarantine.height == 0
    assert parsed.layout.extra_headers == ["new-amazon-column"]
    frame = parsed.frame
    assert frame["line_id"].to_list() == ["3", "4", "5", "6", "7", "8", "9"]
    assert frame["amount"][0] == D("1225.00") and frame["total_amount"][0] == D("1223.97")
    assert frame["sku"][1] == 'MUG-12"-"BLUE'
    assert frame["settlement_id"][0] == "24680135791"  # BOM not glued to the first header/value
    assert balance_of(parsed)["24680135791"]["balanced"] is True


def test_eu_settlement_with_decimal_commas_balances_exactly(tmp_path):
    rows = [
        {**v2_summary(sid="555000111", total="1.187,33", currency="EUR"),
         "settlement-start-date": "04.05.2026 08:00:00 UTC"},
        v2_component("ItemPrice", "Principal", "1.234,56", sid="555000111", posted="05.05.2026",
                     posted_time="05.05.2026 14:22:33 UTC", **{"marketplace-name": "Amazon.de"}),
        v2_component("ItemFees", "Commission", "-45,13", sid="555000111", posted="05.05.2026",
                     posted_time="05.05.2026 14:22:33 UTC", **{"marketplace-name": "Amazon.de"}),
        v2_component("other-transaction", "Subscription Fee", "-2,10", sid="555000111", ttype="other-transaction",
                     order="", sku="", qty="", posted="06.05.2026", posted_time="06.05.2026 00:00:00 UTC"),
    ]
    parsed = parse("amazon_settlements", write_tsv(tmp_path / "settlement_de.txt", V2, rows))
    assert parsed.quarantine.height == 0
    frame = parsed.frame
    assert frame["amount"].to_list() == [D("1234.56"), D("-45.13"), D("-2.10")]
    assert frame["total_amount"][0] == D("1187.33") and frame["currency"][0] == "EUR"
    assert frame["settlement_start_date"][0] == datetime(2026, 5, 4, 8, tzinfo=UTC)
    assert frame["posted_date"].to_list() == [date(2026, 5, 5), date(2026, 5, 5), date(2026, 5, 6)]
    assert frame["posted_date_time"][0] == datetime(2026, 5, 5, 14, 22, 33, tzinfo=UTC)
    bal = balance_of(parsed)["555000111"]
    assert bal["balanced"] is True and bal["components_sum"] == D("1187.33")


def test_eu_settlement_is_read_by_its_own_decimal_comma_convention(tmp_path):
    """`1.230` in a decimal-comma file is one thousand two hundred thirty, never 1.23."""
    de = {"sid": "555000222", "posted": "03.05.2018", "posted_time": "03.05.2018 09:10:07 UTC",
          "marketplace-name": "Amazon.de"}
    rows = [
        {**v2_summary(sid="555000222", total="1.278,56", currency="EUR"),
         "settlement-start-date": "01.05.2018 09:10:07 UTC", "deposit-date": "17.05.2018 09:10:07 UTC"},
        v2_component("ItemPrice", "Principal", "1.230", **de),  # thousands dot, no decimals
        v2_component("ItemPrice", "Shipping", "53,44", **de),
        v2_component("ItemFees", "Commission", "-4,88", **de),
    ]
    parsed = parse("amazon_settlements", write_tsv(tmp_path / "settlement_de.txt", V2, rows))
    assert parsed.quarantine.height == 0
    frame = parsed.frame
    assert frame["amount"].to_list() == [D("1230.00"), D("53.44"), D("-4.88")]
    assert frame["total_amount"][0] == D("1278.56")
    assert frame["settlement_start_date"][0] == datetime(2018, 5, 1, 9, 10, 7, tzinfo=UTC)
    assert frame["deposit_date"][0] == datetime(2018, 5, 17, 9, 10, 7, tzinfo=UTC)
    assert frame["posted_date"][0] == date(2018, 5, 3)
    assert frame["posted_date_time"][0] == datetime(2018, 5, 3, 9, 10, 7, tzinfo=UTC)
    assert balance_of(parsed)["555000222"]["balanced"] is True


def test_unreadable_amount_in_a_decimal_comma_file_is_quarantined_as_written(tmp_path):
    rows = [v2_summary(sid="555000444", total="48,56", currency="EUR"),
            v2_component("ItemPrice", "Principal", "53,44", sid="555000444", **{"marketplace-name": "Amazon.de"}),
            v2_component("ItemFees", "Commission", "-4.8x", sid="555000444", **{"marketplace-name": "Amazon.de"})]
    parsed = parse("amazon_settlements", write_tsv(tmp_path / "settlement_de.txt", V2, rows))
    assert parsed.quarantine["line"].to_list() == [4]
    assert "'-4.8x' is not an amount" in parsed.quarantine["reason"][0]
    assert parsed.frame["amount"].to_list() == [D("53.44")]


def test_decimal_point_file_reads_a_lone_comma_group_as_thousands(tmp_path):
    rows = v2_rows()
    rows[0]["total-amount"] = "1,223.97"
    rows[1]["amount"] = "1,225"  # no decimals: one thousand two hundred twenty-five
    parsed = parse("amazon_settlements", write_tsv(tmp_path / "settlement.txt", V2, rows))
    assert parsed.frame["amount"][0] == D("1225.00")
    assert balance_of(parsed)["24680135791"]["balanced"] is True


def test_eu_marketplace_decides_when_no_amount_shows_decimals(tmp_path):
    rows = [v2_summary(sid="555000333", total="1.000", currency="EUR"),
            v2_component("ItemPrice", "Principal", "1.000", sid="555000333", **{"marketplace-name": "Amazon.fr"})]
    parsed = parse("amazon_settlements", write_tsv(tmp_path / "settlement_fr.txt", V2, rows))
    assert parsed.frame["amount"].to_list() == [D("1000.00")]
    assert parsed.frame["total_amount"][0] == D("1000.00")


def test_settlement_mixing_decimal_commas_and_points_is_rejected_naming_both(tmp_path):
    rows = v2_rows()
    rows[2]["amount"] = "4,99"
    with pytest.raises(FileRejected, match=r"decimal commas \('4,99'\).*decimal points \('23.97'\)"):
        parse("amazon_settlements", write_tsv(tmp_path / "settlement.txt", V2, rows))


def date_range_report(path):
    """Amazon Payments > Date Range Reports (transaction view), as Seller Central writes it: title
    lines, then a quoted comma-separated header on line 8."""
    lines = [
        '"Includes Amazon Marketplace, Fulfillment by Amazon (FBA), and Amazon Webstore transactions"',
        '"All amounts in USD, unless specified"',
        '"Definitions:"',
        '"Sales tax collected: Includes sales tax collected from buyers for product sales, shipping, and gift wrap."',
        '"Selling fees: Includes variable closing fees and referral fees."',
        '"Other transaction fees: Includes shipping chargebacks, shipping holdbacks, per-item fees and sales tax '
        'collection fees."',
        '"Other: Includes non-order transaction amounts. For more details, see the ""Type"" and ""Description"" '
        'columns for each order ID."',
        '"date/time","settlement id","type","order id","sku","description","quantity","marketplace","fulfillment",'
        '"order city","order state","order postal","product sales","shipping credits","gift wrap credits",'
        '"promotional rebates","sales tax collected","Marketplace Facilitator Tax","selling fees","fba fees",'
        '"other transaction fees","other","total"',
        '"May 4, 2026 1:05:07 AM PDT","24680135791","Order","111-2233445-5566778","MUG-12","Stoneware mug","1",'
        '"amazon.com","Amazon","SPRINGFIELD","IL","62704","25.00","4.99","0","-2.50","1.75","-1.75","-3.75",'
        '"-5.32","0","0","18.42"',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_date_range_report_is_refused_as_a_settlement_saying_what_to_download(tmp_path):
    with pytest.raises(FileRejected) as err:
        parse("amazon_settlements", date_range_report(tmp_path / "2026MayMonthlyTransaction.csv"))
    message = str(err.value)
    assert "Date Range Report" in message and "not a settlement report" in message
    assert "All Statements" in message and "Flat File V2" in message


def test_date_range_report_dropped_into_another_feed_says_what_it_is_not_where_to_land_it(tmp_path):
    with pytest.raises(FileRejected) as err:
        parse("shopify_payments", date_range_report(tmp_path / "2026MayMonthlyTransaction.csv"))
    message = str(err.value)
    assert "it is an Amazon Payments 'Date Range Report'" in message and "not a settlement report" in message
    assert "it looks like" not in message


def test_bad_amount_is_quarantined_with_its_line_and_the_settlement_no_longer_balances(tmp_path):
    rows = v2_rows()
    rows[3]["amount"] = "-2.5O"  # letter O
    parsed = parse("amazon_settlements", write_tsv(tmp_path / "settlement.txt", V2, rows))
    assert parsed.quarantine["line"].to_list() == [5]
    reason = parsed.quarantine["reason"][0]
    assert "'amount'" in reason and "-2.5O" in reason
    assert parsed.frame["line_id"].to_list() == ["3", "4", "6", "7", "8", "9"]
    assert balance_of(parsed)["24680135791"]["balanced"] is False  # the reconciliation check sees it


def test_component_without_a_summary_row_rejects_the_file(tmp_path):
    rows = v2_rows()[1:]  # summary row lost
    with pytest.raises(FileRejected, match="24680135791") as err:
        parse("amazon_settlements", write_tsv(tmp_path / "settlement.txt", V2, rows))
    assert "summary row" in str(err.value)


def test_a_component_of_a_settlement_without_summary_among_others_rejects_the_file(tmp_path):
    rows = v2_rows() + [v2_component("ItemPrice", "Principal", "1.00", sid="999")]
    with pytest.raises(FileRejected, match="settlement 999 has no summary row"):
        parse("amazon_settlements", write_tsv(tmp_path / "settlement.txt", V2, rows))


def test_summary_row_in_an_earlier_batch_still_fills_later_components(tmp_path):
    for header, rows in ((V2, v2_rows()), (LEGACY, legacy_rows())):
        path = write_tsv(tmp_path / "settlement.txt", header, rows)
        spec = feed_spec("amazon_settlements")
        layout = sniff(path, spec.contract, list(spec.formats), {})
        batches = list(parse_batches(path, spec.contract, layout, batch_rows=1))
        assert sum(b.non_data_rows for b in batches) == 1
        frame = pl.concat([pl.from_arrow(b.good) for b in batches])
        whole = parse("amazon_settlements", path).frame
        assert frame.drop("_line").equals(whole.drop("_line"))
        assert frame["total_amount"].null_count() == 0 and frame["currency"].null_count() == 0


# ---- settlements: legacy flat file ------------------------------------------------------------------


def test_legacy_settlement_is_unpivoted_into_one_row_per_amount(tmp_path):
    parsed = parse("amazon_settlements", write_tsv(tmp_path / "legacy.txt", LEGACY, legacy_rows()))
    assert parsed.layout.format.name == "amazon_settlement_flat_file_legacy"
    assert parsed.quarantine.height == 0 and parsed.non_data_rows == 1
    frame = parsed.frame
    got = list(zip(frame["line_id"], frame["transaction_type"], frame["amount_type"],
                   frame["amount_description"], frame["amount"], strict=True))
    assert got == [
        ("3.1", "Order", "ItemPrice", "Principal", D("40.00")),
        ("3.2", "Order", "ItemFees", "Commission", D("-6.00")),
        ("3.3", "Order", "Promotion", "Principal", D("-4.00")),
        ("3.4", "Order", "MiscFee", "MiscFee", D("-0.10")),
        ("4.1", "Order", "ItemPrice", "Shipping", D("5.00")),
        ("4.2", "Order", "Promotion", "Shipping", D("-5.00")),
        ("4.3", "Order", "ShipmentFees", "FBA transportation fee", D("-1.00")),
        ("4.4", "Order", "OrderFees", "Gift wrap chargeback", D("-0.50")),
        ("4.5", "Order", "OtherFees", "Damaged inbound", D("-0.25")),
        ("4.6", "Order", "DirectPayment", "StorageRenewalBilling", D("3.00")),
        ("5.1", "Refund", "ItemPrice", "Principal", D("-20.00")),
        ("5.2", "Refund", "ItemFees", "Commission", D("3.00")),
        ("6.1", "Storage Fee", "other-transaction", "Storage Fee", D("-2.35")),
        ("7.1", "Subscription Fee", "other-transaction", "Subscription Fee", D("-39.99")),
        ("8.1", "REVERSAL_REIMBURSEMENT", "other-transaction", "REVERSAL_REIMBURSEMENT", D("12.92")),
        ("9.1", "WAREHOUSE_DAMAGE", "other-transaction", "WAREHOUSE_DAMAGE", D("67.00")),
    ]
    assert frame["_line"].to_list()[:5] == [3, 3, 3, 3, 4]
    first = frame.row(0, named=True)
    assert first["settlement_start_date"] == datetime(2026, 5, 4, 8, tzinfo=UTC)
    assert first["settlement_end_date"] == datetime(2026, 5, 18, 8, tzinfo=UTC)
    assert first["deposit_date"] == datetime(2026, 5, 20, 8, tzinfo=UTC)
    assert first["posted_date"] == date(2026, 5, 5) and first["posted_date_time"] is None
    assert first["report_layout"] == "legacy" and first["promotion_id"] == "PLM-1"
    assert frame.filter(pl.col("adjustment_id") == "AMZ-ADJ-1")["posted_date"].to_list() == [date(2026, 5, 10)] * 2
    assert set(frame["total_amount"]) == {D("51.73")} and set(frame["currency"]) == {"USD"}
    assert frame.select(pl.col("settlement_id", "line_id")).is_unique().all()  # the primary key
    bal = balance_of(parsed)["13579246801"]
    assert bal["balanced"] is True and bal["components_sum"] == D("51.73")


def test_older_legacy_file_without_promotion_columns_loads_and_balances(tmp_path):
    rows = [legacy_summary(total="31.65"),
            legacy_row(price_type="Principal", price_amount="40.00", item_related_fee_type="Commission",
                       item_related_fee_amount="-6.00"),
            legacy_row(ttype="Storage Fee", other_amount="-2.35", order="", sku=""),
            legacy_row(ttype="Subscription Fee", other_amount="0.00", order="")]
    parsed = parse("amazon_settlements", write_tsv(tmp_path / "legacy_old.txt", LEGACY_OLD, rows))
    assert parsed.layout.format.name == "amazon_settlement_flat_file_legacy"
    assert {"promotion_id", "promotion_type", "promotion_amount"} <= set(parsed.layout.missing_optional)
    assert parsed.quarantine.height == 0
    frame = parsed.frame
    assert frame["line_id"].to_list() == ["3.1", "3.2", "4.1", "5.1"]
    assert frame["amount"].to_list() == [D("40.00"), D("-6.00"), D("-2.35"), D("0.00")]
    assert frame["promotion_id"].null_count() == 4
    bal = balance_of(parsed)["13579246801"]
    assert bal["components_sum"] == D("31.65") and bal["balanced"] is True


def test_legacy_eu_file_with_decimal_commas_balances_exactly(tmp_path):
    rows = [legacy_summary(sid="777", total="1.170,25", currency="EUR"),
            legacy_row(sid="777", price_type="Principal", price_amount="1.299,99",
                       item_related_fee_type="Commission", item_related_fee_amount="-194,99",
                       **{"marketplace-name": "Amazon.de"}),
            legacy_row(sid="777", ttype="REVERSAL_REIMBURSEMENT", other_amount="65,25", order=""),
            legacy_row(sid="777", ttype="Storage Fee", other_amount="0,00", order="")]
    parsed = parse("amazon_settlements", write_tsv(tmp_path / "legacy_de.txt", LEGACY, rows, crlf=True))
    assert parsed.quarantine.height == 0
    assert parsed.frame["amount"].to_list() == [D("1299.99"), D("-194.99"), D("65.25"), D("0.00")]
    bal = balance_of(parsed)["777"]
    assert bal["total_amount"] == D("1170.25") and bal["currency"] == "EUR" and bal["balanced"] is True


def test_legacy_bad_amount_is_quarantined_naming_its_vendor_column(tmp_path):
    rows = legacy_rows()
    rows[2]["shipment-fee-amount"] = "-1.0x"
    rows[3] = {**rows[3], "price-amount": "", "price-type": "", "item-related-fee-amount": "",
               "item-related-fee-type": "", "quantity-purchased": ""}  # no amount and no quantity
    parsed = parse("amazon_settlements", write_tsv(tmp_path / "legacy.txt", LEGACY, rows))
    q = parsed.quarantine.sort("line")
    assert q["line"].to_list() == [4, 5]
    assert "'-1.0x' is not an amount" in q["reason"][0]
    assert json.loads(q["raw_values"][0])["legacy_amount_column"] == "shipment-fee-amount"
    assert "missing value" in q["reason"][1]
    # the rest of line 4 and every other line still land
    assert [i for i in parsed.frame["line_id"] if i.startswith("4.")] == ["4.1", "4.2", "4.4", "4.5", "4.6"]
    assert "5.1" not in parsed.frame["line_id"].to_list()


def legacy_item(order, item_code, sku, qty, components, *, ttype="Order", shipment="DkQx7Lm1N",
                posted="2026-05-05T04:15:26+00:00", **extra):
    """One order item as real legacy files write it: a row with `quantity-purchased` and no amount,
    then one row per amount component without the quantity."""
    base = {"settlement-id": "13579246801", "transaction-type": ttype, "order-id": order,
            "merchant-order-id": order, "shipment-id": shipment, "marketplace-name": "Amazon.com",
            "fulfillment-id": "AFN", "posted-date": posted, "order-item-code": item_code, "sku": sku, **extra}
    return [{**base, "quantity-purchased": qty}] + [{**base, **c} for c in components]


def legacy_quantity_rows():
    principal = lambda a: {"price-type": "Principal", "price-amount": a}  # noqa: E731
    fee = lambda t, a: {"item-related-fee-type": t, "item-related-fee-amount": a}  # noqa: E731
    return [
        legacy_summary(total="87.90"),
        # line 3: quantity row; lines 4-7: its components
        *legacy_item("112-8095165-5463447", "62538071274626", "TEE-M", "1",
                     [principal("27.99"), {"price-type": "Shipping", "price-amount": "4.99"},
                      fee("Commission", "-4.20"), fee("FBAPerUnitFulfillmentFee", "-3.19")]),
        # line 8: the same order's second item, two units (another order-item-code)
        *legacy_item("112-8095165-5463447", "62538071274627", "MUG-12", "2",
                     [principal("60.00"), fee("Commission", "-9.00")]),
        # line 11: a refund of the first item: its own quantity row, with the adjustment id
        *legacy_item("112-8095165-5463447", "62538071274626", "TEE-M", "1",
                     [principal("-27.99"), fee("Commission", "3.36")], ttype="Refund",
                     posted="2026-05-12T10:00:00+00:00", **{"adjustment-id": "AMZ-ADJ-7"}),
        legacy_row(ttype="Storage Fee", other_amount="-4.06", order="", sku="",
                   **{"order-item-code": "", "marketplace-name": ""}),
        legacy_row(ttype="REVERSAL_REIMBURSEMENT", other_amount="40.00", order="", sku="",
                   **{"order-item-code": "", "marketplace-name": ""}),
    ]


def test_legacy_quantity_row_is_carried_to_its_components_and_never_quarantined(tmp_path):
    path = write_tsv(tmp_path / "legacy_qty.txt", LEGACY, legacy_quantity_rows())
    parsed = parse("amazon_settlements", path)
    assert parsed.quarantine.height == 0, parsed.quarantine.to_dicts()
    frame = parsed.frame
    assert 3 not in frame["_line"].to_list() and 8 not in frame["_line"].to_list()  # used, not landed
    assert 11 not in frame["_line"].to_list()
    got = list(zip(frame["_line"], frame["transaction_type"], frame["sku"], frame["amount_description"],
                   frame["amount"], frame["quantity_purchased"], strict=True))
    assert got == [
        (4, "Order", "TEE-M", "Principal", D("27.99"), 1),
        (5, "Order", "TEE-M", "Shipping", D("4.99"), 1),
        (6, "Order", "TEE-M", "Commission", D("-4.20"), 1),
        (7, "Order", "TEE-M", "FBAPerUnitFulfillmentFee", D("-3.19"), 1),
        (9, "Order", "MUG-12", "Principal", D("60.00"), 2),
        (10, "Order", "MUG-12", "Commission", D("-9.00"), 2),
        (12, "Refund", "TEE-M", "Principal", D("-27.99"), 1),
        (13, "Refund", "TEE-M", "Commission", D("3.36"), 1),
        (14, "Storage Fee", None, "Storage Fee", D("-4.06"), None),
        (15, "REVERSAL_REIMBURSEMENT", None, "REVERSAL_REIMBURSEMENT", D("40.00"), None),
    ]
    assert frame["posted_date"][0] == date(2026, 5, 5)
    # units once per item: the ItemPrice/Principal component of each sale carries them
    sales = frame.filter((pl.col("transaction_type") == "Order") & (pl.col("amount_description") == "Principal"))
    assert sales["quantity_purchased"].sum() == 3
    assert balance_of(parsed)["13579246801"]["balanced"] is True  # 87.90 to the cent


def test_legacy_quantity_rows_carry_across_batches_and_are_recorded_as_merged(tmp_path):
    path = write_tsv(tmp_path / "legacy_qty.txt", LEGACY, legacy_quantity_rows())
    spec = feed_spec("amazon_settlements")
    layout = sniff(path, spec.contract, list(spec.formats), {})
    batches = list(parse_batches(path, spec.contract, layout, batch_rows=1))  # quantity row alone in its batch
    frame = pl.concat([pl.from_arrow(b.good) for b in batches])
    assert sum(b.quarantine.height for b in batches) == 0
    assert frame.drop("_line").equals(parse("amazon_settlements", path).frame.drop("_line"))


def test_landing_a_legacy_settlement_with_quantity_rows_accounts_for_every_record(tmp_path):
    from connectors.lake import Home, land_file, ledger_records

    home = Home(tmp_path / "home")
    path = write_tsv(tmp_path / "legacy_qty.txt", LEGACY, legacy_quantity_rows())
    result = land_file(home, "amazon_settlements", path)
    assert (result.status, result.rows_quarantined) == ("loaded", 0)
    record = next(r for r in ledger_records(home, "amazon_settlements") if r["file"] == "legacy_qty.txt")
    # 14 records after the header: 1 summary (non-data) + 3 quantity rows (merged) + 10 components
    assert record["records_in_file"] == 14
    assert (record["non_data_rows"], record["records_merged"], record["rows_loaded"]) == (1, 3, 10)


def test_legacy_component_without_summary_rejects_the_file(tmp_path):
    rows = legacy_rows()[1:]
    with pytest.raises(FileRejected, match="settlement 13579246801 has no summary row"):
        parse("amazon_settlements", write_tsv(tmp_path / "legacy.txt", LEGACY, rows))


def test_both_layouts_land_in_one_table_with_the_same_schema(tmp_path):
    v2 = parse("amazon_settlements", write_tsv(tmp_path / "a.txt", V2, v2_rows()))
    legacy = parse("amazon_settlements", write_tsv(tmp_path / "b.txt", LEGACY, legacy_rows()))
    assert v2.table.schema == legacy.table.schema
    both = pl.concat([v2.frame, legacy.frame])
    assert settlement_balance(both.to_arrow())["balanced"].to_list() == [True, True]


def test_settlement_file_missing_a_required_column_is_rejected_naming_it(tmp_path):
    header = [h for h in V2 if h != "amount-description"]
    with pytest.raises(FileRejected, match="'amount-description'"):
        parse("amazon_settlements", write_tsv(tmp_path / "settlement.txt", header, v2_rows()))
    header = [h for h in LEGACY if h != "price-amount"]
    with pytest.raises(FileRejected, match="'price-amount'"):
        parse("amazon_settlements", write_tsv(tmp_path / "legacy.txt", header, legacy_rows()))


def test_other_feeds_files_are_rejected_as_settlements(tmp_path):
    with pytest.raises(FileRejected, match="not a .*settlement.*amazon_orders"):
        parse("amazon_settlements", write_tsv(tmp_path / "orders.txt", ORDERS, order_rows()))
    with pytest.raises(FileRejected, match="not a Amazon All Orders"):
        parse("amazon_orders", write_tsv(tmp_path / "settlement.txt", V2, v2_rows()))


# ---- All Orders report ------------------------------------------------------------------------------

ORDERS = ["amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date", "order-status",
          "fulfillment-channel", "sales-channel", "order-channel", "ship-service-level", "product-name", "sku",
          "asin", "item-status", "quantity", "currency", "item-price", "item-tax", "shipping-price",
          "shipping-tax", "gift-wrap-price", "gift-wrap-tax", "item-promotion-discount",
          "ship-promotion-discount", "ship-city", "ship-state", "ship-postal-code", "ship-country",
          "promotion-ids", "is-business-order", "purchase-order-number", "price-designation"]


def order_rows():
    shipped = {
        "amazon-order-id": "111-2233445-5566778", "merchant-order-id": "", "purchase-date": "2026-05-04T14:22:33+00:00",
        "last-updated-date": "2026-05-05T09:00:00-07:00", "order-status": "Shipped", "fulfillment-channel": "Amazon",
        "sales-channel": "Amazon.com", "order-channel": "", "ship-service-level": "Expedited",
        "product-name": 'Stoneware mug 12" "Ocean", set of 2', "sku": "MUG-12", "asin": "B0ABCDEF12",
        "item-status": "Shipped", "quantity": "2", "currency": "USD", "item-price": "50.00", "item-tax": "3.50",
        "shipping-price": "4.99", "shipping-tax": "0.35", "gift-wrap-price": "0.00", "gift-wrap-tax": "0.00",
        "item-promotion-discount": "-5.00", "ship-promotion-discount": "-4.99", "ship-city": "SPRINGFIELD",
        "ship-state": "IL", "ship-postal-code": "62704-1234", "ship-country": "US",
        "promotion-ids": "PLM-SPRING,Free shipping", "is-business-order": "false", "purchase-order-number": "",
        "price-designation": ""}
    pending = {**shipped, "amazon-order-id": "702-1111111-2222222", "purchase-date": "2026-05-06T01:00:00+00:00",
               "order-status": "Pending", "item-status": "Unshipped", "sales-channel": "Amazon.ca", "sku": "TEE-M",
               "quantity": "1", "currency": "", "item-price": "", "item-tax": "", "shipping-price": "",
               "shipping-tax": "", "gift-wrap-price": "", "gift-wrap-tax": "", "item-promotion-discount": "",
               "ship-promotion-discount": "", "ship-city": "TORONTO", "ship-state": "ON", "ship-postal-code": "M5V 2T6",
               "ship-country": "CA", "promotion-ids": "", "is-business-order": "true",
               "purchase-order-number": "PO-7781", "price-designation": "BusinessPrice"}
    return [shipped, pending]


def test_all_orders_report_lands_with_exact_values_and_no_city_or_postal_code(tmp_path):
    parsed = parse("amazon_orders", write_tsv(tmp_path / "all_orders.txt", ORDERS, order_rows()))
    assert parsed.quarantine.height == 0 and parsed.layout.extra_headers == []
    frame = parsed.frame
    assert "ship_city" not in frame.columns and "ship_postal_code" not in frame.columns
    text = frame.write_csv()
    for secret in ("SPRINGFIELD", "62704", "TORONTO", "M5V"):
        assert secret not in text
    row = frame.row(0, named=True)
    assert row["amazon_order_id"] == "111-2233445-5566778" and row["merchant_order_id"] is None
    assert row["purchase_date"] == datetime(2026, 5, 4, 14, 22, 33, tzinfo=UTC)
    assert row["last_updated_date"] == datetime(2026, 5, 5, 16, 0, tzinfo=UTC)
    assert row["product_name"] == 'Stoneware mug 12" "Ocean", set of 2'  # verbatim, not unquoted
    assert (row["quantity"], row["currency"], row["item_price"], row["item_tax"]) == (2, "USD", D("50.00"), D("3.50"))
    assert (row["shipping_price"], row["item_promotion_discount"], row["ship_promotion_discount"]) == (
        D("4.99"), D("-5.00"), D("-4.99"))
    assert (row["ship_state"], row["ship_country"], row["is_business_order"]) == ("IL", "US", False)
    assert row["promotion_ids"] == "PLM-SPRING,Free shipping"
    pending = frame.row(1, named=True)
    assert pending["order_status"] == "Pending" and pending["item_price"] is None and pending["currency"] is None
    assert pending["is_business_order"] is True and pending["purchase_order_number"] == "PO-7781"
    assert pending["price_designation"] == "BusinessPrice" and pending["sales_channel"] == "Amazon.ca"


def test_all_orders_same_sku_twice_in_one_order_are_two_rows_with_a_stable_line_key(tmp_path):
    shipped, pending = order_rows()
    second = {**shipped, "quantity": "1", "item-price": "25.00", "item-tax": "1.75", "shipping-price": "0.00",
              "shipping-tax": "0.00", "item-promotion-discount": "0.00", "ship-promotion-discount": "0.00"}
    other = {**shipped, "sku": "TEE-M", "quantity": "1", "item-price": "18.00"}
    rows = [shipped, other, second, pending]
    parsed = parse("amazon_orders", write_tsv(tmp_path / "all_orders.txt", ORDERS, rows))
    assert parsed.quarantine.height == 0
    frame = parsed.frame
    key = ["amazon_order_id", "sku", "sku_occurrence"]
    assert frame.select(key).rows() == [("111-2233445-5566778", "MUG-12", 1), ("111-2233445-5566778", "TEE-M", 1),
                                        ("111-2233445-5566778", "MUG-12", 2), ("702-1111111-2222222", "TEE-M", 1)]
    assert frame.select(key).is_unique().all()  # the contract's primary key identifies every row
    assert list(feed_spec("amazon_orders").contract.primary_key) == ["amazon_order_id", "sku", "sku_occurrence"]
    mug = frame.filter(pl.col("sku") == "MUG-12")
    assert (mug["quantity"].sum(), mug["item_price"].sum()) == (3, D("75.00"))  # both items, none dropped
    # a re-export over an overlapping period numbers the rows the same way, across batch boundaries too
    path = write_tsv(tmp_path / "all_orders_again.txt", ORDERS, [pending, shipped, other, second])
    spec = feed_spec("amazon_orders")
    layout = sniff(path, spec.contract, list(spec.formats), {})
    again = pl.concat([pl.from_arrow(b.good) for b in parse_batches(path, spec.contract, layout, batch_rows=1)])
    assert sorted(again.select(key).rows()) == sorted(frame.select(key).rows())


def test_all_orders_messy_file(tmp_path):
    header = ORDERS[::-1] + ["buyer-email", "fulfillment-center"]  # reordered, a known PII column, a new one
    rows = order_rows()
    rows[0] |= {"item-price": "$1,250.00", "buyer-email": "abc@marketplace.amazon.com"}
    path = write_tsv(tmp_path / "all_orders.txt", header, rows, bom=True, crlf=True, trailing_blank=3)
    parsed = parse("amazon_orders", path)
    assert parsed.quarantine.height == 0
    assert parsed.layout.extra_headers == ["fulfillment-center"]
    frame = parsed.frame
    assert frame["amazon_order_id"].to_list() == ["111-2233445-5566778", "702-1111111-2222222"]
    assert frame["item_price"][0] == D("1250.00")
    assert "marketplace.amazon.com" not in frame.write_csv()


def test_all_orders_bad_value_is_quarantined_with_line_and_column(tmp_path):
    rows = order_rows()
    rows.insert(1, {**rows[0], "amazon-order-id": "111-9999999-0000000", "quantity": "two"})
    parsed = parse("amazon_orders", write_tsv(tmp_path / "all_orders.txt", ORDERS, rows))
    assert parsed.quarantine["line"].to_list() == [3]
    assert "column 'quantity': 'two' is not a whole number" in parsed.quarantine["reason"][0]
    assert "SPRINGFIELD" not in parsed.quarantine["raw_values"][0]  # unread columns never reach quarantine
    assert parsed.frame["amazon_order_id"].to_list() == ["111-2233445-5566778", "702-1111111-2222222"]


def test_all_orders_missing_required_column_is_rejected_naming_it(tmp_path):
    header = [h for h in ORDERS if h != "purchase-date"]
    with pytest.raises(FileRejected, match="'purchase-date'"):
        parse("amazon_orders", write_tsv(tmp_path / "all_orders.txt", header, order_rows()))


# ---- FBA customer returns ---------------------------------------------------------------------------

RETURNS = ["return-date", "order-id", "sku", "asin", "fnsku", "product-name", "quantity", "fulfillment-center-id",
           "detailed-disposition", "reason", "status", "license-plate-number", "customer-comments"]


def return_rows():
    return [
        {"return-date": "2026-05-12T18:04:11+00:00", "order-id": "111-2233445-5566778", "sku": "MUG-12",
         "asin": "B0ABCDEF12", "fnsku": "X001ABCDEF", "product-name": 'Stoneware mug 12" "Ocean"', "quantity": "1",
         "fulfillment-center-id": "PHX7", "detailed-disposition": "SELLABLE", "reason": "UNWANTED_ITEM",
         "status": "Unit returned to inventory", "license-plate-number": "LPNRR123456789",
         "customer-comments": "call me on 555-0100, Jane Doe"},
        {"return-date": "2026-05-13T07:00:00-07:00", "order-id": "111-2233445-5566778", "sku": "MUG-12",
         "asin": "B0ABCDEF12", "fnsku": "X001ABCDEF", "product-name": "Stoneware mug", "quantity": "1",
         "fulfillment-center-id": "PHX7", "detailed-disposition": "CUSTOMER_DAMAGED", "reason": "DEFECTIVE",
         "status": "Reimbursed", "license-plate-number": "LPNRR123456790", "customer-comments": ""},
    ]


def test_fba_returns_land_with_exact_values_and_no_customer_comments(tmp_path):
    parsed = parse("amazon_returns", write_tsv(tmp_path / "returns.txt", RETURNS, return_rows()))
    assert parsed.quarantine.height == 0 and parsed.layout.extra_headers == []
    frame = parsed.frame
    assert "customer_comments" not in frame.columns and "Jane" not in frame.write_csv()
    first, second = frame.rows(named=True)
    assert first["return_date"] == datetime(2026, 5, 12, 18, 4, 11, tzinfo=UTC)
    assert second["return_date"] == datetime(2026, 5, 13, 14, 0, tzinfo=UTC)
    assert first["product_name"] == 'Stoneware mug 12" "Ocean"' and first["quantity"] == 1
    assert (first["fulfillment_center_id"], first["detailed_disposition"], first["reason"], first["status"]) == (
        "PHX7", "SELLABLE", "UNWANTED_ITEM", "Unit returned to inventory")
    assert frame["license_plate_number"].to_list() == ["LPNRR123456789", "LPNRR123456790"]
    assert frame.select("order_id", "sku", "license_plate_number").is_unique().all()


def test_fba_returns_messy_file_and_report_without_status(tmp_path):
    header = [h for h in RETURNS if h != "status"][::-1] + ["return-type"]  # Amazon.ae has no status
    rows = return_rows()
    rows[0]["return-type"] = "C-Returns"
    path = write_tsv(tmp_path / "returns.txt", header, rows, bom=True, crlf=True, trailing_blank=1)
    parsed = parse("amazon_returns", path)
    assert parsed.quarantine.height == 0
    assert parsed.layout.extra_headers == ["return-type"] and "status" in parsed.layout.missing_optional
    assert parsed.frame["status"].null_count() == 2
    assert parsed.frame["order_id"].to_list() == ["111-2233445-5566778"] * 2


def test_fba_returns_bad_rows_are_quarantined_without_the_comment(tmp_path):
    rows = return_rows()
    rows[0]["quantity"] = "1.5"
    rows[1]["license-plate-number"] = ""
    rows.append({**return_rows()[1], "license-plate-number": "LPNRR1"})
    parsed = parse("amazon_returns", write_tsv(tmp_path / "returns.txt", RETURNS, rows))
    q = parsed.quarantine.sort("line")
    assert q["line"].to_list() == [2, 3]
    assert "column 'quantity': '1.5' is not a whole number" in q["reason"][0]
    assert "column 'license-plate-number': missing value" in q["reason"][1]
    assert "555-0100" not in "".join(q["raw_values"])
    assert parsed.frame["license_plate_number"].to_list() == ["LPNRR1"]


def test_fba_returns_missing_required_column_and_wrong_feed(tmp_path):
    header = [h for h in RETURNS if h != "license-plate-number"]
    with pytest.raises(FileRejected, match="'license-plate-number'"):
        parse("amazon_returns", write_tsv(tmp_path / "returns.txt", header, return_rows()))
    with pytest.raises(FileRejected, match="amazon_orders"):
        parse("amazon_returns", write_tsv(tmp_path / "orders.txt", ORDERS, order_rows()))


# ---- demo data ----------------------------------------------------------------------------------------


def test_demo_amazon_files_land_without_quarantine(tmp_path):
    from orchestration.demo import generate

    generate(tmp_path, days=30, orders_per_day=40)
    landed = 0
    for feed in ("amazon_settlements", "amazon_orders", "amazon_returns"):
        for path in sorted((tmp_path / "landing" / feed).glob("*")):
            parsed = parse(feed, path)
            assert parsed.quarantine.height == 0, (path.name, parsed.quarantine.head(3).to_dicts())
            assert parsed.layout.extra_headers == [], path.name
            landed += parsed.table.num_rows
            if feed == "amazon_settlements":
                bal = settlement_balance(parsed.table)
                assert bal["balanced"].all(), (path.name, bal.filter(~pl.col("balanced")).to_dicts())
    assert landed > 0
