"""Inventory health, stock mismatch and allocation against the demo generator's inventory truth.

The generator plants a stockout (FBA US), dead stock (FBA CA), a persistent Shopify-vs-3PL mismatch
with oversells and a SKU under tight supply, and computes from its own events and simulated stock
(never the files) every stockout day with its lost-sales estimate, every oversell, every day
Shopify's count differs from the 3PL's, and the last day's stock, velocity and open orders
(orchestration/demo/inventory_truth.py). Here the files are landed, dbt builds, and the marts must
find each situation with the generator's numbers. 120 days, so dead stock (90 days without a sale)
can be judged.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import duckdb
import pytest
import yaml

from connectors.contracts import get_contract
from connectors.home import build_database
from connectors.lake import Home, land_all
from orchestration.demo import generate
from orchestration.demo.catalog import SKUS
from orchestration.demo.inventory_truth import LOCATIONS, MIRROR, SERVES, SNAPSHOT_TIME
from orchestration.pipeline.dbt import DBT_DIR, failures, run_dbt
from orchestration.pipeline.gates.dbt_results import WAREHOUSE, dbt_checks
from orchestration.pipeline.gates.feed import feed_check_names, feed_outcomes
from orchestration.pipeline.ops.alerts import alerts_from

END = date(2026, 10, 31)
DAYS = 120
INVENTORY_MARTS = ["inventory_health_daily", "inventory_health_rollup_daily", "inventory_kpis_monthly",
                   "stock_mismatch", "stock_oversells", "allocation_recommendation", "inventory_sync_latency_daily"]
GRAIN = {"inventory_health_daily": ["location", "sku", "date"],
         "inventory_health_rollup_daily": ["scope", "scope_key", "sku", "date"],
         "inventory_kpis_monthly": ["scope", "scope_key", "month"],
         "stock_mismatch": ["location", "sku", "date"],
         "stock_oversells": ["order_line_id", "location"],
         "allocation_recommendation": ["as_of_date", "location", "sku", "channel"],
         "inventory_sync_latency_daily": ["location", "date"]}


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    home = Home(tmp_path_factory.mktemp("inventory"))
    generate(home.root, days=DAYS, orders_per_day=40, end=END)
    land_all(home)
    result = run_dbt(home, "build")
    problems = failures(result)
    assert result.success, problems
    return home


def truth(home: Home, name: str) -> list[dict]:
    with (home.root / "demo" / "truth" / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def expected(home: Home, situation: str) -> dict:
    rows = [r for r in truth(home, "inventory_expected.csv") if r["situation"] == situation]
    assert rows, f"the generator planted no {situation}"
    return {"location": rows[0]["location"], "sku": rows[0]["sku"], **{r["metric"]: r["value"] for r in rows}}


def query(home: Home, sql: str, params=None) -> list[dict]:
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        cur = con.execute(sql, params or [])
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def lead_times() -> dict[str, int]:
    with (DBT_DIR / "seeds" / "replenishment.csv").open(newline="") as handle:
        return {r["sku"]: int(r["lead_time_days"]) for r in csv.DictReader(handle)}


# ---- stockout and lost sales ---------------------------------------------------------------------

def test_the_planted_stockout_is_found_with_the_generators_lost_sales(home):
    exp = expected(home, "stockout")
    rows = query(home, """select date, lost_units_est, lost_sales_value_est, stockout_started_on
                          from marts.inventory_health_daily
                          where location = ? and sku = ? and is_stockout order by date""",
                 [exp["location"], exp["sku"]])
    assert len(rows) == int(exp["stockout_days"]) >= 5
    assert rows[0]["date"] == date.fromisoformat(exp["first_day"])
    assert {r["stockout_started_on"] for r in rows} == {date.fromisoformat(exp["first_day"])}
    assert sum(r["lost_units_est"] for r in rows) == pytest.approx(float(exp["lost_units"]), abs=1e-6)
    assert float(exp["lost_units"]) > 0
    assert sum(r["lost_sales_value_est"] for r in rows) == Decimal(exp["lost_sales_value"]) > 0


def test_every_stockout_day_and_its_lost_sales_equal_the_truth(home):
    want = defaultdict(lambda: [0.0, Decimal("0.00")])
    for r in truth(home, "inventory_stockouts.csv"):
        w = want[(r["location"], r["sku"], date.fromisoformat(r["date"]))]
        w[0] += float(r["lost_units"])
        w[1] += Decimal(r["lost_sales_value"])
    got = {(r["location"], r["sku"], r["date"]): r for r in query(
        home, "select * from marts.inventory_health_daily where is_stockout and is_system_of_record")}
    assert set(got) == set(want)
    for key, (units, value) in want.items():
        assert got[key]["lost_units_est"] == pytest.approx(units, abs=1e-6), key
        assert got[key]["lost_sales_value_est"] == value, key
    # no mirror or non-stockout day carries a lost-sales estimate
    assert query(home, """select count(*) as n from marts.inventory_health_daily
                          where (not is_stockout or not is_system_of_record) and lost_units_est <> 0""")[0]["n"] == 0


def test_monthly_kpis_per_channel_equal_the_truth(home):
    lost = defaultdict(lambda: Decimal("0.00"))
    stockout_days = defaultdict(set)
    for r in truth(home, "inventory_stockouts.csv"):
        month = date.fromisoformat(r["date"]).replace(day=1)
        lost[(r["channel"], month)] += Decimal(r["lost_sales_value"])
        lost[("company", month)] += Decimal(r["lost_sales_value"])
        for ch, loc in SERVES.items():  # a location's stockout day counts for every channel it serves
            if LOCATIONS[loc] == r["location"]:
                stockout_days[(ch, month)].add((r["location"], r["sku"], r["date"]))
        stockout_days[("company", month)].add((r["location"], r["sku"], r["date"]))
    rows = query(home, "select * from marts.inventory_kpis_monthly")
    assert {r["scope_key"] for r in rows} == set(SERVES) | {"company"}
    for r in rows:
        key = (r["scope_key"], r["month"])
        assert r["lost_sales_value_est"] == lost[key], key
        assert r["stockout_sku_days"] == len(stockout_days[key]), key
        assert r["stockout_rate"] == pytest.approx(len(stockout_days[key]) / r["active_sku_days"])
    assert sum(lost.values()) > 0


def test_monthly_stock_sell_through_and_turnover_equal_the_truth(home):
    """inventory_kpis_monthly per channel (its pool's location) and company (every location): snapshot
    days, average on hand, units sold, sell-through, COGS, average stock value, turnover and the
    closing stock, summed from the generator's daily truth (inventory_daily.csv)."""
    scopes = {ch: {LOCATIONS[loc]} for ch, loc in SERVES.items()} | {"company": set(LOCATIONS)}
    sums: dict = defaultdict(lambda: {"days": set(), "on_hand": 0, "received": 0, "sold": 0, "cogs": Decimal(0),
                                      "value": Decimal(0), "closing": {}})
    for r in truth(home, "inventory_daily.csv"):
        day = date.fromisoformat(r["date"])
        for scope, locations in scopes.items():
            if r["location"] in locations:
                s = sums[(scope, day.replace(day=1))]
                s["days"].add(day)
                s["on_hand"] += int(r["on_hand"])
                s["received"] += int(r["units_received"])
                s["sold"] += int(r["units_sold"])
                s["cogs"] += Decimal(r["cogs"])
                s["value"] += Decimal(r["stock_value"])
                s["closing"].setdefault(day, []).append((int(r["on_hand"]), Decimal(r["stock_value"])))
    rows = {(r["scope_key"], r["month"]): r for r in query(home, "select * from marts.inventory_kpis_monthly")}
    assert set(rows) == set(sums)
    for key, s in sums.items():
        r, n = rows[key], len(s["days"])
        closing = max(s["days"])
        assert r["snapshot_days"] == n and r["closing_date"] == closing, key
        assert r["avg_on_hand_units"] == pytest.approx(s["on_hand"] / n, rel=1e-12), key
        assert r["units_sold"] == s["sold"] and r["cogs"] == s["cogs"], key
        assert r["sell_through"] == (pytest.approx(s["sold"] / s["received"], rel=1e-9) if s["received"] else None), key
        assert abs(r["avg_stock_value"] - s["value"] / n) <= Decimal("0.005"), key
        assert r["inventory_turnover"] == pytest.approx(float(s["cogs"] / (s["value"] / n)), rel=1e-9), key
        assert r["closing_on_hand"] == sum(c[0] for c in s["closing"][closing]), key
        assert r["closing_stock_value"] == sum((c[1] for c in s["closing"][closing]), Decimal(0)), key
    assert any(s["received"] for s in sums.values())


# ---- dead stock -----------------------------------------------------------------------------------

def test_the_planted_dead_stock_is_found_with_its_value(home):
    exp = expected(home, "dead_stock")
    row = query(home, """select * from marts.inventory_health_daily where location = ? and sku = ? and date = ?""",
                [exp["location"], exp["sku"], END])[0]
    assert row["is_dead_stock"] and row["units_sold_90d"] == 0
    assert row["on_hand"] == int(exp["on_hand"]) > 0
    assert row["dead_stock_value"] == row["stock_value"] == Decimal(exp["stock_value"])
    # the last day's dead-stock positions are exactly the generator's, and so is the KPI's value
    want = {(r["location"], r["sku"]): Decimal(r["stock_value"]) for r in truth(home, "inventory_last_day.csv")
            if r["is_dead_stock"] == "true"}
    got = {(r["location"], r["sku"]): r["dead_stock_value"] for r in query(
        home, "select * from marts.inventory_health_daily where date = ? and is_dead_stock and is_system_of_record",
        [END])}
    assert got == want
    kpi = query(home, """select dead_stock_value, dead_stock_skus from marts.inventory_kpis_monthly
                         where scope = 'company' and month = ?""", [END.replace(day=1)])[0]
    assert (kpi["dead_stock_value"], kpi["dead_stock_skus"]) == (sum(want.values()), len(want))
    # the SKU sells elsewhere: not dead for the company, yet its FBA CA units are trapped
    company = query(home, """select is_dead_stock, dead_stock_value from marts.inventory_health_rollup_daily
                             where scope = 'company' and sku = ? and date = ?""", [exp["sku"], END])[0]
    assert not company["is_dead_stock"] and company["dead_stock_value"] == Decimal(exp["stock_value"])


# ---- stock value, velocity, days on hand ----------------------------------------------------------

def test_last_day_stock_value_velocity_and_receipts_equal_the_truth(home):
    got = {(r["location"], r["sku"]): r for r in query(
        home, "select * from marts.inventory_health_daily where date = ?", [END])}
    received = {(r["location"], r["sku"]): r["received"] for r in query(
        home, "select location, sku, sum(units_received) as received from marts.inventory_health_daily "
              "group by location, sku")}
    for t in truth(home, "inventory_last_day.csv"):
        key = (t["location"], t["sku"])
        row = got[key]
        assert (row["on_hand"], row["sellable"], row["inbound"]) == (int(t["on_hand"]), int(t["sellable"]),
                                                                   int(t["inbound"])), key
        assert row["stock_value"] == Decimal(t["stock_value"]), key
        assert (row["units_sold_28d"], row["history_days"], row["units_sold_90d"]) == (
            int(t["units_28d"]), int(t["history_days"]), int(t["units_90d"])), key
        if int(t["units_28d"]):
            assert row["days_on_hand"] == pytest.approx(
                int(t["on_hand"]) * int(t["history_days"]) / int(t["units_28d"]))
        assert received[key] == int(t["units_received"]), key


# ---- mismatch and oversells -----------------------------------------------------------------------

def test_every_day_sell_through_stock_value_and_turnover_equal_the_truth(home):
    """Every stock location × SKU × day: units sold and received (28 days), sell-through, stock value
    and its 28-day average, COGS of the 28 days' sales and the turnover, from the generator's
    simulated sales, receipts, stock and costs (inventory_daily.csv)."""
    want = {(r["location"], r["sku"], r["date"]): r for r in truth(home, "inventory_daily.csv")}
    rows = query(home, "select location, sku, date, units_sold, units_received_28d, sell_through_28d, stock_value, "
                       "avg_stock_value_28d, cogs_28d, inventory_turnover_28d from marts.inventory_health_daily "
                       "where location in (?, ?, ?)", list(LOCATIONS))
    got = {(r["location"], r["sku"], r["date"].isoformat()): r for r in rows}
    assert set(got) == set(want) and len(want) == len(LOCATIONS) * len(SKUS) * DAYS
    mismatches = []
    for key, t in want.items():
        r = got[key]
        for column in ("units_sold", "units_received_28d"):
            if r[column] != int(t[column]):
                mismatches.append((key, column, t[column], r[column]))
        for column in ("stock_value", "avg_stock_value_28d", "cogs_28d"):
            if r[column] != Decimal(t[column]):
                mismatches.append((key, column, t[column], r[column]))
        for column in ("sell_through_28d", "inventory_turnover_28d"):
            w = None if t[column] == "" else float(t[column])
            if (w is None) != (r[column] is None) or (w is not None and abs(r[column] - w) > 1e-9 * max(1, abs(w))):
                mismatches.append((key, column, t[column], r[column]))
    assert mismatches == [], f"{len(mismatches)} mismatches: {mismatches[:15]}"
    assert any(t["sell_through_28d"] for t in want.values())


def test_the_planted_mismatch_persists_with_the_generators_numbers(home):
    exp = expected(home, "mismatch")
    first, days = date.fromisoformat(exp["first_day"]), int(exp["days"])
    rows = query(home, """select * from marts.stock_mismatch where sku = ? and is_beyond_tolerance
                          and date between ? and ? order by date""",
                 [exp["sku"], first, first + timedelta(days=days - 1)])
    assert [r["date"] for r in rows] == [first + timedelta(days=k) for k in range(days)]
    assert [r["mismatch_days"] for r in rows] == list(range(1, days + 1))
    assert rows[0]["difference"] == int(exp["first_day_difference"]) > 0
    assert {(r["location"], r["reference_location"], r["reference_sellable"]) for r in rows} == {
        (MIRROR, LOCATIONS[0], 0)}
    after = query(home, "select is_beyond_tolerance from marts.stock_mismatch where sku = ? and date = ?",
                  [exp["sku"], first + timedelta(days=days)])
    assert after == [{"is_beyond_tolerance": False}]


def mismatch_vars() -> dict:
    """The tolerance and persistence of a stock mismatch: dbt_project.yml vars."""
    return yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text())["vars"]


def beyond_tolerance_in_truth(home: Home) -> dict[tuple[str, date], int]:
    """(sku, day) -> Shopify minus 3PL sellable, on the days the generator's counts differ beyond
    tolerance (more than the units AND more than the share of the 3PL's count; never the marts)."""
    variables = mismatch_vars()
    units = variables["inventory_mismatch_tolerance_units"]
    share = Decimal(str(variables["inventory_mismatch_tolerance_pct"]))
    beyond = {}
    for r in truth(home, "inventory_mismatch.csv"):
        difference, reference = int(r["shopify_sellable"]) - int(r["threepl_sellable"]), int(r["threepl_sellable"])
        if abs(difference) > units and abs(difference) > share * reference:
            beyond[(r["sku"], date.fromisoformat(r["date"]))] = difference
    return beyond


def test_every_mismatch_beyond_tolerance_equals_the_truth(home):
    want = beyond_tolerance_in_truth(home)
    got = {(r["sku"], r["date"]): r["difference"] for r in query(
        home, "select * from marts.stock_mismatch where is_beyond_tolerance")}
    assert got == want and want
    # the generator's small constant drifts (2 and 3 units) exist and stay within tolerance
    drift = {r["sku"] for r in truth(home, "inventory_mismatch.csv")} - {k[0] for k in want}
    assert drift


def test_every_oversell_equals_the_truth_and_is_on_the_mismatch(home):
    exp = expected(home, "oversell")
    want = sorted((r["channel"], r["order_id"], r["sku"], date.fromisoformat(r["date"]), int(r["units"]),
                   r["location"]) for r in truth(home, "inventory_oversells.csv"))
    got = sorted((r["channel"], r["order_id"], r["sku"], r["order_date"], r["units"], r["location"])
                 for r in query(home, "select * from marts.stock_oversells"))
    assert got == want
    planted = [g for g in got if g[2] == exp["sku"]]
    assert len(planted) == int(exp["order_lines"]) > 0
    assert sum(g[4] for g in planted) == int(exp["units"])
    # Shopify showed stock when it accepted them; the mismatch rows count the same incidents
    shown = query(home, "select min(channel_system_sellable) as m from marts.stock_oversells where sku = ?",
                  [exp["sku"]])[0]["m"]
    assert shown > 0
    on_mismatch = query(home, """select sum(oversell_order_lines) as n, sum(oversell_units) as u
                                 from marts.stock_mismatch where sku = ?""", [exp["sku"]])[0]
    assert (on_mismatch["n"], on_mismatch["u"]) == (int(exp["order_lines"]), int(exp["units"]))


def persisting_mismatch_skus_of_the_truth(home: Home, last_day: date) -> set[str]:
    """SKUs whose Shopify count is beyond tolerance of the 3PL's on each of the alert_days days to
    last_day, from the generator's counts and the dbt_project.yml vars (never the marts)."""
    beyond = beyond_tolerance_in_truth(home)
    days = mismatch_vars()["inventory_mismatch_alert_days"]
    return {sku for sku, day in beyond
            if day == last_day and all((sku, last_day - timedelta(days=k)) in beyond for k in range(days))}


def run_mismatch_test(home: Home, last_day: date):
    """dbt test stock_mismatch_persists in a run whose last complete day is last_day (var max_date)."""
    result = run_dbt(home, "test", "--select", "stock_mismatch_persists",
                     "--vars", json.dumps({"max_date": last_day.isoformat()}))
    assert result.success, failures(result)
    return result


def dbt_mismatch_warning(home: Home, last_day: date) -> tuple[str, set[str]]:
    """Status of the warn-level dbt test stock_mismatch_persists in a run whose last complete day is
    last_day, and the SKUs of its failing rows."""
    result = run_mismatch_test(home, last_day)
    [node] = [r for r in result.result.results if r.node.name == "stock_mismatch_persists"]  # not the hooks
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        skus = {row[0] for row in con.execute(f"select sku from ({node.node.compiled_code})").fetchall()}
    assert node.failures == len(skus)
    return str(node.status), skus


def test_the_dbt_stock_mismatch_check_warns_exactly_when_a_mismatch_persists(home):
    exp = expected(home, "mismatch")
    first, days = date.fromisoformat(exp["first_day"]), int(exp["days"])
    alert_days = mismatch_vars()["inventory_mismatch_alert_days"]
    persisting = first + timedelta(days=alert_days - 1)
    assert dbt_mismatch_warning(home, persisting) == ("warn", persisting_mismatch_skus_of_the_truth(home, persisting))
    assert exp["sku"] in persisting_mismatch_skus_of_the_truth(home, persisting)
    for quiet in (first + timedelta(days=alert_days - 2), first + timedelta(days=days), END):  # not yet, resolved, end
        assert persisting_mismatch_skus_of_the_truth(home, quiet) == set()
        assert dbt_mismatch_warning(home, quiet) == ("pass", set())


def test_the_mismatch_warns_the_inventory_feed_owner_without_holding_the_publish(home):
    """The dbt warning becomes the run's non-blocking 'warn' outcome (dbt_checks), which the alerts
    carry to the owners of the feeds upstream, the inventory feed's among them."""
    exp = expected(home, "mismatch")
    first, days = date.fromisoformat(exp["first_day"]), int(exp["days"])
    seen = first + timedelta(days=mismatch_vars()["inventory_mismatch_alert_days"] - 1)  # the run's last complete day
    skus = persisting_mismatch_skus_of_the_truth(home, seen)
    contract = get_contract("inventory_snapshots")
    outcomes = dbt_checks(run_mismatch_test(home, seen), home)
    [warning] = [o for o in outcomes if o.check == "dbt:stock_mismatch_persists"]
    assert (warning.feed, warning.status, warning.blocking, warning.holds_publish) == (WAREHOUSE, "warn", False, False)
    assert contract.owner["team"] in warning.owner and contract.owner["contact"] in warning.owner_contact
    assert "inventory_snapshots" in warning.metadata["feeds"]
    assert warning.metadata["models"][0] == "model.channel_contribution.stock_mismatch"  # the model it tests
    assert warning.metadata["failing_rows"] == len(skus) and exp["sku"] in skus
    counts = {r["sku"]: r for r in truth(home, "inventory_mismatch.csv") if r["date"] == seen.isoformat()}
    row = dict(re.findall(r"(\w+)=([^,]*)", warning.metadata["failing_row"]))  # the first failing row
    assert row["sku"] in skus and row["date"] == seen.isoformat()
    assert (int(row["sellable"]), int(row["reference_sellable"])) == (
        int(counts[row["sku"]]["shopify_sellable"]), int(counts[row["sku"]]["threepl_sellable"]))
    assert "stock_mismatch" in warning.detail and "recount" in warning.suggested_action
    assert [o.status for o in outcomes if o.check == "dbt:build"] == ["ok"]  # the build itself passed
    assert [a["check"] for a in alerts_from(outcomes)] == ["dbt:stock_mismatch_persists"]
    for quiet in (first, first + timedelta(days=days), END):  # 1 day: not yet persistent; resolved; the end
        assert [o.status for o in dbt_checks(run_mismatch_test(home, quiet), home)] == ["ok"]
    # no longer a Python check of the feed before the build: the rule lives once, in dbt
    assert "stock_mismatch" not in feed_check_names("inventory_snapshots")
    checks = {o.check for o in feed_outcomes(home, "inventory_snapshots", seen + timedelta(days=1))}
    assert "stock_mismatch" not in checks and "freshness" in checks


def test_sync_latency_is_measured_per_location(home):
    rows = query(home, "select * from marts.inventory_sync_latency_daily where date = ?", [END])
    assert {r["location"] for r in rows} == set(SNAPSHOT_TIME)
    for r in rows:
        assert r["snapshot_at"].strftime("%H:%M:%S") == SNAPSHOT_TIME[r["location"]]
        assert r["sync_latency_hours"] == pytest.approx(
            (r["loaded_at"] - r["snapshot_at"]).total_seconds() / 3600) and r["sync_latency_hours"] > 0


# ---- tight supply and allocation ------------------------------------------------------------------

def truth_contribution(home: Home) -> dict[tuple[str, str], float]:
    """(channel, sku) -> the generator's contribution per unit over the 90 days to the last day,
    from the prices, discounts, costs and fees it simulated (inventory_truth.py)."""
    return {(r["channel"], r["sku"]): float(r["contribution_per_unit"])
            for r in truth(home, "inventory_contribution.csv")}


def cents(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def expected_allocation(rows: list[dict], velocity: dict, open_units: dict, available: int,
                        lead: int, priority: dict, contribution: dict[str, Decimal | None]) -> dict[str, int]:
    """The documented waterfall, recomputed: open orders of reserve channels, then demand over the
    lead time by priority, contribution per unit (desc; the generator's), channel; leftover by
    velocity; largest remainder."""
    claims = []
    for r in rows:
        ch = r["channel"]
        prio, reserve = priority[ch]
        cpu = contribution[ch]
        if reserve and open_units.get(ch):
            claims.append(((1, prio, (-cpu if cpu is not None else Decimal(10 ** 9)), ch), ch,
                           Fraction(open_units[ch])))
        if velocity[ch]:
            claims.append(((2, prio, (-cpu if cpu is not None else Decimal(10 ** 9)), ch), ch, velocity[ch] * lead))
    exact = {r["channel"]: Fraction(0) for r in rows}
    best = {}
    left = Fraction(available)
    for rank, (_key, ch, units) in enumerate(sorted(claims), start=1):
        take = max(Fraction(0), min(units, left))
        exact[ch] += take
        left -= take
        best.setdefault(ch, rank)
    total_v = sum(velocity.values())
    if left > 0 and total_v:
        for ch in exact:
            exact[ch] += left * velocity[ch] / total_v
    floors = {ch: int(v) for ch, v in exact.items()}
    extra = available - sum(floors.values())
    order = sorted(exact, key=lambda ch: (-(exact[ch] - floors[ch]), best.get(ch, 10 ** 6), ch))
    for ch in order[:extra]:
        floors[ch] += 1
    return floors


def check_allocation(home: Home, priority: dict) -> int:
    last = {(r["location"], r["sku"]): r for r in truth(home, "inventory_last_day.csv")}
    units = {(r["channel"], r["sku"]): int(r["units_28d"]) for r in truth(home, "inventory_channel_units.csv")}
    leads = lead_times()
    tight = set()
    for (loc, sku), t in last.items():
        lead = leads.get(sku, leads["*"])
        if int(t["sellable"]) > 0 and int(t["units_28d"]) and \
                int(t["on_hand"]) * int(t["history_days"]) < lead * int(t["units_28d"]):
            tight.add((loc, sku))
    rows = query(home, "select * from marts.allocation_recommendation")
    cpus = truth_contribution(home)
    by_sku = defaultdict(list)
    for r in rows:
        by_sku[(r["location"], r["sku"])].append(r)
    assert set(by_sku) == tight
    for (loc, sku), recs in by_sku.items():
        t = last[(loc, sku)]
        available, hd = int(t["sellable"]), int(t["history_days"])
        lead = leads.get(sku, leads["*"])
        assert {r["available_units"] for r in recs} == {available}
        assert sum(r["allocated_units"] for r in recs) == available
        channels = {ch for ch, lo in SERVES.items() if LOCATIONS[lo] == loc}
        assert {r["channel"] for r in recs} == channels
        velocity = {ch: Fraction(units[(ch, sku)], hd) for ch in channels}
        for r in recs:
            assert r["velocity_units_per_day"] == pytest.approx(float(velocity[r["channel"]]))
        open_units = {"wholesale": int(t["open_order_units"])} if "wholesale" in channels else {}
        for r in recs:
            assert r["open_order_units"] == (open_units.get(r["channel"], 0) if priority[r["channel"]][1] else 0)
        contribution = {}
        for r in recs:  # never read back from the table under test: the generator's own number
            want_cpu = cpus.get((r["channel"], sku))
            contribution[r["channel"]] = None if want_cpu is None else cents(want_cpu)
            if want_cpu is None:
                assert r["contribution_per_unit"] is None, (loc, sku, r["channel"])
            else:
                assert abs(float(r["contribution_per_unit"]) - want_cpu) <= 0.005 + 1e-9, (
                    loc, sku, r["channel"], r["contribution_per_unit"], want_cpu)
        want = expected_allocation(recs, velocity, open_units, available, lead, priority, contribution)
        assert {r["channel"]: r["allocated_units"] for r in recs} == want, (loc, sku)
        assert all(r["reason"] and f"of {available} units" in r["reason"] for r in recs)
    return len(by_sku)


DEFAULT_PRIORITY = {"wholesale": (1, True), "shopify_web": (1, False), "shopify_pos": (1, False),
                    "amazon_us": (1, False), "amazon_ca": (1, False)}


def test_the_tight_supply_sku_gets_an_allocation_that_follows_the_configured_priority(home):
    exp = expected(home, "tight_supply")
    with (DBT_DIR / "seeds" / "allocation_priority.csv").open(newline="") as handle:
        seeded = {r["channel"]: (int(r["priority"]), r["reserve_open_orders"] == "true")
                  for r in csv.DictReader(handle)}
    assert seeded == DEFAULT_PRIORITY  # the documented default: wholesale commitments first, then contribution
    health = query(home, "select * from marts.inventory_health_daily where location = ? and sku = ? and date = ?",
                   [exp["location"], exp["sku"], END])[0]
    assert health["is_below_lead_time"] and health["days_on_hand"] < health["lead_time_days"]
    assert health["lead_time_days"] == int(exp["lead_time_days"])
    assert (health["on_hand"], health["sellable"], health["units_sold_28d"]) == (
        int(exp["on_hand"]), int(exp["sellable"]), int(exp["units_28d"]))
    recs = query(home, "select * from marts.allocation_recommendation where location = ? and sku = ?",
                 [exp["location"], exp["sku"]])
    assert sum(r["allocated_units"] for r in recs) == int(exp["sellable"])
    assert check_allocation(home, DEFAULT_PRIORITY) >= 1
    # wholesale's open orders (the generator's) are served first; then shopify_web, which earns
    # more per unit than wholesale
    by_channel = {r["channel"]: r for r in recs}
    open_units = int(next(r for r in truth(home, "inventory_last_day.csv")
                          if (r["location"], r["sku"]) == (exp["location"], exp["sku"]))["open_order_units"])
    assert by_channel["wholesale"]["open_order_units"] == open_units
    assert by_channel["wholesale"]["reserved_units"] == min(open_units, int(exp["sellable"]))
    cpus = truth_contribution(home)
    assert cpus[("shopify_web", exp["sku"])] > cpus[("wholesale", exp["sku"])]
    assert by_channel["shopify_web"]["contribution_per_unit"] > by_channel["wholesale"]["contribution_per_unit"]
    assert by_channel["wholesale" if open_units else "shopify_web"]["claim_rank"] == 1


def test_contribution_per_unit_equals_the_generators_on_every_allocation_row(home):
    """Recomputed by the generator from what it simulated: net sales after line and order-level
    discounts, COGS at the order date's cost, the channel's fees per unit (90 days)."""
    cpus = truth_contribution(home)
    rows = query(home, "select channel, sku, contribution_per_unit from marts.allocation_recommendation")
    assert {r["channel"] for r in rows} >= {"shopify_web", "wholesale"}
    for r in rows:
        assert abs(float(r["contribution_per_unit"]) - cpus[(r["channel"], r["sku"])]) <= 0.005 + 1e-9, r


def test_a_changed_priority_changes_the_allocation(home):
    changed = [{"channel": "shopify_web", "priority": 2, "reserve_open_orders": False},
               {"channel": "wholesale", "priority": 1, "reserve_open_orders": False}]
    priority = {**{ch: (999, False) for ch in DEFAULT_PRIORITY},
                **{r["channel"]: (r["priority"], r["reserve_open_orders"]) for r in changed}}
    before = {(r["sku"], r["channel"]): r["allocated_units"]
              for r in query(home, "select * from marts.allocation_recommendation")}
    # the model and its data tests (its unit test fixes its own priority seed, which the var overrides)
    result = run_dbt(home, "build", "--select", "allocation_recommendation", "--exclude", "test_type:unit",
                     "--vars", json.dumps({"allocation_priority": changed}))
    try:
        assert result.success, failures(result)
        assert check_allocation(home, priority) >= 1
        after = {(r["sku"], r["channel"]): r["allocated_units"]
                 for r in query(home, "select * from marts.allocation_recommendation")}
        assert after != before
        # wholesale first now: it is covered before shopify_web gets anything beyond the leftover
        for r in query(home, "select * from marts.allocation_recommendation where channel = 'wholesale'"):
            assert r["claim_rank"] == 1 and r["reserved_units"] == 0
            assert r["allocated_units"] >= min(r["available_units"], int(r["demand_over_lead_time"]))
    finally:
        assert run_dbt(home, "build", "--select", "allocation_recommendation").success


# ---- checks and documentation -----------------------------------------------------------------------

def test_stock_is_never_negative_and_the_contract_says_so(home):
    for mart, cols in {"inventory_health_daily": ["on_hand", "sellable", "inbound"],
                       "inventory_health_rollup_daily": ["on_hand", "sellable", "inbound"]}.items():
        n = query(home, f"select count(*) as n from marts.{mart} where " + " or ".join(f"{c} < 0" for c in cols))
        assert n[0]["n"] == 0
    mins = {e["column"]: e.get("min") for e in get_contract("inventory_snapshots").expectations if "min" in e}
    assert mins == {"on_hand": 0, "sellable": 0, "inbound": 0}


def test_every_inventory_mart_is_documented_with_tests_at_its_grain(home):
    manifest = json.loads((home.root / "dbt" / "target" / "manifest.json").read_text())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    for mart in INVENTORY_MARTS:
        node = models[mart]
        assert node["config"]["contract"]["enforced"], mart
        assert node["description"].strip(), mart
        built = [r["column_name"] for r in query(home, f"""select column_name from information_schema.columns
                  where table_schema = 'marts' and table_name = '{mart}'""")]
        assert set(node["columns"]) == set(built), mart
        assert all(c["description"].strip() for c in node["columns"].values()), mart
        mine = [t for t in tests if f"model.channel_contribution.{mart}" in t["depends_on"]["nodes"]]
        grains = [t for t in mine if t.get("test_metadata")  # unique and never null, in one test
                  and t["test_metadata"]["name"] == "primary_key"
                  and t["test_metadata"]["kwargs"]["columns"] == GRAIN[mart]]
        assert grains, mart


def test_the_report_section_lists_the_planted_situations(home):
    from orchestration.outputs.inventory_report import inventory_section

    html = inventory_section(build_database(home), END.replace(day=1))

    def table(table_id: str) -> str:
        start = html.index(f'<table id="{table_id}">')
        return html[start:html.index("</table>", start)]

    assert expected(home, "stockout")["sku"] in table("inventory-stockouts")
    assert expected(home, "dead_stock")["sku"] in table("inventory-dead-stock")
    mismatch = expected(home, "mismatch")
    assert mismatch["sku"] in table("inventory-mismatches") and f">{mismatch['days']}<" in table("inventory-mismatches")
    assert expected(home, "tight_supply")["sku"] in table("inventory-allocation")
