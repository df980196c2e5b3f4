"""Irregular rows in real feeds lose nothing: every demo feed's file gets a short row, a row with an
extra field and a row with a NUL byte appended, another file is re-encoded (UTF-16, CR-only line
ends, a stray Windows-1252 byte); each bad row is quarantined at its true line, and the lake holds
exactly the rows a clean landing of the same files holds.

Before the strict reader, DuckDB's sniffer re-guessed the dialect on such files: a Shopify export
read 0 rows (`#` taken as a comment character), other files were rejected whole.
"""

import codecs
import shutil

import polars as pl
import pyarrow.dataset as ds
import pytest

from connectors.engine import sniff
from connectors.lake import Home, land_all
from connectors.registry import FEEDS, feed_spec
from orchestration.demo import generate

LINEAGE = ["_source_file", "_source_sha256", "_loaded_at"]


def _lake(home: Home, feed: str) -> pl.DataFrame:
    table = ds.dataset(home.raw(feed), format="parquet").to_table()
    frame = pl.from_arrow(table).drop(LINEAGE)
    return frame.sort(frame.columns)


@pytest.fixture(scope="module")
def homes(tmp_path_factory):
    clean = Home(tmp_path_factory.mktemp("clean"))
    generate(clean.root, days=30, orders_per_day=20)
    bad = Home(tmp_path_factory.mktemp("bad"))
    shutil.copytree(clean.root / "landing", bad.root / "landing")
    shutil.copytree(clean.root / "demo", bad.root / "demo")
    shutil.copytree(clean.root / "config", bad.root / "config")  # feed options (currencies)
    return clean, bad


def _damage(bad: Home) -> dict:
    """Append three bad rows to the first file of every feed; re-encode another file of three
    feeds. Returns {(feed, file): the first bad row's line}."""
    appended = {}
    for feed in FEEDS:
        path = sorted(bad.landing(feed).iterdir())[0]
        spec = feed_spec(feed)
        layout = sniff(path, spec.contract, list(spec.formats), bad.feed_options(feed))
        d, width = layout.dialect.delimiter, layout.width
        raw = path.read_bytes()
        raw += b"" if raw.endswith(b"\n") else b"\r\n"
        junk = [f"JUNK{d}1", "JUNK" + d * width + "extra", "JU\x00NK" + d * (width - 1)]
        path.write_bytes(raw + "".join(row + "\n" for row in junk).encode())
        appended[(feed, path.name)] = raw.count(b"\n") + 1
    return appended


def _reencode(bad: Home) -> None:
    """UTF-16 with a BOM, CR-only line ends, a trailing blank line: the same rows must land."""
    shopify = sorted(bad.landing("shopify_orders").iterdir())[-1]
    shopify.write_bytes(codecs.BOM_UTF16_LE + shopify.read_text(encoding="utf-8-sig").encode("utf-16-le"))
    fx = sorted(bad.landing("fx_rates").iterdir())[-1]
    fx.write_bytes(fx.read_bytes().replace(b"\r\n", b"\r").replace(b"\n", b"\r"))
    wholesale = sorted(bad.landing("wholesale_invoices").iterdir())[-1]
    wholesale.write_bytes(wholesale.read_bytes() + b"\r\n")


def test_every_bad_row_is_quarantined_at_its_line_and_nothing_else_changes(homes):
    clean, bad = homes
    appended = _damage(bad)
    _reencode(bad)
    clean_results = {(r.feed, r.file): r for r in land_all(clean)}
    shutil.copytree(clean.root / "config", bad.root / "config", dirs_exist_ok=True)  # one hashing key
    bad_results = {(r.feed, r.file): r for r in land_all(bad)}
    assert [r for r in bad_results.values() if r.status != "loaded"] == []
    for key, result in bad_results.items():
        assert result.rows_loaded == clean_results[key].rows_loaded, key
    for feed in FEEDS:
        quarantine = pl.from_arrow(ds.dataset(bad.quarantine(feed), format="parquet").to_table())
        [(_, file), first] = [(k, v) for k, v in appended.items() if k[0] == feed][0]
        mine = quarantine.filter(pl.col("source_file") == file).sort("line")
        assert mine["line"].to_list() == [first, first + 1, first + 2], feed
        reasons = mine["reason"].to_list()
        assert "fields where the header has" in reasons[0] and "fields where the header has" in reasons[1], feed
        assert "NUL" in reasons[2], feed
        assert _lake(bad, feed).equals(_lake(clean, feed)), f"{feed}: the lake differs from a clean landing"
