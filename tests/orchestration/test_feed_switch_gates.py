"""What a feed switched off gets (docs/gates.md#the-brands-feeds-switching-one-off): no gates that
fail, no landing, no rows in the run's snapshot, not required by channel coverage, 'disabled' in the
feed status; a needed feed switched off by hand fails. On the clean demo lake (conftest.py)."""

from __future__ import annotations

import shutil

from connectors.feed_switches import set_enabled
from connectors.lake import landing_files, ledger_records
from orchestration.pipeline import incremental
from orchestration.pipeline.gates.feed import feed_check_names, feed_gates, feed_outcomes
from orchestration.pipeline.gates.sla import channel_coverage
from orchestration.pipeline.ops.status import feed_sla_status
from orchestration.pipeline.run import RunReport, land
from tests.orchestration.demo_lake import LOGICAL


def _empty_lake(home, feed: str) -> None:
    """The feed as a brand without it has it: nothing landed (its Parquet folder is empty)."""
    shutil.rmtree(home.raw(feed))
    home.raw(feed).mkdir(parents=True)


def test_a_disabled_feed_with_nothing_landed_passes_every_check_saying_disabled(lake):
    _empty_lake(lake, "pinterest_ads")
    failing = {o.check for o in feed_outcomes(lake, "pinterest_ads", LOGICAL) if o.status == "fail"}
    assert "freshness" in failing  # nothing landed: the feed is late while it is on
    set_enabled(lake, "pinterest_ads", False)
    outcomes = feed_outcomes(lake, "pinterest_ads", LOGICAL)
    assert [o.check for o in outcomes] == list(feed_check_names("pinterest_ads"))  # every Dagster check reports
    assert all(o.status == "ok" and o.detail.startswith("disabled: pinterest_ads is disabled") for o in outcomes)
    assert all(o.metadata == {"disabled": True} and not o.holds_publish for o in outcomes)
    assert not any(o.feed == "pinterest_ads" for o in feed_gates(lake, LOGICAL, expectations=False))


def test_a_channel_whose_sales_feed_is_off_is_not_required(lake):
    _empty_lake(lake, "amazon_orders")
    before = channel_coverage(lake, LOGICAL)
    assert before.status == "fail" and set(before.metadata["missing"]) == {"amazon_us", "amazon_ca"}
    set_enabled(lake, "amazon_orders", False)
    after = channel_coverage(lake, LOGICAL)
    assert after.status == "ok", after.detail
    assert set(after.metadata["sales_feed_disabled"]) == {"amazon_us", "amazon_ca"}
    assert "amazon_us" not in after.metadata["checked"] and "sales feed disabled (not required)" in after.detail
    # the coverage of the enabled sales feeds still rides on shopify_orders
    coverage = next(o for o in feed_outcomes(lake, "shopify_orders", LOGICAL) if o.check == "channel_coverage")
    assert coverage.status == "ok" and "shopify_web" in coverage.metadata["checked"]


def test_a_needed_feed_switched_off_by_hand_holds_the_publish(lake):
    lake.feed_options_file.write_text("cogs: {enabled: false}\n")
    completeness = next(o for o in feed_outcomes(lake, "cogs", LOGICAL) if o.check == "completeness")
    assert completeness.status == "fail" and completeness.holds_publish
    assert "shopify_orders, amazon_orders, wholesale_invoices need it" in completeness.detail
    assert "cwh feeds enable cogs" in completeness.suggested_action


def test_a_disabled_feeds_files_are_not_landed_nor_built_and_its_status_says_disabled(lake, tmp_path):
    landed_before = {r["sha256"] for r in ledger_records(lake, "meta_ads")}
    extra = tmp_path / "meta_ads_extra.csv"  # a new export arrives for a feed the brand switched off
    shutil.copy(sorted(lake.landing("meta_ads").glob("*.csv"))[-1], extra)
    set_enabled(lake, "meta_ads", False)
    shutil.copy(extra, lake.landing("meta_ads") / "meta_ads_new_export.csv")
    messages = []
    report = RunReport("test-run", LOGICAL, progress=messages.append)
    results = land(lake, report)
    assert not any(r.feed == "meta_ads" for r in results)
    assert {r["sha256"] for r in ledger_records(lake, "meta_ads")} == landed_before  # nothing new landed
    assert any(m.startswith("meta_ads is disabled: its") and "cwh feeds enable meta_ads" in m for m in messages)
    assert len(landing_files(lake, "meta_ads")) >= 2
    assert report.snapshot["meta_ads"] == frozenset()  # staging reads none of its files
    assert report.snapshot["google_ads"]  # the others are built as before
    states = dict(feed_sla_status(lake, as_of=LOGICAL).select("feed", "state").iter_rows())
    assert states["meta_ads"] == "disabled" and states["google_ads"] == "ok"


def test_a_feed_switched_off_after_a_build_has_its_staging_rebuilt_from_its_first_event(lake):
    snapshot = incremental.take_snapshot(lake)
    window = incremental.plan(lake, LOGICAL, LOGICAL, snapshot)
    incremental.record(lake, window)  # a build held every file
    set_enabled(lake, "meta_ads", False)
    later = incremental.plan(lake, LOGICAL, LOGICAL, incremental.take_snapshot(lake))
    assert "meta_ads" in later.rebuild_feeds
    first_event = min(str(r["min_event_time"])[:10] for r in ledger_records(lake, "meta_ads"))
    assert later.first_day.isoformat() == first_event
