"""The reporting day is the business's local day (docs/metrics.md "Reporting day").

A demo shop on New York time, over a window that crosses a month end (October 31) and the end of US
daylight saving time (November 1, 2026: UTC-4 before, UTC-5 after): orders placed in the local
evening fall on the next UTC day, some on the next UTC month. The daily and monthly P&L the warehouse
builds equal the generator's truth, booked on local days, to the cent; and the orders whose UTC day
differs from their local day are found in the files (so the comparison would catch UTC days).
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from zoneinfo import ZoneInfo

import duckdb
import pytest

from connectors.home import build_database, business_timezone
from connectors.lake import Home, land_all
from orchestration.demo import generate
from orchestration.pipeline.dbt import failures, run_dbt
from tests.e2e.test_pnl_truth import assert_matches, monday_of, month_of, rolled_up, truth_daily, warehouse

ZONE = "America/New_York"
END = date(2026, 11, 10)  # 20 days: 2026-10-22 .. 2026-11-10
UTC_ZONE = ZoneInfo("UTC")


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    home = Home(tmp_path_factory.mktemp("local_days"))
    generate(home.root, days=20, orders_per_day=40, end=END, timezone=ZONE)
    land_all(home)
    result = run_dbt(home, "build")
    assert result.success, failures(result)
    return home


def _shopify_orders(home: Home) -> dict[str, datetime]:
    """Order name → Created at (an instant with the shop's offset), from the landing files."""
    created = {}
    for path in sorted((home.root / "landing" / "shopify_orders").glob("*.csv")):
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                if row["Created at"]:
                    created[row["Name"]] = datetime.strptime(row["Created at"], "%Y-%m-%d %H:%M:%S %z")
    return created


def test_the_demo_home_states_its_time_zone(home):
    assert business_timezone(home) == ZONE


def test_orders_change_utc_day_and_month_around_local_midnight(home):
    """The data exercise the conversion: evening orders on both sides of the DST change fall on the
    next UTC day, and some of October 31's on November's UTC first."""
    moved = [t for t in _shopify_orders(home).values() if t.astimezone(UTC_ZONE).date() != t.date()]
    offsets = {t.utcoffset().total_seconds() / 3600 for t in moved}
    assert offsets == {-4.0, -5.0}, offsets  # daylight time before Nov 1, standard time after
    month_end = [t for t in moved if t.date() == date(2026, 10, 31)]
    assert month_end and all(t.astimezone(UTC_ZONE).date() == date(2026, 11, 1) for t in month_end)


def test_an_order_after_utc_midnight_is_on_its_local_day(home):
    """October 31 in the New York evening is November 1 in UTC: the order is booked on October 31."""
    name = next(n for n, t in sorted(_shopify_orders(home).items())
                if t.date() == date(2026, 10, 31) and t.astimezone(UTC_ZONE).date() == date(2026, 11, 1))
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        days = con.execute("select distinct order_date from intermediate.int_order_lines where order_id = ?",
                           [name]).fetchall()
    assert days == [(date(2026, 10, 31),)]


def test_daily_pnl_equals_truth_on_local_days(home):
    daily = warehouse(home, "channel_pnl_daily", "date")
    assert_matches(truth_daily(home), daily)
    assert {date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)} <= {day for _channel, day in daily}


def test_monthly_and_weekly_pnl_equal_truth_across_the_month_end(home):
    truth = truth_daily(home)
    assert_matches(rolled_up(truth, month_of), warehouse(home, "channel_pnl_monthly", "month"))
    assert_matches(rolled_up(truth, monday_of), warehouse(home, "channel_pnl_weekly", "week_start"))
