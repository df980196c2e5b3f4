"""The inventory section of the HTML readback (orchestration/outputs/report.py): stockouts, dead stock,
mismatches between systems (with their oversells) and the allocation recommendations, for the
report's month, from the marts of docs/metrics.md "Inventory health". Reads the same published
snapshot the report reads; a snapshot without the inventory marts gets a note instead. The HTML is
templates/_inventory.html, which the readback's page includes.
"""

from __future__ import annotations

import calendar
from datetime import date
from pathlib import Path

import duckdb

from orchestration.outputs.formatting import has_table, render, rows


def inventory_data(con, month: date) -> dict[str, list[dict]]:
    last = date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])
    data = {}
    data["kpis"] = rows(con, """
        select scope_key, stockout_rate, days_on_hand, inventory_turnover, sell_through, closing_stock_value,
               dead_stock_value, lost_units_est, lost_sales_value_est
        from marts.inventory_kpis_monthly where month = ? order by scope desc, scope_key""", [month])
    data["stockouts"] = rows(con, """
        select location, sku, min(date) as first_day, max(date) as last_day, count(*) as stockout_days,
               sum(lost_units_est) as lost_units, sum(lost_sales_value_est) as lost_sales_value
        from marts.inventory_health_daily
        where is_stockout and is_system_of_record and date between ? and ?
        group by location, sku order by lost_sales_value desc, location, sku""", [month, last])
    data["dead_stock"] = rows(con, """
        select h.location, h.sku, h.on_hand, h.stock_value, h.units_sold_90d
        from marts.inventory_health_daily as h
        where h.is_dead_stock and h.is_system_of_record
          and h.date = (select max(date) from marts.inventory_health_daily where date between ? and ?)
        order by h.stock_value desc""", [month, last])
    data["mismatches"] = rows(con, """
        select location, reference_location, sku, mismatch_started_on, max(mismatch_days) as days,
               max(abs_difference) as max_difference, sum(oversell_order_lines) as oversell_order_lines,
               sum(oversell_units) as oversell_units
        from marts.stock_mismatch
        where is_beyond_tolerance and date between ? and ?
        group by location, reference_location, sku, mismatch_started_on
        order by days desc, max_difference desc""", [month, last])
    data["allocation"] = rows(con, """
        select as_of_date, location, sku, channel, available_units, allocated_units, days_on_hand,
               lead_time_days, reason
        from marts.allocation_recommendation order by location, sku, claim_rank, channel""")
    return data


def inventory_section(database: Path, month: date) -> str:
    """HTML of the report's inventory section (an <h2> and its tables)."""
    with duckdb.connect(str(database), read_only=True) as con:
        data = inventory_data(con, month) if has_table(con, "marts", "inventory_kpis_monthly") else None
    return render("_inventory.html", inventory=data, month=month)


__all__ = ["inventory_section", "inventory_data"]
