-- Demand drawn on each stock location, per channel it serves: one row per (location, channel
-- served, SKU stocked there) and every day from the first sale or snapshot to the last snapshot,
-- zeros included, with the day's units, net sales (gross − discounts) and COGS of the channel's
-- non-cancelled order lines (order date) and their trailing 28- and 90-day sums.
-- `history_days` = the days of sales data in the trailing 28-day window (28 once the warehouse has
-- 28 days of sales), the divisor of the average daily units. Rules: docs/metrics.md "Inventory health".

with order_lines as (
    select
        channel,
        sku,
        order_date as date,
        sum(units) as units,
        sum(gross_sales_rc - discounts_rc) as net_sales,
        sum(cogs_rc) as cogs
    from {{ ref('int_order_lines') }}
    where not is_cancelled and sku is not null
    group by channel, sku, order_date
),

sales_start as (
    select min(date) as first_sale_date from order_lines
),

served as (
    select distinct location, channel from {{ ref('inventory_locations') }}
),

pairs as (
    select distinct location, sku from {{ ref('int_inventory_positions') }}
),

bounds as (
    select
        least(min(p.date), coalesce(max(s.first_sale_date), min(p.date))) as first_day,
        max(p.date) as last_day
    from {{ ref('int_inventory_positions') }} as p
    cross join sales_start as s
),

days as (
    {{ date_spine('bounds') }}
),

daily as (
    select
        p.location,
        s.channel,
        p.sku,
        d.date,
        cast(coalesce(o.units, 0) as bigint) as units,
        cast(coalesce(o.net_sales, 0) as decimal(18, 2)) as net_sales,
        cast(coalesce(o.cogs, 0) as decimal(18, 2)) as cogs
    from pairs as p
    inner join served as s on s.location = p.location
    cross join days as d
    left join order_lines as o on o.channel = s.channel and o.sku = p.sku and o.date = d.date
)

select
    daily.location,
    daily.channel,
    daily.sku,
    daily.date,
    daily.units,
    daily.net_sales,
    daily.cogs,
    cast(sum(daily.units) over w28 as bigint) as units_28d,
    cast(sum(daily.net_sales) over w28 as decimal(18, 2)) as net_sales_28d,
    cast(sum(daily.cogs) over w28 as decimal(18, 2)) as cogs_28d,
    cast(sum(daily.units) over w90 as bigint) as units_90d,
    cast(greatest(0, least(28, coalesce({{ dbt.datediff('s.first_sale_date', 'daily.date', 'day') }} + 1, 0)))
         as bigint) as history_days,
    cast(greatest(0, coalesce({{ dbt.datediff('s.first_sale_date', 'daily.date', 'day') }} + 1, 0)) as bigint)
        as sales_history_days
from daily
cross join sales_start as s
window
    w28 as (partition by daily.location, daily.channel, daily.sku order by daily.date
            rows between 27 preceding and current row),
    w90 as (partition by daily.location, daily.channel, daily.sku order by daily.date
            rows between 89 preceding and current row)
