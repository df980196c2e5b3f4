"""Issue 17's figures, each with its goal and verdict, from the bench's per-size results.

One row per figure; `summary()` takes the results of every size measured (bench-<N>.json) and gives
each figure's value at each size, its goal and a verdict:

- a per-size figure with a goal is judged at every size measured ("not met at 10,000,000" says
  where it fails); without a goal it is reported only (stage times, full and incremental seconds);
- a growth figure (10M ÷ 1M) needs two sizes 10× apart and is shown under the larger one;
- the fixed costs' goal is to be cut: each is judged against the figure the issue measured before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# the night's stages in the order they run; a stage the run did not time is left out, one this list
# does not know (a new step of the night) is shown after these
STAGE_ORDER = ("ingest", "checks", "dbt_build", "forecast", "publish")
STAGE_LABELS = {"dbt_build": "dbt build"}
SHOPIFY_FEED = "shopify_orders"  # "ingest ≥ 250k rows/s on the Shopify export"
# the fixed costs issue 17 measured before (seconds), the figure each is to be cut from
FIXED_COSTS_BEFORE = {"imports_seconds": 5.8, "dbt_parse_full_seconds": 9.3, "dbt_parse_partial_seconds": 4.3,
                      "code_location_load_seconds": 7.8}
OPERATORS = {"le": ("≤", lambda v, g: v <= g), "lt": ("<", lambda v, g: v < g),
             "ge": ("≥", lambda v, g: v >= g), "eq": ("=", lambda v, g: v == g)}


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str
    value: Callable[[dict], float | None]  # from one size's results (growth: from (small, big))
    goal: tuple[str, float] | None = None  # (operator, threshold); None = reported only
    growth: bool = False  # a ratio of the 10× larger size to the smaller one
    note: str = ""  # after the goal: where its threshold comes from

    def goal_text(self) -> str:
        if self.goal is None:
            return "reported"
        symbol = OPERATORS[self.goal[0]][0]
        unit = f" {self.unit}" if self.unit != "×" else ""
        return f"{symbol} {self.goal[1]:,g}{unit}{' ' + self.note if self.note else ''}"

    def met(self, value: float) -> bool:
        operator, threshold = self.goal
        return OPERATORS[operator][1](value, threshold)


def stage_names(run: dict) -> list[str]:
    """The stages a night timed, in the order they run (a forecast stage only when the night has one)."""
    timed = list(run.get("stages", {}))
    return [s for s in STAGE_ORDER if s in timed] + [s for s in timed if s not in STAGE_ORDER]


def _ratio(a: float | None, b: float | None, digits: int = 2) -> float | None:
    return None if a is None or not b else round(a / b, digits)


def _wall(f: dict, run: str) -> float | None:
    """A night's wall seconds; none for a night that was held: a run that stopped early is no timing."""
    night = f.get(run) or {}
    return None if night.get("published") is False else night.get("wall_seconds")


def failed_references(f: dict) -> dict[str, str]:
    """The reference P&Ls (lower bound, pandas) of one size that did not finish, with why."""
    return {kind: f[kind]["failed"] for kind in ("lower_bound", "pandas") if (f.get(kind) or {}).get("failed")}


def held_nights(f: dict) -> dict[str, str]:
    """The nights of one size that did not publish, with why (their times judge nothing)."""
    return {run: f[run].get("held_reason") or "held" for run in ("full", "incremental")
            if (f.get(run) or {}).get("published") is False}


def peak_mb(f: dict) -> float | None:
    """The pipeline's peak RSS over its two nights (full and incremental)."""
    peaks = [f[run]["peak_rss_mb"] for run in ("full", "incremental") if f.get(run)]
    return max(peaks) if peaks else None


def shopify_rows_per_second(f: dict) -> float | None:
    feed = (f.get("full") or {}).get("landing_by_feed", {}).get(SHOPIFY_FEED)
    return round(feed["rows"] / feed["seconds"]) if feed and feed["seconds"] > 0 else None


def _stage_peak(f: dict, stage: str) -> float | None:
    return ((f.get("full") or {}).get("stages", {}).get(stage) or {}).get("peak_rss_mb")


def _diff_cents(kind: str) -> Callable[[dict], float | None]:
    def value(f: dict) -> float | None:
        agreement = f.get("agreement", {})
        if agreement.get("pipeline_mart_missing"):
            return None  # no mart to agree with: never "met"
        return (agreement.get(kind) or {}).get("max_diff_cents")
    return value


def _stage_seconds(run: str, stage: str) -> Callable[[dict], float | None]:
    return lambda f: ((f.get(run) or {}).get("stages", {}).get(stage) or {}).get("seconds")


def _overhead(key: str) -> Callable[[dict], float | None]:
    return lambda f: f.get("overheads", {}).get(key)


def base_figures() -> list[Figure]:
    """Every figure of issue 17 that does not depend on which stages a night has."""
    F = Figure
    return [
        F("full_over_lower_bound", "full nightly ÷ lower bound (one DuckDB query)", "×",
          lambda f: _ratio(_wall(f, "full"), _wall(f, "lower_bound")), ("le", 3.0)),
        F("incremental_over_full", "incremental night ÷ full nightly", "×",
          lambda f: _ratio(_wall(f, "incremental"), _wall(f, "full"), 3), ("le", 0.10)),
        F("incremental_over_pandas", "incremental night ÷ pandas notebook (faster: < 1)", "×",
          lambda f: _ratio(_wall(f, "incremental"), _wall(f, "pandas")), ("lt", 1.0)),
        F("shopify_ingest_rows_per_second", "ingest rows/s on the Shopify orders export", "rows/s",
          shopify_rows_per_second, ("ge", 250_000)),
        F("incremental_growth_10x", "incremental night at 10× the lines ÷ at 1×", "×",
          lambda pair: _ratio(_wall(pair[1], "incremental"), _wall(pair[0], "incremental")), ("le", 1.5),
          growth=True),
        F("ingest_peak_growth_10x", "ingest peak memory at 10× ÷ at 1× (flat in file size)", "×",
          lambda pair: _ratio(_stage_peak(pair[1], "ingest"), _stage_peak(pair[0], "ingest")), ("le", 1.5),
          growth=True),
        F("full_seconds", "full nightly", "s", lambda f: _wall(f, "full")),
        F("incremental_seconds", "incremental night (one new day)", "s", lambda f: _wall(f, "incremental")),
        F("lower_bound_seconds", "lower bound: one DuckDB query, same P&L", "s", lambda f: _wall(f, "lower_bound")),
        F("pandas_seconds", "pandas notebook, same P&L", "s", lambda f: _wall(f, "pandas")),
        F("peak_memory_gb", "peak memory of the nights (full, incremental)", "GB",
          lambda f: None if peak_mb(f) is None else round(peak_mb(f) / 1024, 2), ("le", 3.0)),
        F("full_peak_gb", "peak memory, full nightly", "GB",
          lambda f: round(f["full"]["peak_rss_mb"] / 1024, 2) if f.get("full") else None),
        F("incremental_peak_gb", "peak memory, incremental night", "GB",
          lambda f: round(f["incremental"]["peak_rss_mb"] / 1024, 2) if f.get("incremental") else None),
        F("python_start_seconds", "fixed: interpreter start", "s", _overhead("python_start_seconds")),
        *(F(key.removesuffix("_seconds"), f"fixed: {label}", "s", _overhead(key), ("lt", FIXED_COSTS_BEFORE[key]),
            note="(cut from before)")
          for key, label in (("imports_seconds", "imports of the night"),
                             ("dbt_parse_full_seconds", "dbt parse, full"),
                             ("dbt_parse_partial_seconds", "dbt parse, partial"),
                             ("code_location_load_seconds", "Dagster code location load"))),
        F("lower_bound_pnl_diff_cents", "P&L: largest difference, mart vs lower bound", "cents",
          _diff_cents("lower_bound"), ("eq", 0)),
        F("pandas_pnl_diff_cents", "P&L: largest difference, mart vs pandas", "cents",
          _diff_cents("pandas"), ("eq", 0)),
    ]


def stage_figures(runs: list[dict]) -> list[Figure]:
    """Each stage's seconds in each night (reported), for every stage any measured night timed."""
    figures = []
    for run in ("full", "incremental"):
        timed = {s: None for f in runs for s in (f.get(run) or {}).get("stages", {})}
        names = stage_names({"stages": timed})
        figures += [Figure(f"{run}_{stage}_seconds", f"{run}: {STAGE_LABELS.get(stage, stage)}", "s",
                           _stage_seconds(run, stage)) for stage in names]
    return figures


def figures_for(runs: list[dict]) -> list[Figure]:
    base = base_figures()
    at = next(i for i, f in enumerate(base) if f.key == "python_start_seconds")
    return base[:at] + stage_figures(runs) + base[at:]


def _growth_pair(runs: list[dict]) -> tuple[dict, dict] | None:
    """The smallest and largest sizes when they are 10× apart (the goal's 1M and 10M)."""
    if len(runs) < 2 or runs[-1]["lines_requested"] != 10 * runs[0]["lines_requested"]:
        return None
    return runs[0], runs[-1]


def summary(runs: list[dict]) -> dict:
    """Every figure with its value at each size, its goal and verdict (JSON-ready)."""
    runs = sorted(runs, key=lambda f: f["lines_requested"])
    sizes = [f["lines_requested"] for f in runs]
    pair = _growth_pair(runs)
    rows = []
    for figure in figures_for(runs):
        if figure.growth:
            values = {sizes[-1]: figure.value(pair)} if pair else {}
        else:
            values = {size: figure.value(f) for size, f in zip(sizes, runs, strict=True)}
        rows.append({"key": figure.key, "label": figure.label, "unit": figure.unit, "goal": figure.goal_text(),
                     "values": {str(size): value for size, value in values.items()},
                     "verdict": verdict(figure, values)})
    return {"sizes": sizes, "figures": rows,
            "load_avg_at_start": {str(f["lines_requested"]): f.get("machine", {}).get("load_avg_at_start")
                                  for f in runs},
            "started_at": {str(f["lines_requested"]): f.get("started_at") for f in runs},
            "held": {str(f["lines_requested"]): held for f in runs if (held := held_nights(f))},
            "failed": {str(f["lines_requested"]): failed for f in runs if (failed := failed_references(f))}}


def verdict(figure: Figure, values: dict[int, float | None]) -> str:
    """'met', 'not met' (at every size judged; else 'not met at' the sizes where it fails),
    'reported', or 'not measured' (a growth figure without two sizes 10× apart, a P&L without a mart)."""
    measured = {size: v for size, v in values.items() if v is not None}
    if figure.goal is None:
        return "reported" if measured else "not measured"
    if not measured:
        return "not measured (needs two sizes 10× apart)" if figure.growth else "not measured"
    failing = [size for size, v in measured.items() if not figure.met(v)]
    missing = [size for size, v in values.items() if v is None]
    if not failing and not missing:
        return "met"
    if not failing:
        return f"not measured at {', '.join(f'{s:,}' for s in missing)}"
    if len(failing) == len(values):
        return "not met"
    return f"not met at {', '.join(f'{s:,}' for s in failing)}"


def _cell(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit in ("rows/s", "cents"):
        return f"{value:,.0f}"
    if unit == "s":
        return f"{value:,.1f}"
    return f"{value:,.3f}" if abs(value) < 0.1 else f"{value:,.2f}"


def render(result: dict, console) -> None:
    """The one table: every figure, its value at each size, its goal and verdict."""
    from rich.table import Table

    sizes = result["sizes"]
    loads = "; ".join(f"{int(s):,} lines: {' / '.join(f'{x:.1f}' for x in load)}"
                      for s, load in result["load_avg_at_start"].items() if load)
    table = Table("figure", *(f"{size:,} lines" for size in sizes), "goal", "verdict",
                  title="Issue 17: every figure against its goal",
                  caption=f"load average at each run's start (1, 5, 15 min) — {loads}" if loads else None)
    for row in result["figures"]:
        verdict = row["verdict"]
        colour = "green" if verdict == "met" else "" if verdict == "reported" else \
            "yellow" if verdict.startswith("not measured") else "red"
        cells = [_cell(row["values"].get(str(size)), row["unit"]) for size in sizes]
        unit = "" if row["unit"] in ("×",) else f" ({row['unit']})"
        table.add_row(row["label"] + unit, *cells, row["goal"],
                      f"[{colour}]{verdict}[/]" if colour else verdict)
    console.print(table)
    for size, held in result.get("held", {}).items():
        for run, reason in held.items():
            console.print(f"[red]the {run} night at {int(size):,} lines was held[/] ({reason}): "
                          "the figures that need its time are not measured")
    for size, failed in result.get("failed", {}).items():
        for kind, reason in failed.items():
            console.print(f"[yellow]the {kind.replace('_', ' ')} at {int(size):,} lines did not finish[/] "
                          f"({reason}): its time and its P&L agreement are not measured")
