"""The direct read (DuckDB on the file itself) lands exactly what the record-by-record read lands.

`engine.stream_text_batches` reads a plain file (UTF-8, one record per line) with DuckDB's CSV
reader directly and every other file record by record. Each quirky file here is landed both ways
(`engine.READ_DIRECT` off and on) into two homes: the lake rows, the quarantine and the ledger's
counts must be the same, and the files that are plain must really have been read directly (else the
comparison would prove nothing).
"""

from dataclasses import asdict
from datetime import date, timedelta

import polars as pl
import pytest

from connectors import engine, reader
from connectors.engine import parse_batches, sniff
from connectors.iso4217 import ACTIVE_CURRENCIES
from connectors.lake import Home, land_file, ledger_records
from connectors.registry import feed_spec, parse
from tests.connectors.test_shopify import ORDER_HEADER, order_rows, write_csv

FX = "date,currency,rate_to_usd\n2026-05-01,EUR,1.0850\n2026-05-01,GBP,1.2610\n2026-05-02,EUR,1.0861\n"
COGS_HEADER = "sku,unit_cost,currency,effective_from\n"


def _single_line_orders():
    """The test export's orders with a bad total, a repeated line and an unparsable date added; the
    multi-line note made single-line (quoted fields with commas and doubled quotes stay)."""
    rows = [dict(row) for row in order_rows()]
    for row in rows:
        row["Notes"] = row["Notes"].replace("\n", " ")
    bad_total = dict(rows[-1]) | {"Name": "#1003", "Id": "5003", "Total": "twelve"}
    bad_date = dict(rows[-1]) | {"Name": "#1004", "Id": "5004", "Created at": "someday"}
    return [*rows, bad_total, rows[0], bad_date]


def _quirky_emails(rows):
    """Emails the read hashes (printable ASCII) and those it leaves to Python (spaces, non-ASCII)."""
    emails = ["Zoë@Example.de", "  spaced@example.com ", "plain@example.com", "\u00a0nbsp@example.com"]
    return [row | {"Email": emails[n % len(emails)]} if row["Email"] else row for n, row in enumerate(rows)]


def _orders_text(tmp_path, rows, **kwargs) -> bytes:
    return write_csv(tmp_path / "written.csv", rows, **kwargs).read_bytes()


# name → (feed, the file's bytes, read directly?)
def _cases(tmp_path) -> dict[str, tuple[str, bytes, bool]]:
    orders = _single_line_orders()
    plain = _orders_text(tmp_path, orders)
    crlf_bom = _orders_text(tmp_path, orders, bom=True, crlf=True)
    whitespace_row = b" ,\t" + b"," * (len(ORDER_HEADER) - 2) + b"\n"
    wide = "".join(line + ",\n" if n else line + "\n" for n, line in enumerate(FX.splitlines()))
    return {
        "plain orders (bad values, repeated key, PII, quoted commas)": ("shopify_orders", plain, True),
        "BOM and CRLF": ("shopify_orders", crlf_bom, True),
        "CRLF, the last column read": ("fx_rates", FX.replace("\n", "\r\n").encode(), True),
        "no line end on the last line": ("shopify_orders", plain.rstrip(b"\n"), True),
        "title lines above the header": ("shopify_orders", b"Orders export\nExported 2026-05-05\n" + plain, True),
        "a literal quote inside a value": ("cogs", (COGS_HEADER + 'TV-5" screen,10.00,USD,2026-01-01\n'
                                                    'SKU-2,3.50,USD,2026-01-01\n').encode(), True),
        "every row one empty field wider than the header": ("fx_rates", wide.encode(), True),
        "whitespace-only rows, emails hashed in the read and in Python": (
            "shopify_orders", _orders_text(tmp_path, _quirky_emails(orders)) + whitespace_row, True),
        "a multi-line quoted field": ("shopify_orders", _orders_text(tmp_path, order_rows()), False),
        "a short row and a total line": ("shopify_orders", plain + b"#1009,x@y.z,paid\nTotal,,,\n", False),
        "a row with an extra field": ("fx_rates", FX.replace("GBP,1.2610", "GBP,1.2610,oops").encode(), False),
        "blank lines": ("fx_rates", FX.replace("2026-05-01,GBP", "\n2026-05-01,GBP").encode() + b"\n \n", False),
        "NUL bytes": ("fx_rates", FX.replace("GBP", "G\x00BP").encode(), False),
        "windows-1252": ("cogs", (COGS_HEADER + "Café,2.00,USD,2026-01-01\n").encode("cp1252"), False),
        "UTF-16": ("fx_rates", b"\xff\xfe" + FX.replace(",", "\t").encode("utf-16-le"), False),
        "CR-only line ends": ("fx_rates", FX.replace("\n", "\r").encode(), False),
        "mixed line ends": ("fx_rates", FX.replace("\n", "\r\n", 2).encode(), False),
        "a cut quoted field at the end": ("fx_rates", (FX + '2026-05-03,"EUR,1.09').encode(), False),
        "a header and no rows": ("fx_rates", b"date,currency,rate_to_usd\n", False),
    }


def _land(tmp_path, name: str, feed: str, data: bytes, direct: bool, monkeypatch) -> tuple[Home, dict]:
    monkeypatch.setattr(engine, "READ_DIRECT", direct)
    root = tmp_path / ("direct" if direct else "by_record")
    root.mkdir(exist_ok=True)
    path = root / f"{name.replace(' ', '_')}.csv"
    path.write_bytes(data)
    home = Home(root / "home")
    result = land_file(home, feed, path)
    return home, asdict(result)


def _lake(home: Home, feed: str) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    raw = list(home.raw(feed).glob("*.parquet"))
    quarantine = list(home.quarantine(feed).glob("*.parquet"))
    rows = pl.read_parquet(raw[0]).drop("_loaded_at") if raw else None
    kept = pl.read_parquet(quarantine[0]).drop("loaded_at") if quarantine else None
    return rows, kept


def _counts(home: Home, feed: str) -> dict:
    records = list(ledger_records(home, feed))
    if not records:
        return {}
    [record] = records
    drop = {"seconds", "loaded_at", "committed_at", "landing_path", "landing_stat"}  # this landing's, not the read's
    return {k: v for k, v in record.items() if k not in drop}


CASES = (
    "plain orders (bad values, repeated key, PII, quoted commas)", "BOM and CRLF", "CRLF, the last column read",
    "no line end on the last line", "title lines above the header", "a literal quote inside a value",
    "whitespace-only rows, emails hashed in the read and in Python",
    "every row one empty field wider than the header", "a multi-line quoted field", "a short row and a total line",
    "a row with an extra field", "blank lines", "NUL bytes", "windows-1252", "UTF-16", "CR-only line ends",
    "mixed line ends", "a cut quoted field at the end", "a header and no rows",
)


@pytest.mark.parametrize("name", CASES)
def test_both_reads_land_the_same(tmp_path, monkeypatch, name):
    feed, data, plain = _cases(tmp_path)[name]
    by_record_home, by_record = _land(tmp_path, name, feed, data, False, monkeypatch)
    direct_home, direct = _land(tmp_path, name, feed, data, True, monkeypatch)
    for result in (by_record, direct):
        result.pop("seconds")
    assert direct == by_record
    assert _counts(direct_home, feed) == _counts(by_record_home, feed)
    for ours, theirs in zip(_lake(direct_home, feed), _lake(by_record_home, feed), strict=True):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            assert ours.equals(theirs), name
    path = tmp_path / "parsed.csv"
    path.write_bytes(data)
    if by_record["status"] == "loaded":
        assert parse(feed, path).account.read == ("direct" if plain else "by record")


def test_the_cases_cover_both_reads_and_both_outcomes(tmp_path):
    """The comparison above proves something only if plain files with quarantined rows are among them."""
    cases = _cases(tmp_path)
    assert set(cases) == set(CASES)
    assert {plain for _, _, plain in cases.values()} == {True, False}
    path = tmp_path / "plain.csv"
    path.write_bytes(cases["plain orders (bad values, repeated key, PII, quoted commas)"][1])
    parsed = parse("shopify_orders", path)
    reasons = " ".join(parsed.quarantine["reason"].to_list())
    assert parsed.account.read == "direct"
    assert "'twelve' is not an amount" in reasons and "repeats the key" in reasons and "someday" in reasons
    assert len(parsed.frame) == 3 and len(ORDER_HEADER) == len(parsed.layout.headers)


def test_line_numbers_run_on_across_small_batches(tmp_path, monkeypatch):
    """The direct read numbers rows by their place in the file: batch after batch, after title lines."""
    path = tmp_path / "fx.csv"
    path.write_text("Rates\n" + FX + "2026-05-02,GBP,1.2620\n2026-05-03,EUR,abc\n")
    spec = feed_spec("fx_rates")
    lines = {}
    for direct in (False, True):
        monkeypatch.setattr(engine, "READ_DIRECT", direct)
        layout = sniff(path, spec.contract, list(spec.formats), {})
        batches = list(parse_batches(path, spec.contract, layout, batch_rows=2))
        lines[direct] = ([n for b in batches for n in b.good.column("_line").to_pylist()],
                         [n for b in batches for n in b.quarantine["line"].to_list()])
    assert lines[True] == lines[False] == ([3, 4, 5, 6], [7])


def test_a_column_of_emails_hashes_as_pii_hash_does_each_one():
    """The column hash normalises plain ASCII emails with polars: the same hashes as `pii_hash`, also
    for values polars and Python trim or lower-case differently (left to Python)."""
    emails = ["Ann@Example.com", " ann@example.com ", "ÄBC@x.de", "a\x1cb@x", "\x1c", "\u2003", "  ", None,
              "x y@z", "ǅ@x", "MiXeD@Host.COM", "a\tb"]
    hashed = engine._hash_column(pl.DataFrame({"email": emails}), "email")["email"].to_list()
    assert hashed == [engine.pii_hash(e) if e is not None and e.strip() else None for e in emails]
    assert hashed[0] == hashed[1] and hashed[2] != hashed[0]


@pytest.mark.parametrize("late", ["a row with an extra field", "a total line"])
def test_a_direct_read_that_fails_after_handing_on_rows_lands_what_the_record_by_record_read_lands(
        tmp_path, monkeypatch, late):
    """DuckDB reads a file buffer by buffer: a bad record in a later buffer fails the direct read
    after rows were typed and written. The landing starts again, record by record, from empty files."""
    days = [date(2021, 1, 1) + timedelta(days=n) for n in range(1600)]
    currencies = sorted(ACTIVE_CURRENCIES)[:40]
    rows = [f"{day},{currency},1.{n:04d}" for n, day in enumerate(days) for currency in currencies]  # 1.5 MB
    bad = "2026-01-01,EUR,1.1,oops" if late == "a row with an extra field" else f"Total rows: {len(rows)}"
    data = ("date,currency,rate_to_usd\n" + "\n".join(rows[:60_000] + [bad] + rows[60_000:]) + "\n").encode()
    real = reader.stream_plain
    handed_on = []

    def small_batches(*args, **kwargs):
        try:
            for table in real(*args, **{**kwargs, "batch_rows": 100}):
                handed_on.append(table.num_rows)
                yield table
        except reader.NotPlain:
            handed_on.append("failed")
            raise

    monkeypatch.setattr(reader, "FETCH_ROWS", 100)
    monkeypatch.setattr(reader, "DIRECT_MAX_LINE_BYTES", 1 << 10)  # DuckDB's CSV buffer of 4 kB, not 8 MB:
    monkeypatch.setattr(reader, "DIRECT_BUFFER_BYTES", 4 << 10)  # what a file of 100 MB does, in 1.5 MB
    monkeypatch.setattr(reader, "stream_plain", small_batches)
    by_record_home, by_record = _land(tmp_path, "late", "fx_rates", data, False, monkeypatch)
    direct_home, direct = _land(tmp_path, "late", "fx_rates", data, True, monkeypatch)
    assert handed_on[-1] == "failed" and sum(handed_on[:-1]) > 0  # rows were handed on, then it failed
    for result in (by_record, direct):
        result.pop("seconds")
    assert direct == by_record and direct["status"] == "loaded" and direct["rows_loaded"] == len(rows)
    assert _counts(direct_home, "fx_rates") == _counts(by_record_home, "fx_rates")
    for ours, theirs in zip(_lake(direct_home, "fx_rates"), _lake(by_record_home, "fx_rates"), strict=True):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            assert ours.equals(theirs)
    path = tmp_path / "parsed.csv"
    path.write_bytes(data)
    assert parse("fx_rates", path).account.read == "by record"
    assert len(parse("fx_rates", path).frame) == len(rows)


def test_a_row_count_duckdb_does_not_confirm_sends_the_file_record_by_record(tmp_path, monkeypatch):
    """The pre-scan's count of records must be DuckDB's: were they ever to differ, the rows read
    directly (already handed on) are discarded and the file lands as the record-by-record read lands it."""
    data = _cases(tmp_path)["plain orders (bad values, repeated key, PII, quoted commas)"][1]
    by_record_home, by_record = _land(tmp_path, "count", "shopify_orders", data, False, monkeypatch)
    real = reader.plain_file

    def one_line_too_many(*args):
        plain = real(*args)
        return None if plain is None else reader.PlainFile(plain.new_line, plain.records + 1)

    monkeypatch.setattr(reader, "plain_file", one_line_too_many)
    direct_home, direct = _land(tmp_path, "count", "shopify_orders", data, True, monkeypatch)
    for result in (by_record, direct):
        result.pop("seconds")
    assert direct == by_record and direct["status"] == "loaded"
    assert _counts(direct_home, "shopify_orders") == _counts(by_record_home, "shopify_orders")
    assert _lake(direct_home, "shopify_orders")[0].equals(_lake(by_record_home, "shopify_orders")[0])
    path = tmp_path / "parsed.csv"
    path.write_bytes(data)
    assert parse("shopify_orders", path).account.read == "by record"
