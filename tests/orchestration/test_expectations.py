"""Great Expectations suites generated from the contracts: every landed file of the clean demo lake
passes, a value the contract forbids fails with the file, column, count and sample, and a file is
validated once per suite (cached by its sha)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal

import pytest

from connectors.contracts import get_contract
from connectors.lake import land_file
from connectors.registry import FEEDS
from orchestration.pipeline.gates.expectations import run_expectations, suite_fingerprint, suite_specs
from tests.orchestration.test_sla import read_rows, reland, write_rows


def test_the_suite_is_generated_from_the_contract():
    contract = get_contract("amazon_orders")
    specs = suite_specs(contract)
    kinds = [(s["class"], s["kwargs"].get("column")) for s in specs]
    assert kinds.count(("ExpectColumnToExist", "amazon_order_id")) == 1
    assert len([k for k in kinds if k[0] == "ExpectColumnToExist"]) == len(contract.columns)
    not_null = {c.name for c in contract.columns if not c.nullable}
    assert {c for k, c in kinds if k == "ExpectColumnValuesToNotBeNull"} == not_null | {"sales_channel"}
    assert {"class": "ExpectColumnValuesToBeBetween",
            "kwargs": {"column": "quantity", "min_value": 0, "max_value": None}} in specs
    assert {"class": "ExpectColumnValuesToMatchRegex", "kwargs": {"column": "currency", "regex": "^[A-Z]{3}$"}} in specs
    assert {"class": "ExpectColumnValuesToNotBeNull", "kwargs": {"column": "sales_channel", "mostly": 0.99}} in specs
    sets = [s for s in suite_specs(get_contract("wholesale_invoices")) if s["class"] == "ExpectColumnValuesToBeInSet"]
    assert sets == [{"class": "ExpectColumnValuesToBeInSet",
                     "kwargs": {"column": "document_type", "value_set": ["invoice", "credit_note"]}}]
    bad = dataclasses.replace(contract, expectations=({"column": "quantity", "minimum": 0},))
    with pytest.raises(ValueError, match="unknown keys"):
        suite_specs(bad)


def test_every_landed_file_passes_and_is_validated_once(lake):
    outcomes = {feed: run_expectations(lake, get_contract(feed)) for feed in FEEDS}
    assert {f: o.status for f, o in outcomes.items() if o.status != "ok"} == {}
    meta = outcomes["shopify_orders"].metadata
    assert meta["files"] == 2 and meta["rows"] > 1000 and meta["failures"] == []
    cache = sorted((lake.root / "lake" / "expectations" / "shopify_orders").glob("*.json"))
    assert [p.stem for p in cache] == sorted(p.stem for p in lake.raw("shopify_orders").glob("*.parquet"))
    record = json.loads(cache[0].read_text())
    assert record["success"] and record["suite_fingerprint"] == suite_fingerprint(get_contract("shopify_orders"))
    again = run_expectations(lake, get_contract("shopify_orders"))
    assert again.status == "ok" and again.metadata["files_from_cache"] == 2
    assert again.metadata["validation_seconds_per_file"] is None  # nothing re-validated


def test_a_batch_is_validated_without_hashing_its_rows(lake, monkeypatch):
    """GE's batch fingerprint (every row hashed, twice a validation) is off: nothing reads it."""
    from great_expectations.execution_engine import pandas_execution_engine

    def hashed(df):
        raise AssertionError("GE hashed a batch's rows")

    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", hashed)
    outcome = run_expectations(lake, get_contract("threepl_billing"))
    assert outcome.status == "ok" and outcome.metadata["rows"] > 100


def test_no_validated_frame_outlives_its_validation(lake):
    """GE's execution engine keeps the last batch of each asset; the night held those frames (up to
    GROUP_ROWS rows per feed) under dbt's buffer pool, ~0.6 GB at 10M lines: they are dropped."""
    import gc

    import pandas as pd

    contract = get_contract("shopify_orders")
    assert run_expectations(lake, contract).metadata["files_from_cache"] == 0
    gc.collect()
    validated = set(contract.column_names)
    alive = [o.shape for o in gc.get_objects() if isinstance(o, pd.DataFrame) and set(o.columns) <= validated
             and len(o.columns) > 10]
    assert alive == []


def test_a_negative_lineitem_quantity_fails_naming_file_column_count_and_sample(lake):
    def negative(header, rows):
        qty = header.index("Lineitem quantity")
        rows[5][qty] = "-3"
        return header, rows

    reland(lake, "shopify_orders", "orders_export_2026-10.csv", negative)
    result = run_expectations(lake, get_contract("shopify_orders"))
    assert (result.status, result.blocking, result.holds_publish) == ("fail", True, True)
    failure, = result.metadata["failures"]
    assert failure["file"] == "orders_export_2026-10.csv"
    assert (failure["expectation"], failure["column"]) == ("expect_column_values_to_be_between", "lineitem_quantity")
    assert failure["unexpected_count"] == 1 and failure["sample"] == [-3]
    assert result.metadata["files_failing"] == ["orders_export_2026-10.csv"]
    assert "lineitem_quantity" in result.detail and "1 of" in result.detail
    assert result.owner == "E-commerce operations" and "orders_export_2026-10.csv" in result.suggested_action

    # the runbook's fix: a corrected re-export of the affected orders lands under a new sha; the
    # warehouse reads only the newest version of a row, so the failure no longer holds the publish
    header, *rows = read_rows(lake.landing("shopify_orders") / "orders_export_2026-10.csv")
    qty, name = header.index("Lineitem quantity"), header.index("Name")
    order = rows[5][name]
    fixed = [[*r[:qty], "3", *r[qty + 1:]] for r in rows if r[name] == order]
    path = write_rows(lake.landing("shopify_orders") / "orders_fix.csv", [header, *fixed])
    assert land_file(lake, "shopify_orders", path).status == "loaded"
    cleared = run_expectations(lake, get_contract("shopify_orders"))
    assert cleared.status == "ok" and "replaced" in cleared.detail
    assert [f["column"] for f in cleared.metadata["superseded_failures"]] == ["lineitem_quantity"]


def test_a_changed_contract_revalidates_the_cached_files(lake):
    contract = get_contract("fx_rates")
    assert run_expectations(lake, contract).status == "ok"
    stricter = dataclasses.replace(contract, expectations=(
        *contract.expectations, {"column": "rate", "max": 1.0, "mostly": 0.9}))
    result = run_expectations(lake, stricter)
    assert result.metadata["files_from_cache"] == 0
    assert result.status == "fail"  # EUR and GBP (above 1.0) are two thirds of the rows: more than `mostly` allows
    failure = result.metadata["failures"][0]
    assert failure["column"] == "rate" and failure["kwargs"]["max_value"] == 1.0
    assert failure["kwargs"]["mostly"] == 0.9


def test_files_validated_together_keep_each_files_own_verdict_under_mostly(tmp_path):
    """Files are validated in one suite run, but a file that fails alone still fails: with `mostly`
    the share over both files passes (10 of 40 rows above 1.0) while the small file alone does not
    (10 of 10)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from orchestration.pipeline.gates.expectations import validate_file, validate_files

    contract = get_contract("fx_rates")
    contract = dataclasses.replace(contract, expectations=(
        *contract.expectations, {"column": "rate", "max": 1.0, "mostly": 0.5}))

    def write(name: str, rate: str, rows: int):
        table = pa.table({"date": pa.array([dt.date(2026, 10, 1)] * rows), "currency": ["EUR"] * rows,
                          "quote_currency": ["USD"] * rows,
                          "rate": pa.array([Decimal(rate)] * rows, pa.decimal128(18, 8))})
        pq.write_table(table, tmp_path / name)
        return tmp_path / name

    high, low = write("high.parquet", "1.10", 10), write("low.parquet", "0.90", 30)
    together = validate_files(contract, [high, low])
    assert together[high]["success"] is False and together[low]["success"] is True
    assert together[high]["failures"] == validate_file(contract, high)["failures"]
    assert together[high]["failures"][0]["unexpected_count"] == 10
    clean = validate_files(contract, [low, write("low2.parquet", "0.80", 5)])
    assert all(r["success"] and r["validated_with_files"] == 2 for r in clean.values())
