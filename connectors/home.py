"""The project home: every path the warehouse reads or writes hangs off it.

Light on purpose (no connector, no polars): anything that only needs a path imports this.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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

    def feed_options(self, feed: str) -> dict[str, str]:
        """The facts of `feed` in config/feed_options.yml (its on/off switch `enabled` is not a fact:
        connectors/feed_switches.py)."""
        if not self.feed_options_file.exists():
            return {}
        data = yaml.safe_load(self.feed_options_file.read_text()) or {}
        return {k: str(v) for k, v in (data.get(feed) or {}).items() if k != "enabled"}


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
