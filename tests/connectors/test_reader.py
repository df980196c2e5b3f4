"""The reader never loses a record silently: irregular rows, encodings, line ends, delimiters.

Each file here is small and written by hand in the dialect it names; every record must end up
landed, quarantined with its true line and a reason, or counted as non-data, and the ledger says so.
"""

import codecs
from datetime import date
from decimal import Decimal

import pytest

from connectors import reader
from connectors.engine import FileRejected, parse_batches, sniff
from connectors.lake import land_file, ledger_records
from connectors.registry import feed_spec, parse
from tests.connectors.test_shopify import ORDER_HEADER, order_rows, write_csv

FX = "date,currency,rate_to_usd\n2026-05-01,EUR,1.0850\n2026-05-01,GBP,1.2610\n2026-05-02,EUR,1.0861\n"
COGS_HEADER = "sku,unit_cost,currency,effective_from\n"


def _orders_text(tmp_path, rows=None) -> str:
    return write_csv(tmp_path / "base.csv", rows or order_rows()).read_text()


def _balanced(parsed) -> None:
    account = parsed.account
    assert account.records == (account.records_landed + account.records_quarantined
                               + account.records_non_data + account.records_merged)


# ---- one irregular row never empties the file ------------------------------------------------


def test_a_short_row_in_a_shopify_export_is_quarantined_and_the_rest_loads(tmp_path):
    """Order names start with `#`: a sniffer that takes `#` as a comment character read 0 rows."""
    lines = _orders_text(tmp_path).splitlines()
    # line 1 header, 2-3 first order (its Notes field spans two lines), 4 second line, 5 POS order
    short = "#1003,c@d.e,paid"
    text = "\n".join(lines[:4] + [short] + lines[4:]) + "\n"
    path = tmp_path / "orders.csv"
    path.write_text(text)
    parsed = parse("shopify_orders", path)
    assert sorted(parsed.frame["order_name"].to_list()) == ["#1001", "#1002", "#1002"]
    [bad] = parsed.quarantine.to_dicts()
    assert bad["line"] == 5
    assert f"3 fields where the header has {len(ORDER_HEADER)}" in bad["reason"]
    assert "c@d.e" not in bad["raw_values"]  # the email is hashed in the quarantine too
    _balanced(parsed)


def test_a_row_with_an_extra_field_is_quarantined(tmp_path):
    path = tmp_path / "fx.csv"
    path.write_text(FX.replace("2026-05-01,GBP,1.2610", "2026-05-01,GBP,1.2610,oops"))
    parsed = parse("fx_rates", path)
    assert parsed.frame["currency"].to_list() == ["EUR", "EUR"]
    [bad] = parsed.quarantine.to_dicts()
    assert bad["line"] == 3 and "4 fields where the header has 3" in bad["reason"]
    _balanced(parsed)


def test_a_file_cut_mid_row_quarantines_the_cut_row(tmp_path):
    text = _orders_text(tmp_path)
    cut = text[: text.rindex("\n", 0, len(text) - 1) + 30]  # the last record cut after 29 characters
    path = tmp_path / "cut.csv"
    path.write_text(cut)
    parsed = parse("shopify_orders", path)
    assert sorted(parsed.frame["order_name"].to_list()) == ["#1002", "#1002"]
    [bad] = parsed.quarantine.to_dicts()
    assert bad["line"] == 5
    _balanced(parsed)


def test_a_cut_inside_a_quoted_field_is_quarantined_not_read_to_the_end(tmp_path):
    path = tmp_path / "fx.csv"
    path.write_text(FX + '2026-05-03,"EUR,1.09')
    parsed = parse("fx_rates", path)
    assert len(parsed.frame) == 3
    [bad] = parsed.quarantine.to_dicts()
    assert bad["line"] == 5 and "ends inside a quoted field" in bad["reason"]


def test_a_stray_quote_that_would_swallow_records_rejects_the_file_naming_the_line(tmp_path):
    path = tmp_path / "fx.csv"
    path.write_text(FX.replace("2026-05-01,GBP", '2026-05-01,"GBP') + "2026-05-03,EUR,1.0900\n")
    with pytest.raises(FileRejected, match="line 3 opens a quoted field that never closes"):
        parse("fx_rates", path)


def test_a_literal_quote_inside_an_unquoted_value_is_data(tmp_path):
    path = tmp_path / "cogs.csv"
    path.write_text(COGS_HEADER + 'TV-5" screen,10.00,USD,2026-01-01\nSKU-2,3.50,USD,2026-01-01\n')
    parsed = parse("cogs", path)
    assert parsed.frame["sku"].to_list() == ['TV-5" screen', "SKU-2"]


def test_nul_bytes_quarantine_their_row(tmp_path):
    path = tmp_path / "fx.csv"
    path.write_bytes(FX.replace("GBP", "G\x00BP").encode())
    parsed = parse("fx_rates", path)
    assert len(parsed.frame) == 2
    [bad] = parsed.quarantine.to_dicts()
    assert bad["line"] == 3 and "NUL" in bad["reason"]


def test_blank_and_all_empty_rows_are_counted_not_lost(tmp_path):
    path = tmp_path / "fx.csv"
    path.write_text(FX.replace("2026-05-01,GBP", ",,\n\n2026-05-01,GBP") + "\n\n")
    parsed = parse("fx_rates", path)
    assert len(parsed.frame) == 3 and parsed.quarantine.is_empty()
    assert parsed.account.records_non_data == 1 and parsed.account.blank_lines == 3
    _balanced(parsed)


# ---- encodings and line ends ---------------------------------------------------------------


def test_a_stray_windows_1252_byte_deep_in_a_utf8_file_does_not_reject_it(tmp_path):
    rows = "".join(f"SKU-{i:05d},1.00,USD,2026-01-01\n" for i in range(12_000))  # > 256 KB
    text = COGS_HEADER + "Café ☕,2.00,USD,2026-01-01\n" + rows
    raw = text.encode() + "Tea – green,3.00,USD,2026-01-01\n".encode("cp1252")
    path = tmp_path / "cogs.csv"
    path.write_bytes(raw)
    parsed = parse("cogs", path)
    assert len(parsed.frame) == 12_002 and parsed.quarantine.is_empty()
    skus = parsed.frame["sku"].to_list()
    assert skus[0] == "Café ☕" and skus[-1] == "Tea – green"
    assert parsed.account.encoding == "utf-8 with stray windows-1252 bytes"


def test_the_utf8_check_sees_a_character_cut_at_a_chunk_boundary(tmp_path, monkeypatch):
    """ASCII chunks skip the decoding, but not after a chunk that ended inside a character: `é` cut
    by the boundary is UTF-8; a lone lead byte before an ASCII chunk is a stray byte, even when a
    later chunk starts with the byte that would have completed it."""
    monkeypatch.setattr(reader, "CHUNK_BYTES", 64)
    head = (COGS_HEADER + "SKU-1,1.00,USD,2026-01-01\nCaf").encode()
    head += b"x" * (63 - len(head) % 64)  # the next byte is a chunk's last one
    whole = tmp_path / "whole.csv"
    whole.write_bytes(head + "é,2.00,USD,2026-01-01\n".encode() + b"SKU-3,3.00,USD,2026-01-01\n" * 10)
    stray = tmp_path / "stray.csv"
    ascii_chunk = b",2.00,USD,2026-01-01\nSKU-3,3.00,USD,2026-01-01\nSKU-" + b"4" * 12 + b","
    assert len(ascii_chunk) == 64  # then a byte that would complete the cut character, were it not skipped
    stray.write_bytes(head + b"\xc3" + ascii_chunk + b"\xa94.00,USD,2026-01-01\n")
    assert reader.detect_encoding(whole) == reader.UTF8
    assert reader.detect_encoding(stray) != reader.UTF8


def test_a_windows_1252_file_is_decoded(tmp_path):
    text = COGS_HEADER + "Mug – large™,4.00,USD,2026-01-01\nCrème brûlée…,5.00,EUR,2026-01-01\n"
    path = tmp_path / "cogs.csv"
    path.write_bytes(text.encode("cp1252"))
    parsed = parse("cogs", path)
    assert parsed.frame["sku"].to_list() == ["Mug – large™", "Crème brûlée…"]
    assert parsed.account.encoding == "windows-1252"


@pytest.mark.parametrize("codec,bom", [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
                                       ("utf-16-le", b"")])
def test_utf16_tab_separated_with_title_lines(tmp_path, codec, bom):
    """Google's "Excel CSV" download: UTF-16 with a BOM, tab-separated, a title and a date-range line."""
    text = ("FX report\r\n1 May 2026 - 2 May 2026\r\ndate\tcurrency\trate_to_usd\r\n"
            "2026-05-01\tEUR\t1,0850\r\n2026-05-02\tEUR\t1.0861\r\n")
    path = tmp_path / "fx.csv"
    path.write_bytes(bom + text.encode(codec))
    parsed = parse("fx_rates", path)
    assert parsed.frame.select("date", "rate").rows() == [(date(2026, 5, 1), Decimal("1.08500000")),
                                                          (date(2026, 5, 2), Decimal("1.08610000"))]
    assert parsed.frame["_line"].to_list() == [4, 5]
    assert parsed.account.preamble_lines == 2 and parsed.account.delimiter == "tab"


def test_cr_only_line_ends(tmp_path):
    path = tmp_path / "fx.csv"
    path.write_bytes(FX.replace("\n", "\r").encode())
    parsed = parse("fx_rates", path)
    assert len(parsed.frame) == 3 and parsed.frame["_line"].to_list() == [2, 3, 4]


def test_multi_line_fields_keep_true_line_numbers_with_crlf(tmp_path):
    path = write_csv(tmp_path / "orders.csv", order_rows(), crlf=True, bom=True, trailing_blank=2)
    parsed = parse("shopify_orders", path)
    lines = dict(zip(parsed.frame["order_name"] + "/" + parsed.frame["line_number"].cast(str),
                     parsed.frame["_line"], strict=True))
    assert lines == {"#1002/1": 2, "#1002/2": 4, "#1001/1": 5}


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_found_from_the_header(tmp_path, delimiter):
    path = tmp_path / "fx.csv"
    path.write_text(FX.replace(",", delimiter))
    assert len(parse("fx_rates", path).frame) == 3


def test_amazon_csv_download_is_comma_separated_and_fully_quoted(tmp_path):
    header = ["return-date", "order-id", "sku", "asin", "fnsku", "product-name", "quantity",
              "fulfillment-center-id", "detailed-disposition", "reason", "status", "license-plate-number",
              "customer-comments"]
    row = ["2026-05-04T10:00:00+00:00", "111-1234567-1234567", "SKU-1", "B0TEST", "X00TEST",
           'Mug 12" – large', "1", "PHX7", "SELLABLE", "UNWANTED_ITEM", "Unit returned to inventory", "LPN1", ""]

    def quoted(values):
        return ",".join('"' + v.replace('"', '""') + '"' for v in values)

    path = tmp_path / "returns.csv"
    path.write_bytes((quoted(header) + "\r\n" + quoted(row) + "\r\n").encode("cp1252"))
    parsed = parse("amazon_returns", path)
    [got] = parsed.frame.to_dicts()
    assert got["order_id"] == "111-1234567-1234567" and got["quantity"] == 1
    assert parsed.account.delimiter == "comma"


# ---- what the contract can refuse ----------------------------------------------------------


def test_duplicate_header_names_reject_the_file_naming_the_column(tmp_path):
    path = tmp_path / "fx.csv"
    path.write_text("date,currency,rate_to_usd,currency\n2026-05-01,EUR,1.08,GBP\n")
    with pytest.raises(FileRejected, match="the column 'currency' 2 times"):
        parse("fx_rates", path)


def test_event_dates_in_1970_or_9999_are_quarantined(tmp_path):
    path = tmp_path / "fx.csv"
    path.write_text(FX + "1970-01-01,EUR,1.0\n9999-12-31,EUR,1.0\n")
    parsed = parse("fx_rates", path)
    assert len(parsed.frame) == 3
    assert [q["line"] for q in parsed.quarantine.to_dicts()] == [5, 6]
    assert all("outside the plausible range" in q["reason"] for q in parsed.quarantine.to_dicts())


def test_an_unknown_header_says_what_was_seen(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("foo;bar\n1;2\n".encode("utf-16"))
    with pytest.raises(FileRejected, match=r"read as utf-16 \(BOM\).*first line: 'foo;bar'"):
        parse("fx_rates", path)


def test_an_excel_workbook_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "fx.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(FileRejected, match="save it as CSV"):
        parse("fx_rates", path)


# ---- the ledger records where every record went ---------------------------------------------


def test_the_ledger_accounts_for_every_record(home, tmp_path):
    path = tmp_path / "fx.csv"
    path.write_text("Daily rates\n" + FX.replace("2026-05-01,GBP,1.2610", "2026-05-01,GBP,abc")
                    + ",,\n2026-05-03,EUR\n\n")
    result = land_file(home, "fx_rates", path)
    assert result.status == "loaded"
    [record] = ledger_records(home, "fx_rates")
    assert record["records_in_file"] == 5 and record["preamble_lines"] == 1 and record["blank_lines"] == 1
    assert (record["records_landed"], record["records_quarantined"], record["records_non_data"]) == (2, 2, 1)
    assert record["rows_loaded"] == 2 and record["rows_quarantined"] == 2
    assert record["encoding"] == "utf-8" and record["delimiter"] == "comma"


def test_a_repeated_key_within_a_file_is_quarantined_naming_the_first_line(tmp_path):
    """Staging keeps one row per key: two rows with one key in a file must not lose one silently."""
    path = tmp_path / "cogs.csv"
    path.write_text(COGS_HEADER + "SKU-1,2.00,USD,2026-01-01\nSKU-2,3.00,USD,2026-01-01\nSKU-1,2.50,USD,2026-01-01\n")
    parsed = parse("cogs", path)
    assert parsed.frame.select("sku", "unit_cost").rows() == [("SKU-1", Decimal("2.0000")),
                                                               ("SKU-2", Decimal("3.0000"))]
    [bad] = parsed.quarantine.to_dicts()
    assert bad["line"] == 4 and "repeats the key (sku, effective_from) of line 2" in bad["reason"]
    _balanced(parsed)


def test_a_repeated_key_is_found_across_batches(tmp_path):
    path = tmp_path / "cogs.csv"
    path.write_text(COGS_HEADER + "SKU-1,2.00,USD,2026-01-01\nSKU-2,3.00,USD,2026-01-01\nSKU-1,2.50,USD,2026-01-01\n")
    spec = feed_spec("cogs")
    layout = sniff(path, spec.contract, list(spec.formats), {})
    batches = list(parse_batches(path, spec.contract, layout, batch_rows=1))
    assert sum(b.good.num_rows for b in batches) == 2
    assert [q["line"] for b in batches for q in b.quarantine.to_dicts()] == [4]


def test_personal_data_is_never_hashed_without_a_key(tmp_path, monkeypatch):
    monkeypatch.delenv("CWH_HASH_KEY")
    with pytest.raises(RuntimeError, match="no key to hash personal data"):
        parse("shopify_orders", write_csv(tmp_path / "orders.csv", order_rows()))
