"""The project home: every path the warehouse reads or writes hangs off it.

Light on purpose (no connector, no polars): anything that only needs a path imports this.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

# The project's own files: the dbt project (models, seeds) and the data contracts. A checkout (or an
# editable install) has them beside the packages; a wheel (`pip install .`) carries them inside this
# package, in _project/ (pyproject.toml: [tool.hatch.build.targets.wheel.sources]).
_PACKAGED_DIR = Path(__file__).resolve().parent / "_project"
PROJECT_DIR = _PACKAGED_DIR if _PACKAGED_DIR.is_dir() else Path(__file__).resolve().parents[1]
DBT_DIR = PROJECT_DIR / "dbt_project"
SEEDS_DIR = DBT_DIR / "seeds"
CONTRACTS_DIR = PROJECT_DIR / "data_contracts"


@dataclass(frozen=True)
class Home:
    """The project home: every file the warehouse writes lives below it."""

    root: Path

    @classmethod
    def from_env(cls) -> Home:
        return cls(Path(os.environ.get("CWH_HOME", "data")).resolve())

    def landing(self, feed: str) -> Path:
        return self.root / "landing" / feed

    def raw(self, feed: str) -> Path:
        return self.root / "lake" / "raw" / feed

    def quarantine(self, feed: str) -> Path:
        return self.root / "lake" / "quarantine" / feed

    def ledger(self, feed: str) -> Path:
        return self.root / "lake" / "ledger" / feed

    def rejected(self, feed: str) -> Path:
        return self.root / "lake" / "rejected" / feed

    @property
    def feed_options_file(self) -> Path:
        return self.root / "config" / "feed_options.yml"

    @property
    def settings_file(self) -> Path:
        return self.root / "config" / "settings.yml"

    def feed_options(self, feed: str) -> dict[str, str]:
        """The facts of `feed` in config/feed_options.yml (its on/off switch `enabled` is not a fact:
        connectors/feed_switches.py)."""
        if not self.feed_options_file.exists():
            return {}
        data = yaml.safe_load(self.feed_options_file.read_text()) or {}
        return {k: str(v) for k, v in (data.get(feed) or {}).items() if k != "enabled"}


TIMEZONE_ENV = "CWH_TIMEZONE"
DEFAULT_TIMEZONE = "UTC"


class TimezoneError(ValueError):
    """The configured business time zone is not an IANA name."""


def business_timezone(home: Home) -> str:
    """The business's time zone (an IANA name, docs/metrics.md "Reporting day"): the local day of every
    event in the marts, the logical date of a night and the hour of the nightly schedule. One setting:
    CWH_TIMEZONE, else `timezone:` in $CWH_HOME/config/settings.yml, else UTC."""
    name, source = os.environ.get(TIMEZONE_ENV, "").strip(), TIMEZONE_ENV
    if not name and home.settings_file.exists():
        settings = yaml.safe_load(home.settings_file.read_text()) or {}
        name, source = str(settings.get("timezone") or "").strip(), str(home.settings_file)
    return check_timezone(name, source) if name else DEFAULT_TIMEZONE


def business_today(home: Home) -> date:
    """Today on the business's clock: the default logical date of a night."""
    return datetime.now(ZoneInfo(business_timezone(home))).date()


def check_timezone(name: str, source: str = "") -> str:
    """`name` if it is an IANA time zone, else TimezoneError saying what to write instead."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones, e.g. "Pacific"
        raise TimezoneError(
            f"time zone {name!r}{f' (from {source})' if source else ''} is not an IANA time zone name: "
            "write one like America/New_York, Europe/Berlin or UTC (the list: "
            "python -c 'import zoneinfo; print(sorted(zoneinfo.available_timezones()))')") from None
    return name


MEMORY_LIMIT_ENV = "CWH_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "1.5GB"  # dbt_project/profiles.yml's default too (tests/test_project_files.py checks both)


def duckdb_memory_limit() -> str:
    """DuckDB's buffer pool for the warehouse's big work (the dbt build, publish). DuckDB would take
    80% of RAM; capped, a night stays within its memory budget and larger intermediates spill to disk."""
    return os.environ.get(MEMORY_LIMIT_ENV, "").strip() or DEFAULT_MEMORY_LIMIT


# where the pipeline writes, beside the Home's own folders (one place for every path under the home)
def build_database(home: Home) -> Path:
    """The database dbt writes (never opened by analysts)."""
    return home.root / "warehouse" / "build.duckdb"


def published_database(home: Home) -> Path:
    """The audited snapshot analysts open read-only."""
    return home.root / "warehouse" / "published.duckdb"


def publish_records_dir(home: Home) -> Path:
    return home.root / "ops" / "publish"


def check_results_dir(home: Home) -> Path:
    return home.root / "ops" / "check_results"


def alerts_dir(home: Home) -> Path:
    return home.root / "ops" / "alerts"
