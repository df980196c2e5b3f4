"""The inventory check the nightly run adds to the `inventory_snapshots` feed: stock mismatch.

The gates run before the build, so this reads the lake (the latest landed version of each snapshot
row, as dbt staging does), never the build database. The same configuration as the dbt marts:
`dbt_project/seeds/inventory_locations.csv` (which location mirrors which stock pool, and which
location is the pool's system of record) and the `inventory_mismatch_*` vars of
`dbt_project/dbt_project.yml` (tolerance and persistence), so the alert and `stock_mismatch` agree.

A mismatch is a mirror's sellable count (Shopify's "Main warehouse") differing from the system of
record's (the 3PL) by more than the tolerance units AND more than the tolerance share of the system
of record's count. It warns (never blocks the publish: the numbers are still the feeds' numbers)
once it has persisted `inventory_mismatch_alert_days` consecutive days up to the last complete day,
naming the SKUs, the counts, the days and the feed's owner. The outcome's metadata also carries the
sync latency per location (snapshot time → load time) of the last 7 snapshot days.
"""

from __future__ import annotations

import csv
import statistics
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import yaml

from connectors.contracts import Contract
from connectors.home import Home
from orchestration.pipeline.gates.outcome import CheckOutcome, connect as _connect, outcome, parquet_source as _source, raw_glob as _raw_glob

from connectors.home import DBT_DIR
CHECK = "stock_mismatch"
LOOKBACK_DAYS = 120  # how far back a persisting mismatch is traced
LATENCY_DAYS = 7


def mismatch_settings(dbt_dir: Path = DBT_DIR) -> dict:
    """Tolerance and persistence from dbt_project.yml vars (the marts use the same)."""
    project = yaml.safe_load((dbt_dir / "dbt_project.yml").read_text())
    v = project.get("vars") or {}
    return {"tolerance_units": int(v.get("inventory_mismatch_tolerance_units", 3)),
            "tolerance_pct": Decimal(str(v.get("inventory_mismatch_tolerance_pct", "0.05"))),
            "alert_days": int(v.get("inventory_mismatch_alert_days", 2))}


def location_config(dbt_dir: Path = DBT_DIR) -> dict[str, dict]:
    """location -> {stock_pool, is_system_of_record, system} from seeds/inventory_locations.csv."""
    with (dbt_dir / "seeds" / "inventory_locations.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {r["location"]: {"stock_pool": r["stock_pool"], "system": r["system"],
                            "is_system_of_record": r["is_system_of_record"].strip().lower() == "true"}
            for r in rows}


def beyond_tolerance(difference: int, reference: int, settings: dict) -> bool:
    return abs(difference) > settings["tolerance_units"] and abs(difference) > settings["tolerance_pct"] * reference


def _latest_rows(con, glob: str, logical_date: date, first: date):
    return con.execute(f"""
        select date, location, sku, coalesce(sellable, on_hand) as sellable, snapshot_at, _loaded_at
        from (
            select *, row_number() over (partition by date, location, sku
                                         order by _loaded_at desc, _source_line desc) as _version
            from {_source(glob)}
        ) as v
        where _version = 1 and date < ? and date >= ?
    """, [logical_date, first]).fetchall()


def stock_mismatch(home: Home, contract: Contract, logical_date: date, dbt_dir: Path = DBT_DIR) -> CheckOutcome:
    settings, config = mismatch_settings(dbt_dir), location_config(dbt_dir)
    glob = _raw_glob(home, contract.feed)
    if glob is None:
        return outcome(contract, CHECK, "ok", "no inventory snapshots landed yet (freshness reports it)",
                       blocking=False, mismatches=[])
    con = _connect()
    try:
        first = logical_date - timedelta(days=LOOKBACK_DAYS)
        rows = _latest_rows(con, glob, logical_date, first)
    finally:
        con.close()
    if not rows:
        return outcome(contract, CHECK, "ok", f"no inventory snapshots before {logical_date}", blocking=False,
                       mismatches=[])
    last_day = max(r[0] for r in rows)
    sellable = {(r[0], r[1], r[2]): r[3] for r in rows}
    unknown = sorted({r[1] for r in rows} - set(config))
    records = {loc: c for loc, c in config.items() if c["is_system_of_record"]}
    record_of = {c["stock_pool"]: loc for loc, c in records.items()}
    mismatches = []
    for (day, location, sku), count in sellable.items():
        cfg = config.get(location)
        if day != last_day or cfg is None or cfg["is_system_of_record"]:
            continue
        reference = record_of.get(cfg["stock_pool"])
        ref_count = sellable.get((day, reference, sku))
        if ref_count is None or not beyond_tolerance(count - ref_count, ref_count, settings):
            continue
        days, d = 0, day
        while True:  # consecutive beyond-tolerance days back from the last complete day
            a, b = sellable.get((d, location, sku)), sellable.get((d, reference, sku))
            if a is None or b is None or not beyond_tolerance(a - b, b, settings):
                break
            days += 1
            d -= timedelta(days=1)
        mismatches.append({"sku": sku, "location": location, "reference_location": reference,
                           "sellable": count, "reference_sellable": ref_count, "difference": count - ref_count,
                           "days": days, "since": (d + timedelta(days=1)).isoformat()})
    mismatches.sort(key=lambda m: (-m["days"], -abs(m["difference"]), m["sku"]))
    alerts = [m for m in mismatches if m["days"] >= settings["alert_days"]]
    latency = sync_latency_hours(rows, last_day)
    meta = dict(last_snapshot_date=last_day.isoformat(), tolerance_units=settings["tolerance_units"],
                tolerance_pct=str(settings["tolerance_pct"]), alert_days=settings["alert_days"],
                mismatches=mismatches, alerting=alerts, sync_latency_hours=latency,
                unconfigured_locations=unknown)
    if not alerts:
        detail = (f"on {last_day} every mirrored SKU agrees with its system of record within "
                  f"{settings['tolerance_units']} units / {settings['tolerance_pct'] * 100:.0f}%")
        if mismatches:
            detail += f" for fewer than {settings['alert_days']} days ({len(mismatches)} new mismatch(es))"
        return outcome(contract, CHECK, "ok", detail, blocking=False, **meta)
    parts = [f"{m['sku']}: {m['location']} shows {m['sellable']} sellable, {m['reference_location']} "
             f"{m['reference_sellable']} ({m['difference']:+d}) for {m['days']} days since {m['since']}"
             for m in alerts[:5]]
    more = f" and {len(alerts) - 5} more" if len(alerts) > 5 else ""
    detail = f"{len(alerts)} SKU(s) with stock mismatched beyond tolerance on {last_day}: " + "; ".join(parts) + more
    locations = sorted({m["location"] for m in alerts})
    action = (f"Recount the SKU(s) at {', '.join(sorted({m['reference_location'] for m in alerts}))} and correct "
              f"the count in {', '.join(locations)} (check its inventory sync): a channel showing stock the "
              "warehouse does not have accepts orders it cannot ship (see marts.stock_oversells)")
    return outcome(contract, CHECK, "warn", detail, action, blocking=False, **meta)


def sync_latency_hours(rows, last_day: date) -> dict[str, float | None]:
    """Median hours from snapshot_at to _loaded_at per location over the last 7 snapshot days
    (None when the feed gives no snapshot time)."""
    first = last_day - timedelta(days=LATENCY_DAYS - 1)
    per: dict[str, list[float]] = {}
    for day, location, _sku, _sellable, snapshot_at, loaded_at in rows:
        if day < first:
            continue
        hours = per.setdefault(location, [])
        if snapshot_at is not None and loaded_at is not None:
            hours.append((loaded_at - snapshot_at).total_seconds() / 3600)
    return {loc: (round(statistics.median(h), 2) if h else None) for loc, h in sorted(per.items())}


__all__ = ["stock_mismatch", "mismatch_settings", "location_config", "beyond_tolerance", "sync_latency_hours"]
