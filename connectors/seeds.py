"""The mappings of the dbt seeds (dbt_project/seeds/*.csv) as Python values.

A mapping is written once, in its seed; dbt joins it, and the code that must apply the same mapping
outside dbt (the benchmark's lower-bound P&L, the demo generator's truth, the channel coverage gate)
reads it from here instead of keeping a copy. Light to import: csv and the seeds folder only.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from functools import cache

from connectors.home import SEEDS_DIR

ANY_PLATFORM = "*"  # campaign rule for every ad platform; also the shopify source of the default channel


@cache
def seed_rows(name: str) -> tuple[dict[str, str], ...]:
    """The rows of seeds/<name>.csv as dicts of strings."""
    with (SEEDS_DIR / f"{name}.csv").open(newline="") as handle:
        return tuple(csv.DictReader(handle))


def marketplace_channels() -> dict[str, str]:
    """Amazon marketplace name (`Amazon.com`) -> channel (seeds/amazon_marketplaces.csv)."""
    return {r["marketplace_name"]: r["channel"] for r in seed_rows("amazon_marketplaces")}


def shopify_source_channels() -> tuple[dict[str, str], str]:
    """(Shopify order source -> channel, the channel of every other source) from
    seeds/shopify_source_channels.csv (the `*` row is the default)."""
    sources = {r["source"]: r["channel"] for r in seed_rows("shopify_source_channels")}
    return sources, sources.pop(ANY_PLATFORM)


def settlement_categories() -> dict[tuple[str, str], str]:
    """(amount type, amount description) of an Amazon settlement line -> its category
    (seeds/settlement_line_categories.csv)."""
    return {(r["amount_type"], r["amount_description"]): r["category"] for r in seed_rows("settlement_line_categories")}


def refund_restock_shares() -> dict[str, Decimal]:
    """channel -> share of refunded merchandise assumed restocked where refunds carry no restock flag
    (seeds/channels.csv refund_restock_share; empty = 0)."""
    return {r["channel"]: Decimal(r.get("refund_restock_share") or "0") for r in seed_rows("channels")}


@cache
def campaign_rules() -> tuple[tuple[str, str, str, str], ...]:
    """(platform or '*', match type 'contains' | 'starts_with', pattern, channel), in the order the rules
    apply: lowest priority number first (seeds/campaign_channel_rules.csv)."""
    rows = sorted(seed_rows("campaign_channel_rules"), key=lambda r: int(r["priority"]))
    return tuple((r["platform"], r["match_type"], r["pattern"], r["channel"]) for r in rows)


def campaign_channel(platform: str, name: str) -> str:
    """The channel of an ad campaign: the first rule that matches it, else 'unallocated'."""
    for rule_platform, match_type, pattern, channel in campaign_rules():
        if rule_platform not in (ANY_PLATFORM, platform):
            continue
        if name.startswith(pattern) if match_type == "starts_with" else pattern in name:
            return channel
    return "unallocated"
