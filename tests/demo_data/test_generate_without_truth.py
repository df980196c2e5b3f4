"""generate(truth=False), the benchmark's data sets: byte for byte the vendor files and config of a
run with its truth, the same {feed: {files, rows}}, and no truth folder (not even a stale one)."""

import hashlib

from orchestration.demo import generate


def digests(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in ("landing", "config") for p in sorted((root / folder).rglob("*")) if p.is_file()}


def test_without_truth_the_same_vendor_files_and_no_truth(tmp_path):
    with_truth, without = tmp_path / "with", tmp_path / "without"
    expected = generate(with_truth, days=35, orders_per_day=12, seed=3)
    (without / "demo" / "truth").mkdir(parents=True)
    (without / "demo" / "truth" / "pnl_daily.csv").write_text("a stale truth of another run\n")
    summary = generate(without, days=35, orders_per_day=12, seed=3, truth=False)

    assert digests(without) == digests(with_truth) and len(digests(without)) > 20
    assert summary == {feed: v for feed, v in expected.items() if feed != "truth_dir"}
    assert summary["shopify_orders"]["rows"] > 0
    assert (with_truth / "demo" / "truth" / "pnl_daily.csv").exists()
    assert not (without / "demo" / "truth").exists()
