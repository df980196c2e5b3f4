"""The per-value work moved into the DuckDB read (`connectors.read_sql`), the one-select first typing
pass (`values.first_pass`) and the trims (`values.clean_text`) give, value by value, what
the Python/polars code gives: the keyed hash of `pii_hash`, the blank rows and the trims of
`values.clean_text`, the values of `values.parse_series`."""

from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from connectors import engine, read_sql, values
from connectors.registry import parse
from tests.connectors.test_shopify import ORDER_HEADER, order_rows, write_csv

EMAILS = ["Ann@Example.com", "ann@example.com", " ann@example.com ", "ÄBC@x.de", "a\x1cb@x", "x y@z",
          "ǅ@x", "MiXeD@Host.COM", "a\tb", "'quote'@x.io", "~!#$%&*+/=?^_`{|}@x", "a", "İ@x.com"]
# Unicode White_Space (trimmed by clean_text) and look-alikes that are not (\x1c, U+200B, U+FEFF)
WHITE_SPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
               + "\u2028\u2029\u202f\u205f\u3000")
SPACES = ["", " ", "\t", "\u00a0", "\u3000", "\x0b", "\x85", "\u2028", " \u2003 ", "\x1c", "\u200b", "\ufeff", "x"]


@pytest.mark.parametrize("key", ["k", "k" * 64, "a much longer key than the sixty-four bytes of a SHA-256 block" * 2])
def test_the_read_hashes_plain_ascii_values_as_pii_hash_and_leaves_the_rest(monkeypatch, key):
    monkeypatch.setenv("CWH_HASH_KEY", key)
    con = duckdb.connect()
    rows = con.sql(f"SELECT {read_sql.hashed('t')} FROM unnest($3::VARCHAR[]) AS e(t)",
                   params=[*read_sql.key_params(key.encode()), EMAILS]).fetchall()
    plain = {"Ann@Example.com", "ann@example.com", "x y@z", "MiXeD@Host.COM", "'quote'@x.io", "~!#$%&*+/=?^_`{|}@x",
             "a"}  # printable ASCII, no space at either end
    assert [r[0] for r in rows] == [read_sql.HASHED + engine.pii_hash(e) if e in plain else e for e in EMAILS]
    frame = pl.DataFrame({"email": [r[0] for r in rows]}).with_columns(values.clean_text(pl.col("email")))
    hashed = engine._hash_column(frame, "email")["email"].to_list()
    assert hashed == [engine.pii_hash(e) if e.strip() else None for e in EMAILS]
    assert hashed[0] == hashed[1] == hashed[2]


def test_a_blank_row_is_one_clean_text_leaves_without_a_value():
    con = duckdb.connect()
    pairs = [(a, b) for a in [*SPACES, None] for b in [*SPACES, None]]
    flags = con.sql(f"SELECT {read_sql.blank(['a', 'b'])} FROM (SELECT unnest($1::VARCHAR[]) AS a, "
                    "unnest($2::VARCHAR[]) AS b)",
                    params=[[a for a, _ in pairs], [b for _, b in pairs]]).fetchall()
    frame = pl.DataFrame({"a": [a for a, _ in pairs], "b": [b for _, b in pairs]},
                         schema={"a": pl.String, "b": pl.String})
    expected = frame.select(pl.all_horizontal(values.clean_text(pl.col(c)).is_null() for c in "ab")).to_series()
    assert [f[0] for f in flags] == expected.to_list()
    assert sum(expected) == 10 * 10  # ten of the texts are whitespace only, the others are values


TEXTS = {
    "decimal": ["84.00", "1234.5", "$1,234.50", "1.234,50 €", "(12.50)", "12,5", "\u22123.2", "1,234", "12.340",
                "12.345", "-0.01", "007", "1e3", "+5", "٣.5", "9" * 17, "abc"],
    "integer": ["1", "-2", "1,234", "12.0", "12.5", "+3", "007", "9" * 19, " 4", "x"],
    "number": ["1.5", "-0.25", "12%", "1,234.5", "1e-3", ".5", "abc"],
    "boolean": ["true", "TRUE", "Yes", "n", "0", "maybe", "İ"],
    "date": ["2026-05-04", "May 4, 2026", "04.05.2026", "2026-5-4", "2026-02-30", "x"],
    "timestamp": ["2026-10-02 00:00:15 -0400", "2026-05-04T14:22:33+00:00", "2026-05-04 08:00:00 PST",
                  "2026-05-04 10:00:00 +05:30", "2026-05-04 24:00:00 -0400", "2026-05-04 10:00:60 +0000",
                  "5/4/2026", "2026-05-04", "2026-13-01 00:00:00 +0000", "soon"],
}


@pytest.mark.parametrize("kind", sorted(TEXTS))
def test_the_first_pass_types_a_value_as_parse_series_does_or_leaves_it_null(kind):
    texts = pl.Series("t", [*TEXTS[kind], None], dtype=pl.String)
    precision, scale = (18, 2) if kind == "decimal" else (None, None)
    first = pl.DataFrame({"t": texts}).select(values.first_pass(kind, pl.col("t"), precision, scale)).to_series()
    one_by_one = [values.parse_series(kind, pl.Series([t], dtype=pl.String), precision, scale)[0] for t in texts]
    assert [f for f in first.to_list() if f is not None]  # the pass types the usual layout
    assert all(f is None or f == v for f, v in zip(first.to_list(), one_by_one, strict=True))
    column = engine.Column("t", f"decimal({precision},{scale})" if kind == "decimal" else kind, "d")
    assert engine._completed(column, texts, first, None).to_list() == one_by_one


def test_a_plain_export_with_quirky_values_lands_them_as_the_parsers_read_each(tmp_path):
    """Read directly, with the hashing and blank rows in the read and the first pass: each landed
    value is the one `parse_series` (or `pii_hash`) gives for its text alone."""
    rows = [dict(row) for row in order_rows()]
    for row in rows:
        row["Notes"] = row["Notes"].replace("\n", " ")
    quirky = [
        {"Name": "#2001", "Email": " Mixed.Case@Example.COM ", "Total": "$1,234.50", "Subtotal": "1.234,50",
         "Taxes": "(1.25)", "Created at": "2026-05-04T14:22:33+02:00", "Lineitem price": "12,5"},
        {"Name": "#2002", "Email": "zoë@example.de", "Total": "", "Shipping": "USD 4", "Created at": "05/04/2026",
         "Lineitem quantity": "1,000"},
        {"Name": "#2003", "Email": "plain@example.com", "Created at": "2026-05-04 08:00:00 PST",
         "Accepts Marketing": "Yes", "Lineitem taxable": "FALSE"},
    ]
    rows += [dict(rows[-1]) | {"Id": str(9000 + n)} | q for n, q in enumerate(quirky)]
    path = write_csv(tmp_path / "orders.csv", rows)
    with path.open("ab") as out:
        out.write(b"  ,\t" + b"," * (len(ORDER_HEADER) - 2) + b"\n")  # a row of whitespace only: not data
    parsed = parse("shopify_orders", path)
    assert parsed.account.read == "direct" and parsed.non_data_rows == 1
    landed = parsed.frame.filter(pl.col("order_name").is_in(["#2001", "#2002", "#2003"])).sort("order_name")
    by_name = {q["Name"]: rows[-3 + n] for n, q in enumerate(quirky)}

    def one(kind, text, *spec):
        text = pl.select(values.clean_text(pl.lit(text, dtype=pl.String))).to_series()
        return values.parse_series(kind, text, *spec)[0]

    for got in landed.iter_rows(named=True):
        row = by_name[got["order_name"]]
        assert got["email_hash"] == engine.pii_hash(row["Email"])
        for column, header in [("total", "Total"), ("subtotal", "Subtotal"), ("taxes", "Taxes"),
                               ("shipping", "Shipping"), ("lineitem_price", "Lineitem price")]:
            assert got[column] == one("decimal", row[header], 18, 2), (column, row[header])
        assert got["created_at"] == one("timestamp", row["Created at"])
        assert got["lineitem_quantity"] == one("integer", row["Lineitem quantity"])
        assert got["accepts_marketing"] == one("boolean", row["Accepts Marketing"])
    first = landed.row(0, named=True)
    assert (first["total"], first["subtotal"], first["taxes"], first["lineitem_price"]) == (
        Decimal("1234.50"), Decimal("1234.50"), Decimal("-1.25"), Decimal("12.50"))
    assert first["created_at"] == datetime(2026, 5, 4, 12, 22, 33, tzinfo=UTC)
    assert landed.row(1, named=True)["total"] is None and landed.row(1, named=True)["lineitem_quantity"] == 1000
    assert landed.row(2, named=True)["created_at"] == datetime(2026, 5, 4, 16, tzinfo=UTC)


@pytest.mark.parametrize("texts", [["a", "b c", None], *[["a", space, None] for space in SPACES],
                                   *[["a", f"{space}b{space}", None] for space in SPACES]])
def test_a_column_is_cleaned_as_python_cleans_each_value(texts):
    """`clean_text` trims Unicode White_Space (no look-alike) and leaves null where nothing is left."""
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    expected = [None if t is None or not t.strip(WHITE_SPACE) else t.strip(WHITE_SPACE) for t in texts]
    assert frame.select(values.clean_text(pl.col("t"))).to_series().to_list() == expected
