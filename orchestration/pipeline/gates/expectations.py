"""Great Expectations suites generated from the contracts, run on every landed batch.

One suite per feed, built from `data_contracts/<feed>.yml` (never written by hand):

- every contract column exists (`expect_column_to_exist`);
- `nullable: false` columns are never empty (`expect_column_values_to_not_be_null`);
- each contract expectation: `min`/`max` → `expect_column_values_to_be_between`,
  `accepted_values` → `expect_column_values_to_be_in_set`, `regex` →
  `expect_column_values_to_match_regex`, `not_null` → `expect_column_values_to_not_be_null`;
  `mostly` is passed through.

Each landed file (`lake/raw/<feed>/<sha16>.parquet`, immutable) is read with pyarrow (contract columns
only; decimals as float64), converted to pandas and validated with GE 1.x directly (ephemeral context,
pandas datasource, no data docs, no analytics). GE 1.24 cannot validate DuckDB over SQLAlchemy and
dagster-ge needs GE < 1.0, hence this shape. The result of a file is cached in
`lake/expectations/<feed>/<sha16>.json` with the suite's fingerprint: a file is validated once, and
again only when the contract's suite changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from connectors.contracts import Contract  # noqa: E402
from connectors.lake import Home, ledger_records  # noqa: E402
from orchestration.pipeline.gates.outcome import CheckOutcome, connect, ident, outcome  # noqa: E402

SAMPLE_VALUES = 5
MAX_FAILURES_LISTED = 20
MAX_ROWS_KEPT = 10_000  # failing row numbers cached per expectation (beyond: judged per file)
RULE_KEYS = {"column", "min", "max", "accepted_values", "regex", "not_null", "mostly"}


class _Ge:
    """GE imported and its ephemeral context built once per process (the import alone takes seconds;
    a context and suite take milliseconds), with one validation definition per (feed, suite)."""

    def __init__(self) -> None:
        started = time.perf_counter()
        import logging

        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        self.datasource = self.context.data_sources.add_pandas("cwh_lake")
        self.definitions: dict[str, object] = {}
        self.setup_seconds = time.perf_counter() - started

    def definition(self, contract: Contract, fingerprint: str):
        name = f"{contract.feed}__{fingerprint}"
        if name not in self.definitions:
            gx = self.gx
            asset = self.datasource.add_dataframe_asset(name)
            batch = asset.add_batch_definition_whole_dataframe(name)
            suite = gx.ExpectationSuite(name=name)
            for spec in suite_specs(contract):
                suite.add_expectation(getattr(gx.expectations, spec["class"])(**spec["kwargs"]))
            suite = self.context.suites.add(suite)
            self.definitions[name] = self.context.validation_definitions.add(
                gx.ValidationDefinition(data=batch, suite=suite, name=name))
        return self.definitions[name]


_GE: _Ge | None = None
_LOCK = threading.Lock()


def _ge() -> _Ge:
    global _GE
    if _GE is None:
        _GE = _Ge()
    return _GE


# ---- the suite, from the contract ----------------------------------------------------------------

def suite_specs(contract: Contract) -> list[dict]:
    """The suite of a feed as plain data: [{class, kwargs}] (GE class names, GE keyword arguments)."""
    specs = [{"class": "ExpectColumnToExist", "kwargs": {"column": c.name}} for c in contract.columns]
    specs += [{"class": "ExpectColumnValuesToNotBeNull", "kwargs": {"column": c.name}}
              for c in contract.columns if not c.nullable]
    for rule in contract.expectations:
        unknown = set(rule) - RULE_KEYS
        if unknown:
            raise ValueError(f"{contract.feed}: expectation on {rule.get('column')!r} "
                             f"has unknown keys {sorted(unknown)}")
        column = rule["column"]
        extra = {"mostly": float(rule["mostly"])} if "mostly" in rule else {}
        if "min" in rule or "max" in rule:
            specs.append({"class": "ExpectColumnValuesToBeBetween",
                          "kwargs": {"column": column, "min_value": rule.get("min"), "max_value": rule.get("max"),
                                     **extra}})
        if "accepted_values" in rule:
            specs.append({"class": "ExpectColumnValuesToBeInSet",
                          "kwargs": {"column": column, "value_set": list(rule["accepted_values"]), **extra}})
        if "regex" in rule:
            specs.append({"class": "ExpectColumnValuesToMatchRegex",
                          "kwargs": {"column": column, "regex": rule["regex"], **extra}})
        if rule.get("not_null"):
            specs.append({"class": "ExpectColumnValuesToNotBeNull", "kwargs": {"column": column, **extra}})
    return specs


def suite_fingerprint(contract: Contract) -> str:
    payload = json.dumps({"feed": contract.feed, "specs": suite_specs(contract),
                          "types": {c.name: c.type for c in contract.columns}}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


# ---- one landed file -----------------------------------------------------------------------------

def _frame(path: Path, contract: Contract):
    """The file's contract columns as pandas (decimals as float64: bounds are compared as numbers)."""
    present = set(pq.read_schema(path).names)
    columns = [c for c in contract.column_names if c in present]
    table = pq.read_table(path, columns=columns)
    for i, f in enumerate(table.schema):
        if pa.types.is_decimal(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.float64()))
    return table.to_pandas(), table.num_rows


def _jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def validate_file(contract: Contract, path: Path) -> dict:
    """Validate one lake file; returns the cacheable result."""
    with _LOCK:
        ge = _ge()
        definition = ge.definition(contract, suite_fingerprint(contract))
        frame, rows = _frame(path, contract)
        started = time.perf_counter()
        # a passing file (the norm) needs only the verdict, ~40% cheaper; a failing one is validated
        # again for the details (values, row numbers) the outcome and the cache keep
        result = definition.run(batch_parameters={"dataframe": frame}, result_format={"result_format": "BOOLEAN_ONLY"})
        if not result.success:
            result = definition.run(batch_parameters={"dataframe": frame},
                                    result_format={"result_format": "COMPLETE",
                                                   "partial_unexpected_count": SAMPLE_VALUES})
        seconds = time.perf_counter() - started
    failures = []
    for res in result.results:
        if res.success:
            continue
        cfg = res.expectation_config
        kwargs = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id", "column")}
        info = res.result or {}
        exc = (res.exception_info or {})
        message = None
        if isinstance(exc, dict):
            if exc.get("raised_exception"):
                message = exc.get("exception_message")
            else:  # GE nests exception info per metric
                for value in exc.values():
                    if isinstance(value, dict) and value.get("raised_exception"):
                        message = value.get("exception_message")
                        break
        failures.append({
            "expectation": cfg.type, "column": cfg.kwargs.get("column"),
            "kwargs": {k: [_jsonable(x) for x in v] if isinstance(v, list) else _jsonable(v)
                       for k, v in kwargs.items()},
            "unexpected_count": info.get("unexpected_count"), "element_count": info.get("element_count"),
            "unexpected_percent": (round(info["unexpected_percent"], 3)
                                   if info.get("unexpected_percent") is not None else None),
            "sample": [_jsonable(v) for v in (info.get("partial_unexpected_list") or [])][:SAMPLE_VALUES],
            # row numbers in the file (the frame keeps the Parquet row order): to tell later whether a
            # newer file replaced the failing rows
            "rows": [int(i) for i in (info.get("unexpected_index_list") or [])[:MAX_ROWS_KEPT]],
            "rows_complete": bool(info.get("unexpected_index_list") is not None
                                  and len(info["unexpected_index_list"]) <= MAX_ROWS_KEPT),
            "error": message or (f"column {cfg.kwargs.get('column')!r} is not in the file"
                                 if cfg.type == "expect_column_to_exist" else None),
        })
    failures.sort(key=lambda f: (f["column"] or "", f["expectation"]))
    stats = result.statistics or {}
    return {"rows": rows, "success": bool(result.success), "evaluated": stats.get("evaluated_expectations"),
            "failed": stats.get("unsuccessful_expectations"), "failures": failures,
            "seconds": round(seconds, 4)}


def _cache_path(home: Home, feed: str, file_id: str) -> Path:
    return home.root / "lake" / "expectations" / feed / f"{file_id}.json"


def _stamp(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def file_result(home: Home, contract: Contract, path: Path, fingerprint: str | None = None) -> tuple[dict, bool]:
    """(result, from_cache) for one lake file; a file is validated once per suite fingerprint."""
    fingerprint = fingerprint or suite_fingerprint(contract)
    cache = _cache_path(home, contract.feed, path.stem)
    stamp = _stamp(path)
    if cache.exists():
        try:
            cached = json.loads(cache.read_text())
            if cached.get("suite_fingerprint") == fingerprint and cached.get("parquet") == stamp:
                return cached, True
        except (OSError, ValueError):
            pass
    result = validate_file(contract, path)
    record = {"feed": contract.feed, "file_id": path.stem, "suite_fingerprint": fingerprint, "parquet": stamp,
              "validated_at": datetime.now(UTC).isoformat(), **result}
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, default=str))
    os.replace(tmp, cache)
    return record, False


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def superseded(contract: Contract, path: Path, failure: dict, newer: list[Path]) -> bool:
    """Every failing row of `path` has a newer version (same primary key in a file landed later). The
    warehouse reads only the newest version of a row (dbt staging `latest_rows`), so such a failure
    no longer reaches a number: a corrected re-export clears it. Without the failing row numbers
    (too many, or a column-level expectation) every row of the file must have a newer version."""
    if not newer:
        return False
    key = ", ".join(ident(c) for c in contract.primary_key)
    rows = failure.get("rows") if failure.get("rows_complete") else None
    where, params = ("WHERE file_row_number IN (SELECT unnest(?::BIGINT[]))", [rows]) if rows else ("", [])
    newer_sql = "[" + ", ".join(_quote(p) for p in newer) + "]"
    with connect() as con:
        left = con.execute(
            f"SELECT count(*) FROM (SELECT {key} FROM read_parquet({_quote(path)}, file_row_number = true) {where}) "
            f"AS f ANTI JOIN (SELECT DISTINCT {key} FROM read_parquet({newer_sql}, union_by_name = true)) AS n "
            f"USING ({key})",
            params).fetchone()[0]
    return left == 0


def run_expectations(home: Home, contract: Contract) -> CheckOutcome:
    """Validate every landed file of the feed against the contract's suite; fail when any expectation
    fails on rows the warehouse still reads (blocking). Failing rows that a later landed file replaced
    (same primary key) are reported as superseded, not failed."""
    folder = home.raw(contract.feed)
    paths = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("_")) if folder.is_dir() else []
    records = {r.get("file_id"): r for r in ledger_records(home, contract.feed)}
    names = {fid: r.get("file") for fid, r in records.items()}
    loaded = {fid: r.get("loaded_at") or "" for fid, r in records.items()}
    superseded_failures: list[dict] = []
    fingerprint = suite_fingerprint(contract)
    specs = suite_specs(contract)
    checked = cached = rows = 0
    seconds: list[float] = []
    failures: list[dict] = []
    failing_files: list[str] = []
    for path in paths:
        record, hit = file_result(home, contract, path, fingerprint)
        checked += 1
        cached += hit
        rows += record.get("rows") or 0
        if not hit:
            seconds.append(record["seconds"])
        if not record["success"]:
            name = names.get(path.stem, path.name)
            mine = loaded.get(path.stem, "")
            newer = [p for p in paths if p != path and loaded.get(p.stem, "") > mine] if mine else []
            live = []
            for failure in record["failures"]:
                entry = {"file": name, **{k: v for k, v in failure.items() if k != "rows"}}
                (superseded_failures if superseded(contract, path, failure, newer) else live).append(entry)
            if live:
                failing_files.append(name)
                failures.extend(live)
    meta = dict(suite=f"{contract.feed}__{fingerprint}", expectations=len(specs), files=checked,
                files_from_cache=cached, rows=rows, files_failing=failing_files,
                superseded_failures=superseded_failures[:MAX_FAILURES_LISTED],
                failures=failures[:MAX_FAILURES_LISTED], failures_total=len(failures),
                validation_seconds_per_file=round(sum(seconds) / len(seconds), 4) if seconds else None,
                ge_setup_seconds=round(_GE.setup_seconds, 3) if _GE is not None else None)
    if not paths:
        return outcome(contract, "expectations", "ok", f"{contract.feed}: no landed file to validate.", **meta)
    if not failures:
        note = (f" ({len(superseded_failures)} failure(s) in rows a later file replaced)"
                if superseded_failures else "")
        return outcome(contract, "expectations", "ok",
                       f"{contract.feed}: {checked} landed file(s), {rows} rows, pass all {len(specs)} expectations "
                       f"of the contract suite{note}.", **meta)
    more = f"; +{len(failures) - 3} more" if len(failures) > 3 else ""
    listed = "; ".join(_describe(f) for f in failures[:3]) + more
    detail = (f"{contract.feed}: {len(failures)} failed expectation(s) in {len(failing_files)} of {checked} "
              f"file(s): {listed}.")
    action = (f"Fix the values at the source and re-export {', '.join(failing_files[:3])} (then land it: cwh ingest "
              f"{contract.feed} FILE), or, if the values are legitimate, correct the expectation in "
              f"data_contracts/{contract.feed}.yml with {contract.owner['team']}.")
    return outcome(contract, "expectations", "fail", detail, action, **meta)


def _describe(failure: dict) -> str:
    what = failure["expectation"].removeprefix("expect_column_values_to_").removeprefix("expect_")
    args = ", ".join(f"{k}={v}" for k, v in failure["kwargs"].items() if v is not None)
    count = (f"{failure['unexpected_count']} of {failure['element_count']} rows"
             if failure["unexpected_count"] is not None else failure.get("error") or "failed")
    sample = f", e.g. {failure['sample'][:3]}" if failure["sample"] else ""
    return f"{failure['file']} {failure['column']} {what}({args}): {count}{sample}"
