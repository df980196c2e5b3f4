"""The channel P&L the dbt project builds equals the demo generator's ground truth to the cent.

The generator books every simulated event into its own P&L (channel × day, docs/metrics.md) without
reading the files back; here the files are landed, `dbt build` runs (every model, unit test and
reconciliation test must pass) and every channel × day and channel × month × P&L line of the marts
is compared with that truth, as Decimals (never floats). Missing rows on either side count as zero.
Clean data, and messy data whose truth excludes the events of defective (quarantined) rows.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from connectors.home import build_database
from connectors.lake import Home, land_all
from orchestration.demo import generate
from orchestration.pipeline.dbt import failures, run_dbt

LINES = ["gross_sales", "discounts", "returns", "net_sales", "shipping_income", "net_revenue", "cogs", "cm1",
         "fulfillment_costs", "payment_fees", "marketplace_fees", "reimbursements", "cm2", "marketing_spend", "cm3",
         "operating_costs", "contribution_after_opex"]
ZERO = Decimal("0.00")
CHANNELS = {"shopify_web", "shopify_pos", "amazon_us", "amazon_ca", "wholesale", "unallocated"}

Table = dict[tuple[str, date], dict[str, Decimal]]


def built(home: Home, **generate_options):
    generate(home.root, days=60, orders_per_day=40, **generate_options)
    land_all(home)
    result = run_dbt(home, "build")  # releases the build database: it can be read read-only
    problems = failures(result)
    print("\n".join(problems))
    assert result.success, problems
    return home, result


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return built(Home(tmp_path_factory.mktemp("pnl_clean")))


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    return built(Home(tmp_path_factory.mktemp("pnl_messy")), messy=True)


def truth_daily(home: Home) -> Table:
    table: Table = {}
    with (home.root / "demo" / "truth" / "pnl_daily.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            table[(row["channel"], date.fromisoformat(row["date"]))] = {line: Decimal(row[line]) for line in LINES}
    return table


def rolled_up(daily: Table, period) -> Table:
    table: Table = defaultdict(lambda: {line: ZERO for line in LINES})
    for (channel, day), values in daily.items():
        sums = table[(channel, period(day))]
        for line in LINES:
            sums[line] += values[line]
    return dict(table)


def month_of(day: date) -> date:
    return day.replace(day=1)


def monday_of(day: date) -> date:
    return date.fromordinal(day.toordinal() - day.weekday())


def warehouse(home: Home, mart: str, period_column: str) -> Table:
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        rows = con.execute(f"select channel, {period_column}, {', '.join(LINES)} from marts.{mart}").fetchall()
    table: Table = {}
    for channel, period, *values in rows:
        assert all(isinstance(v, Decimal) for v in values), "money must come back as decimals"
        assert (channel, period) not in table, f"duplicate {mart} row {channel} {period}"
        table[(channel, period)] = dict(zip(LINES, values, strict=True))
    return table


def mismatches(expected: Table, actual: Table) -> list[str]:
    out = []
    for key in sorted(set(expected) | set(actual)):
        for line in LINES:
            want = expected.get(key, {}).get(line, ZERO)
            got = actual.get(key, {}).get(line, ZERO)
            if want != got:
                out.append(f"{key[0]} {key[1]} {line}: truth {want} warehouse {got} (diff {got - want})")
    return out


def assert_matches(expected: Table, actual: Table) -> None:
    problems = mismatches(expected, actual)
    assert not problems, f"{len(problems)} P&L values differ from the truth:\n" + "\n".join(problems[:40])


def test_every_channel_month_and_line_equals_the_truth_to_the_cent(clean):
    home, _ = clean
    assert_matches(rolled_up(truth_daily(home), month_of), warehouse(home, "channel_pnl_monthly", "month"))


def test_every_channel_day_and_line_equals_the_truth_to_the_cent(clean):
    home, _ = clean
    truth = truth_daily(home)
    daily = warehouse(home, "channel_pnl_daily", "date")
    assert_matches(truth, daily)
    # dense: every channel on every day that has a non-zero line
    days = {day for _, day in truth}
    assert {(channel, day) for channel in CHANNELS for day in days} == set(daily)


def test_every_channel_week_and_line_equals_the_truth_to_the_cent(clean):
    home, _ = clean
    assert_matches(rolled_up(truth_daily(home), monday_of), warehouse(home, "channel_pnl_weekly", "week_start"))


def test_the_unallocated_channel_is_present_and_carries_costs(clean):
    home, _ = clean
    monthly = warehouse(home, "channel_pnl_monthly", "month")
    unallocated = [values for (channel, _), values in monthly.items() if channel == "unallocated"]
    assert unallocated
    for line in ("fulfillment_costs", "marketing_spend", "operating_costs"):
        assert sum(v[line] for v in unallocated) > 0, line
    assert all(v["gross_sales"] == 0 for v in unallocated)
    assert {channel for channel, _ in monthly} == CHANNELS


def test_shares_and_margins_are_recomputed_per_period(clean):
    home, _ = clean
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        rows = con.execute("""
            select month, sum(revenue_share), sum(contribution_share), sum(operating_cost_share),
                   max(abs(cm1_pct - cast(cm1 as double) / cast(net_revenue as double)))
            from marts.channel_pnl_monthly group by month""").fetchall()
    for month, revenue, contribution, opex, cm1_error in rows:
        assert revenue == pytest.approx(1) and contribution == pytest.approx(1) and opex == pytest.approx(1), month
        assert cm1_error is None or cm1_error < 1e-9, month


def test_messy_daily_and_monthly_pnl_equal_the_messy_truth(messy):
    home, _ = messy
    truth = truth_daily(home)
    assert_matches(truth, warehouse(home, "channel_pnl_daily", "date"))
    assert_matches(rolled_up(truth, month_of), warehouse(home, "channel_pnl_monthly", "month"))


def test_messy_payment_of_a_quarantined_order_books_its_fee_unallocated_and_is_reported(messy):
    """The charge of the order whose row is quarantined: listed by the warning test, its fee a payment
    fee of `unallocated` (never held back or dropped), its amount no sale."""
    home, result = messy
    warned = {node.node.name: node for node in result.result.results if str(node.status) == "warn"}
    assert set(warned) == {"assert_shopify_payments_have_their_order"}
    assert warned["assert_shopify_payments_have_their_order"].failures == 1
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        orphans = con.execute("""
            select f.channel, f.pnl_line, f.amount, p.fee from staging.stg_shopify__payment_transactions as p
            join marts.fct_fees as f on f.fee_line_id = 'shopify_payments:' || p.transaction_key
            where p.order_name not in (select order_id from marts.fct_order_lines where source = 'shopify')
        """).fetchall()
    assert len(orphans) == 1
    channel, line, amount, fee = orphans[0]
    assert (channel, line) == ("unallocated", "payment_fees") and amount == fee > 0


def test_reimbursements_chargebacks_and_assumed_restocks_are_on_their_lines(clean):
    """FBA reimbursements are their own line (never netted into fulfilment), chargeback fees are
    payment fees of the disputed orders' channel, Shopify refunds credit COGS by the configured
    restock share: each line equals the truth's, and the truth has each case."""
    home, _ = clean
    truth = truth_daily(home)
    reimbursed = {k: v["reimbursements"] for k, v in truth.items() if v["reimbursements"]}
    assert {channel for channel, _ in reimbursed} == {"amazon_us", "amazon_ca"}
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        got = dict(((c, d), v) for c, d, v in con.execute(
            "select channel, date, reimbursements from marts.channel_pnl_daily where reimbursements <> 0").fetchall())
        chargebacks = con.execute("""
            select channel, sum(amount) from marts.fct_fees
            where source = 'shopify_payments' and fee_type = 'adjustment' group by channel""").fetchall()
        restock = con.execute("""
            select count(*), sum(cogs_credit_rc) from marts.fct_refunds
            where source = 'shopify' and cogs_credit_rc > 0""").fetchone()
    assert got == reimbursed
    assert chargebacks == [("shopify_web", Decimal("60.00"))]  # ceil(40 / 10) fees of 15.00
    assert restock[0] > 0 and restock[1] > 0


def test_reimbursed_units_leave_inventory_value_as_the_truth_says(clean):
    """Every FBA reimbursement writes its lost units off inventory value, at the unit cost effective on
    the posted day, next to what Amazon paid for them (truth: inventory_write_offs.csv)."""
    home, _ = clean
    with (home.root / "demo" / "truth" / "inventory_write_offs.csv").open(newline="") as handle:
        truth = sorted((r["channel"], date.fromisoformat(r["date"]), r["sku"], int(r["units"]),
                        Decimal(r["write_off_value"]), Decimal(r["reimbursement"])) for r in csv.DictReader(handle))
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        rows = sorted(con.execute("""
            select channel, write_off_date, sku, units, write_off_value_rc, reimbursement_rc
            from marts.inventory_write_offs""").fetchall())
    assert len(truth) == 4  # two reimbursements on each marketplace
    assert rows == truth
