"""The demand forecast section of the HTML readback (orchestration/outputs/report.py): forecast vs
actual over the last weeks (the latest backtest origin of forecast_backtest_daily: what was forecast
28 days ago, day by day, beside what happened), the backtest's accuracy table (forecast_accuracy:
MASE and WAPE per channel and horizon, the method kept against the seasonal naive baseline, and why)
and the next 28 days per channel (demand_forecast_daily). Reads the published snapshot; the HTML is
templates/_forecast.html. docs/metrics.md "Demand forecast".
"""

from __future__ import annotations

from orchestration.outputs.charts import round_money
from orchestration.outputs.formatting import has_table, rows

BASELINE = "seasonal_naive"


def forecast_data(con) -> dict | None:
    """The section's tables, or None when the snapshot has no forecast marts."""
    if not all(has_table(con, "marts", t) for t in ("forecast_accuracy", "forecast_backtest_daily",
                                                     "demand_forecast_daily")):
        return None
    accuracy = rows(con, """
        select k.channel, k.horizon_bucket, k.method as method_kept, k.mase, k.wape,
               b.mase as baseline_mase, b.wape as baseline_wape, k.origins, k.days_evaluated
        from marts.forecast_accuracy as k
        inner join marts.forecast_accuracy as b
            on b.channel = k.channel and b.horizon_bucket = k.horizon_bucket and b.method = 'seasonal_naive'
        where k.is_selected
        order by k.channel, cast(split_part(k.horizon_bucket, '-', 1) as integer)""")
    notes = rows(con, "select distinct channel, note from marts.forecast_accuracy order by channel")
    backtest = rows(con, """
        select t.channel, t.date, t.actual_units, t.forecast_units, t.method
        from marts.forecast_backtest_daily as t
        inner join (select distinct channel, method from marts.forecast_accuracy where is_selected) as k
            on k.channel = t.channel and k.method = t.method
        order by t.channel, t.date""")
    outlook = rows(con, """
        select channel, min(method) as method, min(origin_date) as origin_date,
               sum(case when horizon_days <= 7 then forecast_units else 0 end) as next_7_days_units,
               sum(forecast_units) as next_28_days_units, count(distinct sku) as skus
        from marts.demand_forecast_daily group by channel order by channel""")
    return {"accuracy": accuracy, "notes": notes, "backtest": backtest, "outlook": outlook}


def forecast_chart(backtest: list[dict], colours: dict[str, str], names: dict[str, str]):
    """Actual demand (solid) and the forecast made at the latest backtest origin (dashed), per channel."""
    import plotly.graph_objects as go

    fig = go.Figure()
    channels = sorted({r["channel"] for r in backtest}, key=lambda c: list(colours).index(c) if c in colours else 99)
    for ch in channels:
        series = [r for r in backtest if r["channel"] == ch]
        colour, name = colours.get(ch, "#52606d"), names.get(ch, ch)
        days = [r["date"] for r in series]
        fig.add_trace(go.Scatter(x=days, y=[None if r["actual_units"] is None else round_money(r["actual_units"])
                                            for r in series],
                                 mode="lines", name=f"{name}: actual", legendgroup=ch, line=dict(color=colour),
                                 hovertemplate="%{x|%a %d %b}: %{y:,.1f} units"))
        fig.add_trace(go.Scatter(x=days, y=[round_money(r["forecast_units"]) for r in series], mode="lines",
                                 name=f"{name}: forecast ({series[0]['method']})", legendgroup=ch,
                                 line=dict(color=colour, dash="dash"), hovertemplate="%{x|%a %d %b}: %{y:,.1f} units"))
    origin = min((r["date"] for r in backtest), default=None)
    fig.update_layout(title="Demand: forecast made 28 days ago (dashed) vs actual (solid), units per day"
                      + (f" from {origin:%d %b %Y}" if origin else ""), height=460,
                      yaxis=dict(title=dict(text="units"), tickformat=",.0f"), xaxis=dict(title=dict(text="day")))
    return fig
