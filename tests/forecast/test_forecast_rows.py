"""The per-SKU rows of the forecast, computed for every SKU × day at once (phase.forecast_channel),
against the rule written out one SKU and one day at a time with a channel forecast known here; and
the phase fits on one BLAS thread and gives the process its threads back after.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.stats import poisson
from threadpoolctl import threadpool_info

from connectors.home import Home, build_database
from orchestration.pipeline.forecast import models as forecast_models
from orchestration.pipeline.forecast import phase
from orchestration.pipeline.forecast.models import Forecast
from orchestration.pipeline.forecast.phase import HORIZON, forecast_channel
from orchestration.pipeline.forecast.series import sku_shares
from tests.forecast.conftest import DEMO_END

END = pd.Timestamp(DEMO_END)


def history() -> pd.DataFrame:
    """Web, three SKUs over 60 days: A sells 6 a day, B 3, C 1 (and is sold out on its last 5 days,
    on promotion on 4 days before); D sells nothing (share 0: its interval comes from Poisson(0))."""
    dates = pd.date_range(END - timedelta(days=59), END, freq="D")
    frames = []
    for sku, rate in (("A", 6.0), ("B", 3.0), ("C", 1.0), ("D", 0.0)):
        out = np.zeros(len(dates), dtype=bool)
        promo = np.zeros(len(dates), dtype=bool)
        if sku == "C":
            out[-5:] = True
            promo[-15:-11] = True
        units = np.where(out, 0.0, rate)
        frames.append(pd.DataFrame({"channel": "web", "sku": sku, "date": dates, "units": units,
                                    "is_stockout": out, "is_promo": promo}))
    frame = pd.concat(frames, ignore_index=True)
    frame["is_masked"] = frame["is_stockout"] | frame["is_promo"]
    return frame


def test_every_sku_day_follows_the_rule_written_one_at_a_time(monkeypatch):
    mean = np.linspace(0.0, 27.0, HORIZON) + 0.5  # a channel forecast known here, with a wide interval
    lower, upper = np.maximum(mean - 6.0, 0.0), mean + 6.0
    known = Forecast(mean, lower, upper, "known")
    monkeypatch.setitem(forecast_models.METHODS, "known", lambda history, horizon, intervals=True: known)
    frame = history()
    rows, used, warnings = forecast_channel("web", frame, END, "known")
    assert used == "known" and not warnings and len(rows) == 4 * HORIZON

    shares = sku_shares(frame, END)
    assert shares.to_dict() == pytest.approx({"A": 0.6, "B": 0.3, "C": 0.1, "D": 0.0})
    expected_stats = {"A": (60, 0, 0), "B": (60, 0, 0), "C": (60, 5, 4), "D": (60, 0, 0)}
    position = 0
    for sku in ("A", "B", "C", "D"):  # SKU by SKU, day by day: the order of the rows
        share = float(shares[sku])
        for step in range(HORIZON):
            row = rows[position]
            position += 1
            m = mean[step] * share
            low = poisson.ppf(0.1, lower[step] * share)
            high = poisson.ppf(0.9, upper[step] * share)
            low = 0.0 if np.isnan(low) else float(low)
            high = 0.0 if np.isnan(high) else float(high)
            assert (row["sku"], row["horizon_days"]) == (sku, step + 1)
            assert row["date"] == (END + pd.Timedelta(days=step + 1)).date() and row["origin_date"] == END.date()
            assert row["forecast_units"] == m and row["sku_share"] == share
            assert row["forecast_lower_80"] == min(low, m) and row["forecast_upper_80"] == max(high, m)
            assert (row["history_days"], row["masked_days"], row["promo_days"]) == expected_stats[sku]
            assert row["method"] == "known" and row["is_fallback"] is False and row["channel"] == "web"
            assert all(type(row[c]) is float for c in ("forecast_units", "forecast_lower_80", "forecast_upper_80"))
            assert all(type(row[c]) is int for c in ("horizon_days", "history_days", "masked_days", "promo_days"))
    # D has no demand: mean 0, and Poisson(0)'s quantiles are 0
    assert all(r["forecast_units"] == r["forecast_lower_80"] == r["forecast_upper_80"] == 0.0
               for r in rows if r["sku"] == "D")


def blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_the_phase_fits_on_one_blas_thread_and_restores_the_count(monkeypatch, tmp_path):
    before = blas_threads()
    if not before:
        pytest.skip("no BLAS library threadpoolctl can control in this process")
    home = Home(tmp_path)
    build_database(home).parent.mkdir(parents=True)
    duckdb.connect(str(build_database(home))).close()
    inside = []

    def fits(history, last_day, **_):  # stands in for the backtests and forecasts
        inside.extend(blas_threads())
        a = np.arange(1.0, 10.0).reshape(3, 3) + np.eye(3)  # numpy's linear algebra still works
        assert np.allclose(a @ np.linalg.inv(a), np.eye(3))
        raise RuntimeError("the fits fail")  # the phase falls back; the threads come back anyway

    monkeypatch.setattr(phase, "load_history", lambda con, last_day: pd.DataFrame())
    monkeypatch.setattr(phase, "forecast_all", fits)
    outcome = phase.run_forecast(home, DEMO_END)
    assert inside == [1] * len(before)
    assert blas_threads() == before
    assert outcome.warnings and "the fits fail" in outcome.warnings[0]
