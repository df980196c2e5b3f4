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
from collections.abc import Iterable
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
GROUP_ROWS = 250_000  # rows of landed files validated in one suite run (bounds the frame's memory)


class _Ge:
    """GE imported and its ephemeral context built once per process (the import alone takes seconds;
    a context and suite take milliseconds), with one batch definition and suite per (feed, suite)."""

    def __init__(self) -> None:
        started = time.perf_counter()
        import logging

        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        # GE fingerprints every batch under HASH_THRESHOLD bytes by hashing all its rows, twice per
        # validation, for a batch marker nothing reads (results are not stored): ~half of a feed's
        # validation time at 1M lines. 0 turns the fingerprint off; the expectations are untouched.
        pandas_execution_engine.HASH_THRESHOLD = 0
        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        self.datasource = self.context.data_sources.add_pandas("cwh_lake")
        self.suites: dict[str, tuple] = {}
        self.setup_seconds = time.perf_counter() - started

    def suite(self, contract: Contract, fingerprint: str):
        """(batch definition, suite) of the feed's contract suite."""
        name = f"{contract.feed}__{fingerprint}"
        if name not in self.suites:
            gx = self.gx
            batch = self.datasource.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
            suite = gx.ExpectationSuite(name=name)
            for spec in suite_specs(contract):
                suite.add_expectation(getattr(gx.expectations, spec["class"])(**spec["kwargs"]))
            self.suites[name] = batch, self.context.suites.add(suite)
        return self.suites[name]

    def validate(self, contract: Contract, frame, result_format: dict):
        """One run of the feed's suite over `frame`. `Batch.validate`, not a ValidationDefinition's
        run: the same validator without storing each result in the context (a third of a run's cost)."""
        batch, suite = self.suite(contract, suite_fingerprint(contract))
        try:
            return batch.get_batch(batch_parameters={"dataframe": frame}).validate(suite, result_format=result_format)
        finally:
            self.forget_batches()

    def forget_batches(self) -> None:
        """Drop the frames GE's execution engine keeps after a validation (the last batch of each
        feed, up to GROUP_ROWS rows each): held for the rest of the night under dbt's buffer pool, they
        were ~0.2 GB of a night's memory at 1M lines and ~0.6 GB at 10M (README "Performance")."""
        manager = self.datasource.get_execution_engine().batch_manager
        manager.reset_batch_cache()
        manager.batch_data_cache.clear()


_GE: _Ge | None = None
_LOCK = threading.Lock()
_STARTING = threading.Lock()  # one import of GE, whichever thread asks first


def _ge() -> _Ge:
    global _GE
    with _STARTING:
        if _GE is None:
            _GE = _Ge()
    return _GE


def load_suite_engine(contracts: Iterable[Contract] = ()) -> None:
    """Import GE and build its context now (~5 s), and the suites of `contracts` (~20 ms each): the
    night does it while worker processes land, the helper process while it waits for its files."""
    ge = _ge()
    with _LOCK:
        for contract in contracts:
            ge.suite(contract, suite_fingerprint(contract))


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


# ---- landed files --------------------------------------------------------------------------------

def _columns(path: Path, contract: Contract) -> tuple[str, ...]:
    """The contract's columns the file holds (from its footer: no row is read)."""
    present = set(pq.read_schema(path).names)
    return tuple(c for c in contract.column_names if c in present)


def _table(path: Path, columns: tuple[str, ...]) -> pa.Table:
    """The file's contract columns, decimals as float64 (bounds are compared as numbers)."""
    table = pq.read_table(path, columns=list(columns))
    for i, f in enumerate(table.schema):
        if pa.types.is_decimal(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.float64()))
    return table


def _frame(table: pa.Table):
    """pandas' own dtypes: strings are pandas 3's `str` (Arrow storage, no Python objects), numbers
    numpy. Not `types_mapper=pd.ArrowDtype`: GE 1.24 accepts it, but its pandas metrics then run
    ~15× slower (measured: 82k Shopify rows, 48 expectations, 4.5 s CPU against 0.3 s)."""
    return table.to_pandas()


def _jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def validate_file(contract: Contract, path: Path) -> dict:
    """Validate one lake file on its own; returns the cacheable result."""
    table = _table(path, _columns(path, contract))
    with _LOCK:
        ge = _ge()
        frame = _frame(table)
        started = time.perf_counter()
        # a passing file (the norm) needs only the verdict, ~40% cheaper; a failing one is validated
        # again for the details (values, row numbers) the outcome and the cache keep
        result = ge.validate(contract, frame, {"result_format": "BOOLEAN_ONLY"})
        if not result.success:
            result = ge.validate(contract, frame, {"result_format": "COMPLETE",
                                                   "partial_unexpected_count": SAMPLE_VALUES})
        seconds = time.perf_counter() - started
    failures = [_failure(res) for res in result.results if not res.success]
    failures.sort(key=lambda f: (f["column"] or "", f["expectation"]))
    stats = result.statistics or {}
    return {"rows": table.num_rows, "success": bool(result.success), "evaluated": stats.get("evaluated_expectations"),
            "failed": stats.get("unsuccessful_expectations"), "failures": failures,
            "seconds": round(seconds, 4)}


def _failure(res) -> dict:
    """One failed expectation of a file's result, as the cache and the outcome keep it."""
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
    return {
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
    }


def _groups(contract: Contract, paths: list[Path]) -> list[tuple[tuple[str, ...], list[Path]]]:
    """Files with the same contract columns, in runs of at most GROUP_ROWS rows (from the footers)."""
    by_columns: dict[tuple[str, ...], list[Path]] = {}
    for path in paths:
        by_columns.setdefault(_columns(path, contract), []).append(path)
    groups = []
    for columns, members in by_columns.items():
        run, rows = [], 0
        for path in members:
            n = pq.read_metadata(path).num_rows
            if run and rows + n > GROUP_ROWS:
                groups.append((columns, run))
                run, rows = [], 0
            run.append(path)
            rows += n
        groups.append((columns, run))
    return groups


def _clean(result, with_mostly: bool) -> bool:
    """The run passed with no unexpected value at all. Every expectation of a contract suite judges
    rows one by one (or a column's presence, the same in every file of a group), so then each file of
    the run passes on its own; with `mostly`, a pass alone does not say so (a share over all files),
    zero unexpected values does."""
    if not result.success:
        return False
    return not with_mostly or all((r.result or {}).get("unexpected_count") == 0 for r in result.results
                                  if "mostly" in r.expectation_config.kwargs)


def validate_files(contract: Contract, paths: list[Path]) -> dict[Path, dict]:
    """Validate files of one feed: the files with the same columns in one suite run (a run's cost is
    mostly GE's per-expectation overhead, not rows); when that run finds anything, each file of it is
    validated on its own for its verdict and details (`validate_file`)."""
    with_mostly = any("mostly" in spec["kwargs"] for spec in suite_specs(contract))
    results: dict[Path, dict] = {}
    for columns, group in _groups(contract, paths):
        if len(group) == 1:
            results[group[0]] = validate_file(contract, group[0])
            continue
        tables = [_table(p, columns) for p in group]
        with _LOCK:
            frame = _frame(pa.concat_tables(tables))
            started = time.perf_counter()
            result = _ge().validate(contract, frame, {"result_format": "BASIC" if with_mostly else "BOOLEAN_ONLY"})
            seconds = time.perf_counter() - started
        del frame
        if not _clean(result, with_mostly):
            results.update((p, validate_file(contract, p)) for p in group)
            continue
        stats = result.statistics or {}
        for path, table in zip(group, tables, strict=True):
            results[path] = {"rows": table.num_rows, "success": True, "evaluated": stats.get("evaluated_expectations"),
                             "failed": 0, "failures": [], "seconds": round(seconds / len(group), 4),
                             "validated_with_files": len(group)}
    if paths:  # the frames' Arrow memory is free now; mimalloc keeps it for reuse unless told
        pa.default_memory_pool().release_unused()
    return results


def _cache_path(home: Home, feed: str, file_id: str) -> Path:
    return home.root / "lake" / "expectations" / feed / f"{file_id}.json"


def _stamp(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _cached(home: Home, contract: Contract, path: Path, fingerprint: str) -> dict | None:
    cache = _cache_path(home, contract.feed, path.stem)
    try:
        cached = json.loads(cache.read_text())
    except (OSError, ValueError):
        return None
    fits = cached.get("suite_fingerprint") == fingerprint and cached.get("parquet") == _stamp(path)
    return cached if fits else None


def _store(home: Home, contract: Contract, path: Path, fingerprint: str, result: dict) -> dict:
    record = {"feed": contract.feed, "file_id": path.stem, "suite_fingerprint": fingerprint, "parquet": _stamp(path),
              "validated_at": datetime.now(UTC).isoformat(), **result}
    cache = _cache_path(home, contract.feed, path.stem)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, default=str))
    os.replace(tmp, cache)
    return record


def file_results(home: Home, contract: Contract, paths: list[Path],
                 fingerprint: str | None = None) -> dict[Path, tuple[dict, bool]]:
    """{path: (result, from_cache)}: a file is validated once per suite fingerprint (and again when
    the suite changes); the files without a result are validated together (`validate_files`)."""
    fingerprint = fingerprint or suite_fingerprint(contract)
    found = {path: _cached(home, contract, path, fingerprint) for path in paths}
    fresh = validate_files(contract, [p for p, cached in found.items() if cached is None])
    return {path: (cached, True) if cached is not None
            else (_store(home, contract, path, fingerprint, fresh[path]), False)
            for path, cached in found.items()}


def file_result(home: Home, contract: Contract, path: Path, fingerprint: str | None = None) -> tuple[dict, bool]:
    """(result, from_cache) for one lake file."""
    return file_results(home, contract, [path], fingerprint)[path]


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


def lake_files(home: Home, feed: str) -> list[Path]:
    """The feed's landed files in the lake (what the suite validates)."""
    folder = home.raw(feed)
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("_")) if folder.is_dir() else []


def run_expectations(home: Home, contract: Contract) -> CheckOutcome:
    """Validate every landed file of the feed against the contract's suite; fail when any expectation
    fails on rows the warehouse still reads (blocking). Failing rows that a later landed file replaced
    (same primary key) are reported as superseded, not failed."""
    paths = lake_files(home, contract.feed)
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
    for path, (record, hit) in file_results(home, contract, paths, fingerprint).items():
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
