"""`cwh build` after a nightly run: the build database rebuilt whole from the landed files, every
test passing, and the P&L it prints read from that build — compared with the demo generator's truth.

The run closes 2026-10-30 while the files hold events through 2026-10-31: its build stops at the
30th (and publishes September as the last full month); `cwh build` builds every landed day, so
October is complete in the build database and is the month it prints.
"""

from __future__ import annotations

from datetime import date

import duckdb
from typer.testing import CliRunner

from connectors.home import build_database, published_database
from orchestration.cli import app
from orchestration.demo import generate
from tests.e2e.test_pnl_truth import assert_matches, month_of, rolled_up, truth_daily, warehouse

runner = CliRunner()
OCTOBER = date(2026, 10, 1)


def latest_order_day(database) -> date:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute("select max(order_date) from marts.fct_order_lines").fetchone()[0]


def test_cwh_build_after_a_run_builds_every_landed_day_and_prints_the_built_pnl(home):
    generate(home.root, days=60, orders_per_day=40, end=date(2026, 10, 31))
    night = runner.invoke(app, ["run", "--date", "2026-10-31"])
    assert night.exit_code == 0, night.output
    assert latest_order_day(published_database(home)) == date(2026, 10, 30)  # the run's window

    built = runner.invoke(app, ["build"])

    assert built.exit_code == 0, built.output
    assert latest_order_day(build_database(home)) == date(2026, 10, 31)
    truth = rolled_up(truth_daily(home), month_of)
    assert_matches(truth, warehouse(home, "channel_pnl_monthly", "month"))
    # the P&L printed is October's from the build, not September's from the published file
    assert "Channel P&L, October 2026" in built.output
    assert str(build_database(home)) in built.output.replace("\n", "")
    for (channel, month), lines in truth.items():
        if month == OCTOBER and lines["net_revenue"]:
            assert f"{lines['net_revenue']:,.2f}" in built.output, channel


def test_the_next_run_carries_on_from_a_cwh_build(home):
    """After `cwh build` (which records what it built, as a night does), the next night builds
    incrementally on top of it and publishes the truth."""
    generate(home.root, days=60, orders_per_day=40, end=date(2026, 10, 31))
    assert runner.invoke(app, ["ingest", "--all"]).exit_code == 0
    built = runner.invoke(app, ["build", "--date", "2026-10-31"])
    assert built.exit_code == 0, built.output
    assert latest_order_day(build_database(home)) == date(2026, 10, 30)

    night = runner.invoke(app, ["run", "--date", "2026-11-01"])

    assert night.exit_code == 0, night.output
    assert "published" in night.output
    assert latest_order_day(published_database(home)) == date(2026, 10, 31)
    assert_matches(rolled_up(truth_daily(home), month_of), warehouse(home, "channel_pnl_monthly", "month"))
