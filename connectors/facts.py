"""Facts a vendor file does not state, supplied when it is landed: the currency of an ad account's
export, the sales channel of a sessions export, the day and the stock location of an inventory
snapshot. Each is a `VendorFormat.options` key, a flag of `cwh ingest` (`--currency USD`) and a
key of config/feed_options.yml.

A wrong fact lands silently and moves money (spend in `XYZ` has no FX rate, sessions of an unknown
channel count nowhere), so every fact is checked before a file lands: currencies against ISO 4217
(connectors/iso4217.py), channels and stock locations against the seeds the warehouse joins them to,
dates as real days in the plausible range. A fact that was wrong all the same is corrected with
`cwh ingest FEED FILE --replace --<fact> …` (connectors/unland.py).

Kept free of heavy imports: the command line builds its flags from FACTS at start-up.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache

from connectors.home import SEEDS_DIR as SEEDS
from connectors.home import TimezoneError, check_timezone
from connectors.iso4217 import ACTIVE_CURRENCIES

EARLIEST_DAY = date(2000, 1, 1)  # the engine's default lower bound of plausible event dates


class FactError(ValueError):
    """A supplied fact the warehouse cannot use; the message says what is accepted."""


@dataclass(frozen=True)
class Fact:
    name: str
    help: str
    check: Callable[[str], str]  # the value as stored, or FactError


@cache
def _seed_column(seed: str, column: str) -> tuple[str, ...]:
    with (SEEDS / seed).open(newline="") as handle:
        return tuple(dict.fromkeys(row[column] for row in csv.DictReader(handle)))


def channels() -> tuple[str, ...]:
    return _seed_column("channels.csv", "channel")


def stock_locations() -> tuple[str, ...]:
    return _seed_column("inventory_locations.csv", "location")


def check_currency(value: str) -> str:
    code = value.strip().upper()
    if code not in ACTIVE_CURRENCIES:
        raise FactError(f"currency {value!r} is not an ISO 4217 currency code in use: write the ad "
                        "account's currency as three letters, e.g. USD, EUR, GBP, CAD")
    return code


def check_channel(value: str) -> str:
    channel = value.strip().lower()
    if channel not in channels():
        raise FactError(f"channel {value!r} is not a sales channel of dbt_project/seeds/channels.csv: "
                        f"use one of {', '.join(channels())} (or add the channel to that seed first)")
    return channel


def check_day(value: str) -> str:
    latest = datetime.now(UTC).date() + timedelta(days=1)  # a snapshot taken today, ahead of UTC
    try:
        day = date.fromisoformat(value.strip()) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()) else None
    except ValueError:
        day = None
    if day is None:
        raise FactError(f"date {value!r} is not a day written YYYY-MM-DD (e.g. 2026-05-31)")
    if not EARLIEST_DAY <= day <= latest:
        raise FactError(f"date {value!r} is not plausible: a snapshot day lies between {EARLIEST_DAY} and "
                        f"{latest} (today)")
    return day.isoformat()


def check_location(value: str) -> str:
    by_name = {name.lower(): name for name in stock_locations()}
    name = by_name.get(" ".join(value.split()).lower())
    if name is None:
        raise FactError(f"location {value!r} is not a stock location of dbt_project/seeds/inventory_locations.csv: "
                        f"use one of {', '.join(repr(n) for n in stock_locations())} (or add it to that seed first)")
    return name


# facts any feed may take: how to read the file's values, not a column it lacks
READING_FACTS = frozenset({"timezone"})


def check_timezone_fact(value: str) -> str:
    try:
        return check_timezone(value.strip())
    except TimezoneError as err:
        raise FactError(str(err)) from None


FACTS: dict[str, Fact] = {fact.name: fact for fact in (
    Fact("currency", "Currency of a file without a currency column (ISO 4217, e.g. USD): ad platform exports.",
         check_currency),
    Fact("channel", "Sales channel of a file without a channel column (a channel of seeds/channels.csv, "
         "e.g. amazon_us): sessions exports.", check_channel),
    Fact("date", "Day of a file without a date column (YYYY-MM-DD): inventory snapshots.", check_day),
    Fact("location", "Stock location of a file without a location column (seeds/inventory_locations.csv, "
         "e.g. \"Amazon FBA US\"): inventory snapshots.", check_location),
    Fact("timezone", "Time zone of the file's date-times written without an offset (an IANA name, e.g. "
         "America/Los_Angeles); without it they are read as UTC.", check_timezone_fact),
)}


def check_facts(options: Mapping[str, str], source: str = "") -> dict[str, str]:
    """The options with every known fact checked and normalised (USD, amazon_us); other keys pass
    as given. Raises FactError naming every bad fact (`source`: where they came from)."""
    checked, errors = dict(options), []
    for name, value in options.items():
        if name in FACTS and value is not None and str(value) != "":
            try:
                checked[name] = FACTS[name].check(str(value))
            except FactError as err:
                errors.append(str(err))
    if errors:
        raise FactError("; ".join(errors) + (f" ({source})" if source else ""))
    return checked
