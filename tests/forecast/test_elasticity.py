"""Price elasticity (orchestration/pipeline/forecast/elasticity.py) recovers what the demo generator
seeded, and says not_enough_variation where the price did not move.

The generator draws every retail channel's units as units ∝ price^elasticity with per-channel
elasticities and a price schedule of its own (orchestration/demo/demand_truth.py, truth file
demand_elasticities.csv); here the files are landed, dbt builds the marts the estimate reads, and
the estimates' intervals are compared with that truth. A hand-made order-line table checks the
rules on exact numbers.
"""

from __future__ import annotations

import csv
import math
from datetime import date, timedelta

import duckdb
import pytest

from connectors.home import build_database
from orchestration.outputs.pricing import Z_95, difference_z, pricing_notes
from orchestration.pipeline.forecast.elasticity import (
    ESTIMATED,
    MIN_OBSERVATIONS,
    NOT_ENOUGH_VARIATION,
    SCHEMA,
    price_elasticity,
)
from tests.forecast.conftest import DEMO_END

END = DEMO_END  # the last day of the seeded demand home (conftest)


@pytest.fixture(scope="module")
def demo(seeded_demand_home):
    home = seeded_demand_home
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        table = price_elasticity(con)
    with (home.root / "demo" / "truth" / "demand_elasticities.csv").open(newline="") as handle:
        truth = list(csv.DictReader(handle))
    return table.to_pylist(), truth


def rows_at(rows: list[dict], level: str) -> dict[tuple[str, str], dict]:
    return {(r["channel"], r["subject"]): r for r in rows if r["level"] == level}


def covers(row: dict, value: float) -> bool:
    return row["ci95_low"] <= value <= row["ci95_high"]


def test_every_channel_estimate_is_near_its_seeded_elasticity(demo):
    rows, truth = demo
    seeded = {r["channel"]: float(r["elasticity"]) for r in truth}
    channels = rows_at(rows, "channel")
    assert {ch for ch, _ in channels} >= set(seeded)
    for channel, elasticity in seeded.items():
        row = channels[(channel, "all SKUs")]
        assert row["status"] == ESTIMATED, row
        # within 3 standard errors (a 0.3% chance of missing per channel); the 95% intervals' coverage
        # is counted over the categories and SKUs below
        assert abs(row["elasticity"] - elasticity) <= 3 * row["std_error"], (channel, elasticity, row)
        assert row["ci95_low"] < row["ci80_low"] < row["elasticity"] < row["ci80_high"] < row["ci95_high"]
    assert channels[("shopify_web", "all SKUs")]["std_error"] < 0.35  # the biggest channel: a tight estimate


def test_category_and_sku_intervals_hold_the_seeded_elasticities(demo):
    rows, truth = demo
    by_sku = {(r["channel"], r["sku"]): r for r in truth}
    seeded_category = {(r["channel"], r["category"]): float(r["elasticity"]) for r in truth}
    categories = [(r, seeded_category[(ch, cat)]) for (ch, cat), r in rows_at(rows, "category").items()
                  if (ch, cat) in seeded_category and r["status"] == ESTIMATED]
    skus = [(r, float(by_sku[(ch, sku)]["elasticity"])) for (ch, sku), r in rows_at(rows, "sku").items()
            if (ch, sku) in by_sku and r["status"] == ESTIMATED]
    assert len(categories) >= 28 and len(skus) >= 90, (len(categories), len(skus))
    # 95% intervals: about one in twenty may miss by chance, a biased estimate misses far more often
    assert sum(covers(r, e) for r, e in categories) >= 0.85 * len(categories)
    assert sum(covers(r, e) for r, e in skus) >= 0.85 * len(skus)


def test_web_against_amazon_us_recovers_the_seeded_difference_and_notes_it_when_clear(demo):
    rows, truth = demo
    seeded = {r["channel"]: float(r["elasticity"]) for r in truth}
    channels = rows_at(rows, "channel")
    web, amazon = channels[("shopify_web", "all SKUs")], channels[("amazon_us", "all SKUs")]
    difference = web["elasticity"] - amazon["elasticity"]
    seeded_difference = seeded["shopify_web"] - seeded["amazon_us"]
    assert abs(difference - seeded_difference) <= 3 * math.hypot(web["std_error"], amazon["std_error"])
    noted = any(note.startswith("A price rise on amazon_us costs little volume across its range: elasticity")
                and note.endswith("on shopify_web.") for note in pricing_notes(rows))
    assert noted == (difference_z(web, amazon) >= Z_95)  # the readback's pricing-note rule


def test_a_single_price_says_not_enough_variation(demo):
    rows, truth = demo
    skus = rows_at(rows, "sku")
    # FH-VAS-MEDIU keeps its list price on the web store (its codes move the weekly price ~1%);
    # wholesale sells from a price list. (A thin channel's week of 3 units moves 5% with one
    # discounted line: those may hold enough variation to estimate from, with wide intervals.)
    single = [(r["channel"], r["sku"]) for r in truth if r["price_varies"] == "false" and r["channel"] == "shopify_web"]
    single += [key for key in skus if key[0] == "wholesale"]
    assert ("shopify_web", "FH-VAS-MEDIU") in single and len(single) >= 30
    for key in single:
        row = skus[key]
        assert row["status"] == NOT_ENOUGH_VARIATION, row
        assert all(row[c] is None for c in ("elasticity", "std_error", "ci80_low", "ci80_high", "ci95_low",
                                            "ci95_high")), row


# ---- the rules on a hand-made order-line table -------------------------------------------------


def hand_made(weeks: dict[str, list[tuple[float, int]]], first_monday: date = date(2026, 1, 5)):
    """A build-like database: one order line per SKU and day, every day of each week at the week's
    (price, units ÷ 7) — `weeks[sku]` lists (price, weekly units)."""
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.fct_order_lines (channel varchar, sku varchar, currency varchar, order_date date, "
                "units bigint, gross_sales decimal(18,2), discounts decimal(18,2), is_cancelled boolean)")
    con.execute("create table marts.dim_product (sku varchar, product_name varchar)")
    for sku, series in weeks.items():
        con.execute("insert into marts.dim_product values (?, ?)", [sku, f"Mug - {sku}"])
        for w, (price, units) in enumerate(series):
            for day in range(7):
                d = first_monday + timedelta(days=7 * w + day)
                u = units // 7 + (1 if day < units % 7 else 0)
                con.execute("insert into marts.fct_order_lines values ('web', ?, 'USD', ?, ?, ?, 0, false)",
                            [sku, d, u, round(price * u, 2)])
    return con


def test_exact_constant_elasticity_is_recovered_and_a_flat_price_is_not_estimated():
    prices = [10.0, 9.0, 11.0, 10.0, 9.0, 11.0, 10.0, 9.0, 11.0, 10.0]
    elastic = [(p, round(700_000 * p ** -2.0)) for p in prices]  # units ∝ price^-2, to the unit
    flat = [(10.0, 700 + 7 * (w % 3)) for w in range(len(prices))]
    with hand_made({"A": elastic, "B": flat}) as con:
        table = price_elasticity(con)
    assert table.schema == SCHEMA
    rows = rows_at(table.to_pylist(), "sku")
    a, b = rows[("web", "A")], rows[("web", "B")]
    assert a["status"] == ESTIMATED and a["price_points"] == 3 and a["observations"] == len(prices)
    assert a["elasticity"] == pytest.approx(-2.0, abs=0.01) and a["ci95_low"] <= a["elasticity"] <= a["ci95_high"]
    assert a["units"] == sum(u for _, u in elastic) and a["min_unit_price"] == pytest.approx(9.0, abs=0.01)
    assert b["status"] == NOT_ENOUGH_VARIATION and b["price_points"] == 1 and b["elasticity"] is None


def test_too_few_weeks_are_not_enough_variation():
    short = [(p, round(700_000 * p ** -2.0)) for p in (10.0, 9.0, 11.0, 10.0, 9.0, 11.0)][: MIN_OBSERVATIONS - 2]
    with hand_made({"A": short}) as con:
        row = rows_at(price_elasticity(con).to_pylist(), "sku")[("web", "A")]
    assert row["status"] == NOT_ENOUGH_VARIATION and row["observations"] == MIN_OBSERVATIONS - 2
    assert row["elasticity"] is None
