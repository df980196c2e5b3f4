"""Asset checks on the landed feeds. They read the lake the assets wrote, so they run in production
on every materialisation (and from `cwh`/tests through the same functions)."""


import dagster as dg
import pyarrow.dataset as ds

from connectors.lake import Home, landing_files, ledger_records, rejections
from connectors.registry import FEEDS
from orchestration.assets.feeds import feed_asset_key
from orchestration.resources import WarehouseHome


def rejected_files_waiting(home: Home, feed: str) -> list[dict]:
    """Rejections of files still sitting in landing/<feed>/ (fixed files land under a new sha)."""
    waiting = {p.name for p in landing_files(home, feed)}
    return [r for r in rejections(home, feed) if r["file"] in waiting]


def quarantined_rows(home: Home, feed: str) -> tuple[int, int]:
    loaded = quarantined = 0
    for record in ledger_records(home, feed):
        loaded += record["rows_loaded"]
        quarantined += record["rows_quarantined"]
    return loaded, quarantined


def unbalanced_settlements(home: Home):
    """Settlements whose components do not sum exactly to their total-amount."""
    from connectors.amazon import settlement_balance

    folder = home.raw("amazon_settlements")
    if not folder.exists() or not any(folder.glob("*.parquet")):
        return None
    table = ds.dataset(folder, format="parquet").to_table()
    balance = settlement_balance(table)
    return balance, balance.filter(~balance["balanced"])


def _build_feed_checks(feed: str) -> list[dg.AssetChecksDefinition]:
    key = feed_asset_key(feed)

    @dg.asset_check(asset=key, name="no_rejected_files", blocking=True,
                    description="Every file waiting in landing/ for this feed was landed; a rejected "
                                "file (missing required column, wrong format) fails the check.")
    def no_rejected_files(warehouse: WarehouseHome) -> dg.AssetCheckResult:
        waiting = rejected_files_waiting(warehouse.home(), feed)
        return dg.AssetCheckResult(
            passed=not waiting,
            metadata={"rejected_files": len(waiting),
                      "reasons": dg.MetadataValue.json([{r["file"]: r["reason"]} for r in waiting])})

    @dg.asset_check(asset=key, name="no_quarantined_rows",
                    description="Rows that broke the contract are in quarantine (warning: the rest loaded; "
                                "`cwh quarantine` lists them).")
    def no_quarantined_rows(warehouse: WarehouseHome) -> dg.AssetCheckResult:
        loaded, quarantined = quarantined_rows(warehouse.home(), feed)
        return dg.AssetCheckResult(
            passed=quarantined == 0, severity=dg.AssetCheckSeverity.WARN,
            metadata={"rows_loaded": loaded, "rows_quarantined": quarantined})

    return [no_rejected_files, no_quarantined_rows]


def _settlement_check() -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=feed_asset_key("amazon_settlements"), name="components_sum_to_total", blocking=True,
                    description="Each Amazon settlement's component lines sum exactly to its total-amount.")
    def components_sum_to_total(warehouse: WarehouseHome) -> dg.AssetCheckResult:
        result = unbalanced_settlements(warehouse.home())
        if result is None:
            return dg.AssetCheckResult(passed=True, metadata={"settlements": 0})
        balance, bad = result
        return dg.AssetCheckResult(
            passed=bad.height == 0,
            metadata={"settlements": balance.height, "unbalanced": bad.height,
                      "unbalanced_ids": dg.MetadataValue.json(
                          [{"settlement_id": r["settlement_id"], "difference": str(r["difference"])}
                           for r in bad.head(20).iter_rows(named=True)])})

    return components_sum_to_total


feed_checks = [check for feed in FEEDS for check in _build_feed_checks(feed)]
if "amazon_settlements" in FEEDS:
    feed_checks.append(_settlement_check())
