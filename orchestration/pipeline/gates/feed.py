"""Every gate of one feed, in order, as `CheckOutcome`s: landing (rejected files waiting, quarantined
rows, settlement reconciliation), then the SLA gates and the Great Expectations suite. The Dagster
check names of a feed are `feed_check_names(feed)`."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from connectors.contracts import get_contract, load_contracts
from connectors.feed_switches import disabled_note, enabled_feeds, is_enabled, needed_by
from connectors.home import Home
from orchestration.pipeline.gates.expectations import run_expectations
from orchestration.pipeline.gates.landing import quarantined_rows, rejected_files_waiting, unbalanced_settlements
from orchestration.pipeline.gates.outcome import CheckOutcome
from orchestration.pipeline.gates.sla import (
    SALES_FEEDS,
    channel_coverage,
    completeness,
    freshness,
    schema_drift,
    volume,
)


def landing_checks(home: Home, feeds: list[str] | None = None) -> list[CheckOutcome]:
    """Per feed: no rejected file waiting in landing (blocking), quarantined rows (warning), and
    the Amazon settlement reconciliation (blocking)."""
    outcomes = []
    contracts = load_contracts()
    for feed in feeds or list(contracts):
        contract = contracts[feed]
        owner = dict(owner=contract.owner["team"], owner_contact=contract.owner["contact"])
        waiting = rejected_files_waiting(home, feed)
        outcomes.append(CheckOutcome(
            feed, "landing", "fail" if waiting else "ok", True,
            "; ".join(f"{r['file']} rejected: {r['reason']}" for r in waiting) or "every file in landing/ landed",
            "Re-export the rejected file(s) with the columns named, or move them out of landing/" if waiting else "",
            metadata={"rejected_files": [r["file"] for r in waiting]}, **owner))
        loaded, quarantined = quarantined_rows(home, feed)
        outcomes.append(CheckOutcome(
            feed, "quarantine", "warn" if quarantined else "ok", False,
            f"{quarantined} of {loaded + quarantined} rows quarantined" if quarantined else "no quarantined rows",
            f"Inspect with `cwh quarantine {feed}`, fix the source and re-land" if quarantined else "",
            metadata={"rows_loaded": loaded, "rows_quarantined": quarantined}, **owner))
        if feed == "amazon_settlements":
            result = unbalanced_settlements(home)
            bad = [] if result is None else result[1]["settlement_id"].to_list()
            outcomes.append(CheckOutcome(
                feed, "settlement_reconciliation", "fail" if bad else "ok", True,
                f"settlements whose components do not sum to total-amount: {', '.join(bad)}" if bad
                else "every settlement's components sum to its total-amount",
                "Download the settlement report again from Seller Central and re-land it" if bad else "",
                metadata={"unbalanced": bad}, **owner))
    return outcomes


# the checks every feed gets, in order; the Dagster check names are these
FEED_CHECKS = ("landing", "quarantine", "freshness", "completeness", "volume", "schema_drift", "expectations")
# (a stock mismatch between systems is the warn-level dbt test stock_mismatch_persists: dbt_results)
EXTRA_CHECKS = {"amazon_settlements": ("settlement_reconciliation",), "shopify_orders": ("channel_coverage",)}


def feed_check_names(feed: str) -> tuple[str, ...]:
    return FEED_CHECKS + EXTRA_CHECKS.get(feed, ())


def disabled_outcomes(home: Home, feed: str, logical_date: date) -> list[CheckOutcome]:
    """The checks of a feed switched off in config/feed_options.yml: each says so and passes, but
    completeness fails (blocking) while an enabled feed needs it (connectors.feed_switches.NEEDED_BY).
    Channel coverage, a check across the enabled sales feeds, still runs on shopify_orders."""
    contract = load_contracts()[feed]
    owner = dict(owner=contract.owner["team"], owner_contact=contract.owner["contact"])
    note, needing = disabled_note(home, feed), needed_by(home, feed)
    outcomes = []
    for check in feed_check_names(feed):
        if check == "channel_coverage":
            outcomes.append(replace(channel_coverage(home, logical_date), feed=feed, check=check))
        elif check == "completeness" and needing:
            outcomes.append(CheckOutcome(
                feed, check, "fail", True,
                f"{feed} is disabled but {', '.join(needing)} need it: without it their P&L lines are wrong",
                f"`cwh feeds enable {feed}` and land its files, or disable {' and '.join(needing)}",
                metadata={"disabled": True, "needed_by": needing}, **owner))
        else:
            outcomes.append(CheckOutcome(feed, check, "ok", False, f"disabled: {note}", "",
                                         metadata={"disabled": True}, **owner))
    return outcomes


def feed_outcomes(home: Home, feed: str, logical_date: date) -> list[CheckOutcome]:
    """Every check of one feed (channel coverage, a check across the sales feeds, rides on
    shopify_orders), named as `feed_check_names(feed)`; a disabled feed's say so (`disabled_outcomes`)."""
    return with_expectations(home, feed, outcomes_before_expectations(home, feed, logical_date))


def outcomes_before_expectations(home: Home, feed: str, logical_date: date) -> list[CheckOutcome]:
    """Every check of one feed but its expectations suite, whose results a helper process may still
    be writing (pipeline/gates/suite_worker.py): a night judges these meanwhile, then adds the suite's
    outcome with `with_expectations`. A disabled feed's outcomes are all there."""
    if not is_enabled(home, feed):
        return disabled_outcomes(home, feed, logical_date)
    contract = load_contracts()[feed]
    outcomes = landing_checks(home, [feed]) + [
        freshness(home, contract, logical_date), completeness(home, contract, logical_date),
        volume(home, contract, logical_date), schema_drift(home, contract, logical_date)]
    if feed == "shopify_orders":
        coverage = channel_coverage(home, logical_date)
        outcomes.append(replace(coverage, feed=feed, check="channel_coverage"))
    return outcomes


def with_expectations(home: Home, feed: str, outcomes: list[CheckOutcome]) -> list[CheckOutcome]:
    """`outcomes_before_expectations` with the feed's expectations outcome in its place, after schema
    drift (a disabled feed's already has one)."""
    if any(outcome.check == "expectations" for outcome in outcomes):
        return outcomes
    at = next(i for i, outcome in enumerate(outcomes) if outcome.check == "schema_drift") + 1
    return [*outcomes[:at], run_expectations(home, load_contracts()[feed]), *outcomes[at:]]


def all_feed_outcomes(home: Home, logical_date: date) -> list[CheckOutcome]:
    return [o for feed in load_contracts() for o in feed_outcomes(home, feed, logical_date)]


def feed_gates(home: Home, logical_date: date, feeds: list[str] | None = None,
               channels_csv: Path | str | None = None, expectations: bool = True) -> list[CheckOutcome]:
    """The SLA gates and the expectations suite of every enabled feed (registered feeds when `feeds`
    is None), then channel coverage (feed 'channels') when a sales feed is among them; no landing checks."""
    from connectors.registry import FEEDS  # imports every vendor module: only when called

    names = enabled_feeds(home, list(feeds) if feeds else list(FEEDS))  # a disabled feed has no gates
    results: list[CheckOutcome] = []
    for feed in names:
        contract = get_contract(feed)
        results += [freshness(home, contract, logical_date), completeness(home, contract, logical_date),
                    volume(home, contract, logical_date), schema_drift(home, contract, logical_date)]
        if expectations:
            results.append(run_expectations(home, contract))
    if any(f in SALES_FEEDS for f in names):
        results.append(channel_coverage(home, logical_date, channels_csv))
    return results
