"""Restatements: a number finance already reported never changes silently.

Before a build is published, its channel P&L (`marts.channel_pnl_monthly`) is compared with the
one currently published, for every month that was already closed at that previous publish (month
< the previous and the current logical date's month). Every channel × month × P&L money line that
changed becomes a row of table `main.restatements` in the build database — previously published
value, restated value, delta and why — so the publish carries it. The reason names the
late-arriving data: the files landed after the previous publish (ledger `loaded_at`) holding events
dated in that month, with what they hold (e.g. `1 refund(s)`); when the month's accrued fees fell,
it starts with "accrued fees replaced by settlement actuals" (the accrued lines are restated rows
too: docs/metrics.md "Accrued fees"). History is kept: the published
file's earlier restatement rows are carried over, as `publish_log` is.
"""

from __future__ import annotations

import calendar
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from connectors.contracts import load_contracts
from connectors.home import build_database, published_database
from connectors.lake import Home, ledger_records

TABLE = "restatements"
# the estimated part of the fee lines (docs/metrics.md "Accrued fees"): when a settlement replaces
# accruals by actuals, these fall and the fee lines move; both are restated rows, with that reason
ACCRUED_LINES = ("accrued_marketplace_fees", "accrued_fulfillment_costs")
ACCRUAL_REASON = "accrued fees replaced by settlement actuals"
# the money lines of the P&L (ratios and shares are derived from them and are not restated rows)
LINES = ("gross_sales", "discounts", "returns", "net_sales", "shipping_income", "net_revenue", "cogs", "cm1",
         "fulfillment_costs", "payment_fees", "marketplace_fees", "reimbursements", "cm2", "marketing_spend", "cm3",
         "operating_costs", "contribution_after_opex", *ACCRUED_LINES)
DDL = f"""
CREATE TABLE IF NOT EXISTS main.{TABLE} (
    run_id VARCHAR NOT NULL,            -- the run whose publish restates the month
    logical_date DATE NOT NULL,
    restated_at TIMESTAMPTZ NOT NULL,
    channel VARCHAR NOT NULL,
    month DATE NOT NULL,
    line VARCHAR NOT NULL,              -- P&L line (channel_pnl_monthly column)
    previously_published DECIMAL(18,2) NOT NULL,
    restated DECIMAL(18,2) NOT NULL,
    delta DECIMAL(18,2) NOT NULL,       -- restated - previously_published
    previous_run_id VARCHAR,            -- the publish whose figure is restated
    previous_published_at TIMESTAMPTZ,
    reason VARCHAR NOT NULL
)"""
COLUMNS = ("run_id", "logical_date", "restated_at", "channel", "month", "line", "previously_published", "restated",
           "delta", "previous_run_id", "previous_published_at", "reason")
# the channels a feed's rows can move (feeds not listed can move any channel)
FEED_CHANNELS = {
    "shopify_orders": {"shopify_web", "shopify_pos", "unallocated"},
    "shopify_payments": {"shopify_web", "shopify_pos", "unallocated"},
    "amazon_orders": {"amazon_us", "amazon_ca", "unallocated"},
    "amazon_settlements": {"amazon_us", "amazon_ca", "unallocated"},
    "amazon_returns": {"amazon_us", "amazon_ca", "unallocated"},
    "wholesale_invoices": {"wholesale"},
}
KIND_COLUMN = {"shopify_payments": "transaction_type", "amazon_settlements": "transaction_type",
               "wholesale_invoices": "document_type"}


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _month_end(m: date) -> date:
    return m.replace(day=calendar.monthrange(m.year, m.month)[1])


def _ts(value) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _pnl(con: duckdb.DuckDBPyConnection, database: str) -> dict[tuple[str, date], dict[str, Decimal]]:
    # a snapshot published before a line existed (e.g. reimbursements) reads it as 0
    present = {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_catalog = ? and table_schema = 'marts' "
        "and table_name = 'channel_pnl_monthly'", [database]).fetchall()}
    selected = ", ".join(line if line in present else f"0.00 as {line}" for line in LINES)
    rows = con.execute(f"select channel, month, {selected} from {database}.marts.channel_pnl_monthly").fetchall()
    return {(channel, month): dict(zip(LINES, values, strict=True)) for channel, month, *values in rows}


def _accrual_replaced(old: dict, new: dict) -> bool:
    """The month's accrued fees went down: a settlement brought the actuals of accrued items."""
    zero = Decimal("0.00")
    return any((new.get(line) or zero) < (old.get(line) or zero) for line in ACCRUED_LINES)


def _late_files(home: Home, since: datetime) -> list[dict]:
    """Files landed after `since` (the previous publish), with their event range."""
    out = []
    for record in ledger_records(home):
        loaded = _ts(record.get("loaded_at"))
        if record.get("status") == "loaded" and loaded and loaded > since and record.get("rows_loaded"):
            out.append(record)
    return out


def _late_counts(home: Home, record: dict, month: date) -> Counter:
    """What a late file holds with event dates in `month`: refunds, fees, rows by kind."""
    feed = record["feed"]
    raw = home.raw(feed) / f"{record['file_id']}.parquet"
    if not raw.exists():
        return Counter()
    event = load_contracts()[feed].event_time_column
    kind = KIND_COLUMN.get(feed)
    kind_sql = f"coalesce(cast({kind} as varchar), 'row')" if kind else f"'{feed} row'"
    fee_sql = "sum(case when fee is not null and fee <> 0 then 1 else 0 end)" if feed == "shopify_payments" else "0"
    with duckdb.connect() as con:
        rows = con.execute(
            f"select {kind_sql} as kind, count(*), {fee_sql} from read_parquet(?) "
            f"where cast({event} as date) between ? and ? group by 1",
            [str(raw), month, _month_end(month)]).fetchall()
    counts: Counter = Counter()
    for kind_value, n, fees in rows:
        counts[str(kind_value).lower()] += n
        if fees:
            counts["fee"] += fees
    return counts


def _reason(home: Home, late: list[dict], channel: str, month: date, previous_run: str,
            previous_at: datetime) -> str:
    counts: Counter = Counter()
    files = []
    for record in late:
        if channel not in FEED_CHANNELS.get(record["feed"], {channel}):
            continue
        low, high = _ts(record.get("min_event_time")), _ts(record.get("max_event_time"))
        if low is None or high is None or high.date() < month or low.date() > _month_end(month):
            continue
        found = _late_counts(home, record, month)
        if found:
            counts.update(found)
            files.append(f"{record['feed']}/{record['file']}")
    when = f"the previous publish (run {previous_run}, {previous_at:%Y-%m-%d %H:%M} UTC)"
    removed = _removed_files(home, previous_at, channel, month)
    if not files and not removed:
        return (f"no file with events in {month:%Y-%m} landed after {when}: a correction of rules, "
                "configuration or a re-issued file restated it")
    if not files:
        return f"files with events in {month:%Y-%m} removed after {when}: {removed}"
    what = ", ".join(f"{n} {kind}(s)" for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return (f"late-arriving data: {what} with event dates in {month:%Y-%m} landed after {when} "
            f"(files: {', '.join(sorted(files))})" + (f"; files removed: {removed}" if removed else ""))


def _removed_files(home: Home, since: datetime, channel: str, month: date) -> str:
    """Files taken out (cwh unland) or superseded (cwh ingest --replace) after `since` that held events
    of `month`, as `feed/file (why)`."""
    from connectors.unland import removal_records

    found = []
    for removal in removal_records(home):
        landed, removed_at = removal["landed"], _ts(removal["removed_at"])
        low, high = _ts(landed.get("min_event_time")), _ts(landed.get("max_event_time"))
        if (removed_at is None or removed_at <= since or low is None or high is None
                or channel not in FEED_CHANNELS.get(removal["feed"], {channel})
                or high.date() < month or low.date() > _month_end(month)):
            continue
        found.append(f"{removal['feed']}/{removal['file']} ({removal['reason']})")
    return ", ".join(sorted(found))


def restatement_rows(home: Home, con: duckdb.DuckDBPyConnection, run_id: str, logical_date: date) -> list[tuple]:
    """The new restatement rows of this build against the attached published database `prev`."""
    if not con.execute("select count(*) from duckdb_tables() where database_name = 'prev' "
                       "and schema_name = 'marts' and table_name = 'channel_pnl_monthly'").fetchone()[0]:
        return []
    log = con.execute("select run_id, logical_date, published_at from prev.main.publish_log "
                      "order by published_at desc limit 1").fetchone() if con.execute(
        "select count(*) from duckdb_tables() where database_name = 'prev' and table_name = 'publish_log'"
    ).fetchone()[0] else None
    if log is None:
        return []
    previous_run, previous_logical, previous_at = log[0], log[1], _ts(log[2])
    closed_before = min(_month_start(logical_date), _month_start(previous_logical))
    before, after = _pnl(con, "prev"), _pnl(con, "build")
    late = _late_files(home, previous_at)
    now = datetime.now(UTC)
    rows, reasons = [], {}
    zero = Decimal("0.00")
    for channel, month in sorted(set(before) | set(after)):
        if month >= closed_before:
            continue
        old, new = before.get((channel, month), {}), after.get((channel, month), {})
        for line in LINES:
            was, now_value = old.get(line) or zero, new.get(line) or zero
            if was == now_value:
                continue
            if (channel, month) not in reasons:
                reason = _reason(home, late, channel, month, previous_run, previous_at)
                if _accrual_replaced(old, new):
                    reason = f"{ACCRUAL_REASON}; {reason}"
                reasons[(channel, month)] = reason
            rows.append((run_id, logical_date, now, channel, month, line, was, now_value, now_value - was,
                         previous_run, previous_at, reasons[(channel, month)]))
    return rows


def record_restatements(home: Home, run_id: str, logical_date: date) -> list[dict]:
    """Write `main.restatements` into the build database: the published history plus this build's
    restatements of closed months. Returns this run's rows."""
    build, published = build_database(home), published_database(home)
    with duckdb.connect(":memory:") as con:
        con.execute(f"ATTACH '{_sql(build)}' AS build")
        con.execute("USE build")
        con.execute(DDL)
        con.execute(f"DELETE FROM build.main.{TABLE}")
        new: list[tuple] = []
        if Path(published).exists():
            con.execute(f"ATTACH '{_sql(published)}' AS prev (READ_ONLY)")
            try:
                if con.execute("select count(*) from duckdb_tables() where database_name = 'prev' "
                               f"and schema_name = 'main' and table_name = '{TABLE}'").fetchone()[0]:
                    con.execute(f"INSERT INTO build.main.{TABLE} ({', '.join(COLUMNS)}) "
                                f"SELECT {', '.join(COLUMNS)} FROM prev.main.{TABLE} ORDER BY restated_at")
                new = restatement_rows(home, con, run_id, logical_date)
            finally:
                con.execute("USE memory")
                con.execute("DETACH prev")
        if new:
            con.executemany(f"INSERT INTO build.main.{TABLE} ({', '.join(COLUMNS)}) VALUES "
                            f"({', '.join('?' * len(COLUMNS))})", new)
        con.execute("USE memory")
        con.execute("DETACH build")
    return [dict(zip(COLUMNS, row, strict=True)) for row in new]


def _sql(path) -> str:
    return str(path).replace("'", "''")


__all__ = ["record_restatements", "restatement_rows", "ACCRUED_LINES", "LINES", "TABLE"]
