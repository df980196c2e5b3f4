"""What the SLA gates need of each lake file, summarised once per file and kept beside it.

A lake file (`lake/raw/<feed>/<id>.parquet`) never changes once landed, so the numbers the gates
judge it by never change either: its rows, its newest load, its event range, its rows per event day
(the business's local day), and what completeness needs of it (the days of each series, the periods
and balances of its settlements). They are computed in one DuckDB pass over the files that have no
summary yet (the files landed since the last night) and cached in `lake/summaries/<feed>/<id>.json`
with the file's size and mtime, the summary's version and the time zone its days are in: the nightly
gates read a few numbers per file, not every row. A gate that needs the rows of a window (channel
coverage, the newest event of a file that straddles the logical date) reads only the files whose event
days reach into it (`files_between`), volume only those with rows on the days it compares, so their
cost follows the window, not the history.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa

from connectors.contracts import Contract
from connectors.home import Home
from orchestration.pipeline.gates.outcome import connect, ident

VERSION = 1
FILE_COLUMN = "_cwh_summary_file"  # read_parquet's filename column (no contract has one by this name)

# Completeness of per-day aggregate feeds is judged per series for these feeds (one row per day
# and series is the norm); every other per-day aggregate feed is judged overall (a campaign may
# stop: "every campaign every day" would be too strict).
COMPLETENESS_SERIES = {"fx_rates": "currency", "sessions": "channel"}
SETTLEMENTS = "amazon_settlements"


@dataclass(frozen=True)
class FileSummary:
    """One lake file as the gates see it. Event bounds are dates (DATE event column) or epoch
    microseconds (timestamps); `days` are local event days (the zone of the summary)."""

    path: Path
    rows: int = 0
    newest_load_us: int | None = None
    events: int = 0  # rows with an event time
    event_min: date | int | None = None
    event_max: date | int | None = None
    days: dict[date, int] = field(default_factory=dict)  # event day -> rows
    series_days: dict[str, frozenset[date]] = field(default_factory=dict)  # COMPLETENESS_SERIES feeds
    settlements: tuple[tuple, ...] = ()  # (settlement_id, marketplace, currency, start µs, end µs)
    balance_parts: tuple[tuple, ...] = ()  # (settlement_id, currency, total_amount, Σ amount) as text

    @property
    def first_day(self) -> date | None:
        return min(self.days) if self.days else None

    @property
    def last_day(self) -> date | None:
        return max(self.days) if self.days else None


def lake_files(home: Home, feed: str) -> list[Path]:
    """Every Parquet file of the feed's lake folder (the 0-row `_empty.parquet` included), sorted."""
    folder = home.raw(feed)
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def files_between(summaries: list[FileSummary], first: date, last: date) -> list[Path]:
    """The files with an event day in first..last: the only ones a query of that window must read."""
    return [s.path for s in summaries if s.days and s.first_day <= last and s.last_day >= first]


def parquet_list(paths: list[Path], filename: str | None = None) -> str:
    """read_parquet over exactly these files (SQL text); `filename`: a column naming each row's file."""
    listed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    named = f", filename = '{filename}'" if filename else ""
    return f"read_parquet([{listed}], union_by_name = true{named})"


def _is_timestamp(contract: Contract) -> bool:
    return contract.column(contract.event_time_column).type != "date"


def _zone_of(contract: Contract, zone: str) -> str | None:
    """The zone a summary's days are in: only a timestamp's local day depends on it."""
    return zone if _is_timestamp(contract) else None


# ---- cache ---------------------------------------------------------------------------------------

def _cache_path(home: Home, feed: str, path: Path) -> Path:
    return home.root / "lake" / "summaries" / feed / f"{path.stem}.json"


def _stamp(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


_MEMO: dict[tuple, FileSummary] = {}  # (cache key) -> summary: one night reads each file's summary once


def summaries(home: Home, contract: Contract, zone: str = "UTC") -> list[FileSummary]:
    """The summary of every lake file of the feed, computing (and caching) the missing ones in one pass."""
    zone_key = _zone_of(contract, zone)
    found: dict[Path, FileSummary] = {}
    missing: list[tuple[Path, dict]] = []
    for path in lake_files(home, contract.feed):
        stamp = _stamp(path)
        key = (str(path), stamp["size"], stamp["mtime_ns"], zone_key, VERSION)
        if key in _MEMO:
            found[path] = _MEMO[key]
            continue
        cached = _read_cache(_cache_path(home, contract.feed, path), stamp, zone_key)
        if cached is None:
            missing.append((path, stamp))
            continue
        found[path] = _MEMO[key] = _from_json(path, cached)
    if missing:
        computed = summarise(contract, [p for p, _ in missing], zone)
        for path, stamp in missing:
            summary = computed[path]
            _write_cache(_cache_path(home, contract.feed, path),
                         {"version": VERSION, "feed": contract.feed, "file_id": path.stem, "parquet": stamp,
                          "zone": zone_key, **_to_json(summary)})
            found[path] = _MEMO[(str(path), stamp["size"], stamp["mtime_ns"], zone_key, VERSION)] = summary
    return [found[p] for p in sorted(found)]


def _read_cache(cache: Path, stamp: dict, zone_key: str | None) -> dict | None:
    try:
        record = json.loads(cache.read_text())
    except (OSError, ValueError):
        return None
    fits = record.get("version") == VERSION and record.get("parquet") == stamp and record.get("zone") == zone_key
    return record if fits else None


def _write_cache(cache: Path, record: dict) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, default=str))
    os.replace(tmp, cache)


def _day_json(value):
    return value.isoformat() if isinstance(value, date) else value


def _to_json(s: FileSummary) -> dict:
    return {"rows": s.rows, "newest_load_us": s.newest_load_us, "events": s.events,
            "event_min": _day_json(s.event_min), "event_max": _day_json(s.event_max),
            "days": {d.isoformat(): n for d, n in sorted(s.days.items())},
            "series_days": {k: sorted(d.isoformat() for d in v) for k, v in s.series_days.items()},
            "settlements": [list(t) for t in s.settlements], "balance_parts": [list(t) for t in s.balance_parts]}


def _from_json(path: Path, r: dict) -> FileSummary:
    def bound(value):
        return date.fromisoformat(value) if isinstance(value, str) else value

    return FileSummary(
        path=path, rows=r["rows"], newest_load_us=r["newest_load_us"], events=r["events"],
        event_min=bound(r["event_min"]), event_max=bound(r["event_max"]),
        days={date.fromisoformat(d): n for d, n in r["days"].items()},
        series_days={k: frozenset(date.fromisoformat(d) for d in v) for k, v in r["series_days"].items()},
        settlements=tuple(tuple(t) for t in r["settlements"]),
        balance_parts=tuple(tuple(t) for t in r["balance_parts"]))


# ---- computing summaries -------------------------------------------------------------------------

def summarise(contract: Contract, paths: list[Path], zone: str = "UTC") -> dict[Path, FileSummary]:
    """Summaries of `paths` (files of one feed), a few grouped queries over all of them at once."""
    ev = ident(contract.event_time_column)
    timestamp = _is_timestamp(contract)
    day = f"CAST({ev} AS DATE)" if timestamp else ev
    bound = (lambda sql: f"epoch_us({sql})") if timestamp else (lambda sql: sql)
    source = parquet_list(paths, filename=FILE_COLUMN)
    by_file = ident(FILE_COLUMN)
    parts: dict[str, dict] = {str(p): {} for p in paths}
    with connect(zone) as con:
        for name, rows, load, events, low, high in con.execute(
                f"SELECT {by_file}, count(*), epoch_us(max(_loaded_at)), count({ev}), {bound(f'min({ev})')}, "
                f"{bound(f'max({ev})')} FROM {source} GROUP BY ALL").fetchall():
            parts[name].update(rows=rows, newest_load_us=load, events=events, event_min=low, event_max=high)
        for name, d, n in con.execute(
                f"SELECT {by_file}, {day} AS d, count(*) FROM {source} WHERE d IS NOT NULL GROUP BY ALL").fetchall():
            parts[name].setdefault("days", {})[d] = n
        if series := COMPLETENESS_SERIES.get(contract.feed):
            for name, key, d in con.execute(
                    f"SELECT {by_file}, coalesce(CAST({ident(series)} AS VARCHAR), '(none)'), {ev} AS d FROM {source} "
                    f"WHERE d IS NOT NULL GROUP BY ALL").fetchall():
                parts[name].setdefault("series_days", {}).setdefault(key, set()).add(d)
        if contract.feed == SETTLEMENTS:
            _settlement_parts(con, source, by_file, parts)
    return {p: _summary(p, parts[str(p)]) for p in paths}


def _settlement_parts(con, source: str, by_file: str, parts: dict[str, dict]) -> None:
    """Per file and settlement: its period (completeness) and the sum of its components per stated
    total and currency (the settlement reconciliation sums these parts as it would the rows)."""
    for name, *period in con.execute(
            f"SELECT {by_file}, settlement_id, max(marketplace_name), max(currency), "
            f"epoch_us(min(settlement_start_date)), epoch_us(max(settlement_end_date)) "
            f"FROM {source} GROUP BY ALL").fetchall():
        parts[name].setdefault("settlements", []).append(tuple(period))
    for name, *balance in con.execute(
            f"SELECT {by_file}, settlement_id, currency, CAST(total_amount AS VARCHAR), "
            f"CAST(sum(amount) AS VARCHAR) FROM {source} GROUP BY ALL").fetchall():
        parts[name].setdefault("balance_parts", []).append(tuple(balance))


def _summary(path: Path, part: dict) -> FileSummary:
    return FileSummary(
        path=path, rows=part.get("rows", 0), newest_load_us=part.get("newest_load_us"),
        events=part.get("events", 0), event_min=part.get("event_min"), event_max=part.get("event_max"),
        days=part.get("days", {}), series_days={k: frozenset(v) for k, v in part.get("series_days", {}).items()},
        settlements=tuple(sorted(part.get("settlements", []), key=str)),
        balance_parts=tuple(sorted(part.get("balance_parts", []), key=str)))


# ---- merging what several files say --------------------------------------------------------------

def balance_table(summaries_: list[FileSummary], schema: pa.Schema) -> pa.Table:
    """The settlements' balance parts of every file as rows of (settlement_id, currency, total_amount,
    amount) in the lake's types: summing these gives what summing the rows gives."""
    rows = [part for s in summaries_ for part in s.balance_parts]
    columns = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    amount = schema.field("amount").type
    wide = pa.decimal128(38, amount.scale) if pa.types.is_decimal(amount) else amount
    return pa.table({
        "settlement_id": pa.array(columns[0], schema.field("settlement_id").type),
        "currency": pa.array(columns[1], schema.field("currency").type),
        "total_amount": pa.array(columns[2], pa.string()).cast(schema.field("total_amount").type),
        "amount": pa.array(columns[3], pa.string()).cast(wide),
    })
