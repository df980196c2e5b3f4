"""A dbt build's result, parsed once into `CheckOutcome`s: one per failed node (model error or failed
test) naming the model, the feeds upstream, a sample failing row and the owners to alert, or one 'ok';
plus one non-blocking 'warn' per test of severity warn that found rows (e.g. stock_mismatch_persists)."""

from __future__ import annotations

import json
import re

import duckdb

from connectors.contracts import load_contracts
from connectors.home import MEMORY_LIMIT_ENV, Home, build_database, duckdb_memory_limit
from orchestration.pipeline import incremental
from orchestration.pipeline.gates.outcome import CheckOutcome

WAREHOUSE = "warehouse"  # the pseudo-feed dbt results (and run failures) are reported under


def dbt_checks(result, home: Home | None = None) -> list[CheckOutcome]:
    """One outcome per failed dbt node (model error or failed test), or one 'ok'; then one 'warn'
    (never blocking) per test that ended with status warn. A failed or warning test names the model
    it tests, the feeds upstream (from the manifest), a sample failing row and the feeds' owners
    (from their contracts), so the alert reaches the people who can fix the data."""
    failed, warned = [], []
    manifest = _manifest(home) if home is not None else {}
    nodes = getattr(result.result, "results", None) or []
    for node in nodes:
        status = str(node.status)
        if status in {"error", "fail", "runtime error"}:
            failed.append(_dbt_outcome(node, manifest, home))
        elif status == "warn":
            warned.append(_dbt_outcome(node, manifest, home, warning=True))
    if result.exception is not None:
        failed.append(CheckOutcome(WAREHOUSE, "dbt:build", "fail", True, f"dbt did not run: {result.exception}",
                                   "Run `cwh build` and read the error", "Data engineering",
                                   "data-eng@example.com", {}))
    if failed:
        return failed + warned
    passed = f"{len(nodes)} models, seeds and tests passed" + (f" ({len(warned)} with a warning)" if warned else "")
    return [CheckOutcome(WAREHOUSE, "dbt:build", "ok", True, passed, "", "Data engineering",
                         "data-eng@example.com", {"nodes": len(nodes), "warnings": len(warned)})] + warned


def _manifest(home: Home) -> dict:
    path = home.root / "dbt" / "target" / "manifest.json"
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        return {}


OUT_OF_MEMORY = "Out of Memory Error"  # DuckDB's, in a model's failure message


def _out_of_memory_action(model_names: str) -> str:
    """What to do when a model outgrew DuckDB's pool: the pool is the build's, shared by dbt's two threads, so a
    big model can fail because of the one built beside it (seen once in a 10M-line whole build:
    `int_payout_items` beside `channel_kpis_daily`)."""
    return (f"DuckDB's memory pool ({duckdb_memory_limit()}, {MEMORY_LIMIT_ENV}) filled up while it built "
            f"{model_names}; the models dbt builds side by side share it. Nothing was published: run the night "
            f"again, or for that run give DuckDB more ({MEMORY_LIMIT_ENV}=3GB) or build one model at a time "
            "(CWH_DBT_THREADS=1)")


KEY_COLUMN = re.compile(r"(_id|_key|_name|_number|^sku|^date|_date|^currency|^channel|^marketplace.*)$")


def _failing_sample(home: Home | None, node, tested: dict) -> str:
    """The first failing row of a test, as `column=value, …` (read from the build database). A test
    on one column (not_null, accepted_values, relationships…) returns only that column, so the row
    of the tested model holding the failing value is shown instead, by its key columns."""
    sql = getattr(node, "compiled_code", None)
    if home is None or not sql:
        return ""
    column = (getattr(node, "test_metadata", None) and node.test_metadata.kwargs.get("column_name")) \
        or getattr(node, "column_name", None)
    try:
        with duckdb.connect(str(build_database(home)), read_only=True) as con:
            cursor = con.execute(f"select * from ({sql}) as failing limit 1")
            row, columns = cursor.fetchone(), [d[0] for d in cursor.description]
            if row is not None and column in columns and tested.get("relation_name"):
                value = row[columns.index(column)]
                cursor = con.execute(f"select * from {tested['relation_name']} "
                                     f"where {column} is not distinct from ? limit 1", [value])
                found, names = cursor.fetchone(), [d[0] for d in cursor.description]
                if found is not None:
                    row, columns = found, names
                    keep = [i for i, name in enumerate(names) if name == column or KEY_COLUMN.search(name)]
                    row, columns = [row[i] for i in keep[:8]], [names[i] for i in keep[:8]]
    except Exception:  # noqa: BLE001 — a sample is a courtesy; the failure is reported regardless
        return ""
    if row is None:
        return ""
    return ", ".join(f"{name}={value}" for name, value in zip(columns, row, strict=True))[:300]


def _dbt_outcome(result_node, manifest: dict, home: Home | None, warning: bool = False) -> CheckOutcome:
    """A failed node as a blocking 'fail', or a test of severity warn that found rows as a 'warn'."""
    node = result_node.node
    unique_id = node.unique_id
    info = manifest.get("nodes", {}).get(unique_id, {})
    parents = (info.get("depends_on", {}).get("nodes")
               or list(getattr(getattr(node, "depends_on", None), "nodes", []) or []))
    is_test = unique_id.startswith("test.")
    models = [p for p in parents if p.startswith("model.")] if is_test else [unique_id]
    attached = info.get("attached_node") or getattr(node, "attached_node", None)
    if is_test and attached:
        models = [attached] + [m for m in models if m != attached]
    feeds = incremental.upstream_feeds(manifest, models or [unique_id])
    contracts = load_contracts()
    owners = sorted({contracts[f].owner["team"] for f in feeds if f in contracts})
    contacts = sorted({contracts[f].owner["contact"] for f in feeds if f in contracts})
    model_names = ", ".join(m.split(".")[-1] for m in models) or unique_id.split(".")[-1]
    sample = _failing_sample(home, node, manifest.get("nodes", {}).get(models[0], {}) if models else {}) \
        if is_test else ""
    metadata = info.get("test_metadata") or {}
    test_name = metadata.get("name") or node.name
    verdict = "warned" if warning else "failed"
    detail = (f"dbt test {test_name} on {model_names} {verdict}" if is_test else f"dbt model {model_names} failed")
    detail += f": {result_node.message}" if result_node.message else ""
    detail += f"; feeds upstream: {', '.join(feeds) or 'none'}"
    detail += f"; first failing row: {sample}" if sample else ""
    action = (f"Look at the failing rows (`dbt test --select {node.name} --store-failures`); usually a feed "
              f"({', '.join(feeds) or 'see the model'}) carries data the warehouse cannot place: fix it at the "
              "source and re-land, or fix the model")
    if not is_test and OUT_OF_MEMORY in (result_node.message or ""):
        action = _out_of_memory_action(model_names)
    if warning:  # the test's description says what its rows mean (e.g. SKUs to recount)
        action = (" ".join((info.get("description") or "").split()) + " The rows: "
                  f"`dbt test --select {node.name} --store-failures`.").strip()
    return CheckOutcome(
        WAREHOUSE, f"dbt:{node.name}", "warn" if warning else "fail", not warning, detail, action,
        ", ".join(owners + ["Data engineering"]), ", ".join(contacts + ["data-eng@example.com"]),
        {"unique_id": unique_id, "models": models, "test": test_name, "feeds": feeds, "failing_row": sample,
         "failing_rows": getattr(result_node, "failures", None)})
