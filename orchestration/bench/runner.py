"""`cwh bench` / `make bench`: the nightly run at scale, against the least any tool could do.

For a size N (order lines, about two years of every feed):

1. the demo generator writes 670 days of history plus one more day (`NEW_DAY`, the first of a new
   month, so its vendor files are new files), cached under $CWH_HOME/bench/<N>/source/;
2. a fresh project home gets the history's landing files (hard links) and runs the normal nightly
   entry point (`nightly_run`, as `cwh run --date` does) in a child process, timed by stage
   (ingest, checks, dbt build, forecast when the night has one, publish) with each stage's own
   peak RSS, and each feed's landing rows/s;
3. the lower bound (one hand-written DuckDB query on the raw vendor files) and the usual
   alternative (pandas on the same files) compute the monthly channel P&L, each in its own child
   process; the three results are compared line by line (largest difference in cents);
4. the new day's files are dropped into landing/ and the nightly run of the next date is timed
   again (the incremental run);
5. fixed overheads are measured on their own: interpreter start, imports, dbt parse, the Dagster
   code location load.

Figures go to the terminal (rich) and to $CWH_HOME/bench/bench-<N>.json; `compare()` reads those
files back for issue 17's table across sizes (goals.py: every figure, its goal and verdict), saved
as bench-summary.json. Peak memory per stage is the process's high-water mark
(VmHWM) reset before the stage (/proc/self/clear_refs), so the stages of one process are told apart.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from orchestration.bench import goals

# about two years, bounded by two facts: the demo catalogue's costs are effective from 2025-01-01
# (COGS_INITIAL_FROM: no sale may come before it), and the freshness gates judge the load time (the
# wall clock) against the logical date, so the history cannot end in the future: 2025-01-01 ..
# 2026-10-31 (22 months), the dates `make demo` uses
HISTORY_END = date(2026, 10, 31)  # last day of the generated history
NEW_DAY = HISTORY_END + timedelta(days=1)  # the incremental run's new day: a new month, new files
HISTORY_DAYS = (HISTORY_END - date(2025, 1, 1)).days + 1
FULL_RUN_DATE = NEW_DAY  # the nightly run of NEW_DAY covers the history through HISTORY_END
INCREMENTAL_RUN_DATE = NEW_DAY + timedelta(days=1)
SEED = 7
# order lines (Shopify lines + Amazon items + wholesale lines) per order-per-day per day, measured
# on the generator's channel mix; the real count is read from the built fct_order_lines
LINES_PER_ORDER_DAY = 1.93
PNL_LINES = ("gross_sales", "discounts", "returns", "net_sales", "shipping_income", "net_revenue",
             "cogs", "cm1", "fulfillment_costs", "payment_fees", "marketplace_fees", "reimbursements", "cm2",
             "marketing_spend", "cm3", "operating_costs", "contribution_after_opex")


# ---- memory -------------------------------------------------------------------------------------
def reset_peak() -> bool:
    """Reset this process's RSS high-water mark (Linux ≥ 4.0); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_mb() -> float:
    """This process's peak RSS since the last reset (the landing workers report theirs alike)."""
    from connectors.landing_pool import peak_rss_mb  # here: the timed children import what they time

    return peak_rss_mb()


class StageTimer:
    """`with timer("ingest"): ...` records wall seconds and the stage's own peak RSS; a stage entered
    twice (the forecast phase runs Python, then its dbt models) adds its seconds, keeps its highest peak."""

    def __init__(self) -> None:
        self.stages: dict[str, dict] = {}
        self._helpers_mb: dict[str, float] = {}

    def add_helpers_peak(self, name: str, mb: float) -> None:
        """Peak memory of the stage's helper processes (the landing pool), summed: added to the stage's
        own peak, which only this process's high-water mark would show."""
        self._helpers_mb[name] = self._helpers_mb.get(name, 0.0) + mb

    @contextlib.contextmanager
    def __call__(self, name: str):
        resettable = reset_peak()
        started = time.perf_counter()
        try:
            yield
        finally:
            helpers = self._helpers_mb.pop(name, 0.0)
            seconds, peak = time.perf_counter() - started, peak_mb() + helpers
            entry = self.stages.setdefault(name, {"seconds": 0.0, "peak_rss_mb": 0.0, "peak_is_stage_own": resettable})
            if helpers:
                entry["helpers_peak_rss_mb"] = round(max(entry.get("helpers_peak_rss_mb", 0.0), helpers), 1)
            entry["seconds"] = round(entry["seconds"] + seconds, 3)
            entry["peak_rss_mb"] = max(entry["peak_rss_mb"], peak)


# ---- the data set -------------------------------------------------------------------------------
def generator_fingerprint() -> str:
    """A hash of the generator's source: a cached data set is reused only with the same code."""
    folder = Path(__file__).resolve().parents[1] / "demo"
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def dataset_args(lines: int, history_days: int = HISTORY_DAYS) -> dict:
    orders_per_day = max(1, round(lines / (history_days * LINES_PER_ORDER_DAY)))
    return {"days": history_days + 1, "orders_per_day": orders_per_day, "seed": SEED,
            "end": NEW_DAY.isoformat(), "messy": False, "truth": False, "generator": generator_fingerprint()}


def ensure_dataset(folder: Path, lines: int, progress: Callable[[str], None] = print,
                   history_days: int = HISTORY_DAYS, reuse: bool = False) -> dict:
    """The generated vendor files for `lines`, under folder/source/ (landing/, config/; no truth:
    the bench compares the pipeline with the files themselves), generated once per arguments.
    `reuse`: keep a cached data set of the same size and dates even when another version of the
    generator wrote it. Returns the arguments, with the generation time."""

    from orchestration.demo import generate

    args = dataset_args(lines, history_days)
    source, stamp = folder / "source", folder / "dataset.json"
    if stamp.exists() and (source / "landing").is_dir():
        cached = json.loads(stamp.read_text())
        same_data = {k: v for k, v in cached.get("args", {}).items() if k != "generator"} == \
            {k: v for k, v in args.items() if k != "generator"}
        if cached.get("args") == args or (reuse and same_data):
            if cached["args"]["generator"] != args["generator"]:
                progress(f"reusing {source}: written by another version of the demo generator")
            return {**cached, "cached": True, "generator_matches": cached["args"]["generator"] == args["generator"]}
    shutil.rmtree(source, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    progress(f"generating {lines:,} order lines ({args['days']} days × {args['orders_per_day']} orders/day)…")
    started = time.perf_counter()
    summary = generate(source, days=args["days"], orders_per_day=args["orders_per_day"], seed=args["seed"],
                       end=date.fromisoformat(args["end"]), messy=False, truth=False)
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in (source / "landing").rglob("*") if p.is_file())
    info = {"args": args, "generate_seconds": round(seconds, 1), "landing_mb": round(size / 1e6, 1),
            "rows": {k: v["rows"] for k, v in summary.items() if isinstance(v, dict)}}
    stamp.write_text(json.dumps(info, indent=2))
    return {**info, "cached": False, "generator_matches": True}


def is_new_day_file(path: Path) -> bool:
    """The files of the new day's month (monthly vendor exports named by month)."""
    return f"{NEW_DAY:%Y-%m}" in path.name


def prepare_home(source: Path, home: Path) -> None:
    """A fresh project home holding the history's vendor files (hard links: nothing is copied)."""
    shutil.rmtree(home, ignore_errors=True)
    for path in sorted((source / "landing").rglob("*")):
        if path.is_file() and not is_new_day_file(path):
            target = home / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            _link(path, target)
    shutil.copytree(source / "config", home / "config")


def add_new_day(source: Path, home: Path) -> list[str]:
    added = []
    for path in sorted((source / "landing").rglob("*")):
        if path.is_file() and is_new_day_file(path):
            target = home / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            _link(path, target)
            added.append(str(path.relative_to(source / "landing")))
    return added


def _link(path: Path, target: Path) -> None:
    try:
        os.link(path, target)
    except OSError:
        shutil.copyfile(path, target)


def landing_by_feed(loaded: list) -> dict:
    """Files, rows and landing seconds per feed (the ingest stage, told apart by feed)."""
    feeds: dict[str, dict] = {}
    for result in loaded:
        feed = feeds.setdefault(result.feed, {"files": 0, "rows": 0, "seconds": 0.0})
        feed["files"] += 1
        feed["rows"] += result.rows_loaded
        feed["seconds"] = round(feed["seconds"] + result.seconds, 3)
    for feed in feeds.values():
        feed["rows_per_second"] = round(feed["rows"] / feed["seconds"]) if feed["seconds"] > 0 else None
    return feeds


# ---- child processes ----------------------------------------------------------------------------
def _child_env(home: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "CWH_ALERT_WEBHOOK"}
    if home is not None:
        env["CWH_HOME"] = str(home)
    return env


def run_child(kind: str, *args: str, home: Path | None = None) -> dict:
    """Run `_child(kind, *args)` in a fresh interpreter; its JSON answer plus the wall seconds seen
    from here (process start, imports and exit included)."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "orchestration.bench.runner", "_child", kind, *args],
                          capture_output=True, text=True, env=_child_env(home))
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        why = ("killed: most likely out of memory" if proc.returncode == -9
               else "out of memory" if "MemoryError" in proc.stderr else f"exit {proc.returncode}")
        # its last words on the same line: the one line the bench records and prints says what happened
        # (a MemoryError, "No space left on device" when DuckDB's spill filled the disk…), not only the status
        last = next((line.strip() for line in reversed(proc.stderr.splitlines()) if line.strip()), "no message")
        raise RuntimeError(f"bench child {kind} failed ({why}): {last[:300]}\n{proc.stderr[-4000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = round(wall, 3)
    return result


PANDAS_MEMORY_SHARE = 0.7  # of this machine's RAM: at 10M lines the notebook needs more than 24 GB


def cap_address_space(share: float) -> int:
    """Caps this process's memory at `share` of the machine's RAM: past it allocations raise
    MemoryError in this process, instead of the kernel killing whichever process is largest."""
    limit = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * share)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return limit


def _child(kind: str, *args: str) -> dict:
    """The measured work, inside the child process (imports included in what it reports)."""
    started = time.perf_counter()
    if kind == "nightly":  # args: home, logical date
        from orchestration.batch_gc import CollectorTime
        from orchestration.pipeline.gates.suite_worker import prestart

        prestart()  # as `cwh run` does
        from connectors.home import Home
        from orchestration.launch import nightly_run

        imported = time.perf_counter()
        timer = StageTimer()
        with CollectorTime() as collector:
            report = nightly_run(Home(Path(args[0])), date.fromisoformat(args[1]), stage=timer)
        loaded = [r for r in report.landed if r.status == "loaded"]
        return {"imports_seconds": round(imported - started, 3), "stages": timer.stages,
                "gc_seconds": round(collector.seconds, 3), "gc_collections": collector.collections,
                "landing_by_feed": landing_by_feed(loaded),
                "in_process_seconds": round(time.perf_counter() - started, 3),
                "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "files_landed": len(loaded), "rows_landed": sum(r.rows_loaded for r in loaded),
                "published": report.published, "held_reason": report.held_reason,
                "blocking_failures": [f"{c.feed}/{c.check}: {c.detail}"[:300] for c in report.blocking_failures][:20],
                "warnings": sum(c.status == "warn" for c in report.checks)}
    if kind in ("lower_bound", "pandas"):  # args: landing folder, output parquet, [explain file]
        from orchestration.bench import pnl as bench_pnl

        if kind == "pandas":  # no buffer pool to cap: fail alone instead of calling the OOM killer
            cap_address_space(PANDAS_MEMORY_SHARE)

        imported = time.perf_counter()
        reset_peak()
        if kind == "lower_bound":
            frame = bench_pnl.duckdb_pnl(Path(args[0]))
        else:
            frame = bench_pnl.pandas_pnl(Path(args[0]))
        seconds = time.perf_counter() - imported
        peak = peak_mb()
        frame.to_parquet(args[1], index=False)
        if len(args) > 2:  # after the measurement, so the profile never counts in it
            bench_pnl.explain_analyze(Path(args[0]), Path(args[2]))
        return {"imports_seconds": round(imported - started, 3), "seconds": round(seconds, 3),
                "peak_rss_mb": peak, "rows": len(frame)}
    if kind == "python":  # the interpreter alone
        return {}
    if kind == "imports":  # what the nightly run imports before doing anything
        import dbt.adapters.duckdb  # noqa: F401
        import dbt.cli.main  # noqa: F401

        import orchestration.pipeline.gates.expectations  # noqa: F401
        import orchestration.pipeline.run  # noqa: F401
        return {"seconds": round(time.perf_counter() - started, 3)}
    if kind == "dbt_parse":  # args: home, "full" | "partial"
        from connectors.home import Home
        from orchestration.pipeline.dbt import run_dbt, snapshot_args

        home = Home(Path(args[0]))
        imported = time.perf_counter()
        # the night's own --vars: other vars would make the next night's dbt re-parse the whole
        # project (dbt keeps one partial-parse state), a cost no night that follows a night pays
        result = run_dbt(home, "parse", *snapshot_args(), *(["--no-partial-parse"] if args[1] == "full" else []))
        return {"seconds": round(time.perf_counter() - imported, 3), "success": bool(result.success)}
    if kind == "code_location":  # Dagster: import the definitions and resolve the repository
        import orchestration.definitions as definitions

        definitions.defs.get_repository_def()
        return {"seconds": round(time.perf_counter() - started, 3)}
    raise ValueError(f"unknown bench child {kind!r}")


# ---- the run ------------------------------------------------------------------------------------
def _nightly_figures(result: dict) -> dict:
    stages = result["stages"]
    ingest = stages.get("ingest")
    if ingest and ingest["seconds"] > 0:  # what `make bench-ingest` used to report
        ingest["rows_per_second"] = round(result["rows_landed"] / ingest["seconds"])
    return {
        "wall_seconds": result["wall_seconds"],
        "stage_seconds_total": round(sum(s["seconds"] for s in stages.values()), 3),
        "process_overhead_seconds": round(result["wall_seconds"] - sum(s["seconds"] for s in stages.values()), 3),
        "imports_seconds": result["imports_seconds"],
        "gc_seconds": result.get("gc_seconds"), "gc_collections": result.get("gc_collections"),
        "peak_rss_mb": max([result["process_peak_rss_mb"], *(s["peak_rss_mb"] for s in stages.values())]),
        "stages": stages,
        "landing_by_feed": result.get("landing_by_feed", {}),
        **{k: result[k] for k in ("files_landed", "rows_landed", "published", "held_reason",
                                  "blocking_failures", "warnings")},
    }


def pipeline_pnl(home: Path):
    """The published channel_pnl_monthly (the build database when the publish was held)."""
    import duckdb

    from connectors.home import Home, build_database, published_database

    database = published_database(Home(home))
    if not database.exists():
        database = build_database(Home(home))
    if not database.exists():
        return None, None
    with duckdb.connect(str(database), read_only=True) as con:
        try:
            order_lines = con.execute("select count(*) from marts.fct_order_lines").fetchone()[0]
            frame = con.execute(f"select channel, month, {', '.join(map(_settled_only, PNL_LINES))} "
                                "from marts.channel_pnl_monthly").df()
        except duckdb.CatalogException:  # a failed build skips the marts downstream of its failure
            return None, None
    return frame, order_lines


# The lower bounds read the raw files, which hold only settled fees: the mart's accrued fees of unsettled
# Amazon items (docs/metrics.md "Accrued fees") are taken out of its lines before comparing.
ACCRUED = "(accrued_marketplace_fees + accrued_fulfillment_costs)"
SETTLED_ONLY = {"marketplace_fees": "marketplace_fees - accrued_marketplace_fees",
                "fulfillment_costs": "fulfillment_costs - accrued_fulfillment_costs",
                **{line: f"{line} + {ACCRUED}" for line in ("cm2", "cm3", "contribution_after_opex")}}


def _settled_only(line: str) -> str:
    return f"{SETTLED_ONLY[line]} as {line}" if line in SETTLED_ONLY else line


def compare_pnl(frames: dict, through_month: str | None = None) -> dict:
    """Largest difference in cents per P&L line between each result and the pipeline's mart, over
    every channel × month either side has (a missing row counts as zeros), up to `through_month`
    (YYYY-MM): the run builds the days before its date, the raw files may hold a few later events."""
    import pandas as pd

    def norm(frame):
        frame = frame.copy()
        frame["month"] = pd.to_datetime(frame["month"]).dt.strftime("%Y-%m")
        for line in PNL_LINES:
            frame[line] = (frame[line].astype("float64") * 100).round().astype("int64")
        if through_month:
            frame = frame[frame["month"] <= through_month]
        return frame.groupby(["channel", "month"], as_index=True)[list(PNL_LINES)].sum()

    base = norm(frames["pipeline"])
    out = {}
    for name, frame in frames.items():
        if name == "pipeline":
            continue
        other = norm(frame)
        joined = base.add_suffix("_p").join(other.add_suffix("_o"), how="outer").fillna(0)
        diffs = {line: int((joined[f"{line}_p"] - joined[f"{line}_o"]).abs().max()) for line in PNL_LINES}
        rows = int(((joined[[f"{line}_p" for line in PNL_LINES]].to_numpy()
                     != joined[[f"{line}_o" for line in PNL_LINES]].to_numpy()).any(axis=1)).sum())
        out[name] = {"max_diff_cents": max(diffs.values()), "by_line_cents": diffs,
                     "matching_lines": [line for line, d in diffs.items() if d == 0],
                     "rows_compared": len(joined), "rows_differing": rows}
    return out


def _saver(root: Path, lines: int) -> Callable[[dict], None]:
    """Writes root/bench-<lines>.json; called after every step, so a size stopped part way (out of
    time, out of memory) keeps the figures it measured ("finished_at" is set only at the end)."""
    def save(figures: dict) -> None:
        (root / f"bench-{lines}.json").write_text(json.dumps(figures, indent=2, default=str))
    return save


def run(lines: int, root: Path | None = None, *, progress: Callable[[str], None] = print,
        explain: bool = False, history_days: int = HISTORY_DAYS, reuse_data: bool = False) -> dict:
    """One size end to end; writes root/bench-<lines>.json and returns the same figures."""
    import pandas as pd

    from connectors.home import Home

    root = (root or Home.from_env().root / "bench").resolve()
    folder = root / str(lines)
    save = _saver(root, lines)
    dataset = ensure_dataset(folder, lines, progress, history_days, reuse=reuse_data)
    source, home = folder / "source", folder / "home"
    prepare_home(source, home)
    figures: dict = {"lines_requested": lines, "dataset": dataset,
                     "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "load_avg_at_start": os.getloadavg()},
                     "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                     "full_run_date": FULL_RUN_DATE.isoformat(),
                     "incremental_run_date": INCREMENTAL_RUN_DATE.isoformat()}

    progress(f"full nightly run ({FULL_RUN_DATE}) on {dataset['landing_mb']:,} MB of vendor files…")
    figures["full"] = _nightly_figures(run_child("nightly", str(home), FULL_RUN_DATE.isoformat(), home=home))
    mart, order_lines = pipeline_pnl(home)
    figures["order_lines"] = order_lines

    landing = home / "landing"
    results = {"pipeline": mart}
    if mart is None:
        progress("the pipeline built no channel_pnl_monthly: compared against the lower bound instead")
    save(figures)
    for kind in ("lower_bound", "pandas"):
        progress(f"{kind.replace('_', ' ')}: monthly channel P&L from the raw vendor files…")
        out = folder / f"{kind}_pnl.parquet"
        extra = [str(folder / "lower_bound_explain.txt")] if explain and kind == "lower_bound" else []
        figures[kind] = reference_run(kind, landing, out, home)
        if extra and not figures[kind].get("failed"):
            run_child(kind, str(landing), str(out), *extra, home=home)
        if not figures[kind].get("failed"):
            results[kind] = pd.read_parquet(out)
        save(figures)
    figures["agreement"] = _agreement(results, mart is None)

    progress("fixed overheads: interpreter, imports, dbt parse, Dagster code location…")
    python = run_child("python")["wall_seconds"]
    figures["overheads"] = {
        "python_start_seconds": python,
        "imports_seconds": round(run_child("imports")["wall_seconds"] - python, 3),
        "dbt_parse_full_seconds": run_child("dbt_parse", str(home), "full", home=home)["seconds"],
        "dbt_parse_partial_seconds": run_child("dbt_parse", str(home), "partial", home=home)["seconds"],
        "code_location_load_seconds": round(run_child("code_location", home=home)["wall_seconds"] - python, 3),
    }

    save(figures)
    figures["new_day_files"] = add_new_day(source, home)
    progress(f"incremental nightly run ({INCREMENTAL_RUN_DATE}): {len(figures['new_day_files'])} new files…")
    figures["incremental"] = _nightly_figures(
        run_child("nightly", str(home), INCREMENTAL_RUN_DATE.isoformat(), home=home))
    figures["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    figures["goals"] = goals.summary([figures])  # this size alone; `compare` judges the sizes together
    save(figures)
    return figures


def reference_run(kind: str, landing: Path, out: Path, home: Path) -> dict:
    """One reference P&L (lower bound or pandas) in its child; a child that fails — at 10M lines the
    pandas notebook may not fit in memory — is recorded with why, and what needs it is not measured."""
    try:
        return run_child(kind, str(landing), str(out), home=home)
    except RuntimeError as failure:
        return {"failed": str(failure).splitlines()[0]}


def _agreement(results: dict, mart_missing: bool) -> dict:
    """The P&L differences of each reference that ran: with the mart, or with each other without one."""
    through = (FULL_RUN_DATE - timedelta(days=1)).strftime("%Y-%m")
    if not mart_missing:
        return compare_pnl(results, through) if len(results) > 1 else {}
    references = [results[k] for k in ("lower_bound", "pandas") if k in results]
    if len(references) < 2:
        return {"pipeline_mart_missing": True}
    return {"pipeline_mart_missing": True,
            **compare_pnl({"pipeline": references[0], "pandas": references[1]})}


# ---- reporting ----------------------------------------------------------------------------------
def render(f: dict, console) -> None:
    from rich.table import Table

    lines = f.get("order_lines") or f["lines_requested"]
    t = Table("run", "stage", "wall s", "peak RSS MB", "note",
              title=f"Nightly run at {lines:,} order lines ({f['dataset']['landing_mb']:,} MB of vendor files)")
    for run_name in ("full", "incremental"):
        r = f[run_name]
        for stage in goals.stage_names(r):
            s = r["stages"][stage]
            note = ""
            if stage == "ingest" and (shop := r.get("landing_by_feed", {}).get(goals.SHOPIFY_FEED)):
                note = f"Shopify orders: {shop['rows']:,} rows, {shop['rows_per_second'] or 0:,} rows/s"
            t.add_row(run_name, goals.STAGE_LABELS.get(stage, stage), f"{s['seconds']:.1f}",
                      f"{s['peak_rss_mb']:,.0f}", note)
        collector = (f"; the garbage collector {r['gc_seconds']:.1f}s of the run ({r['gc_collections'][2]} full)"
                     if r.get("gc_seconds") is not None else "")
        t.add_row(run_name, "process start + imports", f"{r['process_overhead_seconds']:.1f}", "",
                  f"imports {r['imports_seconds']:.1f}s{collector}")
        note = "published" if r["published"] else f"[red]held[/]: {r['held_reason']}"
        t.add_row(f"[bold]{run_name}[/]", "[bold]total[/]", f"[bold]{r['wall_seconds']:.1f}[/]",
                  f"[bold]{r['peak_rss_mb']:,.0f}[/]",
                  f"{note}; {r['files_landed']} files, {r['rows_landed']:,} rows landed", end_section=True)
    for kind, label in (("lower_bound", "lower bound: one DuckDB query"), ("pandas", "pandas notebook")):
        r = f[kind]
        if r.get("failed"):
            t.add_row(label, "P&L from raw files", "—", "—", f"[red]failed[/]: {r['failed']}")
            continue
        t.add_row(label, "P&L from raw files", f"{r['wall_seconds']:.1f}", f"{r['peak_rss_mb']:,.0f}",
                  f"in-process {r['seconds']:.1f}s")
    console.print(t)

    o = f["overheads"]
    console.print("fixed overheads: " + ", ".join(f"{k.removesuffix('_seconds').replace('_', ' ')} {v:.1f}s"
                                                   for k, v in o.items()))
    a = Table("result", "largest diff (cents)", "lines matching exactly", "rows differing",
              title="Monthly channel P&L agreement with the pipeline's channel_pnl_monthly")
    if f["agreement"].get("pipeline_mart_missing"):
        console.print("[red]the pipeline built no channel_pnl_monthly[/]: pandas compared with the lower bound")
    for name, c in f["agreement"].items():
        if not isinstance(c, dict):
            continue
        matching = c["matching_lines"]
        a.add_row(name, f"{c['max_diff_cents']:,}",
                  "all" if len(matching) == len(PNL_LINES) else ", ".join(matching) or "none",
                  f"{c['rows_differing']} of {c['rows_compared']}")
    console.print(a)


def compare(root: Path, sizes: list[int], console) -> dict:
    """Issue 17's table over the sizes measured (bench-<N>.json): every figure at each size, its goal
    and verdict, printed and saved as bench-summary.json."""
    runs = [json.loads((root / f"bench-{n}.json").read_text()) for n in sizes
            if (root / f"bench-{n}.json").exists()]
    if not runs:
        raise FileNotFoundError(f"no bench-<lines>.json under {root} for {sizes}: run `cwh bench --lines N` first")
    result = goals.summary(runs)
    goals.render(result, console)
    (root / "bench-summary.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":  # the measured child process (`make bench` / `cwh bench` start the runs)
    if len(sys.argv) > 2 and sys.argv[1] == "_child":  # collects and ends as `cwh` does
        from orchestration.batch_gc import collect_less_often
        from orchestration.quick_exit import run_then_exit

        collect_less_often()
        run_then_exit(lambda: print(json.dumps(_child(sys.argv[2], *sys.argv[3:]), default=str)))
    else:
        sys.exit("run the benchmark with `make bench` or `cwh bench --lines N`")
