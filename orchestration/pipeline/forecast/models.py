"""The forecasting methods, all from statsmodels, on one channel's daily demand.

- `ets`: statsmodels' ETSModel (additive errors), AutoETS-like: a few additive configurations
  (level only; level + weekly season; damped trend + weekly season) fitted by maximum likelihood
  from heuristic initial states (Hyndman et al. 2008; ten times faster than estimating them), the
  one with the lowest AICc kept. Not statsforecast's AutoETS (it cannot be installed here: it
  requires pandas < 3), which searches more configurations, multiplicative ones included.
- `theta`: statsmodels' ThetaModel on the series deseasonalised by its weekly pattern (additive).
- `seasonal_naive`: the baseline every model must beat: each day of the next weeks is the same
  weekday of the last week; its interval widens with the number of weeks ahead (Hyndman &
  Athanasopoulos, FPP3 §5.5: σ·√k from the one-week-ahead residuals).
Every method returns the mean and an 80% interval per day ahead, floored at 0 (no negative demand).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

SEASON = 7
Z80 = 1.2815515655446004  # the standard normal's 90% quantile: a central 80% interval
# ETSModel configurations tried (additive errors); a seasonal one needs two full weeks and more
ETS_CONFIGS = {
    "ANN": {"trend": None, "seasonal": None},
    "ANA": {"trend": None, "seasonal": "add", "seasonal_periods": SEASON},
    "AAdA": {"trend": "add", "damped_trend": True, "seasonal": "add", "seasonal_periods": SEASON},
}


@dataclass(frozen=True)
class Forecast:
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    detail: str  # the configuration chosen, e.g. "ETS(A,Ad,A)"

    def floored(self) -> Forecast:
        return Forecast(np.maximum(self.mean, 0), np.maximum(self.lower, 0), np.maximum(self.upper, 0), self.detail)


def ets(history: pd.Series, horizon: int, intervals: bool = True) -> Forecast:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    best = None
    for name, config in ETS_CONFIGS.items():
        if config.get("seasonal") and len(history) < 3 * SEASON:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence notes of a configuration AICc then rejects
            fitted = ETSModel(history, error="add", initialization_method="heuristic", **config).fit(disp=False)
        if np.isfinite(fitted.aicc) and (best is None or fitted.aicc < best[1].aicc):
            best = (name, fitted)
    if best is None:
        raise ValueError("no ETS configuration could be fitted")
    name, fitted = best
    detail = f"ETS(A,{name[1:-1]},{name[-1]})"
    if not intervals:  # the backtest needs the mean only
        mean = fitted.forecast(horizon).to_numpy()
        return Forecast(mean, mean, mean, detail).floored()
    frame = fitted.get_prediction(start=len(history), end=len(history) + horizon - 1).summary_frame(alpha=0.2)
    return Forecast(frame["mean"].to_numpy(), frame["pi_lower"].to_numpy(), frame["pi_upper"].to_numpy(),
                    detail).floored()


def theta(history: pd.Series, horizon: int, intervals: bool = True) -> Forecast:
    from statsmodels.tsa.forecasting.theta import ThetaModel

    seasonal = len(history) >= 2 * SEASON
    detail = "Theta (additive weekly season)" if seasonal else "Theta"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = ThetaModel(history, period=SEASON, deseasonalize=seasonal, method="additive").fit()
        mean = fitted.forecast(horizon).to_numpy()
        if not intervals:  # its intervals cost ten times its fit; the backtest needs the mean only
            return Forecast(mean, mean, mean, detail).floored()
        interval = fitted.prediction_intervals(horizon, alpha=0.2)
    return Forecast(mean, interval["lower"].to_numpy(), interval["upper"].to_numpy(), detail).floored()


def seasonal_naive(history: pd.Series, horizon: int, intervals: bool = True) -> Forecast:
    values = history.to_numpy(dtype=float)
    if len(values) < SEASON:
        raise ValueError(f"seasonal naive needs a full week of history, got {len(values)} days")
    steps = np.arange(horizon)
    mean = values[-SEASON:][steps % SEASON]
    residuals = values[SEASON:] - values[:-SEASON]
    sigma = float(np.sqrt(np.mean(residuals ** 2))) if len(residuals) else 0.0
    spread = Z80 * sigma * np.sqrt(steps // SEASON + 1)
    return Forecast(mean, mean - spread, mean + spread, "seasonal naive (7 days)").floored()


def seasonal_naive_scale(history: pd.Series) -> float:
    """MASE's scale: the in-sample mean absolute error of the seasonal naive forecast."""
    values = history.to_numpy(dtype=float)
    return float(np.mean(np.abs(values[SEASON:] - values[:-SEASON]))) if len(values) > SEASON else float("nan")


BASELINE = "seasonal_naive"
METHODS: dict[str, Callable[..., Forecast]] = {"ets": ets, "theta": theta, BASELINE: seasonal_naive}
