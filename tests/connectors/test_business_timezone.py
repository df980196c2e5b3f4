"""The business time zone setting (docs/metrics.md "Reporting day") and the per-feed zone of date-times
written without an offset (the `timezone` fact of config/feed_options.yml or `cwh ingest --timezone`)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from connectors.facts import FactError, check_facts
from connectors.home import TimezoneError, business_timezone
from connectors.registry import parse
from connectors.values import parse_local_timestamps
from tests.connectors.test_shopify import order_rows, write_csv

NEW_YORK = "America/New_York"


def test_default_is_utc(home, monkeypatch):
    monkeypatch.delenv("CWH_TIMEZONE", raising=False)
    assert business_timezone(home) == "UTC"


def test_home_settings_file_then_environment(home, monkeypatch):
    monkeypatch.delenv("CWH_TIMEZONE", raising=False)
    (home.root / "config").mkdir()
    home.settings_file.write_text(f"timezone: {NEW_YORK}\n")
    assert business_timezone(home) == NEW_YORK
    monkeypatch.setenv("CWH_TIMEZONE", "Europe/Berlin")  # the environment wins: one setting, two places
    assert business_timezone(home) == "Europe/Berlin"


@pytest.mark.parametrize("name", ["EST5", "New York", "Pacific", "Mars/Olympus", "../../etc/passwd",
                                  "America/New_York'"])
def test_a_name_that_is_no_iana_zone_says_what_to_write(home, monkeypatch, name):
    monkeypatch.setenv("CWH_TIMEZONE", name)
    with pytest.raises(TimezoneError, match=r"not an IANA time zone name: write one like America/New_York"):
        business_timezone(home)


def test_the_settings_file_is_named_in_the_error(home, monkeypatch):
    monkeypatch.delenv("CWH_TIMEZONE", raising=False)
    (home.root / "config").mkdir()
    home.settings_file.write_text("timezone: Eastern\n")
    with pytest.raises(TimezoneError, match="settings.yml"):
        business_timezone(home)


def test_local_times_without_offset_are_read_in_the_feeds_zone():
    """Across the end of US daylight saving time (2026-11-01 02:00 EDT → 01:00 EST)."""
    texts = pl.Series("t", ["2026-10-31 21:00:00", "2026-11-01 01:30:00", "2026-11-01 12:00:00",
                            "2026-10-31 21:00:00 +0000", "2026-10-31T21:00:00Z", "2026-10-31 21:00:00 PST",
                            "2026-03-08 02:30:00", None])
    assert parse_local_timestamps(texts, NEW_YORK).to_list() == [
        datetime(2026, 11, 1, 1, 0, tzinfo=UTC),  # 21:00 EDT, next UTC day
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # 01:30 happens twice: the first (EDT)
        datetime(2026, 11, 1, 17, 0, tzinfo=UTC),  # noon EST
        datetime(2026, 10, 31, 21, 0, tzinfo=UTC),  # an offset is an instant as it says
        datetime(2026, 10, 31, 21, 0, tzinfo=UTC),
        datetime(2026, 11, 1, 5, 0, tzinfo=UTC),
        None,  # 02:30 on the day DST starts does not exist: unreadable (quarantined)
        None]


def test_a_feed_zone_moves_a_files_naive_times(tmp_path):
    rows = order_rows()
    for row in rows:
        for column in ("Created at", "Paid at", "Fulfilled at"):
            if row.get(column):
                row[column] = row[column].removesuffix(" -0400")  # a vendor writing local times, no offset
    path = write_csv(tmp_path / "orders.csv", rows)
    as_utc = parse("shopify_orders", path).frame
    as_local = parse("shopify_orders", path, {"timezone": NEW_YORK}).frame
    assert as_utc["created_at"][0] == datetime(2026, 5, 4, 10, 22, 33, tzinfo=UTC)  # no zone said: UTC
    assert as_local["created_at"][0] == datetime(2026, 5, 4, 14, 22, 33, tzinfo=UTC)  # 10:22:33 EDT


def test_the_feed_zone_is_a_checked_fact():
    assert check_facts({"timezone": " America/Los_Angeles "}) == {"timezone": "America/Los_Angeles"}
    with pytest.raises(FactError, match="IANA"):
        check_facts({"timezone": "Pacific"}, "from config/feed_options.yml")


def test_freshness_is_judged_at_the_local_midnight_of_the_logical_date(home, tmp_path, monkeypatch):
    """A New York business: the night of May 5 judges the feeds at May 5 00:00 EDT (04:00 UTC)."""
    from datetime import date

    from connectors.contracts import load_contracts
    from connectors.lake import land_file
    from orchestration.pipeline.gates.sla import freshness

    monkeypatch.delenv("CWH_TIMEZONE", raising=False)
    (home.root / "config").mkdir()
    home.settings_file.write_text(f"timezone: {NEW_YORK}\n")
    assert land_file(home, "shopify_orders", write_csv(tmp_path / "orders.csv", order_rows())).status == "loaded"
    result = freshness(home, load_contracts()["shopify_orders"], date(2026, 5, 5))
    # newest Created at 2026-05-04 10:22:33 -0400 = 14:22:33 UTC; the edge 2026-05-05 04:00 UTC
    assert result.metadata["event_lag_hours"] == pytest.approx(13.6, abs=0.05)
    assert "at 2026-05-05 00:00 America/New_York" in result.detail
