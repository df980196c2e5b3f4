"""What every gate returns (`CheckOutcome`) and the lake-reading helpers the gates share.

Its own module so that the gate modules (sla, expectations, feed, dbt_results) depend on it and not
on each other: no import cycle between the gates.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import duckdb

from connectors.contracts import Contract
from connectors.home import Home, check_timezone


@dataclass(frozen=True)
class CheckOutcome:
    feed: str
    check: str  # 'freshness' | 'completeness' | 'volume' | 'schema_drift' | 'expectations' | 'dbt:<test>' …
    status: str  # 'ok' | 'warn' | 'fail'
    blocking: bool  # a 'fail' of a blocking check holds the publish
    detail: str  # one readable sentence with the numbers
    suggested_action: str  # what the owner should do ('' when nothing is needed)
    owner: str
    owner_contact: str
    metadata: dict = field(default_factory=dict)  # numbers behind the verdict (json-serialisable)

    @property
    def passed(self) -> bool:
        return self.status != "fail"

    @property
    def holds_publish(self) -> bool:
        return self.blocking and self.status == "fail"


def outcome(contract: Contract, check: str, status: str, detail: str, action: str = "",
            blocking: bool = True, **metadata) -> CheckOutcome:
    """An outcome of a feed's check, owned by the feed's contract owner."""
    return CheckOutcome(
        feed=contract.feed, check=check, status=status, blocking=blocking, detail=detail,
        suggested_action=action if status != "ok" else "",
        owner=contract.owner["team"], owner_contact=contract.owner["contact"], metadata=metadata)


def held(outcomes: Iterable[CheckOutcome]) -> list[CheckOutcome]:
    """The outcomes that hold the publish (blocking checks that failed)."""
    return [o for o in outcomes if o.holds_publish]


# ---- reading the lake ----------------------------------------------------------------------------

_lake_reader: duckdb.DuckDBPyConnection | None = None
_lake_reader_lock = threading.Lock()


def connect(zone: str = "UTC") -> duckdb.DuckDBPyConnection:
    """A connection to this process's in-memory DuckDB that reads the lake, in time zone `zone` (an IANA
    name: connectors.home.business_timezone), so timestamp → date casts are the business's local days,
    as in the marts. A cursor of one database opened once: opening a database costs 50–100 ms, which
    the gates paid 14 times a night; the gates only read (no tables are created in it)."""
    global _lake_reader
    with _lake_reader_lock:
        if _lake_reader is None:
            _lake_reader = duckdb.connect(":memory:")
        con = _lake_reader.cursor()
    con.execute(f"SET TimeZone = '{check_timezone(zone)}'")
    return con


def raw_glob(home: Home, feed: str) -> str | None:
    """The lake files of a feed as a read_parquet glob, or None when none exist."""
    folder = home.raw(feed)
    if not folder.is_dir() or not any(folder.glob("*.parquet")):
        return None
    return str(folder / "*.parquet").replace("'", "''")


def parquet_source(glob: str) -> str:
    return f"read_parquet('{glob}', union_by_name = true)"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
