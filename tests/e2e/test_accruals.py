"""Accrued Amazon fees and period status against the demo generator's truth (docs/metrics.md
"Accrued fees").

The generator knows the real fees of every item it sold, settled or not: `fees_unsettled.csv` lists
each item no written settlement holds yet, with the accrual its rule gives and the fees a settlement
would bring. A full build must accrue exactly those items, to the cent, within the documented
tolerance of the real fees. Then the demo's lake is replayed night by night (the settlements arrive
whole, on their last posting day: tests/e2e/test_incremental.py) and September goes open →
provisional → closed: its accruals stay until the settlement holding its last items lands, and
that night they are gone and the month's fee lines equal the truth, which books only actual fees
there.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import duckdb
import pytest
from typer.testing import CliRunner

from connectors.home import build_database
from connectors.lake import Home, land_all
from orchestration.cli import app
from orchestration.demo import generate
from orchestration.pipeline.dbt import failures, run_dbt
from tests.e2e.test_incremental import build_night, replay_until

SEPTEMBER = date(2026, 9, 1)
OCTOBER = date(2026, 10, 1)
TOTAL_TOLERANCE = Decimal("0.02")  # docs/metrics.md: a channel's accrued total within 2% of the actuals
LINES = ("marketplace_fees", "fulfillment_costs")


def query(home: Home, sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def unsettled_truth(home: Home) -> list[dict]:
    with (home.root / "demo" / "truth" / "fees_unsettled.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def pnl_truth(home: Home, month: date) -> dict[str, dict[str, Decimal]]:
    """The truth's P&L of `month` per channel (pnl_daily.csv summed)."""
    sums: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    with (home.root / "demo" / "truth" / "pnl_daily.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if date.fromisoformat(row["date"]).replace(day=1) == month:
                for line, value in row.items():
                    if line not in ("channel", "date"):
                        sums[row["channel"]][line] += Decimal(value)
    return sums


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Home:
    home = Home(tmp_path_factory.mktemp("accruals_source"))
    generate(home.root, days=60, orders_per_day=30)
    land_all(home)
    result = run_dbt(home, "build")
    assert result.success, failures(result)
    return home


def test_every_unsettled_item_is_accrued_as_the_truth_says(source):
    truth = unsettled_truth(source)
    assert {r["channel"] for r in truth} == {"amazon_us", "amazon_ca"}
    expected = {}
    for r in truth:
        for line in LINES:
            expected[(r["order_id"], r["sku"], line)] = (Decimal(r[f"accrued_{line}"]),
                                                         Decimal(r[f"accrued_{line}_usd"]))
    got = {(order_id, sku, line): (amount, amount_rc) for order_id, sku, line, amount, amount_rc in query(source, """
        select a.order_id, a.sku, a.pnl_line, a.amount, a.amount_rc
        from intermediate.int_fee_accruals as a
        join marts.fct_fees as f on f.fee_line_id = a.fee_line_id and f.is_accrued""")}
    assert got == expected


def test_accruals_are_within_the_tolerance_of_the_fees_the_settlement_brings(source):
    accrued, actual = defaultdict(Decimal), defaultdict(Decimal)
    for r in unsettled_truth(source):
        for line in LINES:
            accrued[(r["channel"], line)] += Decimal(r[f"accrued_{line}"])
            actual[(r["channel"], line)] += Decimal(r[f"actual_{line}"])
    for key, real in actual.items():
        assert real > 0, key
        assert abs(accrued[key] - real) <= TOTAL_TOLERANCE * real, (key, accrued[key], real)


def test_the_pnl_carries_the_accrued_part_and_the_month_status(source):
    rows = {(c, m): rest for c, m, *rest in query(source, """
        select channel, month, marketplace_fees, accrued_marketplace_fees, fulfillment_costs,
               accrued_fulfillment_costs, period_status
        from marts.channel_pnl_monthly""")}
    usd = defaultdict(Decimal)
    for r in unsettled_truth(source):
        if date.fromisoformat(r["order_date"]).replace(day=1) == OCTOBER:
            usd[(r["channel"], "marketplace_fees")] += Decimal(r["accrued_marketplace_fees_usd"])
            usd[(r["channel"], "fulfillment_costs")] += Decimal(r["accrued_fulfillment_costs_usd"])
    for channel in ("amazon_us", "amazon_ca"):
        fees, accrued_fees, fulfilment, accrued_fulfilment, status = rows[(channel, OCTOBER)]
        assert (accrued_fees, accrued_fulfilment) == (usd[(channel, "marketplace_fees")],
                                                      usd[(channel, "fulfillment_costs")])
        assert 0 < accrued_fees < fees and 0 < accrued_fulfilment < fulfilment
        assert status == "provisional"  # settlements cover Amazon only to Oct 27
        assert rows[(channel, SEPTEMBER)][1:4:2] == [0, 0] and rows[(channel, SEPTEMBER)][4] == "closed"
    reconciled = dict(((c, m), s) for c, m, s in query(source, """
        select channel, month, reconciliation_status from marts.channel_pnl_reconciled"""))
    assert reconciled[("amazon_us", OCTOBER)] == "awaiting_payouts"
    assert reconciled[("amazon_us", SEPTEMBER)] == "reconciled"


def test_cwh_pnl_shows_each_channels_status_and_accrued_fees(source, monkeypatch):
    """`cwh pnl` says plainly which channels are not final and how much of their fees is accrued:
    October's Amazon rows provisional with the truth's accruals, the total of them, and the note."""
    monkeypatch.setenv("CWH_HOME", str(source.root))
    result = CliRunner().invoke(app, ["pnl", "--month", "2026-10"])
    assert result.exit_code == 0, result.output
    accrued = defaultdict(Decimal)
    for r in unsettled_truth(source):
        if date.fromisoformat(r["order_date"]).replace(day=1) == OCTOBER:
            accrued[r["channel"]] += (Decimal(r["accrued_marketplace_fees_usd"])
                                      + Decimal(r["accrued_fulfillment_costs_usd"]))
    rows = {line.split()[1]: line for line in result.output.splitlines() if line.startswith("│ ")}
    for channel in ("amazon_us", "amazon_ca"):
        assert "provisional" in rows[channel] and f"{accrued[channel]:,.2f}" in rows[channel], rows[channel]
    assert "closed" in rows["wholesale"]
    assert f"{sum(accrued.values()):,.2f}" in rows["total"]
    assert "not final" in result.output and "provisional" in result.output.split("not final", 1)[1]


NIGHTS = {"open": date(2026, 9, 25), "provisional": date(2026, 10, 5), "closed": date(2026, 10, 14)}


@pytest.fixture(scope="module")
def nights(source, tmp_path_factory):
    """September's Amazon P&L and accruals after each of three nights of a replay of the lake."""
    replay = Home(tmp_path_factory.mktemp("accruals_replay"))
    seen = {}
    landed = None
    for name, night in NIGHTS.items():
        # every day's arrivals up to the night (the first call lands everything before it)
        day = night if landed is None else landed + timedelta(days=1)
        while day <= night:
            replay_until(source, replay, day)
            day += timedelta(days=1)
        landed = night
        build_night(replay, night, "build")
        seen[name] = {
            "pnl": {c: rest for c, *rest in query(replay, """
                select channel, period_status, marketplace_fees, fulfillment_costs, accrued_marketplace_fees,
                       accrued_fulfillment_costs, contribution_after_opex
                from marts.channel_pnl_monthly where month = ?""", [SEPTEMBER])},
            "accrued_items": {(o, s, line): (amount, basis) for o, s, line, amount, basis in query(replay, """
                select a.order_id, a.sku, a.pnl_line, a.amount, a.rate_basis
                from marts.fct_fees as f join intermediate.int_fee_accruals as a on a.fee_line_id = f.fee_line_id
                where f.is_accrued and f.fee_date between ? and ?""", [SEPTEMBER, date(2026, 9, 30)])},
            "accrued_rows": query(replay, "select count(*) from marts.fct_fees where is_accrued "
                                          "and fee_date between ? and ?", [SEPTEMBER, date(2026, 9, 30)])[0][0],
        }
    return seen


def test_september_goes_open_then_provisional_then_closed(nights):
    for name in NIGHTS:
        for channel in ("amazon_us", "amazon_ca"):
            assert nights[name]["pnl"][channel][0] == name, (name, channel)
    for channel in ("wholesale", "unallocated"):  # nothing to wait for: closed once over
        assert nights["provisional"]["pnl"][channel][0] == "closed"


def test_accruals_are_replaced_exactly_when_the_settlement_lands(nights, source):
    provisional, closed = nights["provisional"], nights["closed"]
    assert provisional["accrued_items"], "the settlement of September's last items had not landed yet"
    # each accrued item is settled in the end; at its SKU's own rate it is within a cent and the
    # tolerance of its real fees (the final lake); the marketplace fallback is an average
    real = defaultdict(Decimal)
    for order_id, sku, category, amount in query(source, """
            select order_id, sku, category, -amount from intermediate.int_settlement_lines
            where transaction_type = 'Order' and category in ('marketplace_fees', 'fulfillment_costs')"""):
        real[(order_id, sku, category)] += amount
    own_rate = 0
    for key, (accrued, basis) in provisional["accrued_items"].items():
        assert key in real, key
        if basis == "sku":
            own_rate += 1
            assert abs(accrued - real[key]) <= Decimal("0.01") + TOTAL_TOLERANCE * real[key], (key, accrued, real[key])
    assert own_rate > len(provisional["accrued_items"]) / 2
    for channel in ("amazon_us", "amazon_ca"):
        assert provisional["pnl"][channel][3] + provisional["pnl"][channel][4] > 0
        assert closed["pnl"][channel][3:5] == [0, 0]
    assert closed["accrued_rows"] == 0 and not closed["accrued_items"]
    # replaced exactly: the closed month's fee lines equal the truth's, which are all actual there
    truth = pnl_truth(source, SEPTEMBER)
    for channel, (_, fees, fulfilment, *_) in closed["pnl"].items():
        assert (fees, fulfilment) == (truth[channel]["marketplace_fees"], truth[channel]["fulfillment_costs"]), channel
