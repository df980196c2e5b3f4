"""Every mart of the published snapshot as a Parquet file (`cwh export --marts`), for the tools that
read files rather than DuckDB databases (BI tools, notebooks, Spark, a data lake).

One file per table of schema `marts`, typed as in the warehouse (decimals stay decimals, dates
dates); each footer carries the same key-value metadata as the finance exports (run_id,
logical_date, published_at, reporting_currency, source). Each file is written under a temporary
name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from orchestration.outputs.exports import ExportTable, parquet_metadata
from orchestration.outputs.snapshot import read_snapshot

MARTS_SCHEMA = "marts"


def _literal(value: Path | str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def write_marts_parquet(database: Path, folder: Path) -> list[Path]:
    """Write `<folder>/<mart>.parquet` for every mart of `database`; returns the files, by name."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    with duckdb.connect(str(database), read_only=True) as con:
        snapshot = read_snapshot(con)
        marts = [name for (name,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = ? order by table_name",
            [MARTS_SCHEMA]).fetchall()]
        for name in marts:
            source = f'{MARTS_SCHEMA}."{name}"'
            table = ExportTable(name, f"select * from {MARTS_SCHEMA}.{name}", "", "")
            metadata = ", ".join(f"{key}: {_literal(value)}"
                                 for key, value in parquet_metadata(snapshot, table, None).items())
            path = folder / f"{name}.parquet"
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            try:
                con.execute(f"copy {source} to {_literal(tmp)} (format parquet, kv_metadata {{{metadata}}})")
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
            paths.append(path)
    return paths
