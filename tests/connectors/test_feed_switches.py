"""Feeds switch on and off in config/feed_options.yml (connectors/feed_switches.py): the file is
edited in place, other options and comments kept; needed feeds are not switched off."""

from __future__ import annotations

import pytest
import yaml

from connectors.feed_switches import (
    FeedSwitchError,
    disabled_feeds,
    edit_switch,
    enabled_feeds,
    is_enabled,
    needed_by,
    set_enabled,
)
from connectors.home import Home

DEMO_FILE = ("# Pinterest exports carry no currency column: spend is in the ad account's currency,\n"
             "# declared here (written by the demo data generator).\n"
             "pinterest_ads: {currency: USD}  # the ad account's\n"
             "sessions:\n"
             "  # GA4 property of the web shop\n"
             "  channel: shopify_web\n"
             "\n"
             "amazon_ads: {currency: CAD}\n")


@pytest.fixture
def home(tmp_path) -> Home:
    home = Home(tmp_path)
    home.feed_options_file.parent.mkdir(parents=True)
    home.feed_options_file.write_text(DEMO_FILE)
    return home


def test_every_feed_is_on_without_a_file(tmp_path):
    home = Home(tmp_path)
    assert disabled_feeds(home) == []
    assert "pinterest_ads" in enabled_feeds(home) and len(enabled_feeds(home)) == 17


def test_disabling_a_flow_entry_keeps_its_facts_and_every_comment(home):
    assert set_enabled(home, "pinterest_ads", False)
    text = home.feed_options_file.read_text()
    assert "pinterest_ads: {currency: USD, enabled: false}  # the ad account's\n" in text
    assert text.replace("pinterest_ads: {currency: USD, enabled: false}", "pinterest_ads: {currency: USD}") == DEMO_FILE
    assert disabled_feeds(home) == ["pinterest_ads"] and not is_enabled(home, "pinterest_ads")
    assert home.feed_options("pinterest_ads") == {"currency": "USD"}  # the switch is not a landing fact
    assert not set_enabled(home, "pinterest_ads", False)  # already off: the file is not touched
    assert set_enabled(home, "pinterest_ads", True)
    assert home.feed_options_file.read_text() == DEMO_FILE  # back to the file as it was


def test_disabling_a_block_entry_adds_a_line_at_its_indent(home):
    set_enabled(home, "sessions", False)
    text = home.feed_options_file.read_text()
    assert "sessions:\n  # GA4 property of the web shop\n  channel: shopify_web\n  enabled: false\n\namazon_ads" in text
    assert yaml.safe_load(text)["sessions"] == {"channel": "shopify_web", "enabled": False}
    set_enabled(home, "sessions", True)
    assert home.feed_options_file.read_text() == DEMO_FILE


def test_a_feed_not_in_the_file_gets_its_own_line_and_loses_it_when_enabled(home):
    set_enabled(home, "wholesale_invoices", False)
    set_enabled(home, "threepl_billing", False)
    text = home.feed_options_file.read_text()
    assert text == DEMO_FILE + "wholesale_invoices: {enabled: false}\nthreepl_billing: {enabled: false}\n"
    assert disabled_feeds(home) == ["threepl_billing", "wholesale_invoices"]
    set_enabled(home, "wholesale_invoices", True)
    set_enabled(home, "threepl_billing", True)
    assert home.feed_options_file.read_text() == DEMO_FILE


def test_a_missing_file_is_created(tmp_path):
    home = Home(tmp_path)
    set_enabled(home, "pinterest_ads", False)
    assert home.feed_options_file.read_text() == "pinterest_ads: {enabled: false}\n"


def test_hand_written_switches_are_read_as_yaml_means_them(home):
    home.feed_options_file.write_text("meta_ads: {enabled: no}\ngoogle_ads:\n  enabled: off\n"
                                      "pinterest_ads: {enabled: true}\nnot_a_feed: {enabled: false}\n")
    assert disabled_feeds(home) == ["google_ads", "meta_ads"]
    set_enabled(home, "google_ads", True)
    assert yaml.safe_load(home.feed_options_file.read_text()) == {
        "meta_ads": {"enabled": False}, "pinterest_ads": {"enabled": True}, "not_a_feed": {"enabled": False}}


def test_a_layout_the_line_editor_does_not_know_is_rewritten_from_its_values():
    text = "? pinterest_ads\n: {currency: USD}\n"  # an explicit key: valid YAML, unusual
    assert yaml.safe_load(edit_switch(text, "pinterest_ads", False)) == {
        "pinterest_ads": {"currency": "USD", "enabled": False}}


def test_a_needed_feed_is_not_switched_off_while_a_feed_needing_it_is_on(home):
    with pytest.raises(FeedSwitchError, match="cogs is needed by shopify_orders, amazon_orders, wholesale_invoices"):
        set_enabled(home, "cogs", False)
    with pytest.raises(FeedSwitchError, match="disable amazon_orders first"):
        set_enabled(home, "amazon_settlements", False)
    set_enabled(home, "amazon_orders", False)
    set_enabled(home, "amazon_settlements", False)  # nothing needs it any more
    assert needed_by(home, "cogs") == ["shopify_orders", "wholesale_invoices"]
    assert disabled_feeds(home) == ["amazon_orders", "amazon_settlements"]


def test_an_unknown_feed_is_refused(home):
    with pytest.raises(FeedSwitchError, match="unknown feed 'shopfy'"):
        set_enabled(home, "shopfy", False)
    assert home.feed_options_file.read_text() == DEMO_FILE
