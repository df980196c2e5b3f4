"""Shopify orders and payments exports → canonical tables."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
import pytest

from connectors.engine import FileRejected, parse_batches, pii_hash, sniff
from connectors.registry import feed_spec, parse

ORDER_HEADER = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at", "Accepts Marketing",
    "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code", "Discount Amount", "Shipping Method",
    "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price",
    "Lineitem sku", "Lineitem requires shipping", "Lineitem taxable", "Lineitem fulfillment status",
    "Billing Name", "Billing Street", "Shipping Name", "Shipping Phone", "Shipping Country", "Notes",
    "Cancelled at", "Payment Method", "Refunded Amount", "Vendor", "Outstanding Balance", "Id", "Source",
    "Lineitem discount", "Phone",
]


def order_rows():
    first = dict(zip(ORDER_HEADER, [
        "#1002", "Ann@Example.com ", "paid", "2026-05-04 10:22:33 -0400", "fulfilled", "2026-05-05 09:00:00 -0400",
        "yes", "USD", "1,090.00", "5.00", "87.20", "1,182.20", "SPRING10", "10.00", "Ground",
        "2026-05-04 10:22:33 -0400", "2", 'Linen shirt, "blue" / M', "545.00", "600.00", "SKU-1", "true", "true",
        "fulfilled", "Ann Smith", "1 Main St", "Ann Smith", "+1 555 0100", "US", "leave at\ndoor", "", "card",
        "0.00", "Acme", "0.00", "5001", "web", "0.00", "+1 555 0100"], strict=True))
    second = {h: "" for h in ORDER_HEADER} | {
        "Name": "#1002", "Lineitem quantity": "1", "Lineitem name": "Hat", "Lineitem price": "10.00",
        "Lineitem sku": "SKU-2", "Lineitem requires shipping": "true", "Lineitem taxable": "true",
        "Lineitem fulfillment status": "fulfilled", "Vendor": "Acme", "Lineitem discount": "1.50"}
    pos = dict(first) | {
        "Name": "#1001", "Email": "", "Subtotal": "20.00", "Shipping": "0.00", "Taxes": "1.60", "Total": "21.60",
        "Discount Code": "", "Discount Amount": "0.00", "Created at": "2026-05-03 18:00:00 -0400",
        "Lineitem quantity": "1", "Lineitem name": "Mug", "Lineitem price": "20.00", "Lineitem sku": "SKU-3",
        "Source": "pos", "Id": "5000", "Notes": ""}
    return [first, second, pos]


def write_csv(path, rows, header=ORDER_HEADER, *, bom=False, crlf=False, trailing_blank=0):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\r\n" if crlf else "\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({h: row.get(h, "") for h in header})
    text = buffer.getvalue() + ("\r\n" if crlf else "\n") * trailing_blank
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def test_orders_carry_order_fields_to_every_line(tmp_path):
    parsed = parse("shopify_orders", write_csv(tmp_path / "orders.csv", order_rows()))
    frame = parsed.frame.sort("order_name", "line_number")
    assert frame["order_name"].to_list() == ["#1001", "#1002", "#1002"]
    assert frame["line_number"].to_list() == [1, 1, 2]
    hat = frame.row(2, named=True)
    assert hat["lineitem_sku"] == "SKU-2" and hat["lineitem_discount"] == Decimal("1.50")
    # order-level fields filled on the first row only in the export, carried down here
    assert hat["source"] == "web" and hat["currency"] == "USD"
    assert hat["subtotal"] == Decimal("1090.00") and hat["discount_amount"] == Decimal("10.00")
    assert hat["created_at"] == datetime(2026, 5, 4, 14, 22, 33, tzinfo=UTC)
    assert hat["email_hash"] == pii_hash("ann@example.com")
    assert frame.row(0, named=True)["source"] == "pos" and frame.row(0, named=True)["email_hash"] is None
    assert parsed.quarantine.height == 0


def test_personal_data_never_reaches_the_canonical_table(tmp_path):
    parsed = parse("shopify_orders", write_csv(tmp_path / "orders.csv", order_rows()))
    text = parsed.frame.write_csv()
    for secret in ("Ann", "ann@example.com", "Main St", "555 0100", "leave at"):
        assert secret.lower() not in text.lower()
    assert not any("name" in c and "lineitem" not in c and "order" not in c for c in parsed.frame.columns)


def test_an_order_split_across_batches_is_filled_and_numbered_as_one(tmp_path):
    path = write_csv(tmp_path / "orders.csv", order_rows())
    spec = feed_spec("shopify_orders")
    layout = sniff(path, spec.contract, list(spec.formats), {})
    tables = [b.good for b in parse_batches(path, spec.contract, layout, batch_rows=1)]
    frame = pl.concat([pl.from_arrow(t) for t in tables])
    assert frame.filter(pl.col("order_name") == "#1002")["line_number"].to_list() == [1, 2]
    assert frame.filter(pl.col("order_name") == "#1002")["source"].to_list() == ["web", "web"]


def test_messy_file_bom_crlf_multiline_reordered_extra_column_trailing_blanks(tmp_path):
    header = list(reversed(ORDER_HEADER)) + ["Brand new column"]
    path = write_csv(tmp_path / "orders.csv", order_rows(), header, bom=True, crlf=True, trailing_blank=3)
    parsed = parse("shopify_orders", path)
    assert parsed.table.num_rows == 3 and parsed.quarantine.height == 0
    assert parsed.layout.extra_headers == ["Brand new column"]
    clean = parse("shopify_orders", write_csv(tmp_path / "clean.csv", order_rows()))
    columns = [c for c in clean.frame.columns if c != "_line"]
    assert parsed.frame.select(columns).sort("order_name", "line_number").equals(
        clean.frame.select(columns).sort("order_name", "line_number"))


def test_bad_rows_are_quarantined_with_line_and_reason_and_the_rest_loads(tmp_path):
    rows = order_rows()
    rows[2]["Created at"] = "2026-13-45 25:00:00 -0400"
    rows[1]["Lineitem price"] = "ten"
    parsed = parse("shopify_orders", write_csv(tmp_path / "orders.csv", rows))
    assert parsed.table.num_rows == 1
    # the first order's note spans two physical lines: the second order line is on line 4
    quarantine = parsed.quarantine.sort("line")
    assert quarantine["line"].to_list() == [4, 5]
    assert quarantine["reason"][0] == "column 'Lineitem price': 'ten' is not an amount"
    assert "column 'Created at': '2026-13-45 25:00:00 -0400' is not a date-time" == quarantine["reason"][1]
    assert '"Lineitem sku": "SKU-3"' in quarantine["raw_values"][1]


def test_missing_required_column_rejects_the_file_naming_it(tmp_path):
    header = [h for h in ORDER_HEADER if h != "Lineitem sku"]
    with pytest.raises(FileRejected, match="missing required column\\(s\\) 'Lineitem sku'"):
        parse("shopify_orders", write_csv(tmp_path / "orders.csv", order_rows(), header))


def test_a_payments_file_is_not_an_orders_export(tmp_path):
    path = tmp_path / "payments.csv"
    path.write_text(PAYMENTS)
    with pytest.raises(FileRejected, match="not a Shopify orders export.*shopify_payments"):
        parse("shopify_orders", path)


PAYMENTS = (
    "Transaction Date,Type,Order,Card Brand,Card Source,Payout Status,Payout Date,Payout ID,Available On,"
    "Amount,Fee,Net,Checkout,Payment Method Name,Presentment Amount,Presentment Currency,Currency\n"
    "2026-05-04 10:22:33 -0400,charge,#1002,visa,online,paid,2026-05-06,p_1,2026-05-06,1182.20,34.58,1147.62,"
    "c1,card,1182.20,USD,USD\n"
    "2026-05-20 08:00:00 -0400,refund,#1002,visa,online,paid,2026-05-22,p_9,2026-05-22,-10.80,0.00,-10.80,"
    "c1,card,-10.80,USD,USD\n"
    "2026-05-20 08:00:00 -0400,refund,#1002,visa,online,paid,2026-05-22,p_9,2026-05-22,-10.80,0.00,-10.80,"
    "c1,card,-10.80,USD,USD\n"
)


def test_payments_have_stable_content_keys_and_identical_rows_stay_distinct(tmp_path):
    path = tmp_path / "payments.csv"
    path.write_text(PAYMENTS)
    first = parse("shopify_payments", path).frame
    second = parse("shopify_payments", path).frame
    assert first["transaction_key"].to_list() == second["transaction_key"].to_list()
    keys = first["transaction_key"].to_list()
    assert len(set(keys)) == 3 and keys[2] == keys[1] + "#2"
    charge = first.row(0, named=True)
    assert (charge["amount"], charge["fee"], charge["net"]) == (Decimal("1182.20"), Decimal("34.58"),
                                                                Decimal("1147.62"))
    assert first["amount"][1] == Decimal("-10.80")
    assert str(first["payout_date"][0]) == "2026-05-06"


def test_a_payment_keeps_its_key_when_a_re_export_shows_it_paid_out(tmp_path):
    """The key identifies the transaction, not its payout state: a re-export of the same period
    after the payout replaces the row instead of adding a second charge."""
    header, charge = PAYMENTS.splitlines()[:2]
    pending = charge.replace(",paid,2026-05-06,p_1,2026-05-06,", ",pending,,,2026-05-06,")
    (tmp_path / "before.csv").write_text(f"{header}\n{pending}\n")
    (tmp_path / "after.csv").write_text(f"{header}\n{charge}\n")
    before = parse("shopify_payments", tmp_path / "before.csv").frame.row(0, named=True)
    after = parse("shopify_payments", tmp_path / "after.csv").frame.row(0, named=True)
    assert (before["payout_status"], after["payout_status"]) == ("pending", "paid")
    assert before["transaction_key"] == after["transaction_key"]
