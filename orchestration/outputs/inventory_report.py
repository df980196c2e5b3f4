"""The inventory section of the HTML readback (orchestration/outputs/report.py): stockouts, dead stock,
mismatches between systems (with their oversells) and the allocation recommendations, for the
report's month, from the marts of docs/metrics.md "Inventory health". Reads the same published
snapshot the report reads; a snapshot without the inventory marts gets a note instead.
"""

from __future__ import annotations

import calendar
from datetime import date
from pathlib import Path

import duckdb

from orchestration.outputs.report import _e, _has, _money, _pct, _rows, _table

MONEY = {"lost_sales_value", "dead_stock_value", "stock_value", "closing_stock_value", "avg_stock_value"}


def inventory_data(con, month: date) -> dict[str, list[dict]]:
    last = date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])
    data = {}
    data["kpis"] = _rows(con, """
        select scope_key, stockout_rate, days_on_hand, inventory_turnover, sell_through, closing_stock_value,
               dead_stock_value, lost_units_est, lost_sales_value_est
        from marts.inventory_kpis_monthly where month = ? order by scope desc, scope_key""", [month])
    data["stockouts"] = _rows(con, """
        select location, sku, min(date) as first_day, max(date) as last_day, count(*) as stockout_days,
               sum(lost_units_est) as lost_units, sum(lost_sales_value_est) as lost_sales_value
        from marts.inventory_health_daily
        where is_stockout and is_system_of_record and date between ? and ?
        group by location, sku order by lost_sales_value desc, location, sku""", [month, last])
    data["dead_stock"] = _rows(con, """
        select h.location, h.sku, h.on_hand, h.stock_value, h.units_sold_90d
        from marts.inventory_health_daily as h
        where h.is_dead_stock and h.is_system_of_record
          and h.date = (select max(date) from marts.inventory_health_daily where date between ? and ?)
        order by h.stock_value desc""", [month, last])
    data["mismatches"] = _rows(con, """
        select location, reference_location, sku, mismatch_started_on, max(mismatch_days) as days,
               max(abs_difference) as max_difference, sum(oversell_order_lines) as oversell_order_lines,
               sum(oversell_units) as oversell_units
        from marts.stock_mismatch
        where is_beyond_tolerance and date between ? and ?
        group by location, reference_location, sku, mismatch_started_on
        order by days desc, max_difference desc""", [month, last])
    data["allocation"] = _rows(con, """
        select as_of_date, location, sku, channel, available_units, allocated_units, days_on_hand,
               lead_time_days, reason
        from marts.allocation_recommendation order by location, sku, claim_rank, channel""")
    return data


def inventory_section(database: Path, month: date) -> str:
    """HTML of the report's inventory section (an <h2> and its tables)."""
    with duckdb.connect(str(database), read_only=True) as con:
        if not _has(con, "marts", "inventory_kpis_monthly"):
            return '<h2>Inventory</h2><p class="note">This snapshot has no inventory marts.</p>'
        data = inventory_data(con, month)
    parts = ["<h2>Inventory</h2>",
             '<p class="note">Stock of the system-of-record locations (a Shopify location that mirrors the 3PL '
             "is compared, not counted); lost sales estimated from each SKU's velocity before it ran out. "
             "Rules: docs/metrics.md, Inventory health.</p>"]
    parts.append(_table(data["kpis"], None, set(data["kpis"][0]) - {"scope_key"} if data["kpis"] else set(),
                        {"stockout_rate": _pct, "sell_through": _pct, "closing_stock_value": _money,
                         "dead_stock_value": _money, "lost_sales_value_est": _money}).replace(
        "<table>", '<table id="inventory-kpis">', 1))
    parts.append(f"<h3>Stockouts in {month:%B %Y}</h3>")
    parts.append(_table(data["stockouts"], None, {"stockout_days", "lost_units", "lost_sales_value"},
                        {"lost_sales_value": _money}).replace("<table>", '<table id="inventory-stockouts">', 1))
    parts.append("<h3>Dead stock (no sale in 90 days)</h3>")
    parts.append(_table(data["dead_stock"], None, {"on_hand", "stock_value", "units_sold_90d"},
                        {"stock_value": _money}).replace("<table>", '<table id="inventory-dead-stock">', 1))
    parts.append("<h3>Stock mismatches between systems (beyond tolerance)</h3>")
    parts.append(_table(data["mismatches"], None, {"days", "max_difference", "oversell_order_lines",
                                                    "oversell_units"}).replace(
        "<table>", '<table id="inventory-mismatches">', 1))
    as_of = data["allocation"][0]["as_of_date"] if data["allocation"] else None
    parts.append(f"<h3>Allocation under tight supply{f' (as of {_e(as_of)})' if as_of else ''}</h3>")
    parts.append(_table(data["allocation"], ["location", "sku", "channel", "available_units", "allocated_units",
                                             "days_on_hand", "lead_time_days", "reason"],
                        {"available_units", "allocated_units", "days_on_hand", "lead_time_days"}).replace(
        "<table>", '<table id="inventory-allocation">', 1))
    return "\n".join(parts)


__all__ = ["inventory_section", "inventory_data"]
