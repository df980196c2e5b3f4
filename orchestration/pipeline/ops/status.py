"""Feed status: is every feed fresh, late or failing, since when, and whose is it.

Reads only files (never a DuckDB database): the contracts (owner, freshness SLA), the lake's ledger
(newest event time and load time per landed file) and the check-result history that
`orchestration.pipeline.ops.alerts.record_run` writes to ops/check_results/<run_id>.parquet.

States, per feed:
* failing — the latest run that checked the feed had a blocking 'fail' for it;
* late    — not failing, but overdue: nothing has landed at all, or the lag is beyond the SLA, or
            the latest run had a 'warn' (or a non-blocking 'fail') for it;
* disabled — switched off in config/feed_options.yml (connectors/feed_switches.py), not failing;
* ok      — otherwise.

Lag is measured at the as-of date 00:00 in the business time zone, the way the freshness check
(orchestration.pipeline.gates.sla) does:
a date event covers its whole day (a monthly feed's month: the whole month), so `lag_hours` =
as_of − the end of what the newest event covers (≥ 0); a feed of cadence `on_change` (a cost list
that rarely changes) is judged by the newest load instead, and any feed whose newest load is older
than the allowance is overdue too. The allowance is `freshness_sla_hours`, or the
`allowed_hours` the latest run's freshness check reported (it adds the quiet days normal for a
feed, e.g. weekends), when there is one.
`since` is when the current state began: for failing (and late-by-warning) the check time of the
first run of the unbroken streak of such runs; for late-by-lag the moment the SLA ran out
(last_event + sla_hours); for ok the first run of the unbroken streak of clean runs.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pyarrow.parquet as pq
from rich.table import Table

from connectors.contracts import load_contracts
from connectors.feed_switches import disabled_feeds
from connectors.home import Home, business_timezone, check_results_dir
from orchestration.pipeline.ops.alerts import CHECK_RESULTS_SCHEMA

FAILURE_WINDOW_DAYS = 30
STATUS_SCHEMA = {
    "feed": pl.String, "owner": pl.String, "owner_contact": pl.String,
    "last_event": pl.Datetime("us", "UTC"), "last_load": pl.Datetime("us", "UTC"),
    "lag_hours": pl.Float64, "sla_hours": pl.Int64, "state": pl.String,
    "since": pl.Datetime("us", "UTC"), "failures_30d": pl.Int64, "last_check_run": pl.String,
    "reason": pl.String,
}


def _utc(value) -> datetime | None:
    """A ledger time ('2026-07-31' or '2026-07-31 16:26:32+00:00') as an aware UTC datetime."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    else:
        parsed = datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _covers_until(contract, last_event: datetime | None, zone: str = "UTC") -> datetime | None:
    """The instant the newest event covers up to: a date → its day's end in the business time zone
    `zone` (monthly: the month's end)."""
    if last_event is None or contract.column(contract.event_time_column).type != "date":
        return last_event
    day = last_event.date()
    if contract.cadence == "monthly":
        end = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    else:
        end = day + timedelta(days=1)
    return datetime.combine(end, time(), tzinfo=ZoneInfo(zone))


def _allowed_hours(latest: dict | None, sla: int) -> float:
    """The freshness check's own allowance (SLA + quiet days) from the latest run, else the SLA."""
    try:
        value = (latest or {}).get("freshness_allowed_hours")
        return float(value) if value is not None else float(sla)
    except (TypeError, ValueError):
        return float(sla)


def lake_watermarks(home: Home, feeds) -> dict[str, tuple[datetime | None, datetime | None]]:
    """feed → (newest event time, newest load time) from the ledger of landed files."""
    out = {}
    for feed in feeds:
        last_event = last_load = None
        folder = home.ledger(feed)
        for path in sorted(folder.glob("*.json")) if folder.exists() else []:
            record = json.loads(path.read_text())
            event, loaded = _utc(record.get("max_event_time")), _utc(record.get("loaded_at"))
            if event and (last_event is None or event > last_event):
                last_event = event
            if loaded and (last_load is None or loaded > last_load):
                last_load = loaded
        out[feed] = (last_event, last_load)
    return out


def check_history(home: Home) -> pl.DataFrame:
    """Every recorded check result (all runs), one row per result."""
    folder = check_results_dir(home)
    files = sorted(folder.glob("*.parquet")) if folder.exists() else []
    if not files:
        return pl.from_arrow(CHECK_RESULTS_SCHEMA.empty_table())
    frames = [pl.from_arrow(pq.read_table(f)) for f in files]
    return pl.concat(frames, how="diagonal_relaxed")


def last_run(home: Home) -> tuple[date, str] | None:
    """(logical date, run id) of the latest night that checked the feeds (the newest logical date; a
    backfill of an earlier date run afterwards does not move it back), or None before any run: what
    `cwh status` judges against by default (today's date, right after the demo's night of
    2026-11-01, would call every feed late)."""
    history = check_history(home).filter(pl.col("logical_date").is_not_null())
    if history.is_empty():
        return None
    latest = history.sort("logical_date", "checked_at").row(-1, named=True)
    return latest["logical_date"], latest["run_id"]


def _run_states(history: pl.DataFrame) -> pl.DataFrame:
    """One row per (feed, run): the run's state for the feed and whether it had any 'fail'."""
    return (
        history.filter(pl.col("feed").is_not_null())
        .group_by("feed", "run_id")
        .agg(
            pl.col("logical_date").max(),
            pl.col("checked_at").max(),
            ((pl.col("status") == "fail") & pl.col("blocking")).any().alias("blocking_fail"),
            (pl.col("status") == "fail").any().alias("any_fail"),
            (pl.col("status") != "ok").any().alias("any_issue"),
            pl.col("check").filter(pl.col("status") != "ok").sort().alias("issues"),
            pl.col("metadata").filter(pl.col("check") == "freshness").last().alias("freshness_metadata"),
        )
        .with_columns(
            pl.when(pl.col("blocking_fail")).then(pl.lit("failing"))
            .when(pl.col("any_issue")).then(pl.lit("late"))
            .otherwise(pl.lit("ok")).alias("run_state"))
        .sort("feed", "logical_date", "checked_at", "run_id")
        .with_columns(pl.col("freshness_metadata").map_elements(_allowed_from_json, return_dtype=pl.Float64)
                      .alias("freshness_allowed_hours"))
        .drop("freshness_metadata")
    )


def _allowed_from_json(text: str | None) -> float | None:
    try:
        value = json.loads(text).get("allowed_hours") if text else None
        return None if value is None else float(value)
    except (ValueError, TypeError, AttributeError):
        return None


def _streak_start(runs: list[dict], state: str) -> datetime | None:
    """Check time of the first run of the trailing streak of runs in `state`."""
    start = None
    for run in reversed(runs):
        if run["run_state"] != state:
            break
        start = run["checked_at"]
    return start


def feed_sla_status(home: Home, *, as_of: date) -> pl.DataFrame:
    """One row per contract: freshness, state, since when, recent failures (see the module docstring)."""
    contracts = load_contracts()
    zone = business_timezone(home)  # the as-of date is a local day, its 00:00 the freshness check's edge
    as_of_ts = datetime.combine(as_of, time(), tzinfo=ZoneInfo(zone))
    marks = lake_watermarks(home, contracts)
    history = check_history(home).filter(pl.col("logical_date") <= as_of)
    runs = _run_states(history)
    window_start = as_of - timedelta(days=FAILURE_WINDOW_DAYS)
    runs_by_feed: dict[str, list[dict]] = {}
    for run in runs.iter_rows(named=True):
        runs_by_feed.setdefault(run["feed"], []).append(run)

    rows, off = [], set(disabled_feeds(home))
    for feed, contract in contracts.items():
        last_event, last_load = marks[feed]
        sla = contract.freshness_sla_hours
        feed_runs = runs_by_feed.get(feed, [])
        latest = feed_runs[-1] if feed_runs else None
        failures = sum(1 for r in feed_runs if r["any_fail"] and window_start < r["logical_date"] <= as_of)
        allowed = _allowed_hours(latest, sla)
        # on_change feeds (a cost list) are judged by their newest load, every other by the newest event
        fresh_until = last_load if contract.cadence == "on_change" else _covers_until(contract, last_event, zone)
        lag = None if fresh_until is None else max(0.0, (as_of_ts - fresh_until).total_seconds() / 3600)
        load_lag = None if last_load is None else max(0.0, (as_of_ts - last_load).total_seconds() / 3600)
        overdue = fresh_until is None or lag > allowed or (load_lag is not None and load_lag > allowed)
        if latest and latest["run_state"] == "failing":
            state, since = "failing", _streak_start(feed_runs, "failing")
            reason = "blocking fail: " + ", ".join(latest["issues"])
        elif feed in off:  # switched off by the brand: never late (connectors/feed_switches.py)
            state, since, reason = "disabled", None, f"disabled in {home.feed_options_file.name}"
        elif overdue or (latest and latest["run_state"] == "late"):
            state, candidates, reasons = "late", [], []
            if fresh_until is None:
                reasons.append("nothing landed")
            elif overdue:
                stale = min(fresh_until, last_load or fresh_until)
                candidates.append(stale + timedelta(hours=allowed))
                reasons.append(f"lag {max(lag, load_lag or 0):.0f}h > allowed {allowed:.0f}h")
            if latest and latest["run_state"] == "late":
                candidates.append(_streak_start(feed_runs, "late"))
                reasons.append("warn: " + ", ".join(latest["issues"]))
            since = min((c for c in candidates if c is not None), default=None)
            reason = "; ".join(reasons)
        else:
            state, since, reason = "ok", _streak_start(feed_runs, "ok"), ""
        rows.append({
            "feed": feed, "owner": contract.owner.get("team"), "owner_contact": contract.owner.get("contact"),
            "last_event": last_event, "last_load": last_load,
            "lag_hours": None if lag is None else round(lag, 2), "sla_hours": sla, "state": state,
            "since": since, "failures_30d": failures,
            "last_check_run": latest["run_id"] if latest else None, "reason": reason,
        })
    return pl.DataFrame(rows, schema=STATUS_SCHEMA)


def feed_sla_status_path(home: Home) -> Path:
    return home.root / "ops" / "feed_sla_status.parquet"


def write_feed_sla_status(home: Home, frame: pl.DataFrame) -> Path:
    """Write the status frame to ops/feed_sla_status.parquet (atomically)."""
    import os

    path = feed_sla_status_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        frame.write_parquet(tmp, compression="zstd")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


_STYLE = {"ok": "green", "late": "yellow", "failing": "bold red", "disabled": "dim"}


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M")


def render_status(frame: pl.DataFrame) -> Table:
    """A rich table of the status frame: failing feeds first, then late, then ok."""
    table = Table(title="Feed status", header_style="bold")
    for name, justify in (("feed", "left"), ("state", "left"), ("since", "left"), ("last event", "left"),
                          ("lag h", "right"), ("SLA h", "right"), ("fails 30d", "right"),
                          ("owner", "left"), ("why", "left")):
        table.add_column(name, justify=justify)
    order = {"failing": 0, "late": 1, "ok": 2, "disabled": 3}
    for row in sorted(frame.iter_rows(named=True), key=lambda r: (order.get(r["state"], 3), r["feed"])):
        style = _STYLE.get(row["state"], "")
        owner = row["owner"] or "-"
        if row.get("owner_contact"):
            owner = f"{owner} <{row['owner_contact']}>"
        table.add_row(
            row["feed"], f"[{style}]{row['state']}[/]", _when(row["since"]), _when(row["last_event"]),
            "-" if row["lag_hours"] is None else f"{row['lag_hours']:.0f}", str(row["sla_hours"]),
            str(row["failures_30d"]), owner, row.get("reason") or "")
    return table
