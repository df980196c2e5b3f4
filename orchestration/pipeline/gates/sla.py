"""Data-quality SLA gates of every feed: freshness, completeness, volume, schema drift (and, in
`orchestration/pipeline/gates/expectations.py`, the Great Expectations suites; `gates/feed.py` runs them
all per feed). docs/gates.md states the rules.

Everything is derived from the feed's contract (`data_contracts/<feed>.yml`: cadence, freshness SLA,
event-time column, primary key, owner) and from what the lake holds; nothing is a second
hand-written copy of a contract. What the lake holds is read from each file's summary
(`gates/file_summary.py`: rows, newest load, event days, computed once per landed file); only a
window's rows (volume, channel coverage) are read, from the files whose event days reach into it.
Plain Python on purpose: no Dagster import, so the checks run the same from the CLI, the tests and
(wrapped by the lead) Dagster asset checks.

The run's logical date D is the day of the nightly run; that run covers data through D-1 (the
"last complete day"). Every age is measured from D 00:00 UTC, never from the wall clock, so a
re-run of an old date gives the same verdict.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

from connectors.contracts import Contract, get_contract
from connectors.feed_switches import disabled_feeds
from connectors.home import SEEDS_DIR, business_timezone
from connectors.lake import Home, landing_files, ledger_records, rejections
from connectors.seeds import marketplace_channels, shopify_source_channels
from orchestration.pipeline.gates.file_summary import (
    COMPLETENESS_SERIES,
    FileSummary,
    files_between,
    parquet_list,
    summaries,
)
from orchestration.pipeline.gates.outcome import CheckOutcome, connect, ident, outcome

CHANNELS_CSV = SEEDS_DIR / "channels.csv"

CHECKS = ("freshness", "completeness", "volume", "schema_drift", "expectations")

# Volume: trailing window, seasonality window, robust-z limits (docs/gates.md).
VOLUME_WINDOW_DAYS = 28
VOLUME_SEASONAL_DAYS = 56
VOLUME_MIN_HISTORY = 7
VOLUME_MIN_SAME_WEEKDAY = 4
MAD_SCALE = 1.4826
Z_WARN = 3.5
Z_FAIL = 10.0

# Freshness: how far back the feed's own history is read to learn its normal quiet days.
QUIET_HISTORY_DAYS = 56
# Schema drift: new vendor columns are reported for files landed in this many days before D.
DRIFT_WINDOW_DAYS = 28

SALES_FEEDS = ("shopify_orders", "amazon_orders", "wholesale_invoices")
WEEKDAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


def _is_date(contract: Contract) -> bool:
    return contract.column(contract.event_time_column).type == "date"


def _day_expr(contract: Contract) -> str:
    col = ident(contract.event_time_column)
    return col if _is_date(contract) else f"CAST({col} AS DATE)"


def _before_literal(contract: Contract, day: date, zone: str = "UTC") -> str:
    """SQL literal of `day` 00:00 in `zone` in the event column's type (for `event < literal`)."""
    if _is_date(contract):
        return f"DATE '{day.isoformat()}'"
    return f"TIMESTAMPTZ '{midnight(day, zone).isoformat()}'"


def midnight(day: date, zone: str = "UTC") -> datetime:
    """The start of `day` in time zone `zone` (the business's: a logical date is a local day)."""
    return datetime.combine(day, time(), ZoneInfo(zone))


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _fmt_ts(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%MZ") if value else None


def _hours(delta: timedelta) -> float:
    return round(max(delta.total_seconds(), 0.0) / 3600, 1)


def _days(start: date, end: date) -> Iterable[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def _ranges(days: list[date]) -> list[str]:
    """['2026-10-15', '2026-10-20..2026-10-22'] from sorted days."""
    out: list[str] = []
    start = prev = None
    for day in days:
        if prev is not None and day == prev + timedelta(days=1):
            prev = day
            continue
        if start is not None:
            out.append(start.isoformat() if start == prev else f"{start.isoformat()}..{prev.isoformat()}")
        start = prev = day
    if start is not None:
        out.append(start.isoformat() if start == prev else f"{start.isoformat()}..{prev.isoformat()}")
    return out


def _span(first: date, last: date) -> str:
    return first.isoformat() if first == last else f"{first.isoformat()} → {last.isoformat()}"


def _ingest(contract: Contract) -> str:
    return f"cwh ingest {contract.feed} FILE"


# ---- freshness -----------------------------------------------------------------------------------

def _event_end(contract: Contract, newest, zone: str = "UTC") -> datetime | None:
    """The instant the newest event covers up to: a date counts to its end (date + 1 day 00:00 in the
    business time zone `zone`); a monthly feed's date (first of the month) counts to the month's end."""
    if newest is None:
        return None
    if isinstance(newest, datetime):
        return newest if newest.tzinfo else newest.replace(tzinfo=UTC)
    if contract.cadence == "monthly":
        return midnight(_next_month(newest), zone)
    return midnight(newest + timedelta(days=1), zone)


def _quiet_days(summaries: list[FileSummary], newest_day: date) -> int:
    """Longest run of days without any event between two event days in the feed's own recent history
    (e.g. 2 for a weekday-only feed: Saturday and Sunday; 0 for a per-day aggregate)."""
    first = newest_day - timedelta(days=QUIET_HISTORY_DAYS)
    days = sorted({d for s in summaries for d in s.days if first <= d <= newest_day})
    return max(((b - a).days - 1 for a, b in pairwise(days)), default=0)


def _newest_before(contract: Contract, summaries: list[FileSummary], logical_date: date, zone: str):
    """(newest event before the logical date's local midnight, events on or after it), from the files'
    summaries; only a file whose events straddle that midnight is read."""
    before = logical_date if _is_date(contract) else int(midnight(logical_date, zone).timestamp() * 1_000_000)
    newest, future, straddling = None, 0, []
    for s in summaries:
        if not s.events:
            continue
        if s.event_max < before:
            newest = s.event_max if newest is None else max(newest, s.event_max)
        elif s.event_min >= before:
            future += s.events
        else:
            straddling.append(s.path)
    if straddling:
        ev, literal = ident(contract.event_time_column), _before_literal(contract, logical_date, zone)
        newest_sql = f"max({ev}) FILTER (WHERE {ev} < {literal})"
        with connect(zone) as con:
            low, high = con.execute(
                f"SELECT {newest_sql if _is_date(contract) else f'epoch_us({newest_sql})'}, "
                f"count(*) FILTER (WHERE {ev} >= {literal}) FROM {parquet_list(straddling)}").fetchone()
        if low is not None:
            newest = low if newest is None else max(newest, low)
        future += high
    if newest is not None and not _is_date(contract):
        newest = datetime.fromtimestamp(newest / 1e6, UTC)
    return newest, future


def freshness(home: Home, contract: Contract, logical_date: date) -> CheckOutcome:
    """Newest event and newest load within the feed's SLA, measured at the logical date 00:00 in the
    business time zone (the logical date is a local day). Read from the files' summaries."""
    zone = business_timezone(home)
    edge = midnight(logical_date, zone)
    sla = contract.freshness_sla_hours
    files = summaries(home, contract, zone)
    rows = sum(s.rows for s in files)
    stats = None
    if rows:
        newest, future = _newest_before(contract, files, logical_date, zone)
        loaded_us = max((s.newest_load_us for s in files if s.newest_load_us is not None), default=None)
        stats = rows, newest, future, loaded_us
        quiet = 0
        if contract.cadence == "daily" and newest is not None:
            newest_day = newest if isinstance(newest, date) and not isinstance(newest, datetime) \
                else newest.astimezone(ZoneInfo(zone)).date()
            quiet = _quiet_days(files, newest_day)
    if not stats or not stats[0]:
        return outcome(
            contract, "freshness", "fail",
            f"{contract.feed}: nothing landed yet (SLA {sla} h).",
            f"Export the {contract.title} and land it ({_ingest(contract)}); "
            f"until then every number that needs {contract.feed} is missing.",
            rows=0, sla_hours=sla, logical_date=logical_date.isoformat())
    loaded_at = datetime.fromtimestamp(loaded_us / 1e6, UTC) if loaded_us is not None else None
    event_end = _event_end(contract, newest, zone)
    event_lag = _hours(edge - event_end) if event_end else None
    load_lag = _hours(edge - loaded_at) if loaded_at else None  # a load after D counts as lag 0
    allowed = sla + 24 * quiet
    judge_event = contract.cadence != "on_change"  # an unchanged cost list is not stale
    # judged on the exact lags (the hours shown are rounded to 0.1 h): exactly at the SLA is within
    # it, one second past it is late
    late_event = judge_event and (event_end is None or edge - event_end > timedelta(hours=allowed))
    late_load = loaded_at is None or edge - loaded_at > timedelta(hours=allowed)
    status = "fail" if late_event or late_load else "ok"
    is_day = isinstance(newest, date) and not isinstance(newest, datetime)
    newest_text = newest.isoformat() if is_day else _fmt_ts(newest)
    parts = []
    if judge_event:
        parts.append(f"newest {contract.event_time_column} {newest_text or 'none before the logical date'}"
                     + (f" (event lag {event_lag} h)" if event_lag is not None else ""))
    else:
        parts.append(f"newest {contract.event_time_column} {newest_text} (not judged: cadence on_change)")
    parts.append(f"newest load {_fmt_ts(loaded_at)} (load lag {load_lag} h)")
    allowance = f"SLA {sla} h" + (f" + {quiet} quiet day(s) normal for this feed" if quiet else "")
    verdict = "past" if status == "fail" else "within"
    detail = (f"{contract.feed} is {verdict} its {allowance} at {logical_date.isoformat()} 00:00 {zone}: "
              + "; ".join(parts) + ".")
    action = ""
    if status == "fail":
        action = _freshness_action(contract, logical_date, newest, late_event, loaded_at)
    return outcome(
        contract, "freshness", status, detail, action,
        logical_date=logical_date.isoformat(), rows=int(stats[0]), sla_hours=sla, quiet_days_allowed=quiet,
        allowed_hours=allowed, newest_event=newest_text, event_covers_until=_fmt_ts(event_end),
        event_lag_hours=event_lag, event_lag_judged=judge_event, newest_load=_fmt_ts(loaded_at),
        load_lag_hours=load_lag, events_after_logical_date=int(stats[2]))


def _freshness_action(contract: Contract, logical_date: date, newest, late_event: bool,
                      loaded_at: datetime | None) -> str:
    last = logical_date - timedelta(days=1)
    if contract.cadence == "on_change" or not late_event:
        since = f" (last load {_fmt_ts(loaded_at)})" if loaded_at else ""
        return (f"Export the current {contract.title} and land it ({_ingest(contract)}){since}; "
                f"an export identical to the last one is a duplicate, so confirm with {contract.owner['team']} "
                f"that nothing changed if it is.")
    newest_day = newest if not isinstance(newest, datetime) else newest.date()
    if contract.cadence == "monthly":
        month = _next_month(newest_day) if newest_day else last.replace(day=1)
        return (f"Export the {contract.title} for {month:%Y-%m} (and any later closed month) and land it "
                f"({_ingest(contract)}).")
    if contract.feed == "amazon_settlements":
        closed = f"closed after {newest_day.isoformat()}" if newest_day else f"closed up to {last.isoformat()}"
        return (f"Download the settlement report(s) Amazon {closed} from Seller "
                f"Central (Reports › Payments › All statements) and land them ({_ingest(contract)}).")
    start = newest_day + timedelta(days=1) if newest_day else last
    return f"Export the {contract.title} of {_span(min(start, last), last)} and land it ({_ingest(contract)})."


# ---- completeness --------------------------------------------------------------------------------

def is_daily_aggregate(contract: Contract) -> bool:
    """A per-day aggregate feed: daily cadence, a DATE event column that is part of the primary key
    (one row per day and key: ads per campaign, FX per currency, sessions per channel, inventory)."""
    return (contract.cadence == "daily" and _is_date(contract)
            and contract.event_time_column in contract.primary_key)


def completeness(home: Home, contract: Contract, logical_date: date) -> CheckOutcome:
    """No missing days (per-day aggregates), contiguous settlement periods (Amazon settlements),
    no missing months (monthly feeds). Sales feeds: see channel_coverage."""
    files = summaries(home, contract, business_timezone(home))  # every file's event days, not its rows
    if contract.feed == "amazon_settlements":
        return _settlement_contiguity(contract, files)
    if is_daily_aggregate(contract):
        return _missing_days(contract, files, logical_date)
    if contract.cadence == "monthly" and _is_date(contract):
        return _missing_months(contract, files, logical_date)
    why = ("channel_coverage checks that every channel has sales" if contract.feed in SALES_FEEDS
           else "an event feed has rows only on days something happened")
    return outcome(contract, "completeness", "ok",
                   f"{contract.feed}: not applicable ({contract.cadence} feed of events; {why}).",
                   applicable=False)


def _nothing(contract: Contract, check: str) -> CheckOutcome:
    return outcome(contract, check, "ok", f"{contract.feed}: nothing landed yet, nothing to check "
                   "(freshness reports the missing feed).", rows=0)


def _missing_days(contract: Contract, files: list[FileSummary], logical_date: date) -> CheckOutcome:
    last = logical_date - timedelta(days=1)
    series = COMPLETENESS_SERIES.get(contract.feed)
    present: dict[str, set[date]] = {}
    for s in files:
        for k, days in (s.series_days.items() if series else [("(all)", s.days)]):
            present.setdefault(k, set()).update(d for d in days if d <= last)
    present = {k: days for k, days in present.items() if days}
    if not present:
        return _nothing(contract, "completeness")
    missing: dict[str, list[date]] = {}
    firsts = {}
    for k, days in sorted(present.items()):
        firsts[k] = min(days)
        gap = [d for d in _days(min(days), last) if d not in days]
        if gap:
            missing[k] = gap
    first = min(firsts.values())
    all_missing = sorted({d for gap in missing.values() for d in gap})
    label = f" per {series}" if series else ""
    meta = dict(logical_date=logical_date.isoformat(), first_day=first.isoformat(), last_day=last.isoformat(),
                series_column=series, series=len(present), missing_days=len(all_missing),
                missing={k: [d.isoformat() for d in v[:62]] for k, v in missing.items()})
    if not missing:
        return outcome(contract, "completeness", "ok",
                       f"{contract.feed}: every day from {first.isoformat()} to {last.isoformat()} is present{label} "
                       f"({len(present)} series)." if series else
                       f"{contract.feed}: every day from {first.isoformat()} to {last.isoformat()} is present.", **meta)
    listed = ", ".join(_ranges(all_missing)[:10])
    who = ""
    if series:
        who = " (" + "; ".join(f"{k}: {len(v)}" for k, v in missing.items()) + f" missing day(s) per {series})"
    detail = (f"{contract.feed}: {len(all_missing)} day(s) missing between {first.isoformat()} and "
              f"{last.isoformat()}: {listed}{who}.")
    action = (f"Export the {contract.title} covering {', '.join(_ranges(all_missing)[:5])} and land it "
              f"({_ingest(contract)}); a re-export of a longer range is fine (newer rows replace older ones).")
    return outcome(contract, "completeness", "fail", detail, action, **meta)


def _missing_months(contract: Contract, files: list[FileSummary], logical_date: date) -> CheckOutcome:
    months = sorted({d.replace(day=1) for s in files for d in s.days if d.replace(day=1) <= logical_date})
    if not months:
        return _nothing(contract, "completeness")
    expected, m = [], months[0]
    while m <= months[-1]:
        expected.append(m)
        m = _next_month(m)
    missing = [m for m in expected if m not in set(months)]
    meta = dict(first_month=f"{months[0]:%Y-%m}", last_month=f"{months[-1]:%Y-%m}",
                missing_months=[f"{m:%Y-%m}" for m in missing])
    if not missing:
        return outcome(contract, "completeness", "ok",
                       f"{contract.feed}: every month from {months[0]:%Y-%m} to {months[-1]:%Y-%m} is present.", **meta)
    names = ", ".join(f"{m:%Y-%m}" for m in missing)
    return outcome(contract, "completeness", "fail",
                   f"{contract.feed}: {len(missing)} month(s) missing between {months[0]:%Y-%m} and "
                   f"{months[-1]:%Y-%m}: {names}.",
                   f"Export the {contract.title} for {names} and land it ({_ingest(contract)}).", **meta)


def _settlement_periods(files: list[FileSummary]) -> list[tuple]:
    """(settlement_id, marketplace or else currency, start µs, end µs) over every file's settlements,
    ordered by marketplace and start, as one query over all rows would group them."""
    merged: dict = {}
    for s in files:
        for sid, market, currency, start, end in s.settlements:
            m, c, lo, hi = merged.get(sid, (None, None, None, None))
            merged[sid] = (_max(m, market), _max(c, currency), _min(lo, start), _max(hi, end))
    rows = [(sid, m if m is not None else c, lo, hi) for sid, (m, c, lo, hi) in merged.items()]
    return sorted(rows, key=lambda r: (r[1] is None, r[1] or "", r[2] is None, r[2] or 0, str(r[0])))


def _max(a, b):
    return b if a is None else a if b is None else max(a, b)


def _min(a, b):
    return b if a is None else a if b is None else min(a, b)


def _settlement_contiguity(contract: Contract, files: list[FileSummary]) -> CheckOutcome:
    """Per marketplace (or currency when a settlement names none), each settlement starts where the
    previous one ended (within 1 day): a gap is a settlement report that was never landed."""
    if not files:
        return _nothing(contract, "completeness")
    rows = _settlement_periods(files)
    to_dt = lambda us: datetime.fromtimestamp(us / 1e6, UTC) if us is not None else None  # noqa: E731
    by_market: dict[str, list[tuple[str, datetime, datetime]]] = {}
    undated = []
    for sid, market, start, end in rows:
        if start is None or end is None:
            undated.append(sid)
            continue
        by_market.setdefault(market or "(unknown)", []).append((sid, to_dt(start), to_dt(end)))
    gaps = []
    for market, items in sorted(by_market.items()):
        items.sort(key=lambda t: t[1])
        for (prev_id, _, prev_end), (sid, start, _) in pairwise(items):
            if abs(start - prev_end) > timedelta(days=1):
                gaps.append({"marketplace": market, "after_settlement": prev_id, "ends": _fmt_ts(prev_end),
                             "next_settlement": sid, "starts": _fmt_ts(start),
                             "kind": "gap" if start > prev_end else "overlap"})
    meta = dict(settlements=len(rows), marketplaces={m: len(v) for m, v in by_market.items()},
                periods={m: [f"{sid}: {_fmt_ts(s)}..{_fmt_ts(e)}" for sid, s, e in v[-6:]]
                         for m, v in by_market.items()},
                gaps=gaps, settlements_without_period=undated)
    if not gaps:
        return outcome(contract, "completeness", "ok",
                       f"{contract.feed}: {len(rows)} settlements, contiguous per marketplace "
                       f"({', '.join(f'{m}: {len(v)}' for m, v in by_market.items())}).", **meta)
    first = gaps[0]
    listed = "; ".join(f"{g['marketplace']}: {g['kind']} {g['ends']} → {g['starts']} "
                       f"(after {g['after_settlement']}, before {g['next_settlement']})" for g in gaps[:5])
    detail = f"{contract.feed}: {len(gaps)} break(s) in the settlement periods: {listed}."
    action = (f"Download the {first['marketplace']} settlement report covering {first['ends'][:10]} → "
              f"{first['starts'][:10]} from Seller Central (Reports › Payments › All statements) and land it "
              f"({_ingest(contract)}); an overlap means the same period was landed under two ids: check "
              f"with the {contract.owner['team']} which one Amazon paid.")
    return outcome(contract, "completeness", "fail", detail, action, **meta)


# ---- channel coverage ----------------------------------------------------------------------------

def _read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _truthy(value: str | None) -> bool:
    return str(value or "").strip().lower() in {"true", "1", "yes", "y", "t"}


def channel_coverage(home: Home, logical_date: date, channels_csv: Path | str | None = None) -> CheckOutcome:
    """Every channel of the channel config (type not 'unallocated', not dormant) has sales on at least
    one day of the 7 days before the logical date; channel mapping as in docs/metrics.md, read from the
    dbt seeds (shopify_source_channels.csv, amazon_marketplaces.csv)."""
    channels_csv = Path(channels_csv) if channels_csv else CHANNELS_CSV
    first, last = logical_date - timedelta(days=7), logical_date - timedelta(days=1)
    config = _read_csv(channels_csv)
    mapped_sources, default_source = shopify_source_channels()
    sources = {source.strip().lower(): channel for source, channel in mapped_sources.items()}
    markets = {name.strip(): channel for name, channel in marketplace_channels().items()}
    contracts = {feed: get_contract(feed) for feed in SALES_FEEDS}
    days, rows, unmapped = _sales_by_channel(home, contracts, first, last, sources, default_source, markets)
    carried_by = {"wholesale": "wholesale_invoices", **{c: "amazon_orders" for c in markets.values()},
                  **{c: "shopify_orders" for c in [*sources.values(), default_source]}}
    off = set(disabled_feeds(home))  # a channel whose sales feed the brand switched off is not required
    per_channel, checked, dormant, missing = _channel_status(config, days, rows, carried_by, off)
    feeds_asked = [f for f in (per_channel[c]["feed"] for c in missing or checked) if f in contracts]
    owners = sorted({contracts[f].owner["team"] for f in feeds_asked})
    contacts = sorted({contracts[f].owner["contact"] for f in feeds_asked})
    window = f"{first.isoformat()}..{last.isoformat()}"
    meta = dict(logical_date=logical_date.isoformat(), window=window, channels_csv=str(channels_csv),
                channels=per_channel, checked=checked, dormant=dormant, missing=missing,
                unmapped_sales_rows=unmapped)
    without_feed = [c for c, info in per_channel.items() if info.get("feed_disabled")]
    meta["sales_feed_disabled"] = without_feed
    dormant_note = f"; dormant (not required): {', '.join(dormant)}" if dormant else ""
    if without_feed:
        dormant_note += f"; sales feed disabled (not required): {', '.join(without_feed)}"
    if not missing:
        sales_days = [(c, per_channel[c]["days_with_sales"]) for c in checked]
        detail = (f"channels: every active channel has sales in {window} "
                  f"({', '.join(f'{c}: {n} d' for c, n in sales_days)}){dormant_note}.")
        status, action = "ok", ""
    else:
        carriers = [(c, per_channel[c]["feed"] or "no feed") for c in missing]
        detail = (f"channels: {len(missing)} active channel(s) without any sales in {window}: "
                  f"{', '.join(f'{c} (from {feed})' for c, feed in carriers)}{dormant_note}.")
        status = "fail"
        action = _coverage_action(missing, per_channel, contracts, window, channels_csv)
    return CheckOutcome(feed="channels", check="completeness", status=status, blocking=True, detail=detail,
                        suggested_action=action, owner=", ".join(owners), owner_contact=", ".join(contacts),
                        metadata=meta)


def _sales_channel(feed: str, key: str | None, sources: dict[str, str], default_source: str,
                   markets: dict[str, str]) -> str | None:
    """The channel of a sales row by its feed and key (Shopify source, Amazon sales channel); None: unmapped."""
    if feed == "shopify_orders":
        return sources.get((key or "").strip().lower(), default_source)
    if feed == "amazon_orders":
        return markets.get((key or "").strip())
    return "wholesale"


def _sales_by_channel(home: Home, contracts: dict[str, Contract], first: date, last: date, sources: dict[str, str],
                      default_source: str, markets: dict[str, str],
                      ) -> tuple[dict[str, set[date]], dict[str, int], dict[str, int]]:
    """Days with sales and rows per channel in first..last, and rows of Amazon sales channels no seed maps."""
    days: dict[str, set[date]] = {}
    rows: dict[str, int] = {}
    unmapped: dict[str, int] = {}
    zone = business_timezone(home)
    with connect(zone) as con:
        for feed, key in (("shopify_orders", "source"), ("amazon_orders", "sales_channel"),
                          ("wholesale_invoices", None)):
            window = files_between(summaries(home, contracts[feed], zone), first, last)
            if not window:  # only the files with sales in the window are read
                continue
            day = _day_expr(contracts[feed])
            key_sql = f"CAST({ident(key)} AS VARCHAR)" if key else "'wholesale'"
            found = con.execute(
                f"SELECT {key_sql} AS k, {day} AS d, count(*) FROM {parquet_list(window)} "
                f"WHERE d BETWEEN ? AND ? GROUP BY ALL", [first, last]).fetchall()
            for k, d, n in found:
                channel = _sales_channel(feed, k, sources, default_source, markets)
                if channel is None:
                    unmapped[f"{feed}:{k}"] = unmapped.get(f"{feed}:{k}", 0) + n
                    continue
                days.setdefault(channel, set()).add(d)
                rows[channel] = rows.get(channel, 0) + n
    return days, rows, unmapped


def _channel_status(config: list[dict], days: dict[str, set[date]], rows: dict[str, int],
                    carried_by: dict[str, str], disabled: set[str] = frozenset(),
                    ) -> tuple[dict[str, dict], list[str], list[str], list[str]]:
    """Per configured channel (unallocated left out): its sales and feed; which are checked, dormant,
    missing. A channel whose sales feed is `disabled` is neither checked nor missing."""
    checked, dormant, missing = [], [], []
    per_channel = {}
    for row in config:
        channel = row["channel"].strip()
        if row.get("channel_type", "").strip() == "unallocated":
            continue
        info = {"days_with_sales": len(days.get(channel, ())), "rows": rows.get(channel, 0),
                "feed": carried_by.get(channel), "business_owner": row.get("owner", ""),
                "dormant": _truthy(row.get("is_dormant"))}
        per_channel[channel] = info
        if info["feed"] in disabled:
            info["feed_disabled"] = True
            continue
        if info["dormant"]:
            dormant.append(channel)
            continue
        checked.append(channel)
        if not info["days_with_sales"]:
            missing.append(channel)
    return per_channel, checked, dormant, missing


def _coverage_action(missing: list[str], per_channel: dict[str, dict], contracts: dict[str, Contract],
                     window: str, channels_csv: Path) -> str:
    steps = []
    for c in missing:
        feed = per_channel[c]["feed"]
        if feed:
            steps.append(f"export the {contracts[feed].title} for {window} including {c} "
                         f"({_channel_hint(c)}) and land it (cwh ingest {feed} FILE)")
        else:
            steps.append(f"no feed carries sales of {c}: add its mapping to the dbt seeds")
    text = "; ".join(steps)
    return (text[:1].upper() + text[1:] + f". If a channel has stopped trading, set is_dormant=true "
            f"for it in {channels_csv.name}.")


def _channel_hint(channel: str) -> str:
    return {"shopify_pos": "POS orders, Source = pos", "shopify_web": "online orders",
            "amazon_us": "sales channel Amazon.com", "amazon_ca": "sales channel Amazon.ca"}.get(channel, channel)


# ---- volume --------------------------------------------------------------------------------------

def robust_z(value: float, history: list[float]) -> tuple[float, float, float, float]:
    """(z, median, MAD, scale): z = (value − median) / scale with scale = max(1.4826·MAD, √median, 1).
    The floor is counting noise: a perfectly regular feed (MAD 0) must not turn one row into z = ∞."""
    med = statistics.median(history)
    mad = statistics.median(abs(h - med) for h in history)
    scale = max(MAD_SCALE * mad, math.sqrt(max(med, 0.0)), 1.0)
    return (value - med) / scale, med, mad, scale


ZERO_DAY_MEDIAN = math.log(1000)  # ≈ 6.9


def _distinct_keys_per_day(contract: Contract, files: list, zone: str, days: list[date]) -> dict[date, int]:
    """{day: distinct primary keys with an event on it} over the lake files with rows on those days (file
    summaries): a re-export that overlaps an earlier file counts once."""
    wanted = set(days)
    paths = [f.path for f in files if not wanted.isdisjoint(f.days)]
    if not paths:
        return {}
    day = _day_expr(contract)
    # a breakdown export (age × gender, device) splits one grain row into many: count the grain
    key = ", ".join(ident(c) for c in contract.primary_key if c != "breakdown")
    with connect(zone) as con:
        return dict(con.execute(
            f"SELECT d, count(*) FROM (SELECT DISTINCT {day} AS d, {key} FROM {parquet_list(paths)} "
            f"WHERE {day} IN (SELECT unnest(?::DATE[]))) GROUP BY d", [sorted(wanted)]).fetchall())


def volume(home: Home, contract: Contract, logical_date: date) -> CheckOutcome:
    """Rows of the last complete day against what the feed's own recent history makes normal."""
    if contract.cadence != "daily":
        return outcome(contract, "volume", "ok", f"{contract.feed}: not applicable for {contract.cadence} feeds.",
                       blocking=False, applicable=False)
    zone = business_timezone(home)
    files = summaries(home, contract, zone)
    last = logical_date - timedelta(days=1)
    if not files:
        return outcome(contract, "volume", "ok", f"{contract.feed}: not enough history (nothing landed).",
                       blocking=False, history_days=0)
    first_day = min((s.first_day for s in files if s.days), default=None)
    day_before = last - timedelta(days=1)
    trailing = list(_days(max(first_day, last - timedelta(days=VOLUME_WINDOW_DAYS)), day_before)) \
        if first_day else []
    same_weekday = [d for d in _days(max(first_day, last - timedelta(days=VOLUME_SEASONAL_DAYS)), day_before)
                    if d.weekday() == last.weekday()] if first_day else []
    # the days compared, and only the files with rows on them are read (a daily feed: 9 files of the
    # 57 days the seasonal window spans)
    counts = _distinct_keys_per_day(contract, files, zone, [last, *(
        same_weekday if len(same_weekday) >= VOLUME_MIN_SAME_WEEKDAY else trailing)])
    value = counts.get(last, 0)
    if first_day is None or first_day > last:
        return outcome(contract, "volume", "ok", f"{contract.feed}: not enough history (no day before "
                       f"{last.isoformat()}).", blocking=False, history_days=0, rows=value)
    meta = dict(logical_date=logical_date.isoformat(), day=last.isoformat(), rows=value,
                counted_as="distinct primary keys per event day")
    if len(trailing) < VOLUME_MIN_HISTORY:
        return outcome(contract, "volume", "ok",
                       f"{contract.feed}: not enough history ({len(trailing)} day(s) before {last.isoformat()}, "
                       f"{VOLUME_MIN_HISTORY} needed); {value} rows on {last.isoformat()}.",
                       blocking=False, history_days=len(trailing), **meta)
    if len(same_weekday) >= VOLUME_MIN_SAME_WEEKDAY:
        basis, window = f"the {len(same_weekday)} previous {WEEKDAYS[last.weekday()]}", same_weekday
    else:
        basis, window = f"the {len(trailing)} previous days", trailing
    history = [counts.get(d, 0) for d in window]
    z, med, mad, scale = robust_z(value, history)
    # a zero day is extreme when a count with this median would almost never be zero
    # (Poisson: P(0) = e^-median < 0.1%); for sparse feeds (a few returns a day) zero is ordinary
    extreme = abs(z) > Z_FAIL or (value == 0 and med > ZERO_DAY_MEDIAN)
    status = "fail" if extreme else "warn" if abs(z) > Z_WARN else "ok"
    meta.update(basis="same weekday" if window is same_weekday else "trailing days", history_days=len(history),
                history={d.isoformat(): counts.get(d, 0) for d in window}, median=med, mad=mad,
                scale=round(scale, 3), robust_z=round(z, 2), warn_beyond=Z_WARN, fail_beyond=Z_FAIL)
    detail = (f"{contract.feed}: {value} rows on {last.isoformat()} vs a median of {med:g} (MAD {mad:g}) "
              f"on {basis}: robust z {z:+.1f} (warn beyond ±{Z_WARN:g}, fail beyond ±{Z_FAIL:g} "
              f"or 0 rows where the median makes 0 improbable).")
    action = ""
    if status != "ok" and value < med:
        action = (f"Check that the {contract.title} of {last.isoformat()} is complete (all accounts, "
                  f"locations and channels in the export); re-export and land it if not "
                  f"({_ingest(contract)}). If the drop is real (outage, paused campaigns), note it and move on.")
    elif status != "ok":
        action = (f"Check the {contract.title} of {last.isoformat()} for duplicated or foreign rows (a file landed "
                  f"for the wrong feed or account, a changed export); if the spike is real, no action.")
    return outcome(contract, "volume", status, detail, action, blocking=status == "fail", **meta)


# ---- schema drift --------------------------------------------------------------------------------

def _parse_ts(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(str(text))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def schema_drift(home: Home, contract: Contract, logical_date: date | None = None) -> CheckOutcome:
    """New vendor columns of files landed in the 28 days before the logical date → warn (recorded, never
    loaded; without a logical date every landed file counts); a file waiting in landing/ that was
    rejected for a missing required column → fail."""
    feed = contract.feed
    since = midnight(logical_date) - timedelta(days=DRIFT_WINDOW_DAYS) if logical_date else None
    new_columns: dict[str, dict] = {}
    older = 0
    files = 0
    missing_optional: dict[str, int] = {}
    for record in ledger_records(home, feed):
        files += 1
        for col in record.get("missing_optional_columns") or []:
            missing_optional[col] = missing_optional.get(col, 0) + 1
        extra = record.get("extra_columns") or []
        if not extra:
            continue
        loaded = _parse_ts(record.get("loaded_at"))
        if since and loaded and loaded < since:
            older += 1
            continue
        for col in extra:
            entry = new_columns.setdefault(col, {"files": [], "first_loaded_at": record.get("loaded_at")})
            entry["files"].append(record["file"])
            entry["first_loaded_at"] = min(entry["first_loaded_at"] or "", record.get("loaded_at") or "") or None
    waiting = {p.name for p in landing_files(home, feed)}
    rejected = [r for r in rejections(home, feed) if r["file"] in waiting]
    missing_required = [r for r in rejected if "missing required column" in r.get("reason", "")]
    meta = dict(files_landed=files, new_columns=new_columns, files_with_new_columns_before_window=older,
                missing_optional_columns=missing_optional,
                rejected_missing_required=[{"file": r["file"], "reason": r["reason"]} for r in missing_required],
                other_rejected_waiting=len(rejected) - len(missing_required))
    if missing_required:
        names = "; ".join(r["reason"] for r in missing_required[:3])
        detail = (f"{feed}: {len(missing_required)} file(s) in landing/{feed}/ rejected for a missing required "
                  f"column: {names}.")
        files_text = ", ".join(r["file"] for r in missing_required[:5])
        action = (f"Export {files_text} again with the missing column(s) (the vendor layout changed or a column was "
                  f"hidden in the export) and land it ({_ingest(contract)}); then remove the rejected file "
                  f"from landing/{feed}/.")
        return outcome(contract, "schema_drift", "fail", detail, action, **meta)
    if new_columns:
        def where(files: list[str]) -> str:
            return ", ".join(files[:3]) + (f" (+{len(files) - 3} more)" if len(files) > 3 else "")

        listed = "; ".join(f"'{c}' in {where(v['files'])}" for c, v in new_columns.items())
        detail = f"{feed}: {len(new_columns)} new vendor column(s), recorded but not loaded: {listed}."
        action = (f"Decide whether the new column(s) matter: if so add them to data_contracts/{feed}.yml and the "
                  f"connector layout (then re-land); if not, nothing to do (they are ignored).")
        return outcome(contract, "schema_drift", "warn", detail, action, **meta)
    return outcome(contract, "schema_drift", "ok",
                   f"{feed}: {files} landed file(s) match the contract's layout; no new or missing required column.",
                   **meta)
