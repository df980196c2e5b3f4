"""The readback's and the digest's templates (orchestration/outputs/templates/), against text written
by hand: escaping, blanks, formats, and the digest of a small hand-made published snapshot."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from orchestration.outputs.digest import render_digest
from orchestration.outputs.formatting import _environment, evidence, money
from orchestration.outputs.inventory_report import inventory_section


def table(*args, **kwargs) -> str:
    return str(_environment().get_template("_table.html").module.table(*args, **kwargs))


def test_a_table_escapes_every_value_and_leaves_none_blank():
    html = table([{"sku_name": '<script>alert("x")</script>', "stock_value": 1234.5, "note": None},
                  {"sku_name": "Tom & Jerry's", "stock_value": None, "note": "ok"}],
                 numeric=["stock_value"], formats={"stock_value": money}, id="t")
    assert html == (
        '<table id="t"><thead><tr><th>sku name</th><th>stock value</th><th>note</th></tr></thead><tbody>'
        '<tr><td>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</td><td class="num">1,234.50</td><td></td></tr>'
        '<tr><td>Tom &amp; Jerry&#39;s</td><td class="num"></td><td>ok</td></tr></tbody></table>')


def test_evidence_numbers_read_as_a_person_writes_them():
    assert evidence("orders spike on 2026-10-14: 84.00 vs a usual 22.00 (z +8.9); revenue spike on 2026-10-14: "
                    "10656.33 vs a usual 2682.04 (z +5.4)") == (
        "orders spike on 2026-10-14: 84 vs a usual 22 (z +8.9); revenue spike on 2026-10-14: "
        "10,656.33 vs a usual 2,682.04 (z +5.4)")
    assert evidence("units drop on 2026-10-02: 7.00 vs a usual 22.50") == "units drop on 2026-10-02: 7 vs a usual 22.50"
    # dates, date ranges, codes and small numbers stay as they are
    assert evidence("FH-2000 on promotion 2026-09-18..2026-09-30 (10.0% off) at 1234567.5") == (
        "FH-2000 on promotion 2026-09-18..2026-09-30 (10.0% off) at 1,234,567.5")
    assert evidence(None) == ""


def test_a_table_without_rows_is_a_note():
    assert table([], id="t") == '<p class="note">No rows.</p>'


def test_the_inventory_section_of_a_snapshot_without_inventory_marts_says_so(tmp_path):
    database = tmp_path / "published.duckdb"
    duckdb.connect(str(database)).close()
    assert inventory_section(database, date(2026, 10, 1)) == (
        '<h2>Inventory</h2><p class="note">This snapshot has no inventory marts.</p>')


@pytest.fixture
def snapshot(tmp_path):
    database = tmp_path / "published.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema marts")
        con.execute("""create table marts.channel_readback_weekly as select * from (values
            (date '2026-10-19', true, 'Alice', 'web', 'Web store', 1234.5::decimal(18, 2), 0.125::double,
             300.0::decimal(18, 2), 25.0::decimal(18, 2), 40, 30.8625::double, 0.025::double,
             -100.0::decimal(18, 2), 1, 'Fix prices; owner: Alice'),
            (date '2026-10-19', true, 'Bob', 'wholesale', 'Wholesale', 500.0, -0.05, 50.0, -10.0, 3, 166.666, null,
             null, 0, 'Keep the course; owner: Bob'),
            (date '2026-10-19', true, 'Bob', 'amazon_ca', 'Amazon CA', 800.0, null, 80.0, 0.0, 20, 40.0, null,
             null, 0, 'Keep the course; owner: Bob'),
            (date '2026-10-12', true, 'Alice', 'web', 'Web store', 1.0, 0.0, 1.0, 0.0, 1, 1.0, null, null, 0, 'old'))
            as t(week_start, is_complete, owner, channel, channel_name, net_revenue, net_revenue_change_pct,
                 contribution_after_opex, contribution_change, orders, aov, conversion_rate, revenue_gap,
                 flag_count, next_action)""")
        con.execute("""create table marts.channel_readback_monthly as select * from (values
            (date '2026-09-01', true), (date '2026-10-01', false)) as t(month, is_complete)""")
        con.execute("""create table marts.channel_flags as select * from (values
            ('week', date '2026-10-19', 'price_inconsistency', 'web', 'SKU A sold at two prices', 2),
            ('month', date '2026-09-01', 'retire_candidate', 'web', 'negative contribution for 3 months', 1),
            ('month', date '2026-09-01', 'margin_floor_breach', 'amazon_ca', 'cm3 below its floor', 3),
            ('month', date '2026-09-01', 'anomaly', 'wholesale', 'not a standing flag', 4))
            as t(grain, period_start, flag, channel, evidence, flag_priority)""")
    return database


def test_the_digest_of_a_hand_made_snapshot(snapshot):
    week, text = render_digest(snapshot)
    assert week == date(2026, 10, 19)
    assert text == """\
# Weekly channel digest — week of 2026-10-19

From the published warehouse. Standing flags are of September 2026.

## Alice

### Web store

- **What changed:** net revenue 1,234.50 (+12.5% week over week), contribution after opex 300.00 (+25.00), \
40 orders, AOV 30.86, conversion 2.5%; -100.00 against the target
- **Flags:**
  - `price_inconsistency` (this week): SKU A sold at two prices
  - `retire_candidate` (September): negative contribution for 3 months
- **Next action:** Fix prices; negative contribution for 3 months; owner: Alice

## Bob

### Amazon CA

- **What changed:** net revenue 800.00 (n/a week over week), contribution after opex 80.00 (0.00), 20 orders, \
AOV 40.00
- **Flags:**
  - `margin_floor_breach` (September): cm3 below its floor
- **Next action:** Review Amazon CA: cm3 below its floor; owner: Bob

### Wholesale

- **What changed:** net revenue 500.00 (-5.0% week over week), contribution after opex 50.00 (-10.00), 3 orders, \
AOV 166.67
- **Flags:** none
- **Next action:** Keep the course; owner: Bob
"""
