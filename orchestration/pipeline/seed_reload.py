"""Seeds reloaded when they change, not every night (docs/incremental.md "Seeds").

`dbt build` reloads every seed and runs every test of them each night: at 1M lines 12 seeds and ~50
tests that read nothing but seeds cost ~7 s of dbt's node time (~3.5 s of a night on two threads),
for mappings edited a few times a year. After a build in which they all loaded and passed, the
seeds' fingerprint is kept in the build database (`dbt_state.seeds`, never published). A night whose
freshly parsed project has the same fingerprint, and whose build database still holds every seed
table, leaves out the seeds and the tests that read only seeds; a test that also reads a model (a
model's channels related to the `channels` seed) still runs. The fingerprint covers what decides a
seed table and those tests' verdicts: each seed file's checksum, config and relation, each such
test's code, kwargs and config, the SQL of every macro it calls, and dbt's version.
"""

import hashlib
import json
from dataclasses import dataclass

import duckdb

from connectors.home import Home, build_database

STATE_SCHEMA = "dbt_state"  # not in publish.PUBLISHED_SCHEMAS: the build's own bookkeeping
PASSED = {"success", "pass"}


def seed_only(manifest) -> tuple[list, list]:
    """(seed nodes, test nodes whose parents are all seeds) of a parsed dbt Manifest."""
    seeds = {uid: node for uid, node in manifest.nodes.items() if node.resource_type == "seed"}
    tests = [node for node in manifest.nodes.values() if node.resource_type == "test"
             and node.depends_on.nodes and set(node.depends_on.nodes) <= set(seeds)]
    return list(seeds.values()), tests


def _macro_sql(manifest, macro_ids: list[str]) -> dict[str, str]:
    """The SQL of the macros a test calls and every macro those call."""
    found: dict[str, str] = {}
    todo = list(macro_ids)
    while todo:
        uid = todo.pop()
        macro = manifest.macros.get(uid)
        if uid in found or macro is None:
            continue
        found[uid] = macro.macro_sql
        todo.extend(macro.depends_on.macros)
    return found


def fingerprint(manifest) -> str:
    from dbt.version import __version__ as dbt_version

    seeds, tests = seed_only(manifest)
    parts = {
        "dbt": dbt_version,
        "seeds": {s.unique_id: [s.checksum.checksum, s.relation_name, s.config.to_dict()] for s in seeds},
        "tests": {t.unique_id: [t.raw_code, getattr(getattr(t, "test_metadata", None), "kwargs", None),
                                t.config.to_dict(), sorted(t.depends_on.nodes),
                                _macro_sql(manifest, t.depends_on.macros)]
                  for t in tests},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _stored(home: Home, seeds: list) -> str | None:
    """The recorded fingerprint, when the build database also holds every seed's table."""
    path = build_database(home)
    if not path.exists():
        return None
    with duckdb.connect(str(path), read_only=True) as con:
        tables = set(con.execute("select table_schema, table_name from information_schema.tables").fetchall())
        if (STATE_SCHEMA, "seeds") not in tables:
            return None
        if any((s.schema, s.alias or s.name) not in tables for s in seeds):
            return None
        row = con.execute(f"select fingerprint from {STATE_SCHEMA}.seeds").fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class SeedPlan:
    fingerprint: str  # taken before the build: dbt's compilation changes the nodes it runs
    node_ids: frozenset[str]  # the seeds and the tests that read only seeds
    leave_out: list[str]  # dbt arguments leaving them out of the build; [] = load and test them


def plan(home: Home, manifest) -> SeedPlan:
    """Whether a build may leave the seeds and their seed-only tests out: nothing of them changed
    since a build loaded and passed them, and their tables are still there."""
    seeds, tests = seed_only(manifest)
    current = fingerprint(manifest)
    unchanged = bool(seeds) and _stored(home, seeds) == current
    leave_out = ["--exclude-resource-type", "seed", *(["--exclude", *sorted(t.name for t in tests)] if tests else [])]
    return SeedPlan(current, frozenset(n.unique_id for n in (*seeds, *tests)), leave_out if unchanged else [])


def record(home: Home, seed_plan: SeedPlan, result) -> None:
    """After a build that loaded the seeds: their fingerprint, if every seed and seed-only test
    passed (a warning runs again the next night, so it stays said). A build that left them out
    changes nothing; one where any did not pass forgets the record (the next night reloads)."""
    ran = {r.node.unique_id: str(r.status) for r in (getattr(result.result, "results", None) or [])
           if r.node.unique_id in seed_plan.node_ids}
    if not ran:
        return
    passed = ran.keys() == seed_plan.node_ids and set(ran.values()) <= PASSED
    with duckdb.connect(str(build_database(home))) as con:
        con.execute(f"create schema if not exists {STATE_SCHEMA}")
        con.execute(f"create or replace table {STATE_SCHEMA}.seeds (fingerprint varchar not null, "
                    "recorded_at timestamp with time zone not null)")
        if passed:
            con.execute(f"insert into {STATE_SCHEMA}.seeds values (?, now())", [seed_plan.fingerprint])


def left_out(result) -> bool:
    """Whether a build ran without its seeds (`SeedPlan.leave_out` applied)."""
    results = getattr(result.result, "results", None) or []
    return bool(results) and not any(r.node.resource_type == "seed" for r in results)
