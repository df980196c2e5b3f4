"""The demand history the forecasts learn from, read from the phase-1 tables of the build database.

One row per channel × SKU × day from the channel's first sale to the last closed day: units sold
(non-cancelled order lines), whether the SKU was sold out for the channel that day (a system-of-record
stock location serving the channel had nothing sellable: intermediate.int_inventory_location_daily ×
seeds/inventory_locations.csv) and whether it was on promotion (marts.promo_periods). A sold-out or
promotion day is *masked*: its units say nothing about the baseline demand (zero sales while sold
out are not zero demand; a promotion's lift is not the everyday rate).

The models forecast each channel's daily demand (`channel_demand`): the units of the unmasked SKU-days
scaled up by the share of demand those SKUs carry, so a masked SKU-day counts at its usual share
instead of at what it sold. A channel's forecast is then split across its SKUs by their recent rates
on unmasked days (`sku_shares`): top-down forecasting (one model per channel, not per sparse SKU series).
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd

MIN_USABLE_SHARE = 0.5  # a channel-day whose unmasked SKUs carry less demand than this is unknown (NaN)
SHARE_WINDOW_DAYS = 56  # the SKUs' recent rates: the last 8 weeks

HISTORY_SQL = """
with lines as (
    select channel, sku, order_date as date, sum(units) as units
    from marts.fct_order_lines
    where not is_cancelled and sku is not null and order_date <= $last_day
    group by channel, sku, order_date
),

pairs as (select distinct channel, sku from lines),

first_days as (select channel, min(date) as first_day from lines group by channel),

days as (
    select f.channel, cast(d.day as date) as date
    from first_days as f, unnest(generate_series(f.first_day, $last_day, interval 1 day)) as d(day)
),

stockouts as (
    select l.channel, d.sku, d.date, bool_or(d.is_stockout) as is_stockout
    from intermediate.int_inventory_location_daily as d
    inner join config.inventory_locations as l on l.location = d.location and l.is_system_of_record
    group by l.channel, d.sku, d.date
),

promos as (
    select distinct p.channel, p.sku, cast(d.day as date) as date
    from marts.promo_periods as p, unnest(generate_series(p.promo_start, p.promo_end, interval 1 day)) as d(day)
)

select
    d.channel, p.sku, d.date,
    coalesce(l.units, 0) as units,
    coalesce(s.is_stockout, false) as is_stockout,
    pr.date is not null as is_promo
from days as d
inner join pairs as p on p.channel = d.channel
left join lines as l on l.channel = d.channel and l.sku = p.sku and l.date = d.date
left join stockouts as s on s.channel = d.channel and s.sku = p.sku and s.date = d.date
left join promos as pr on pr.channel = d.channel and pr.sku = p.sku and pr.date = d.date
order by d.channel, p.sku, d.date
"""


def load_history(con: duckdb.DuckDBPyConnection, last_day: date) -> pd.DataFrame:
    """channel, sku, date, units, is_stockout, is_promo, is_masked for every channel × SKU × day."""
    frame = con.execute(HISTORY_SQL, {"last_day": last_day}).df()
    frame["date"] = pd.to_datetime(frame["date"])
    frame["units"] = frame["units"].astype(float)
    frame["is_masked"] = frame["is_stockout"] | frame["is_promo"]
    return frame


def sku_shares(channel_history: pd.DataFrame, origin: pd.Timestamp, mask: bool = True,
               window_days: int = SHARE_WINDOW_DAYS) -> pd.Series:
    """Each SKU's share of the channel's demand: its units per unmasked day over the window to the
    origin (every day when `mask` is off), normalised to sum to 1. A SKU with no unmasked day in
    the window borrows its rate from its whole history to the origin."""
    past = channel_history[channel_history["date"] <= origin]
    recent = past[past["date"] > origin - pd.Timedelta(days=window_days)]
    rates = _rates(recent, mask)
    missing = rates.index[rates.isna()]
    if len(missing):
        rates.loc[missing] = _rates(past[past["sku"].isin(missing)], mask).reindex(missing)
    rates = rates.fillna(0.0)
    total = rates.sum()
    return rates / total if total > 0 else rates


def _rates(frame: pd.DataFrame, mask: bool) -> pd.Series:
    usable = frame[~frame["is_masked"]] if mask else frame
    rates = usable.groupby("sku")["units"].mean()
    return rates.reindex(sorted(frame["sku"].unique()))


def channel_demand(channel_history: pd.DataFrame, shares: pd.Series, mask: bool = True) -> pd.Series:
    """The channel's daily demand: the unmasked SKU-days' units ÷ the share of demand those SKUs
    carry (NaN when less than MIN_USABLE_SHARE of it is unmasked). Without `mask`, the units sold."""
    # each row's SKU share looked up by reindexing (the values mapping gave, without pandas casting
    # them back through the SKUs' string type); astype: the shares of a channel with no history yet
    # at an early backtest origin are an empty string column, and the division below then fails
    share = shares.astype("float64").reindex(channel_history["sku"].to_numpy()).to_numpy()
    frame = channel_history.assign(share=np.where(np.isnan(share), 0.0, share))
    if not mask:
        return frame.groupby("date")["units"].sum().asfreq("D")
    usable = frame[~frame["is_masked"]]
    units = usable.groupby("date")["units"].sum()
    covered = usable.groupby("date")["share"].sum()
    dates = pd.DatetimeIndex(np.sort(frame["date"].unique()))
    demand = (units / covered).reindex(dates)
    demand[covered.reindex(dates).fillna(0.0) < MIN_USABLE_SHARE] = np.nan
    return demand.asfreq("D")


def fill_gaps(demand: pd.Series) -> pd.Series:
    """The models need a complete series: an unknown day takes the mean of the known days of the
    same weekday (the weekly pattern kept), else the mean of all known days, else 0."""
    weekday_mean = demand.groupby(demand.index.day_of_week).transform("mean")
    return demand.fillna(weekday_mean).fillna(demand.mean()).fillna(0.0)
