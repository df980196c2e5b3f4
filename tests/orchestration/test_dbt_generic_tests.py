"""The project's own generic dbt tests, run by dbt on a table they must pass and on one they must fail."""

import json

import duckdb
import pytest

from connectors.home import Home, build_database
from orchestration.pipeline.dbt import run_dbt


def _failures(result) -> dict[str, int]:
    """Rows each test returned, by test name (a test that errored counts as -1)."""
    return {r.node.name: (r.failures if r.status != "error" else -1) for r in result.result.results
            if r.node.resource_type == "test"}


def _sql(home: Home, *statements: str) -> None:
    with duckdb.connect(str(build_database(home))) as con:  # closed before dbt opens the file again
        for statement in statements:
            con.execute(statement)


def _relation(home: Home, seed: str) -> str:
    manifest = json.loads((home.root / "dbt" / "target" / "manifest.json").read_text())
    return next(n["relation_name"] for n in manifest["nodes"].values()
                if n["resource_type"] == "seed" and n["name"] == seed)


@pytest.mark.parametrize(("seed", "test", "key"), [
    ("channels", "primary_key_channels_channel", ["channel"]),
    ("settlement_line_categories", "primary_key_settlement_line_categories_amount_type__amount_description",
     ["amount_type", "amount_description"]),
])
def test_primary_key_fails_on_a_repeated_key_and_on_a_null_in_any_key_column(home, seed, test, key):
    assert run_dbt(home, "seed", "--select", seed).success
    assert _failures(run_dbt(home, "test", "--select", test)) == {test: 0}

    table, last = _relation(home, seed), "rowid = (select max(rowid) from {})"
    _sql(home, f"insert into {table} select * from {table} limit 1")  # the first key twice
    assert _failures(run_dbt(home, "test", "--select", test)) == {test: 1}
    _sql(home, f"delete from {table} where {last.format(table)}")

    for column in key:  # a key with one null column, each column in turn
        _sql(home, f"insert into {table} select * from {table} limit 1",
             f"update {table} set {column} = null where {last.format(table)}")
        assert _failures(run_dbt(home, "test", "--select", test)) == {test: 1}, column
        _sql(home, f"delete from {table} where {last.format(table)}")


def test_every_mart_and_seed_states_its_grain_in_a_primary_key_test():
    """Analysts' tables are an API: each mart (and each seed the marts map through) states its grain
    in a primary_key test — unique and never null in one node (a table with two keys has two)."""
    from orchestration.defs.dbt import DBT_PROJECT

    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())
    keys: dict[str, int] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and (node.get("test_metadata") or {}).get("name") == "primary_key":
            keys[node["attached_node"]] = keys.get(node["attached_node"], 0) + 1
    tables = [n for n in manifest["nodes"].values()
              if n["resource_type"] == "seed" or (n["resource_type"] == "model" and n["fqn"][1] == "marts")]
    assert len(tables) > 40
    assert [n["name"] for n in tables if n["unique_id"] not in keys] == []
