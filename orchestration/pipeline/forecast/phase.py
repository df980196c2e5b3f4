"""The forecast phase: read the history, backtest, forecast, estimate elasticity, write the tables.

`run_forecast(home, last_day)` never raises: whatever fails falls back and is said in the returned
`ForecastOutcome` (a warning of the night, never a hold).

Per channel (series.py: top-down, stockout and promotion days masked):
- backtest on rolling origins (`ORIGINS` weekly origins, each forecasting `HORIZON` days from the
  history up to it): MASE (÷ the in-sample seasonal naive error) and WAPE per horizon bucket and
  method, on the channel's demand of the days that are known (not masked);
- the method kept is the model (ets or theta) with the lowest MASE over every horizon, if it is
  lower than the seasonal naive baseline's; otherwise the channel falls back to the baseline
  (forecast_accuracy.note says so);
- the forecast of the next `HORIZON` days is that method's, split across the SKUs by their shares;
  a SKU's 80% interval is the channel's, times its share, widened by the count noise of a SKU's
  daily units (Poisson 10% and 90% quantiles).

Channels are independent of each other and of the price elasticity: on two cores two helper
processes (helper.py) share those tasks, with the same rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from threadpoolctl import threadpool_limits

from connectors.home import Home, build_database
from orchestration.pipeline.forecast import TABLES, clear_tables, write_table
from orchestration.pipeline.forecast.helper import ForecastHelper, close_all, share_work
from orchestration.pipeline.forecast.helper import prestart as prestart_helpers
from orchestration.pipeline.forecast.helper import take as take_helpers
from orchestration.pipeline.forecast.models import BASELINE, METHODS, seasonal_naive_scale
from orchestration.pipeline.forecast.series import channel_demand, fill_gaps, load_history, sku_shares

log = logging.getLogger(__name__)

HORIZON = 28  # days forecast (and backtested) from each origin
ORIGINS = 4  # backtest origins, a week apart, the latest HORIZON days before the last closed day
MIN_TRAINING_DAYS = 21  # an origin with less history before it is not backtested
BUCKETS = (("1-7", 1, 7), ("8-14", 8, 14), ("15-28", 15, 28))
MODELS = ("ets", "theta")
# what the tasks import on first use (models.py, forecast_channel, elasticity.py): a helper imports them
# before its first task
HELPER_PRELOAD = (__name__, "orchestration.pipeline.forecast.elasticity", "statsmodels.tsa.exponential_smoothing.ets",
                  "statsmodels.tsa.forecasting.theta", "scipy.stats")


@dataclass
class ForecastOutcome:
    """What the phase did: rows written per table, each channel's method, and warnings (a failed
    part and its fallback), said in the night's summary and alerts."""

    rows: dict[str, int] = field(default_factory=dict)
    methods: dict[str, str] = field(default_factory=dict)  # channel → method kept
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    helper_peak_rss_mb: float = 0.0  # the helper processes' (helper.py), beside this process's own

    @property
    def ok(self) -> bool:
        return not self.warnings


# ---- one channel -----------------------------------------------------------------------------------
@dataclass
class ChannelResult:
    accuracy: list[dict]
    backtest: list[dict]
    forecast: list[dict]
    method: str
    warnings: list[str]


def backtest_channel(channel: str, history: pd.DataFrame, last_day: pd.Timestamp, mask: bool = True,
                     methods: tuple[str, ...] = (*MODELS, BASELINE)) -> tuple[list[dict], list[dict], list[str]]:
    """Accuracy rows per horizon bucket × method, the latest origin's day-by-day forecasts, warnings."""
    demand = channel_demand(history, sku_shares(history, last_day, mask), mask)
    sums = {m: {b[0]: [0.0, 0.0, 0, 0.0] for b in BUCKETS} for m in methods}  # abs err, actual, days, scaled err
    origins, daily, warnings = 0, [], []
    for k in range(ORIGINS):
        origin = last_day - pd.Timedelta(days=HORIZON + 7 * k)
        train = channel_demand(history[history["date"] <= origin], sku_shares(history, origin, mask), mask)
        actual = demand[(demand.index > origin) & (demand.index <= origin + pd.Timedelta(days=HORIZON))]
        filled = fill_gaps(train)  # what every method learns from (they do not change it)
        scale = seasonal_naive_scale(filled)
        if train.notna().sum() < MIN_TRAINING_DAYS or not scale > 0 or len(actual) < HORIZON:
            continue
        origins += 1
        for method in methods:
            try:
                predicted = METHODS[method](filled, HORIZON, intervals=False).mean
            except Exception as err:  # noqa: BLE001 — a method that fails here is not kept
                warnings.append(f"{channel}: {method} failed in the backtest at {origin.date()}: {err}")
                sums.pop(method, None)
                continue
            if method not in sums:
                continue
            for step, (day, value) in enumerate(actual.items(), start=1):
                if k == 0:
                    daily.append({"channel": channel, "date": day.date(), "method": method,
                                  "origin_date": origin.date(), "horizon_days": step,
                                  "actual_units": None if np.isnan(value) else float(value),
                                  "forecast_units": float(predicted[step - 1])})
                if np.isnan(value):
                    continue
                bucket = next(b[0] for b in BUCKETS if b[1] <= step <= b[2])
                error = abs(float(predicted[step - 1]) - float(value))
                cell = sums[method][bucket]
                cell[0] += error
                cell[1] += float(value)
                cell[2] += 1
                cell[3] += error / scale
    return _accuracy_rows(channel, sums, origins), daily, warnings


def _accuracy_rows(channel: str, sums: dict, origins: int) -> list[dict]:
    def mase(cells) -> float | None:
        days = sum(c[2] for c in cells)
        return sum(c[3] for c in cells) / days if days else None

    overall = {m: mase(list(buckets.values())) for m, buckets in sums.items()}
    baseline = overall.get(BASELINE)
    candidates = {m: v for m, v in overall.items() if m != BASELINE and v is not None}
    best = min(candidates, key=candidates.get) if candidates else None
    beats = best is not None and baseline is not None and candidates[best] < baseline
    selected = best if beats else BASELINE
    if not origins:
        note = "not enough history to backtest: seasonal naive used"
    elif beats:
        note = f"{best} beats the seasonal naive baseline (MASE {candidates[best]:.3f} < {baseline:.3f})"
    else:
        note = ("no model beats the seasonal naive baseline"
                + (f" (best {best} MASE {candidates[best]:.3f} ≥ {baseline:.3f})" if best else "")
                + ": the channel's forecast falls back to it")
    rows = []
    for method, buckets in sums.items():
        for bucket, (abs_error, actual, days, _scaled) in buckets.items():
            rows.append({
                "channel": channel, "horizon_bucket": bucket, "method": method, "origins": origins,
                "days_evaluated": days, "actual_units": actual, "abs_error": abs_error,
                "mase": mase([buckets[bucket]]), "wape": abs_error / actual if actual > 0 else None,
                "overall_mase": overall[method], "baseline_mase": baseline,
                "beats_baseline": (overall[method] is not None and baseline is not None
                                   and method != BASELINE and overall[method] < baseline),
                "is_selected": method == selected, "note": note})
    return rows


def forecast_channel(channel: str, history: pd.DataFrame, last_day: pd.Timestamp, method: str,
                     mask: bool = True) -> tuple[list[dict], str, list[str]]:
    """The next HORIZON days per SKU by `method` (the baseline when it fails). Returns rows, the
    method used, warnings."""
    from scipy.stats import poisson  # here, not at the top: scipy.stats takes ~1.4 s to import, which
    # every load of the Dagster definitions (the UI's code location, each `cwh` command) would pay

    shares = sku_shares(history, last_day, mask)
    demand = fill_gaps(channel_demand(history, shares, mask))
    warnings = []
    try:
        result = METHODS[method](demand, HORIZON)
    except Exception as err:  # noqa: BLE001 — the baseline instead, said
        warnings.append(f"{channel}: {method} failed ({err}); seasonal naive used")
        method, result = BASELINE, METHODS[BASELINE](demand, HORIZON)
    stats = history.groupby("sku").agg(history_days=("date", "size"), masked_days=("is_stockout", "sum"),
                                       promo_days=("is_promo", "sum")).reindex(shares.index)
    # every SKU × day at once (one row per SKU, one column per day ahead): the same products and
    # quantiles, element by element, as one SKU at a time
    share = shares.to_numpy(dtype=float)[:, None]
    mean, lower, upper = share * result.mean, share * result.lower, share * result.upper
    low, high = np.nan_to_num(poisson.ppf(0.1, lower)), np.nan_to_num(poisson.ppf(0.9, upper))
    low = np.where(mean < low, mean, low)  # min(low, mean), max(high, mean) as Python's min and max
    high = np.where(mean > high, mean, high)
    skus, steps = len(shares), np.arange(1, HORIZON + 1)
    days = [day.date() for day in pd.date_range(last_day + pd.Timedelta(days=1), periods=HORIZON, freq="D")]
    columns = {
        "channel": [channel] * (skus * HORIZON), "sku": np.repeat(shares.index.to_numpy(), HORIZON).tolist(),
        "date": days * skus, "origin_date": [last_day.date()] * (skus * HORIZON),
        "horizon_days": np.tile(steps, skus).tolist(), "forecast_units": mean.ravel().tolist(),
        "forecast_lower_80": low.ravel().tolist(), "forecast_upper_80": high.ravel().tolist(),
        "method": [method] * (skus * HORIZON), "is_fallback": [method == BASELINE] * (skus * HORIZON),
        "sku_share": np.repeat(share.ravel(), HORIZON).tolist(),
        **{name: np.repeat(stats[name].to_numpy(dtype=np.int64), HORIZON).tolist()
           for name in ("history_days", "masked_days", "promo_days")}}
    rows = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    return rows, method, warnings


# ---- the phase -------------------------------------------------------------------------------------
def channel_result(channel: str, frame: pd.DataFrame, end: pd.Timestamp, mask: bool,
                   methods: tuple[str, ...]) -> ChannelResult:
    """One channel's backtest, the method it selects, and that method's forecast."""
    accuracy, daily, warnings = backtest_channel(channel, frame, end, mask, methods)
    selected = next((r["method"] for r in accuracy if r["is_selected"]), BASELINE)
    rows, used, more = forecast_channel(channel, frame, end, selected, mask)
    return ChannelResult(accuracy, daily, rows, used, warnings + more)


@dataclass
class ElasticityResult:
    rows: list[dict]
    warnings: list[str]


def elasticity_result(database: str) -> ElasticityResult:
    """price_elasticity (forecast/elasticity.py) from the build database, on a read-only connection of
    its own (a helper's task, beside the channels'); its failure is a warning and no rows, never raised."""
    try:
        from orchestration.pipeline.forecast.elasticity import price_elasticity

        with duckdb.connect(database, read_only=True) as con:
            return ElasticityResult(price_elasticity(con).to_pylist(), [])
    except Exception as err:  # noqa: BLE001 — only this table is empty
        log.warning("price elasticity failed", exc_info=True)
        return ElasticityResult([], [f"price elasticity failed ({type(err).__name__}: {err}); its table is empty"])


def phase_task(kind: str, *args):
    """One task of the phase (what share_work hands a helper): a channel's forecast or the elasticity."""
    return elasticity_result(*args) if kind == "elasticity" else channel_result(*args)


def forecast_all(history: pd.DataFrame, last_day: date, mask: bool = True,
                 methods: tuple[str, ...] = (*MODELS, BASELINE), helpers: Sequence[ForecastHelper] = (),
                 elasticity_from: str | None = None) -> tuple[dict[str, list[dict]], ForecastOutcome]:
    """Backtest and forecast every channel of `history` (series.load_history) and, given the build
    database's path `elasticity_from`, estimate the price elasticity (`price_elasticity` rows); the
    `helpers` share those tasks (helper.py: the same rows, in the same order)."""
    outcome = ForecastOutcome()
    tables: dict[str, list[dict]] = {"demand_forecast": [], "forecast_accuracy": [], "forecast_backtest": []}
    end = pd.Timestamp(last_day)
    tasks = [("channel", channel, frame, end, mask, methods)
             for channel, frame in history.groupby("channel", sort=True)]
    if elasticity_from is not None:  # first: the longest task, so no core waits on it at the end
        tasks.insert(0, ("elasticity", elasticity_from))
    for task, result in zip(tasks, share_work(tasks, phase_task, helpers), strict=True):
        outcome.warnings += result.warnings
        if isinstance(result, ElasticityResult):
            tables["price_elasticity"] = result.rows
            continue
        tables["forecast_accuracy"] += result.accuracy
        tables["forecast_backtest"] += result.backtest
        tables["demand_forecast"] += result.forecast
        outcome.methods[task[1]] = result.method
    return tables, outcome


def prepare_helper() -> None:
    """Start the phase's helper processes ahead of the phase (the night calls it as its dbt build
    starts): they import the tasks' modules meanwhile, so they take tasks as soon as the phase starts."""
    prestart_helpers(HELPER_PRELOAD)


def run_forecast(home: Home, last_day: date) -> ForecastOutcome:
    """The night's forecast phase (module docstring). Never raises."""
    started = time.perf_counter()
    outcome = ForecastOutcome()
    helpers = take_helpers(HELPER_PRELOAD)
    try:
        # one BLAS thread: the fits are hundreds of small problems, where OpenBLAS's second thread has
        # nothing to share and its spinning took a core from the phase (half its CPU on 2 cores); the
        # results do not change (OpenBLAS splits a product by rows and columns, never along the sums)
        with threadpool_limits(limits=1, user_api="blas"):
            with duckdb.connect(str(build_database(home)), read_only=True) as con:
                history = load_history(con, last_day)
            tables, outcome = forecast_all(history, last_day, helpers=helpers,
                                           elasticity_from=str(build_database(home)))
        for name, rows in tables.items():
            outcome.rows[name] = write_table(home, name, pa.Table.from_pylist(rows, schema=TABLES[name]))
    except Exception as err:  # noqa: BLE001 — the forecast never holds the night
        log.warning("forecast phase failed", exc_info=True)
        clear_tables(home)
        outcome.rows = dict.fromkeys(TABLES, 0)
        outcome.warnings.append(f"the forecast phase failed ({type(err).__name__}: {err}); tonight's forecast "
                                "tables are empty and the marts that read them are built without a forecast")
    finally:
        outcome.helper_peak_rss_mb = close_all(helpers)
    outcome.seconds = round(time.perf_counter() - started, 3)
    return outcome
