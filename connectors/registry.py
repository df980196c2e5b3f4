"""Every feed the warehouse lands: its contract and the vendor layouts its connector reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from connectors.contracts import Contract, get_contract, load_contracts
from connectors.engine import ParsedFile, VendorFormat, parse_file

# one module per source system under connectors/vendors/; each exposes FORMATS: {feed: [VendorFormat, ...]}
CONNECTOR_MODULES = (
    "shopify", "amazon", "wholesale", "google_ads", "meta_ads", "pinterest_ads", "amazon_ads",
    "threepl", "finance", "web_analytics", "inventory",
)


@dataclass(frozen=True)
class FeedSpec:
    feed: str
    module: str
    formats: tuple[VendorFormat, ...]

    @property
    def contract(self) -> Contract:
        return get_contract(self.feed)

    @property
    def source_system(self) -> str:
        return self.contract.source_system


def _collect() -> dict[str, FeedSpec]:
    feeds: dict[str, FeedSpec] = {}
    for name in CONNECTOR_MODULES:
        module = import_module(f"connectors.vendors.{name}")
        for feed, formats in module.FORMATS.items():
            feeds[feed] = FeedSpec(feed, name, tuple(formats))
    contracts = load_contracts()
    missing = sorted(set(feeds) - set(contracts))
    if missing:
        raise RuntimeError(f"connectors without a contract in data_contracts/: {missing}")
    return {feed: feeds[feed] for feed in contracts if feed in feeds}


FEEDS: dict[str, FeedSpec] = _collect()


def feed_spec(feed: str) -> FeedSpec:
    if feed not in FEEDS:
        raise KeyError(f"unknown feed {feed!r}; feeds are: {', '.join(FEEDS)}")
    return FEEDS[feed]


def other_feeds(feed: str) -> dict[str, tuple[Contract, tuple[VendorFormat, ...]]]:
    """Every other feed's contract and layouts: a file refused here is matched against them, so the
    message can name the feed it belongs to."""
    return {name: (spec.contract, spec.formats) for name, spec in FEEDS.items() if name != feed}


def parse(feed: str, path: Path | str, options: Mapping[str, str] | None = None) -> ParsedFile:
    """Parse one vendor file of `feed` into its canonical table (in memory; the lake streams)."""
    spec = feed_spec(feed)
    return parse_file(path, spec.contract, list(spec.formats), options, other_feeds(feed))
