"""A hand-made published snapshot for the outputs' tests: the publish log a real run writes, and an
empty `marts` schema each test fills with the rows it computes its expectations from by hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb

from connectors.home import Home, published_database


@contextmanager
def published_snapshot(root: Path, runs: list[tuple[str, date, str]]
                       ) -> Iterator[tuple[Home, duckdb.DuckDBPyConnection]]:
    """(home, connection) of a published database under `root` whose publish log holds `runs`
    (run id, logical date, published-at timestamp text); the caller creates its marts."""
    home = Home(root / "home")
    database = published_database(home)
    database.parent.mkdir(parents=True)
    with duckdb.connect(str(database)) as con:
        con.execute("create schema marts")
        con.execute("create table main.publish_log (run_id varchar, logical_date date, published_at timestamptz)")
        con.executemany("insert into main.publish_log values (?, ?, cast(? as timestamptz))", runs)
        yield home, con
