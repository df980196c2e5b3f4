"""The Dagster code location: one asset per feed grouped by source system, checks that fail when
what they guard breaks."""

import dagster as dg
import pytest

from connectors.home import published_database
from connectors.registry import FEEDS
from orchestration.definitions import defs
from orchestration.defs.feeds import feed_gates, raw_feeds
from orchestration.defs.resources import LOGICAL_DATE_TAG, NightRun, WarehouseHome
from orchestration.demo import generate


def test_one_asset_per_feed_grouped_by_source_system():
    graph = defs.resolve_asset_graph()
    specs = {key.to_user_string(): graph.get(key) for key in graph.get_all_asset_keys()}
    assert {k for k in specs if k.startswith("raw/")} == {f"raw/{feed}" for feed in FEEDS}
    for feed, spec in FEEDS.items():
        node = specs[f"raw/{feed}"]
        assert node.group_name == spec.contract.source_system
        assert node.owners == [spec.contract.owner["contact"]]
    assert {"shopify", "amazon", "google_ads", "meta_ads", "finance"} <= {n.group_name for n in specs.values()}


def test_every_feed_has_its_blocking_gates_and_settlements_their_reconciliation():
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name): k for k in graph.asset_check_keys}
    for feed in FEEDS:
        for name in ("landing", "quarantine", "freshness", "completeness", "volume", "schema_drift", "expectations"):
            assert (f"raw/{feed}", name) in checks
    assert ("raw/amazon_settlements", "settlement_reconciliation") in checks
    assert ("raw/shopify_orders", "channel_coverage") in checks
    assert all(graph.get_check_spec(checks[(f"raw/{feed}", "freshness")]).blocking for feed in FEEDS)


def run_all(home, instance=None):
    """Land every feed through Dagster (the feed assets and their gates), as the run of 2026-11-01;
    a run without the publish asset lands and judges, and publishes nothing."""
    return dg.materialize([raw_feeds, feed_gates], tags={LOGICAL_DATE_TAG: "2026-11-01"}, instance=instance,
                          resources={"night_run": NightRun(root=str(home.root))}, raise_on_error=False)


def landing_lines(instance, result) -> list[str]:
    return [entry.user_message for entry in instance.all_logs(result.run_id)
            if entry.dagster_event is None and entry.step_key == "land_feeds_step"]


def evaluations(result):
    return {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}


@pytest.fixture
def demo_home(home):
    generate(home.root, days=60, orders_per_day=40)
    return home


def test_landing_the_demo_through_dagster_passes_every_check(demo_home):
    result = run_all(demo_home)
    assert result.success
    assert all(evaluations(result).values())
    landed = {m.asset_key.to_user_string(): m.metadata["rows_loaded"].value
              for m in result.get_asset_materialization_events() for m in [m.materialization]}
    assert len(landed) == len(FEEDS) and all(rows > 0 for rows in landed.values())
    assert not published_database(demo_home).exists()  # no publish asset in the run: nothing published


def test_the_run_log_names_each_file_landed_and_sums_up_those_landed_before(demo_home):
    with dg.DagsterInstance.ephemeral() as instance:
        first = run_all(demo_home, instance)
        again = run_all(demo_home, instance)  # landing/ keeps every file: all of them landed already
        first_lines, again_lines = landing_lines(instance, first), landing_lines(instance, again)
    files = sum(len(list(demo_home.landing(feed).iterdir())) for feed in FEEDS)
    assert len([line for line in first_lines if ": loaded " in line]) == files
    assert len(again_lines) == 1 and again_lines[0].startswith(f"{files} files already landed, left as they are: ")
    assert "shopify_orders " in again_lines[0]


def test_an_unbalanced_settlement_fails_the_blocking_reconciliation(demo_home):
    folder = demo_home.landing("amazon_settlements")
    path = sorted(folder.glob("settlement_*.txt"))[0]
    lines = path.read_text().splitlines()
    # change one component amount by a cent: the summary total no longer matches
    header = lines[0].split("\t")
    column = header.index("amount") if "amount" in header else header.index("price-amount")
    for i, line in enumerate(lines[2:], start=2):
        cells = line.split("\t")
        if cells[column]:
            cells[column] = f"{float(cells[column]) + 0.01:.2f}"
            lines[i] = "\t".join(cells)
            break
    path.write_text("\n".join(lines) + "\n")
    result = run_all(demo_home)
    assert evaluations(result)[("raw/amazon_settlements", "settlement_reconciliation")] is False
    assert not result.success  # blocking: the run fails


def test_a_rejected_file_in_landing_fails_its_feeds_check(demo_home):
    (demo_home.landing("shopify_orders") / "notes.csv").write_text("Name,Email\n#1,a@b.c\n")
    result = run_all(demo_home)
    checks = evaluations(result)
    assert checks[("raw/shopify_orders", "landing")] is False
    assert checks[("raw/meta_ads", "landing")] is True


def test_the_landing_sensor_asks_one_run_per_new_file(home, tmp_path):
    from connectors.lake import land_file
    from orchestration.definitions import land_feeds
    from orchestration.defs.automation import landing_sensor
    from tests.connectors.test_shopify import order_rows, write_csv

    sensor = landing_sensor(land_feeds)
    home.landing("shopify_orders").mkdir(parents=True)
    first = write_csv(home.landing("shopify_orders") / "a.csv", order_rows())
    rows = order_rows()
    rows[0]["Name"] = "#2002"
    second = write_csv(home.landing("shopify_orders") / "b.csv", rows)
    resources = {"warehouse": WarehouseHome(root=str(home.root))}
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources=resources)
        requests = list(sensor(context))
        assert len(requests) == 2 and len({r.run_key for r in requests}) == 2
        assert all(r.run_key.startswith("shopify_orders:") for r in requests)
        assert {r.tags["cwh/file"] for r in requests} == {first.name, second.name}
        land_file(home, "shopify_orders", first)  # once landed, a file asks for no more runs
        context = dg.build_sensor_context(instance=instance, resources=resources)
        assert [r.tags["cwh/file"] for r in sensor(context)] == [second.name]


def test_the_nightly_schedule_runs_at_two_local_time_for_the_local_day(home, monkeypatch):
    """One setting (docs/metrics.md "Reporting day"): CWH_TIMEZONE places the schedule and makes the
    night's logical date a local day. 02:00 in Tokyo is 17:00 UTC of the day before: the logical date is
    Tokyo's day, not UTC's."""
    from datetime import UTC, datetime

    from orchestration.definitions import nightly
    from orchestration.defs.automation import nightly_schedule

    monkeypatch.setenv("CWH_TIMEZONE", "Asia/Tokyo")
    schedule = nightly_schedule(nightly)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "Asia/Tokyo")
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance,
                                            scheduled_execution_time=datetime(2026, 11, 1, 17, 0, tzinfo=UTC))
        [request] = schedule.evaluate_tick(context).run_requests
    assert request.tags[LOGICAL_DATE_TAG] == "2026-11-02" and request.run_key == "2026-11-02"
