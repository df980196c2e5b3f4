"""dbt sources generated from the data contracts, so a feed's facts are written once.

`python -m orchestration.pipeline.dbt_sources` writes `models/staging/<source>/_<source>__sources.yml` for
every source system: one table per feed, reading the feed's Parquet files in the lake, with the
contract's description, column types and descriptions, and a freshness rule from its SLA.
A test fails when the committed files differ from what the contracts generate.

A feed switched off (connectors/feed_switches.py) keeps its source: the run's file snapshot
(`incremental.take_snapshot`, macro `in_file_snapshot`) holds none of its files, so it reads no rows
and every model keeps its columns.
"""

from collections import defaultdict
from pathlib import Path

import yaml

from connectors.contracts import LINEAGE_FIELDS, SIMPLE_TYPES, Contract, load_contracts
from connectors.home import DBT_DIR, Home

STAGING_DIR = DBT_DIR / "models" / "staging"
HEADER = "# Generated from data_contracts/ by `python -m orchestration.pipeline.dbt_sources`: do not edit by hand.\n"

_SQL_TYPES = {"string": "varchar", "integer": "bigint", "number": "double", "boolean": "boolean",
              "date": "date", "timestamp": "timestamp with time zone"}


def sql_type(type_name: str) -> str:
    return _SQL_TYPES.get(type_name, type_name)


# The columns the lake adds to every row (connectors.contracts.LINEAGE_FIELDS), listed with the
# contract's so a source declares every column of its Parquet files (Spark's tables over the lake
# are created from these lists: macros/portability.sql).
_LINEAGE_DESCRIPTIONS = {
    "_source_file": "The landed file the row came from.",
    "_source_sha256": "SHA-256 of that file (the ledger's key: landing the same file again is a no-op).",
    "_source_line": "The row's line in that file.",
    "_source_format": "The vendor layout the connector read the file as.",
    "_loaded_at": "When the file was landed, UTC.",
}
_CONTRACT_TYPES = {arrow_type: name for name, arrow_type in SIMPLE_TYPES.items()}


def _lineage_columns() -> list[dict]:
    return [{"name": f.name, "data_type": sql_type(_CONTRACT_TYPES[f.type]),
             "description": _LINEAGE_DESCRIPTIONS[f.name]} for f in LINEAGE_FIELDS]


def _table(contract: Contract) -> dict:
    return {
        "name": contract.feed,
        "description": f"{contract.title}. {contract.description} Owner: {contract.owner['team']}.",
        "loaded_at_field": "_loaded_at",
        "config": {"freshness": {"error_after": {"count": contract.freshness_sla_hours, "period": "hour"}}},
        "meta": {"owner": contract.owner["contact"], "primary_key": list(contract.primary_key),
                 "event_time_column": contract.event_time_column, "cadence": contract.cadence,
                 "late_arriving_days": contract.late_arriving_days},
        "columns": [
            *({"name": c.name, "data_type": sql_type(c.type), "description": c.description}
              for c in contract.columns),
            *_lineage_columns(),
        ],
    }


def render() -> dict[Path, str]:
    by_source: dict[str, list[Contract]] = defaultdict(list)
    for contract in load_contracts().values():
        by_source[contract.source_system].append(contract)
    files = {}
    for source, contracts in sorted(by_source.items()):
        document = {"version": 2, "sources": [{
            "name": source,
            "description": f"Raw {source} feeds landed by the connectors (one Parquet file per landed vendor file).",
            # the home's path inside a SQL string: its quotes doubled (a home may be /srv/o'brien)
            "meta": {"external_location":
                     "read_parquet('{{ env_var(\"CWH_HOME\") | replace(\"'\", \"''\") }}/lake/raw/{name}/*.parquet', "
                     "union_by_name = true)"},
            "tables": [_table(c) for c in contracts],
        }]}
        text = HEADER + yaml.safe_dump(document, sort_keys=False, width=110, allow_unicode=True)
        files[STAGING_DIR / source / f"_{source}__sources.yml"] = text
    return files


def write() -> list[Path]:
    written = []
    for path, text in render().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written


def ensure_feed_files(home: Home) -> list[str]:
    """Give every feed with nothing landed yet an empty Parquet file with its contract schema, so
    the dbt sources resolve (and the SLA checks, not a SQL error, report the missing feed)."""
    import pyarrow.parquet as pq

    created = []
    for feed, contract in load_contracts().items():
        folder = home.raw(feed)
        if folder.exists() and any(folder.glob("*.parquet")):
            continue
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(contract.arrow_schema().empty_table(), folder / "_empty.parquet")
        created.append(feed)
    return created


if __name__ == "__main__":
    for path in write():
        print(f"wrote {path.relative_to(DBT_DIR.parent)}")
