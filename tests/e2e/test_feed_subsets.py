"""A brand's own feeds, not ours: a home that switches off the feeds it does not have publishes its
P&L (docs/gates.md#the-brands-feeds-switching-one-off).

The full demo is generated (every feed's files in landing/), the feeds the brand lacks are switched
off with `cwh feeds disable`, and the nightly run of 2026-11-01 runs. It must publish; the disabled
feeds' files must wait in landing/ unlanded, their checks, status and the readback say "disabled";
the P&L of the channels the enabled feeds carry equals the generator's truth on every line those
feeds feed (the truth of the other lines includes costs of feeds the brand switched off, so those
lines are zero, never null).
"""

from __future__ import annotations

import re
import shutil
from datetime import date
from decimal import Decimal

import duckdb
import pytest
from typer.testing import CliRunner

from connectors.feed_switches import all_feeds, disabled_feeds
from connectors.home import Home, published_database
from connectors.lake import landing_files, ledger_records
from orchestration.cli import app
from orchestration.demo import generate
from orchestration.launch import nightly_run
from tests.e2e.test_pnl_truth import LINES, ZERO, month_of, rolled_up, truth_daily

NOV_1 = date(2026, 11, 1)
SHOPIFY_ONLY = ("shopify_orders", "shopify_payments", "fx_rates", "cogs")
AMAZON_ONLY = ("amazon_orders", "amazon_settlements", "amazon_returns", "amazon_ads", "fx_rates", "cogs")
# a cost line of a switched-off feed, and the subtotals below it (docs/metrics.md): the truth books the
# cost, the brand's warehouse cannot, so its subtotals are higher by exactly that cost
SUBTOTALS_BELOW = {
    "fulfillment_costs": ("cm2", "cm3", "contribution_after_opex"),
    "marketing_spend": ("cm3", "contribution_after_opex"),
    "operating_costs": ("contribution_after_opex",),
}


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("feed_subsets") / "demo"
    generate(root, days=60, orders_per_day=40)
    return root


def brand_home(demo_root, tmp_path, monkeypatch, keep: tuple[str, ...]) -> Home:
    """A copy of the demo home with every feed but `keep` switched off by the command line."""
    home = Home(tmp_path / "home")
    shutil.copytree(demo_root, home.root)
    monkeypatch.setenv("CWH_HOME", str(home.root))
    # the feeds that need others (orders before their fees and costs) first: cwh refuses the reverse
    for feed in sorted(set(all_feeds()) - set(keep), key=lambda f: f not in ("amazon_orders", "shopify_orders")):
        result = CliRunner().invoke(app, ["feeds", "disable", feed])
        assert result.exit_code == 0, result.output
    assert disabled_feeds(home) == sorted(set(all_feeds()) - set(keep))
    assert "pinterest_ads: {currency: USD" in home.feed_options_file.read_text()  # its fact kept
    return home


def published_pnl(home: Home) -> dict[tuple[str, date], dict[str, Decimal | None]]:
    with duckdb.connect(str(published_database(home)), read_only=True) as con:
        rows = con.execute(f"select channel, month, {', '.join(LINES)} from marts.channel_pnl_monthly").fetchall()
    return {(channel, month): dict(zip(LINES, values, strict=True)) for channel, month, *values in rows}


def assert_published_without_the_disabled_feeds(home: Home, report) -> None:
    off = disabled_feeds(home)
    assert report.published, [f"{c.feed} {c.check}: {c.detail}" for c in report.blocking_failures]
    for feed in off:
        assert landing_files(home, feed), f"the demo wrote files for {feed}"  # they wait, unlanded
        assert not list(ledger_records(home, feed)), f"{feed} is disabled but was landed"
    checks = [c for c in report.checks if c.feed in off]
    assert checks and all(c.status == "ok" and "disabled" in c.detail for c in checks
                          if c.check != "channel_coverage"), [(c.feed, c.check, c.detail) for c in checks]
    with duckdb.connect(str(published_database(home)), read_only=True) as con:
        states = dict(con.execute("select feed, state from ops.feed_sla_status").fetchall())
    assert {feed for feed, state in states.items() if state == "disabled"} == set(off)
    # the readback the publish wrote says so too: its feed SLA table (feed, owner, state, …)
    page = (home.root / "outputs" / "readback_latest.html").read_text()
    sla_table = page[page.index("<h2>Feed SLA status</h2>"):]
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", sla_table, re.S)]
    assert {cells[0] for cells in rows if len(cells) > 2 and cells[2] == "disabled"} == set(off)


def truth_without(home: Home, channels: set[str], costs_of_disabled_feeds: tuple[str, ...]):
    """The generator's monthly truth of `channels` as a brand without some feeds books it: their cost
    lines zero, the subtotals below each one higher by that cost."""
    expected = {}
    for key, values in rolled_up(truth_daily(home), month_of).items():
        if key[0] not in channels or key[1] >= NOV_1:
            continue
        values = dict(values)
        for line in costs_of_disabled_feeds:
            for subtotal in SUBTOTALS_BELOW[line]:
                values[subtotal] += values[line]
            values[line] = ZERO
        expected[key] = values
    return expected


def assert_pnl_matches_truth_for(home: Home, channels: set[str], costs_of_disabled_feeds: tuple[str, ...]) -> None:
    """Every line of the channels the enabled feeds carry equals the truth without the disabled
    feeds' costs, to the cent; no P&L value is null; other channels sell nothing."""
    expected, pnl = truth_without(home, channels, costs_of_disabled_feeds), published_pnl(home)
    assert set(expected) <= set(pnl), f"channel-months of the truth missing: {set(expected) - set(pnl)}"
    differ = [f"{channel} {month} {line}: truth {expected.get((channel, month), {}).get(line, ZERO)} "
              f"warehouse {values[line]}"
              for (channel, month), values in sorted(pnl.items()) if channel in channels for line in LINES
              if values[line] != expected.get((channel, month), {}).get(line, ZERO)]
    assert not differ, f"{len(differ)} P&L values differ:\n" + "\n".join(differ[:30])
    nulls = [(key, line) for key, values in pnl.items() for line in LINES if values[line] is None]
    assert not nulls, f"null P&L values (zeros expected): {nulls[:10]}"
    for line in costs_of_disabled_feeds:
        assert all(values[line] == ZERO for values in pnl.values()), line
    sold_elsewhere = {key: values["gross_sales"] for key, values in pnl.items()
                      if key[0] not in channels and values["gross_sales"] != ZERO}
    assert not sold_elsewhere, sold_elsewhere
    assert sum(values["net_revenue"] for key, values in pnl.items() if key[0] in channels) > 0


def test_a_shopify_only_brand_publishes_a_correct_pnl(demo_root, tmp_path, monkeypatch):
    """Shopify orders + Shopify Payments + FX + product costs: nothing else."""
    home = brand_home(demo_root, tmp_path, monkeypatch, SHOPIFY_ONLY)
    report = nightly_run(home, NOV_1)
    assert_published_without_the_disabled_feeds(home, report)
    # no 3PL, no ads, no operating costs: those lines are the brand's unknowns, zero
    assert_pnl_matches_truth_for(home, {"shopify_web", "shopify_pos"},
                                 ("fulfillment_costs", "marketing_spend", "operating_costs"))


def test_an_amazon_only_brand_publishes_a_correct_pnl(demo_root, tmp_path, monkeypatch):
    """Amazon orders, settlements, returns and ads + FX + product costs: no Shopify at all."""
    home = brand_home(demo_root, tmp_path, monkeypatch, AMAZON_ONLY)
    report = nightly_run(home, NOV_1)
    assert_published_without_the_disabled_feeds(home, report)
    # FBA fees come with the settlements, ads with Amazon Ads: only operating costs are unknown
    assert_pnl_matches_truth_for(home, {"amazon_us", "amazon_ca"}, ("operating_costs",))
