"""When a settlement replaces a month's accrued fees by the actuals, the change is a restatement that
says so (docs/metrics.md "Accrued fees"): the accrued lines fall, the fee lines and margins move, and
every row names the reason. Two hand-made P&L snapshots, no dbt: seconds."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb

from connectors.lake import Home
from orchestration.pipeline.restatements import ACCRUAL_REASON, LINES, restatement_rows

OCTOBER = date(2026, 10, 1)


def _pnl(path, values: dict[str, str]) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        columns = ", ".join(f"{line} decimal(18, 2)" for line in LINES)
        con.execute(f"create table marts.channel_pnl_monthly (channel varchar, month date, {columns})")
        row = [values.get(line, "0.00") for line in LINES]
        con.execute(f"insert into marts.channel_pnl_monthly values ('amazon_us', ?, {', '.join('?' * len(LINES))})",
                    [OCTOBER, *row])
        con.execute("create table main.publish_log (run_id varchar, logical_date date, published_at timestamptz)")
        con.execute("insert into main.publish_log values ('night-1', ?, ?)",
                    [date(2026, 11, 2), datetime(2026, 11, 2, 6, tzinfo=UTC)])


def test_an_accrual_replaced_by_its_settlement_is_a_restatement_with_that_reason(tmp_path):
    provisional = {"marketplace_fees": "2600.00", "accrued_marketplace_fees": "300.00",
                   "fulfillment_costs": "1400.00", "accrued_fulfillment_costs": "180.00",
                   "cm2": "9000.00", "cm3": "7000.00", "contribution_after_opex": "5000.00"}
    # the settlement brought 297.50 of marketplace and 181.00 of fulfilment fees for those items
    settled = {"marketplace_fees": "2597.50", "accrued_marketplace_fees": "0.00",
               "fulfillment_costs": "1401.00", "accrued_fulfillment_costs": "0.00",
               "cm2": "9001.50", "cm3": "7001.50", "contribution_after_opex": "5001.50"}
    _pnl(tmp_path / "prev.duckdb", provisional)
    _pnl(tmp_path / "build.duckdb", settled)
    home = Home(tmp_path / "home")
    with duckdb.connect(":memory:") as con:
        con.execute(f"attach '{tmp_path / 'prev.duckdb'}' as prev (read_only)")
        con.execute(f"attach '{tmp_path / 'build.duckdb'}' as build (read_only)")
        rows = restatement_rows(home, con, "night-2", date(2026, 11, 3))
    changed = {row[5]: (row[6], row[7], row[8]) for row in rows}
    assert changed == {
        "marketplace_fees": (Decimal("2600.00"), Decimal("2597.50"), Decimal("-2.50")),
        "accrued_marketplace_fees": (Decimal("300.00"), Decimal("0.00"), Decimal("-300.00")),
        "fulfillment_costs": (Decimal("1400.00"), Decimal("1401.00"), Decimal("1.00")),
        "accrued_fulfillment_costs": (Decimal("180.00"), Decimal("0.00"), Decimal("-180.00")),
        "cm2": (Decimal("9000.00"), Decimal("9001.50"), Decimal("1.50")),
        "cm3": (Decimal("7000.00"), Decimal("7001.50"), Decimal("1.50")),
        "contribution_after_opex": (Decimal("5000.00"), Decimal("5001.50"), Decimal("1.50")),
    }
    assert all(row[3:5] == ("amazon_us", OCTOBER) for row in rows)
    assert all(row[11].startswith(ACCRUAL_REASON) for row in rows), rows[0][11]


def test_a_month_whose_accruals_did_not_fall_names_no_settlement(tmp_path):
    before = {"marketplace_fees": "2600.00", "accrued_marketplace_fees": "300.00"}
    after = {"marketplace_fees": "2610.00", "accrued_marketplace_fees": "310.00"}  # rates moved: still accrued
    _pnl(tmp_path / "prev.duckdb", before)
    _pnl(tmp_path / "build.duckdb", after)
    with duckdb.connect(":memory:") as con:
        con.execute(f"attach '{tmp_path / 'prev.duckdb'}' as prev (read_only)")
        con.execute(f"attach '{tmp_path / 'build.duckdb'}' as build (read_only)")
        rows = restatement_rows(Home(tmp_path / "home"), con, "night-2", date(2026, 11, 3))
    assert {row[5] for row in rows} == {"marketplace_fees", "accrued_marketplace_fees"}
    assert not any(row[11].startswith(ACCRUAL_REASON) for row in rows)
