"""Price elasticity of demand per channel × SKU, channel × category and channel, from the build's marts.

`price_elasticity(con)` reads the build database (marts.fct_order_lines, marts.dim_product,
intermediate.int_inventory_location_daily, config.inventory_locations: all built before the
forecast phase) and returns one row per channel × subject. Dagster-free: the forecast phase calls
it and writes the table as source `forecasts.price_elasticity`; the dbt mart `price_elasticity`
(dbt_project/models/marts/forecast/) publishes it.

Columns of the returned table (the contract of `forecasts.price_elasticity`):
- channel        varchar  sales channel (dim_channel.channel)
- level          varchar  'sku' (one SKU), 'category' (the SKUs of one product pooled) or 'channel'
                          (every category of the channel pooled, one level per category)
- subject        varchar  the SKU (level sku), the category (level category), 'all SKUs' (channel)
- category       varchar  the product the SKU belongs to: its name before " - " (Shopify's
                          "Product - Variant" line-item name), else the SKU itself; null at level channel
- currency       varchar  currency of the prices used (the channel × SKU's main currency)
- status         varchar  'estimated' or 'not_enough_variation' (estimates are null then)
- elasticity     double   % change in units for a 1% change in realised unit price
- std_error      double   its standard error
- ci80_low, ci80_high, ci95_low, ci95_high   double   its 80% and 95% confidence intervals
- price_points   integer  distinct price points observed (weekly prices 5% apart or more, held ≥ 2 weeks)
- observations   integer  weeks used in the regression
- units          bigint   units sold in those weeks
- min_unit_price, max_unit_price   double   lowest and highest weekly realised unit price
- first_week, last_week   date   Mondays of the first and last week used
Key: (channel, level, subject).

The model (docs/metrics.md "Price elasticity"): observations are complete Monday–Sunday weeks of
the channel's sales window (every weekday once, so weekly seasonality cancels out of each
observation), in the channel's main currency, leaving out weeks with a stockout at the stock
location serving the channel. Realised unit price = (gross sales − discounts) ÷ units. OLS of
ln(units) on ln(price ÷ the SKU's median price) and a linear trend in weeks (statsmodels); pooled
levels sum the units of a category's SKUs per week (price: their units-weighted log relative
price) and the channel level adds one intercept per category. A week without a sale has no
realised price: it is no observation. Classic OLS standard errors, t intervals.
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from statsmodels.regression.linear_model import OLS  # not statsmodels.api: importing all of it took ~1 s

# Enough variation to estimate from: at least this many price points, each held at least
# MIN_WEEKS_AT_PRICE weeks, over at least MIN_OBSERVATIONS weeks. A price point is a band of
# PRICE_STEP in log price (~5%): the week-to-week noise of customers' own discount codes stays
# inside one band, a repricing or a promotion moves to another.
MIN_PRICE_POINTS, MIN_WEEKS_AT_PRICE, MIN_OBSERVATIONS = 3, 2, 8
PRICE_STEP = 0.05
# ...and a standard deviation of weekly ln price of at least MIN_PRICE_SPREAD: below it the price
# only moved with the customer mix (who used a code, which account bought; in a thin week of 3
# units one discounted line moves the average 5%), not with a price change
MIN_PRICE_SPREAD = 0.045
ESTIMATED, NOT_ENOUGH_VARIATION = "estimated", "not_enough_variation"
ALL_SKUS = "all SKUs"

SCHEMA = pa.schema([
    ("channel", pa.string()), ("level", pa.string()), ("subject", pa.string()), ("category", pa.string()),
    ("currency", pa.string()), ("status", pa.string()), ("elasticity", pa.float64()),
    ("std_error", pa.float64()), ("ci80_low", pa.float64()), ("ci80_high", pa.float64()),
    ("ci95_low", pa.float64()), ("ci95_high", pa.float64()), ("price_points", pa.int32()),
    ("observations", pa.int32()), ("units", pa.int64()), ("min_unit_price", pa.float64()),
    ("max_unit_price", pa.float64()), ("first_week", pa.date32()), ("last_week", pa.date32())])

# Weekly units and realised unit price per channel × SKU in the channel's main currency: complete
# Monday–Sunday weeks inside the channel's sales window (every weekday once: the weekday pattern
# cancels), weeks with a stockout day at the stock location serving the channel left out (a sold-out
# week is not low demand), weeks without a sale have no realised price and are not observations.
WEEKLY_SQL = """
with lines as (
    -- every order line summed to its channel × SKU × currency × week first (what follows joins and
    -- filters those thousands of rows instead of every line; the sums are exact decimals)
    select channel, sku, currency, cast(date_trunc('week', order_date) as date) as week,
           sum(units) as units, sum(gross_sales - discounts) as net,
           min(order_date) as first_day, max(order_date) as last_day
    from marts.fct_order_lines
    where not is_cancelled and units > 0 and sku is not null
    group by all
),
main_currency as (
    select channel, arg_max(currency, units) as currency
    from (select channel, currency, sum(units) as units from lines group by all)
    group by channel
),
windows as (
    select channel, min(first_day) as first_day, max(last_day) as last_day from lines group by channel
),
stockout_weeks as (
    select distinct l.channel, h.sku, cast(date_trunc('week', h.date) as date) as week
    from intermediate.int_inventory_location_daily as h
    join config.inventory_locations as l on l.location = h.location and l.is_system_of_record
    where h.is_stockout
)
select l.channel, l.sku, coalesce(split_part(p.product_name, ' - ', 1), l.sku) as category, l.currency,
       l.week, sum(l.units) as units, sum(l.net) as net
from lines as l
join main_currency as c on c.channel = l.channel and c.currency = l.currency
join windows as w on w.channel = l.channel
left join marts.dim_product as p on p.sku = l.sku
where l.week >= w.first_day
  and l.week + interval 6 day <= w.last_day
  and not exists (select 1 from stockout_weeks as s
                  where s.channel = l.channel and s.sku = l.sku and s.week = l.week)
group by all
order by l.channel, l.sku, l.week
"""


def price_elasticity(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Per channel × SKU, channel × category and channel: the log-log price elasticity of weekly
    units (see the module docstring for the columns and WEEKLY_SQL for the observations)."""
    weeks = con.execute(_with_stockout_source(con, WEEKLY_SQL)).df()
    rows: list[dict] = []
    for channel, ch_weeks in weeks.groupby("channel", sort=True):
        skus = ch_weeks.assign(price=ch_weeks["net"].astype(float) / ch_weeks["units"])
        skus = skus[skus["price"] > 0]
        skus = skus.assign(rel=np.log(skus["price"] / skus.groupby("sku")["price"].transform("median")))
        categories = _category_weeks(skus)
        demand = _other_demand(categories)
        for sku, s in skus.merge(demand, on=["category", "week"], how="left").groupby("sku", sort=True):
            rows.append(_row(channel, "sku", sku, s["category"].iat[0], s, controls=True))
        for cat, c in categories.merge(demand, on=["category", "week"], how="left").groupby("category", sort=True):
            rows.append(_row(channel, "category", cat, cat, c, controls=True))
        rows.append(_row(channel, "channel", ALL_SKUS, None, categories, controls=False))
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def _with_stockout_source(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """Without the stock locations (no inventory feed built) no week is masked."""
    listed = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
    tables = {(schema, name) for schema, name in listed}
    if ("intermediate", "int_inventory_location_daily") in tables and ("config", "inventory_locations") in tables:
        return sql
    start = sql.index("stockout_weeks as (")
    end = sql.index(")\nselect l.channel")
    return sql[:start] + ("stockout_weeks as (select cast(null as varchar) as channel, cast(null as varchar) as sku,"
                          " cast(null as date) as week where false") + sql[end:]


def _category_weeks(skus: pd.DataFrame) -> pd.DataFrame:
    """One row per category × week: units summed over its SKUs, the units-weighted relative log price."""
    weighted = skus.assign(w=skus["rel"] * skus["units"])
    out = weighted.groupby(["category", "week"], as_index=False).agg(
        units=("units", "sum"), net=("net", "sum"), w=("w", "sum"), currency=("currency", "first"))
    return out.assign(rel=out["w"] / out["units"], price=out["net"].astype(float) / out["units"])


def _other_demand(categories: pd.DataFrame) -> pd.DataFrame:
    """ln units of the channel's other categories in the same week: the channel's trend, level
    changes and shocks that week, priced independently of the category (null with no other sale)."""
    total = categories.groupby("week")["units"].transform("sum")
    other = (total - categories["units"]).astype(float)
    return categories[["category", "week"]].assign(other_demand=np.log(other.where(other > 0)))


def _price_points(rel: pd.Series) -> int:
    bands = np.round(rel.to_numpy() / PRICE_STEP)
    _, counts = np.unique(bands, return_counts=True)
    return int((counts >= MIN_WEEKS_AT_PRICE).sum())


def _row(channel: str, level: str, subject: str, category: str | None, obs: pd.DataFrame, *, controls: bool) -> dict:
    points, n = _price_points(obs["rel"]), len(obs)
    row = dict(channel=channel, level=level, subject=subject, category=category, currency=obs["currency"].iat[0],
               status=NOT_ENOUGH_VARIATION, elasticity=None, std_error=None, ci80_low=None, ci80_high=None,
               ci95_low=None, ci95_high=None, price_points=points, observations=n, units=int(obs["units"].sum()),
               min_unit_price=float(obs["price"].min()), max_unit_price=float(obs["price"].max()),
               first_week=obs["week"].min(), last_week=obs["week"].max())
    if points < MIN_PRICE_POINTS or n < MIN_OBSERVATIONS or float(obs["rel"].std()) < MIN_PRICE_SPREAD:
        return row
    fit = _fit(obs, controls)
    if fit is not None:
        row.update(status=ESTIMATED, **fit)
    return row


def _fit(obs: pd.DataFrame, controls: bool) -> dict | None:
    """OLS of ln units on ln relative price and, for one series, the channel's other demand that
    week (a linear trend in weeks where the channel has no other category); pooled over a
    channel's categories, one intercept per category and one per week instead."""
    # numpy arrays rather than frames: the same least squares, without statsmodels' pandas wrapping
    # (the constant first and log price second, as statsmodels' add_constant(has_constant="add") placed them)
    columns = [np.ones(len(obs)), obs["rel"].to_numpy(dtype=float)]
    if not controls:
        for effect in ("category", "week"):
            dummies = pd.get_dummies(obs[effect].astype(str).to_numpy(), drop_first=True, dtype=float)
            columns += [dummies[name].to_numpy() for name in dummies.columns]
    elif obs["other_demand"].notna().all():
        columns.append(obs["other_demand"].to_numpy(dtype=float))
    else:
        weeks = pd.to_datetime(obs["week"])
        columns.append(((weeks - weeks.min()).dt.days / 7.0).to_numpy())
    x = np.asfortranarray(np.column_stack(columns))  # column-major like a frame's values: the same sums
    if len(x) <= x.shape[1] + 1:
        return None  # too few degrees of freedom left for the error
    result = OLS(np.log(obs["units"].to_numpy(dtype=float)), x).fit()
    se = float(result.bse[1])
    if not math.isfinite(se) or se <= 0:
        return None
    ci80, ci95 = result.conf_int(alpha=0.20)[1], result.conf_int(alpha=0.05)[1]
    return dict(elasticity=float(result.params[1]), std_error=se, ci80_low=float(ci80[0]),
                ci80_high=float(ci80[1]), ci95_low=float(ci95[0]), ci95_high=float(ci95[1]))
