"""Checks on what landed: rejected files still waiting, quarantined rows, settlements that do not
balance. Plain functions over the lake (no Dagster); `orchestration.pipeline.gates.feed.landing_checks` turns
them into outcomes for `cwh run` and the Dagster gate checks alike."""

from connectors.contracts import get_contract
from connectors.lake import Home, landing_files, ledger_records, rejections
from orchestration.pipeline.gates.file_summary import SETTLEMENTS, balance_table, summaries


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
    """Settlements whose components do not sum exactly to their total-amount: (balance, unbalanced),
    None when nothing landed. Summed from each file's summary (its components' sum per settlement,
    currency and stated total), which sums to what the rows sum to, so no row is read."""
    from connectors.vendors.amazon import settlement_balance

    contract = get_contract(SETTLEMENTS)
    files = summaries(home, contract)
    if not files:
        return None
    balance = settlement_balance(balance_table(files, contract.arrow_schema()))
    return balance, balance.filter(~balance["balanced"])
