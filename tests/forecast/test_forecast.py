"""The demand forecast (orchestration/pipeline/forecast/) against the demo generator's seeded demand
(orchestration/demo/demand_truth.py, truth files demand_structure.csv and demand_expected_daily.csv),
and on series built here in Python with a known structure.

- The backtest beats the seasonal naive baseline where the structure makes that certain: on a
  series of Poisson counts around a weekly pattern, last week's count (the baseline) carries a
  whole week's noise twice (MASE ≈ 1), a smoothed model only once; on the demo's channels whose
  noise dominates their seeded structure (trend, weekday pattern, little or no repricing) the same holds.
- A channel whose models are worse than the baseline falls back to it, and says so.
- Masking the seeded FBA US stockout changes that SKU's forecast (a sold-out day is not zero demand).
"""

from __future__ import annotations

import csv
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from connectors.home import build_database
from orchestration.pipeline.forecast import TABLES
from orchestration.pipeline.forecast import models as forecast_models
from orchestration.pipeline.forecast.models import BASELINE, Forecast
from orchestration.pipeline.forecast.phase import HORIZON, forecast_all
from orchestration.pipeline.forecast.series import channel_demand, load_history, sku_shares
from tests.forecast.conftest import DEMO_END

END = DEMO_END  # the last day of the seeded demand home (conftest)


# ---- series with a known structure, built here --------------------------------------------------
def synthetic_history(days: int = 120, seed: int = 3, stockout: tuple[int, int] | None = None) -> pd.DataFrame:
    """One channel, three SKUs (shares 0.5 / 0.3 / 0.2) of Poisson demand around 40 units a day with
    a weekday pattern; `stockout` = (first, last) day index when SKU C sells nothing."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(END - timedelta(days=days - 1), END, freq="D")
    weekday = np.array([0.8, 0.9, 1.0, 1.0, 1.1, 1.3, 0.9])
    rows = []
    for sku, share in (("A", 0.5), ("B", 0.3), ("C", 0.2)):
        rate = 40 * share * weekday[dates.day_of_week]
        units = rng.poisson(rate).astype(float)
        out = np.zeros(days, dtype=bool)
        if stockout and sku == "C":
            out[stockout[0]:stockout[1] + 1] = True
            units[out] = 0.0
        rows.append(pd.DataFrame({"channel": "web", "sku": sku, "date": dates, "units": units,
                                  "is_stockout": out, "is_promo": False}))
    frame = pd.concat(rows, ignore_index=True)
    frame["is_masked"] = frame["is_stockout"] | frame["is_promo"]
    return frame


def test_a_model_beats_the_seasonal_naive_on_a_noisy_weekly_series():
    tables, outcome = forecast_all(synthetic_history(), END)
    accuracy = [r for r in tables["forecast_accuracy"] if r["horizon_bucket"] == "1-7"]
    by_method = {r["method"]: r for r in accuracy}
    assert by_method[BASELINE]["origins"] == 4
    baseline = by_method[BASELINE]["overall_mase"]
    best = min(by_method["ets"]["overall_mase"], by_method["theta"]["overall_mase"])
    # the baseline's error is the difference of two weeks' noise (√2 σ), a smoothed model's about σ
    assert best < 0.85 * baseline, by_method
    assert outcome.methods["web"] in ("ets", "theta")
    selected = [r for r in accuracy if r["is_selected"]]
    assert [r["method"] for r in selected] == [outcome.methods["web"]] and selected[0]["beats_baseline"]
    forecast = [r for r in tables["demand_forecast"] if r["sku"] == "A"]
    assert len(forecast) == HORIZON and not forecast[0]["is_fallback"]
    # about half of 40 units a day (the weekday pattern averages 1.0)
    assert 15 < np.mean([r["forecast_units"] for r in forecast]) < 25
    assert all(r["forecast_lower_80"] <= r["forecast_units"] <= r["forecast_upper_80"] for r in forecast)


def test_a_channel_no_model_beats_falls_back_to_the_seasonal_naive(monkeypatch):
    def always_zero(history, horizon, intervals=True):  # a model with no skill at all
        zeros = np.zeros(horizon)
        return Forecast(zeros, zeros, zeros, "zero")

    monkeypatch.setitem(forecast_models.METHODS, "ets", always_zero)
    monkeypatch.setitem(forecast_models.METHODS, "theta", always_zero)
    tables, outcome = forecast_all(synthetic_history(), END)
    assert outcome.methods == {"web": BASELINE}
    note = tables["forecast_accuracy"][0]["note"]
    assert "no model beats the seasonal naive baseline" in note and "falls back" in note
    assert all(r["is_fallback"] and r["method"] == BASELINE for r in tables["demand_forecast"])
    # the fallback is last week's demand, day by day
    history = synthetic_history()
    last_week = history[history["date"] > pd.Timestamp(END) - pd.Timedelta(days=7)].groupby("date")["units"].sum()
    channel = pd.DataFrame(tables["demand_forecast"]).groupby("horizon_days")["forecast_units"].sum()
    assert channel.iloc[:7].round(6).tolist() == last_week.round(6).tolist()


def test_masking_a_stockout_keeps_the_skus_share_and_the_channels_demand():
    history = synthetic_history(stockout=(100, 113))  # SKU C sold out for two weeks, inside the share window
    end = pd.Timestamp(END)
    masked, unmasked = sku_shares(history, end, mask=True), sku_shares(history, end, mask=False)
    assert masked["C"] == pytest.approx(0.2, abs=0.03)  # its in-stock rate: the seeded share
    assert unmasked["C"] < masked["C"] - 0.03  # read as zero demand, two weeks cut its share by a quarter
    demand = channel_demand(history, masked, mask=True)
    sold = history.groupby("date")["units"].sum()
    out_days = demand.index[100:114]
    # the sold-out days count at the SKU's usual share, not at what was sold
    assert (demand[out_days] > sold[out_days]).all()


# ---- the demo's seeded demand ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(seeded_demand_home):
    home = seeded_demand_home
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        history = load_history(con, END)
    with (home.root / "demo" / "truth" / "demand_structure.csv").open(newline="") as handle:
        structure = list(csv.DictReader(handle))
    return history, structure


@pytest.fixture(scope="module")
def demo_forecast(demo):
    history, _ = demo
    return forecast_all(history, END)


# channels whose day-to-day noise dwarfs what no model can foresee (amazon_us: elasticity −0.4, so its
# biweekly ±10% repricing moves units by 4%; wholesale never reprices): the baseline's two weeks of
# noise make it lose by far. shopify_web (elasticity −1.8: ±18% every two weeks, which last week's
# units see a week late) only has to beat it.
@pytest.mark.parametrize(("channel", "ratio"), [("amazon_us", 0.9), ("amazon_ca", 0.9), ("wholesale", 0.9),
                                                ("shopify_web", 1.0)])
def test_the_backtest_beats_the_baseline_on_the_seeded_channels(demo_forecast, channel, ratio):
    tables, outcome = demo_forecast
    rows = [r for r in tables["forecast_accuracy"] if r["channel"] == channel]
    selected = {r["method"] for r in rows if r["is_selected"]}
    assert selected == {outcome.methods[channel]} and selected != {BASELINE}, rows[0]["note"]
    model = next(r for r in rows if r["is_selected"])
    assert model["origins"] == 4 and model["overall_mase"] < ratio * model["baseline_mase"], rows[0]["note"]
    # every horizon bucket of the kept model is evaluated on known days
    assert {r["horizon_bucket"] for r in rows if r["is_selected"]} == {"1-7", "8-14", "15-28"}
    assert all(r["days_evaluated"] > 0 and r["wape"] is not None for r in rows)


def test_the_seeded_stockout_is_masked_and_changes_the_forecast(demo, demo_forecast):
    history, structure = demo
    case = next(r for r in structure if r["component"] == "stockout")
    channel, sku = case["channel"], case["subject"]
    first, last = date.fromisoformat(case["first_day"]), date.fromisoformat(case["last_day"])
    series = history[(history["channel"] == channel) & (history["sku"] == sku)]
    masked_days = {d.date() for d in series.loc[series["is_stockout"], "date"]}
    seeded = {first + timedelta(days=i) for i in range((last - first).days + 1)}
    assert seeded <= masked_days, "the seeded stockout days are read as sold out"

    tables, _ = demo_forecast
    unmasked_tables, _ = forecast_all(history[history["channel"] == channel], END, mask=False)

    def sku_total(rows):
        return sum(r["forecast_units"] for r in rows if r["channel"] == channel and r["sku"] == sku)

    with_mask, without_mask = sku_total(tables["demand_forecast"]), sku_total(unmasked_tables["demand_forecast"])
    # seven days read as zero demand pull the SKU's forecast down; masked they do not
    assert with_mask > 1.05 * without_mask, (with_mask, without_mask)
    row = next(r for r in tables["demand_forecast"] if r["channel"] == channel and r["sku"] == sku)
    assert row["masked_days"] >= len(seeded)


def test_the_forecast_tables_have_their_declared_columns(demo_forecast):
    import pyarrow as pa

    from orchestration.pipeline.forecast.elasticity import SCHEMA

    tables, _ = demo_forecast
    for name, rows in tables.items():
        assert pa.Table.from_pylist(rows, schema=TABLES[name]).num_rows == len(rows) > 0
    assert TABLES["price_elasticity"] == SCHEMA
