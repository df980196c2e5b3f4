"""What every output says about the data it shows: the publish it comes from (run id, logical date,
published time: the newest row of `main.publish_log` in the published file), the reporting
currency every `*_rc` and P&L money column is in (the dbt var `reporting_currency` of the project
that built it), and each month's period status when the P&L mart has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

import yaml

from connectors.home import DBT_DIR
from orchestration.outputs.formatting import columns, has_table, rows

DEFAULT_CURRENCY = "USD"


@dataclass(frozen=True)
class Snapshot:
    run_id: str | None
    logical_date: date | None
    published_at: datetime | None
    reporting_currency: str


@cache
def reporting_currency() -> str:
    """The dbt var `reporting_currency` (dbt_project.yml), the currency the marts' money is in."""
    project = yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    return str((project.get("vars") or {}).get("reporting_currency") or DEFAULT_CURRENCY)


def read_snapshot(con) -> Snapshot:
    """The publish the open published database `con` holds (its newest publish_log row)."""
    last = {}
    if has_table(con, "main", "publish_log"):
        found = rows(con, "select run_id, logical_date, published_at from main.publish_log "
                          "order by published_at desc limit 1")
        last = found[0] if found else {}
    return Snapshot(last.get("run_id"), last.get("logical_date"), last.get("published_at"), reporting_currency())


def period_statuses(con, month: date | None = None) -> list[dict]:
    """[{month, period_status, channels}] from the monthly P&L's `period_status` (docs/metrics.md:
    open, provisional, closed), or [] when the published marts do not have that column."""
    for table in ("channel_pnl_reconciled", "channel_pnl_monthly"):
        if has_table(con, "marts", table) and "period_status" in columns(con, "marts", table):
            where = "where month = ?" if month else ""
            return rows(con, f"""
                select month, period_status, string_agg(channel, ', ' order by channel) as channels
                from marts.{table} {where} group by month, period_status order by month, period_status""",
                        [month] if month else [])
    return []
