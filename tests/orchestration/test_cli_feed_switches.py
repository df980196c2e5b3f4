"""`cwh feeds enable|disable FEED`: the switch in config/feed_options.yml, what cwh feeds and cwh
ingest say of a disabled feed, and the refusals (docs/gates.md#the-brands-feeds-switching-one-off)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from connectors.home import Home
from orchestration.cli import app

runner = CliRunner()


@pytest.fixture
def home(tmp_path, monkeypatch) -> Home:
    monkeypatch.setenv("CWH_HOME", str(tmp_path))
    return Home(tmp_path)


def _plain(output: str) -> str:
    return " ".join(re.sub(r"[│╭╮╰╯─┃━┏┓┗┛┡┩╇╈┳┻]", " ", output).split())


def test_disable_and_enable_edit_the_file_and_cwh_feeds_shows_the_switch(home):
    home.feed_options_file.parent.mkdir(parents=True)
    home.feed_options_file.write_text("# ours\npinterest_ads: {currency: USD}\n")
    result = runner.invoke(app, ["feeds", "disable", "pinterest_ads"])
    assert result.exit_code == 0, result.output
    assert "pinterest_ads disabled" in _plain(result.output)
    assert home.feed_options_file.read_text() == "# ours\npinterest_ads: {currency: USD, enabled: false}\n"
    listing = runner.invoke(app, ["feeds"])
    rows = dict(re.findall(r"│ (\w+)\s+│ (yes|off)\s+│", listing.output))
    assert rows["pinterest_ads"] == "off" and rows["meta_ads"] == "yes" and len(rows) == 17
    assert "disabled (" in listing.output and "pinterest_ads: no gates" in _plain(listing.output)
    assert "is disabled in" in _plain(runner.invoke(app, ["feeds", "pinterest_ads"]).output)
    again = runner.invoke(app, ["feeds", "pinterest_ads", "--disable"])
    assert again.exit_code == 0 and "already disabled" in again.output
    assert runner.invoke(app, ["feeds", "enable", "pinterest_ads"]).exit_code == 0
    assert home.feed_options_file.read_text() == "# ours\npinterest_ads: {currency: USD}\n"


def test_a_disabled_feed_is_not_ingested(home, tmp_path):
    runner.invoke(app, ["feeds", "disable", "meta_ads"])
    export = tmp_path / "meta.csv"
    export.write_text("Day,Campaign name,Amount spent (USD)\n2026-10-01,x,1\n")
    result = runner.invoke(app, ["ingest", "meta_ads", str(export)])
    assert result.exit_code == 1
    assert "nothing landed" in result.output and "cwh feeds enable meta_ads" in _plain(result.output)
    assert not (home.root / "lake" / "ledger" / "meta_ads").exists()


@pytest.mark.parametrize(("args", "code", "message"), [
    (["feeds", "disable", "cogs"], 1, "cogs is needed by shopify_orders, amazon_orders, wholesale_invoices"),
    (["feeds", "disable", "shopfy"], 2, "unknown feed 'shopfy'; did you mean shopify_orders"),
    (["feeds", "enable"], 2, "name one feed and one switch"),
    (["feeds", "meta_ads", "--enable", "--disable"], 2, "name one feed and one switch"),
])
def test_a_switch_that_cannot_be_made_says_why_and_changes_nothing(home, args, code, message):
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert message in _plain(result.output) and "Traceback" not in result.output
    assert not home.feed_options_file.exists()
