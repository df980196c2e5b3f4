"""Landing into the raw lake: idempotent, atomic, nothing lost."""

import json
import os

import polars as pl
import pytest

import connectors.lake as lake
from connectors.lake import land_file, ledger_records
from tests.connectors.test_shopify import order_rows, write_csv


def snapshot(root):
    return {p.relative_to(root): (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*") if p.is_file()}


def test_landing_writes_parquet_with_lineage_and_a_ledger_record(home, tmp_path):
    path = write_csv(tmp_path / "orders_2026-05.csv", order_rows())
    result = land_file(home, "shopify_orders", path)
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 3, 0)
    raw = pl.read_parquet(home.raw("shopify_orders") / f"{result.file_id}.parquet")
    assert raw["_source_file"].unique().to_list() == ["orders_2026-05.csv"]
    assert sorted(raw["_source_line"].to_list()) == [2, 4, 5]
    assert raw["_source_format"].unique().to_list() == ["shopify_orders_csv"]
    record = next(ledger_records(home, "shopify_orders"))
    assert record["rows_loaded"] == 3 and record["sha256"].startswith(result.file_id)
    assert record["min_event_time"].startswith("2026-05-03 22:00:00")
    # the raw file is archived in landing/ (vendors do not keep exports for long)
    assert (home.landing("shopify_orders") / "orders_2026-05.csv").read_bytes() == path.read_bytes()


def test_relanding_the_same_file_changes_nothing(home, tmp_path):
    path = write_csv(tmp_path / "orders.csv", order_rows())
    land_file(home, "shopify_orders", path)
    before = snapshot(home.root)
    again = land_file(home, "shopify_orders", path)
    renamed = tmp_path / "copy_of_orders.csv"
    renamed.write_bytes(path.read_bytes())
    copy = land_file(home, "shopify_orders", renamed)
    assert again.status == copy.status == "duplicate"
    assert snapshot(home.root) == before


def test_quarantine_keeps_file_line_reason_and_hashed_raw_values(home, tmp_path):
    rows = order_rows()
    rows[0]["Created at"] = "yesterday"
    result = land_file(home, "shopify_orders", write_csv(tmp_path / "orders.csv", rows))
    assert (result.rows_loaded, result.rows_quarantined) == (1, 2)  # both lines of the bad order
    q = pl.read_parquet(home.quarantine("shopify_orders") / f"{result.file_id}.parquet").sort("line")
    assert q["line"].to_list() == [2, 4]
    assert q["source_file"].unique().to_list() == ["orders.csv"]
    assert all("'Created at': 'yesterday' is not a date-time" in r for r in q["reason"])
    raw = json.loads(q["raw_values"][0])
    assert raw["Name"] == "#1002" and "ann@example.com" not in q["raw_values"][0].lower()


def test_a_crash_mid_landing_leaves_no_partial_files(home, tmp_path, monkeypatch):
    path = write_csv(tmp_path / "orders.csv", order_rows())
    real = lake.parse_batches

    def crash_after_first_batch(*args, **kwargs):
        for i, batch in enumerate(real(*args, **kwargs)):
            if i == 1:
                raise KeyboardInterrupt("power cut")
            yield batch

    monkeypatch.setattr(lake, "parse_batches",
                        lambda p, c, layout, scratch_dir, account, progress=None, direct=True:
                        crash_after_first_batch(p, c, layout, 1, scratch_dir, account, progress, direct))
    with pytest.raises(KeyboardInterrupt):
        land_file(home, "shopify_orders", path)
    leftovers = [p for p in home.root.rglob("*") if p.is_file()
                 and p.suffix != ".lock" and p != home.root / "config" / "hash_key"]  # locks and the key stay
    assert leftovers == []
    monkeypatch.setattr(lake, "parse_batches", real)
    assert land_file(home, "shopify_orders", path).status == "loaded"


def test_a_rejected_file_is_recorded_and_not_archived(home, tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("Name,Email\n#1,a@b.c\n")
    result = land_file(home, "shopify_orders", path)
    assert result.status == "rejected" and "not a Shopify orders export" in result.reason
    assert not home.landing("shopify_orders").exists()
    assert list(lake.rejections(home, "shopify_orders"))[0]["file"] == "notes.csv"


def _count_hashing(monkeypatch) -> list:
    hashed = []
    real = lake.file_sha256
    monkeypatch.setattr(lake, "file_sha256", lambda path: hashed.append(path.name) or real(path))
    return hashed


def test_a_landed_file_still_in_landing_is_known_by_its_stat_without_reading_it(home, monkeypatch):
    """landing/ keeps every landed file, so every night finds them all waiting again: one that looks
    as the ledger noted (size, mtime, inode) is a duplicate without being hashed; one that changed is
    hashed and lands (or not) by its content, as before."""
    folder = home.landing("shopify_orders")
    folder.mkdir(parents=True)
    path = write_csv(folder / "orders_2026-05.csv", order_rows())
    first = land_file(home, "shopify_orders", path)
    record = next(ledger_records(home, "shopify_orders"))
    stat = path.stat()
    assert record["landing_stat"] == [stat.st_size, stat.st_mtime_ns, stat.st_ino]

    hashed = _count_hashing(monkeypatch)
    assert [r.status for r in lake.already_landed(home, [("shopify_orders", path)])] == ["duplicate"]
    assert land_file(home, "shopify_orders", path).status == "duplicate"
    assert [r.status for r in lake.land_all(home, ["shopify_orders"])] == ["duplicate"]
    assert hashed == []

    rows = order_rows()
    rows[0]["Lineitem quantity"] = "20"  # one more byte; the old modification time put back
    write_csv(path, rows)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert lake.already_landed(home, [("shopify_orders", path)]) == [None]
    changed = land_file(home, "shopify_orders", path)
    assert changed.status == "loaded" and changed.file_id != first.file_id and hashed == ["orders_2026-05.csv"]


def test_a_file_landed_without_a_noted_stat_or_touched_since_is_hashed_once(home, monkeypatch):
    """Homes landed before the ledger noted stats, and files touched since they landed: the next
    landing hashes the file, finds it landed, and notes how it looks now for the nights after."""
    folder = home.landing("shopify_orders")
    folder.mkdir(parents=True)
    path = write_csv(folder / "orders_2026-05.csv", order_rows())
    result = land_file(home, "shopify_orders", path)
    ledger = home.ledger("shopify_orders") / f"{result.file_id}.json"
    ledger.write_text(json.dumps({k: v for k, v in json.loads(ledger.read_text()).items() if k != "landing_stat"}))

    hashed = _count_hashing(monkeypatch)
    assert lake.already_landed(home, [("shopify_orders", path)]) == [None]
    assert land_file(home, "shopify_orders", path).status == "duplicate"
    assert land_file(home, "shopify_orders", path).status == "duplicate"
    assert hashed == ["orders_2026-05.csv"]

    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))  # touched
    assert [land_file(home, "shopify_orders", path).status for _ in range(2)] == ["duplicate"] * 2
    assert hashed == ["orders_2026-05.csv"] * 2
    assert json.loads(ledger.read_text())["landing_stat"][1] == path.stat().st_mtime_ns
