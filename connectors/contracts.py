"""Data contracts: one YAML file per feed in `data_contracts/`, the single source of a feed's facts.

A contract fixes the canonical table a connector produces (columns, types, which columns a vendor
file must carry, which values may not be empty, personal fields to hash), its primary key and
event-time column, its owner and its freshness SLA, and the quality expectations later checks run.
Everything else (Parquet schema, GE suites, dbt sources, SLA checks) is derived from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import pyarrow as pa
import yaml

from connectors.home import CONTRACTS_DIR

# Columns the lake adds to every canonical row: where it came from and when it landed.
LINEAGE_FIELDS = (
    pa.field("_source_file", pa.string(), nullable=False),
    pa.field("_source_sha256", pa.string(), nullable=False),
    pa.field("_source_line", pa.int64(), nullable=False),
    pa.field("_source_format", pa.string(), nullable=False),
    pa.field("_loaded_at", pa.timestamp("us", tz="UTC"), nullable=False),
)

_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
SIMPLE_TYPES = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
CADENCES = {"daily", "weekly", "biweekly", "monthly", "on_change"}
PLAUSIBLE_EVENT_DATES = {"min": "2000-01-01", "max_days_ahead": 400}


class ContractError(ValueError):
    """A contract file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    required: bool = False  # the vendor file must carry the column (else the file is rejected)
    nullable: bool = True  # False: a row with no value goes to quarantine
    pii: str | None = None  # "hash": the value is replaced by its keyed hash at landing

    @property
    def arrow_type(self) -> pa.DataType:
        if self.type in SIMPLE_TYPES:
            return SIMPLE_TYPES[self.type]
        precision, scale = self.decimal_spec
        return pa.decimal128(precision, scale)

    @property
    def decimal_spec(self) -> tuple[int, int]:
        match = _DECIMAL.match(self.type)
        if not match:
            raise ContractError(f"column {self.name}: not a decimal type: {self.type}")
        return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True)
class Contract:
    feed: str
    title: str
    source_system: str
    description: str
    owner: dict
    cadence: str
    freshness_sla_hours: int
    event_time_column: str
    # how many days back a nightly incremental build re-processes for this feed: vendors revise recent
    # days (ad platforms) and files arrive after the events they carry (biweekly settlements)
    late_arriving_days: int
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    expectations: tuple[dict, ...] = ()
    path: Path | None = field(default=None, compare=False)
    # events before `min` or more than `max_days_ahead` days after today are quarantined
    plausible_event_dates: dict = field(default_factory=lambda: dict(PLAUSIBLE_EVENT_DATES))

    def plausible_event_range(self, today: date | None = None) -> tuple[date, date]:
        low = date.fromisoformat(str(self.plausible_event_dates["min"]))
        ahead = int(self.plausible_event_dates["max_days_ahead"])
        return low, (today or date.today()) + timedelta(days=ahead)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.feed} has no column {name!r}")

    def arrow_schema(self, with_lineage: bool = True) -> pa.Schema:
        fields = [pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns]
        if with_lineage:
            fields.extend(LINEAGE_FIELDS)
        return pa.schema(fields)


def _parse(path: Path) -> Contract:
    raw = yaml.safe_load(path.read_text())
    where = path.name

    def need(key: str):
        if key not in raw:
            raise ContractError(f"{where}: missing '{key}'")
        return raw[key]

    columns = []
    for spec in need("columns"):
        unknown = set(spec) - {"name", "type", "description", "required", "nullable", "pii"}
        if unknown:
            raise ContractError(f"{where}: column {spec.get('name')}: unknown keys {sorted(unknown)}")
        col = Column(
            name=spec["name"],
            type=spec["type"],
            description=spec.get("description", ""),
            required=bool(spec.get("required", False)),
            nullable=bool(spec.get("nullable", True)),
            pii=spec.get("pii"),
        )
        _ = col.arrow_type  # resolving the Arrow type validates the type name (ContractError if unknown)
        if not col.description:
            raise ContractError(f"{where}: column {col.name} has no description")
        columns.append(col)
    contract = Contract(
        feed=need("feed"),
        title=need("title"),
        source_system=need("source_system"),
        description=need("description").strip(),
        owner=need("owner"),
        cadence=need("cadence"),
        freshness_sla_hours=int(need("freshness_sla_hours")),
        event_time_column=need("event_time_column"),
        late_arriving_days=int(need("late_arriving_days")),
        primary_key=tuple(need("primary_key")),
        columns=tuple(columns),
        expectations=tuple(raw.get("expectations") or ()),
        path=path,
        plausible_event_dates={**PLAUSIBLE_EVENT_DATES, **(raw.get("plausible_event_dates") or {})},
    )
    _validate(contract, where)
    return contract


def _validate(contract: Contract, where: str) -> None:
    _validate_settings(contract, where)
    _validate_keys(contract, where)
    if not {"team", "contact"} <= set(contract.owner):
        raise ContractError(f"{where}: owner needs 'team' and 'contact'")
    for exp in contract.expectations:
        if exp.get("column") not in contract.column_names:
            raise ContractError(f"{where}: expectation on unknown column {exp.get('column')!r}")


def _validate_settings(contract: Contract, where: str) -> None:
    names = contract.column_names
    if len(set(names)) != len(names):
        raise ContractError(f"{where}: duplicate column names")
    if contract.feed != Path(where).stem:
        raise ContractError(f"{where}: feed '{contract.feed}' must match the file name")
    if contract.cadence not in CADENCES:
        raise ContractError(f"{where}: cadence must be one of {sorted(CADENCES)}")
    try:
        contract.plausible_event_range()
    except (KeyError, TypeError, ValueError) as err:
        raise ContractError(f"{where}: plausible_event_dates needs min (YYYY-MM-DD) and max_days_ahead: {err}") from err
    if contract.late_arriving_days < 0:
        raise ContractError(f"{where}: late_arriving_days must be 0 or more")


def _validate_keys(contract: Contract, where: str) -> None:
    """Primary key and event time name columns; primary-key columns cannot be null."""
    for key in (*contract.primary_key, contract.event_time_column):
        if key not in contract.column_names:
            raise ContractError(f"{where}: '{key}' is not a column")
    for key in contract.primary_key:
        if contract.column(key).nullable:
            raise ContractError(f"{where}: primary-key column '{key}' must be nullable: false")


@cache
def load_contracts(directory: Path = CONTRACTS_DIR) -> dict[str, Contract]:
    """All contracts, keyed by feed, in file-name order."""
    contracts = {}
    for path in sorted(directory.glob("*.yml")):
        contract = _parse(path)
        contracts[contract.feed] = contract
    return contracts


def get_contract(feed: str) -> Contract:
    contracts = load_contracts()
    if feed not in contracts:
        raise KeyError(f"unknown feed {feed!r}; feeds are: {', '.join(contracts)}")
    return contracts[feed]
