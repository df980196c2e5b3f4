"""Landing many files with worker processes: the same lake as landing them one by one in this process."""

import polars as pl
import pytest

from connectors.home import Home
from connectors.lake import ledger_records
from connectors.landing_pool import WORKERS_ENV, LandingWorkerError, land_waiting, landing_workers
from tests.connectors.test_shopify import order_rows, write_csv

COSTS = ("month,channel,cost_type,amount,currency\n"
         "{month},shopify_web,staff,{amount},USD\n2026/6,wholesale,agency,50.00,USD\n")


def waiting_files(folder):
    """Two feeds; the orders feed has two files with the same order (#1002), the second one corrected."""
    folder.mkdir()
    first = write_csv(folder / "orders_1.csv", order_rows())
    corrected = [dict(row, **{"Lineitem quantity": "3"}) if row.get("Name") == "#1002" else row for row in order_rows()]
    second = write_csv(folder / "orders_2.csv", corrected)
    costs = []
    for n, month in enumerate(["2026-05", "May 2026", "06/2026"]):
        path = folder / f"operating_costs_{n}.csv"
        path.write_text(COSTS.format(month=month, amount=100 + n))
        costs.append(path)
    return [("shopify_orders", first), ("shopify_orders", second)] + [("operating_costs", p) for p in costs]


def lake(home, feed):
    """The feed's landed rows without the landing time, in a stable order."""
    frames = [pl.read_parquet(p).drop("_loaded_at") for p in sorted(home.raw(feed).glob("*.parquet"))]
    return pl.concat(frames).sort(pl.all())


@pytest.fixture
def homes(tmp_path):
    roots = tmp_path / "pooled", tmp_path / "in_process"
    for root in roots:
        root.mkdir()
        (root / "config").mkdir()
        (root / "config" / "hash_key").write_text("0" * 64)  # both homes hash personal data alike
    return [Home(root) for root in roots]


def test_a_pool_lands_what_one_process_lands(homes, tmp_path):
    pooled, in_process = homes
    waiting = waiting_files(tmp_path / "drop")
    told = []
    results, helpers_mb = land_waiting(pooled, waiting, progress=lambda *m: told.append(m), workers=2)
    expected, none = land_waiting(in_process, waiting, workers=1)
    assert helpers_mb > 0 and none == 0.0
    assert [(r.feed, r.file, r.status, r.file_id, r.rows_loaded, r.rows_quarantined, r.non_data_rows)
            for r in results] == \
           [(r.feed, r.file, r.status, r.file_id, r.rows_loaded, r.rows_quarantined, r.non_data_rows)
            for r in expected]
    assert [r.status for r in results] == ["loaded"] * 5
    for feed in ("shopify_orders", "operating_costs"):
        assert lake(pooled, feed).equals(lake(in_process, feed))
    assert {label.split(" ", 1)[0] for label, *_ in told} <= {f"{n}/5" for n in range(1, 6)} and told


def test_a_feeds_files_land_in_order_in_one_worker(homes, tmp_path):
    """Staging keeps a key's version from the file landed last: the pool must not reorder a feed."""
    pooled, _ = homes
    waiting = waiting_files(tmp_path / "drop")
    land_waiting(pooled, waiting, workers=2)
    records = sorted(ledger_records(pooled, "shopify_orders"), key=lambda r: r["loaded_at"])
    assert [r["file"] for r in records] == ["orders_1.csv", "orders_2.csv"]
    raw = pl.concat([pl.read_parquet(p) for p in pooled.raw("shopify_orders").glob("*.parquet")])
    first_loaded = raw.group_by("_source_file").agg(pl.col("_loaded_at").min()).sort("_loaded_at")
    assert first_loaded["_source_file"].to_list() == ["orders_1.csv", "orders_2.csv"]


def test_a_workers_error_is_raised_naming_the_file(homes, tmp_path):
    pooled, _ = homes
    waiting = waiting_files(tmp_path / "drop")
    waiting[3][1].unlink()  # listed, then gone before it landed
    with pytest.raises(LandingWorkerError, match="operating_costs_1.csv"):
        land_waiting(pooled, waiting, workers=2)


def test_how_many_workers(tmp_path, monkeypatch):
    waiting = waiting_files(tmp_path / "drop")
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    assert landing_workers(waiting) == 1  # a few KB: starting processes would cost more than it saves
    monkeypatch.setenv(WORKERS_ENV, "4")
    assert landing_workers(waiting) == 2  # never more than one per feed
    monkeypatch.setenv(WORKERS_ENV, "two")
    with pytest.raises(ValueError, match="CWH_LANDING_WORKERS='two'"):
        landing_workers(waiting)
