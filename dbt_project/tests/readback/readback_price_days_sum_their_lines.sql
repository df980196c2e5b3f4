-- Lines in = lines out, per channel, SKU and order date: int_sku_channel_price_days' lines, units and
-- amounts equal those of fct_order_lines' non-cancelled lines that sold units of a SKU. Returns the
-- channel × SKU × days where they differ (a price point lost, counted twice or left stale by an
-- incremental night). On an incremental night only the days it re-processed are compared
-- (reconciled_dates: both models re-process their window's dates whole); a full build compares every
-- day up to max_date.
with price_days as (
    select
        channel, sku, order_date,
        sum(lines) as lines,
        sum(units) as units,
        sum(gross_sales_rc) as gross_sales_rc,
        sum(discounts_rc) as discounts_rc,
        sum(cogs_rc) as cogs_rc
    from {{ ref('int_sku_channel_price_days') }}
    where {{ reconciled_dates('order_date') }}
    group by channel, sku, order_date
),

order_lines as (
    select
        channel, sku, order_date,
        count(*) as lines,
        sum(units) as units,
        sum(gross_sales_rc) as gross_sales_rc,
        sum(discounts_rc) as discounts_rc,
        sum(cogs_rc) as cogs_rc
    from {{ ref('fct_order_lines') }}
    where not is_cancelled and units > 0 and sku is not null and {{ reconciled_dates('order_date') }}
    group by channel, sku, order_date
)

select
    coalesce(p.channel, l.channel) as channel,
    coalesce(p.sku, l.sku) as sku,
    coalesce(p.order_date, l.order_date) as order_date,
    p.lines as lines_in_price_days,
    l.lines as lines_in_order_lines,
    p.gross_sales_rc as gross_in_price_days,
    l.gross_sales_rc as gross_in_order_lines
from price_days as p
full outer join order_lines as l on l.channel = p.channel and l.sku = p.sku and l.order_date = p.order_date
where coalesce(p.lines, 0) <> coalesce(l.lines, 0)
   or coalesce(p.units, 0) <> coalesce(l.units, 0)
   or coalesce(p.gross_sales_rc, 0) <> coalesce(l.gross_sales_rc, 0)
   or coalesce(p.discounts_rc, 0) <> coalesce(l.discounts_rc, 0)
   or coalesce(p.cogs_rc, 0) <> coalesce(l.cogs_rc, 0)

-- reads two models: Dagster shows it as a check of the one it verifies
{{ config(meta={'dagster': {'ref': {'name': 'int_sku_channel_price_days'}}}) }}
