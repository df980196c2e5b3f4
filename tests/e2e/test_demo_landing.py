"""The demo generator's files land completely: every row is loaded or quarantined with its reason,
settlements balance to the generator's totals, and re-landing changes nothing."""

import csv
from decimal import Decimal

import polars as pl
import pyarrow.dataset as ds
import pytest

from connectors.lake import Home, land_all, land_file, ledger_records
from connectors.registry import FEEDS
from connectors.vendors.amazon import settlement_balance
from orchestration.demo import generate


def read_truth(home: Home, name: str) -> list[dict]:
    with (home.root / "demo" / "truth" / name).open() as handle:
        return list(csv.DictReader(handle))


def landed(home: Home, generated_kwargs: dict) -> tuple[Home, list]:
    generate(home.root, **generated_kwargs)
    return home, land_all(home)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return landed(Home(tmp_path_factory.mktemp("clean")), {"days": 45, "orders_per_day": 40})


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    return landed(Home(tmp_path_factory.mktemp("messy")), {"days": 60, "orders_per_day": 40, "messy": True})


def test_every_feed_lands_and_every_generated_row_arrives(clean):
    home, results = clean
    assert {r.feed for r in results} == set(FEEDS)
    assert [r for r in results if r.status != "loaded"] == []
    by_file = {(r.feed, r.file): r for r in results}
    truth = read_truth(home, "files.csv")
    assert len(truth) == len(results)
    for row in truth:
        result = by_file[(row["feed"], row["file"])]
        assert (result.rows_loaded, result.rows_quarantined) == (int(row["data_rows"]), 0), row
        assert result.extra_columns == [], row


def test_settlements_balance_to_the_generators_totals_in_both_layouts(clean):
    home, _ = clean
    table = ds.dataset(home.raw("amazon_settlements"), format="parquet").to_table()
    balance = settlement_balance(table)
    assert balance["balanced"].all()
    truth = {r["settlement_id"]: r for r in read_truth(home, "settlements.csv")}
    assert set(balance["settlement_id"]) == set(truth)
    layouts = pl.from_arrow(table).group_by("settlement_id").agg(
        pl.col("report_layout").first(), pl.len().alias("components"))
    for row in layouts.join(balance, on="settlement_id").iter_rows(named=True):
        expected = truth[row["settlement_id"]]
        assert row["total_amount"] == Decimal(expected["total_amount"])
        assert row["components_sum"] == Decimal(expected["total_amount"])
        assert row["components"] == int(expected["components"])
        assert row["report_layout"] == expected["layout"]
    assert {r["layout"] for r in truth.values()} == {"v2", "legacy"}


def test_relanding_everything_changes_nothing(clean):
    home, _ = clean
    def lake_files():  # the landing locks are transient, swept by every land_all
        return {p: p.stat().st_mtime_ns for p in (home.root / "lake").rglob("*")
                if p.is_file() and ".locks" not in p.parts}

    before = lake_files()
    again = land_all(home)
    assert {r.status for r in again} == {"duplicate"}
    assert lake_files() == before


def test_a_file_landed_as_the_wrong_feed_is_rejected_with_a_pointer_to_the_right_one(clean):
    home, _ = clean
    amazon_orders = sorted(home.landing("amazon_orders").iterdir())[0]
    result = land_file(home, "shopify_orders", amazon_orders)
    assert result.status == "rejected"
    assert "not a Shopify orders export" in result.reason and "cwh ingest amazon_orders" in result.reason


def test_each_messy_defect_is_caught_and_the_good_rows_still_load(messy):
    home, results = messy
    by_file = {(r.feed, r.file): r for r in results}
    quarantine = pl.read_parquet(home.root / "lake" / "quarantine" / "*" / "*.parquet")
    for defect in read_truth(home, "defects.csv"):
        result = by_file[(defect["feed"], defect["file"])]
        kind = defect["kind"]
        if kind == "duplicate_file":  # the copy and its original: one lands, the other is a no-op
            original = by_file[(defect["feed"], defect["file"].replace(" (1)", ""))]
            assert {result.status, original.status} == {"loaded", "duplicate"}
        elif kind == "renamed_optional_column":
            assert result.status == "loaded" and any("Reach" in c for c in result.extra_columns)
        elif kind in ("bom_crlf", "trailing_blank"):
            assert result.status == "loaded"
        else:
            at_defect = (pl.col("source_file") == defect["file"]) & (pl.col("line") == int(defect["line"]))
            hits = quarantine.filter(at_defect)
            assert hits.height == 1, defect
            assert defect["expected_reason_keyword"] in hits["reason"][0], (defect, hits["reason"][0])
    # nothing lost: per file, loaded + quarantined = the rows the generator wrote
    for row in read_truth(home, "files.csv"):
        result = by_file[(row["feed"], row["file"])]
        if result.status == "duplicate":
            continue
        assert result.rows_loaded + result.rows_quarantined == int(row["data_rows"]), row
    quarantined = sum(r["rows_quarantined"] for r in ledger_records(home))
    assert quarantined == quarantine.height == 4


def test_personal_data_stays_in_the_raw_shopify_file(clean):
    home, _ = clean
    raw_orders = next(home.landing("shopify_orders").iterdir()).read_text()
    email = next(line.split(",")[1] for line in raw_orders.splitlines()[1:] if "@" in line.split(",")[1])
    for path in (home.root / "lake").rglob("*.parquet"):
        text = pl.read_parquet(path).write_csv()
        assert email not in text, path
