-- Inventory KPIs per calendar month and scope (each channel, and the company), from the
-- system-of-record locations: stockout rate, days on hand, turnover, sell-through, dead stock and the
-- sales lost to stockouts. Ratios are recomputed from the month's sums, never averaged.
-- docs/metrics.md "Inventory health".

with scope_locations as (
    select distinct scope, scope_key, location from {{ ref('int_inventory_scopes') }}
),

scope_channels as (
    select distinct scope, scope_key, served_channel as channel from {{ ref('int_inventory_scopes') }}
),

health as (
    select s.scope, s.scope_key, h.*, cast({{ dbt.date_trunc('month', 'h.date') }} as date) as month
    from {{ ref('inventory_health_daily') }} as h
    inner join scope_locations as s on s.location = h.location
),

stock as (
    select
        scope, scope_key, month,
        count(distinct date) as snapshot_days,
        max(date) as closing_date,
        sum(case when is_active then 1 else 0 end) as active_sku_days,
        sum(case when is_stockout then 1 else 0 end) as stockout_sku_days,
        sum(on_hand) as on_hand_sum,
        sum(stock_value) as stock_value_sum,
        sum(units_received) as units_received
    from health
    group by scope, scope_key, month
),

closing as (
    select
        h.scope, h.scope_key, h.month,
        sum(h.on_hand) as closing_on_hand,
        sum(h.stock_value) as closing_stock_value,
        sum(case when h.is_dead_stock then 1 else 0 end) as dead_stock_skus,
        sum(h.dead_stock_value) as dead_stock_value
    from health as h
    inner join stock as s on s.scope = h.scope and s.scope_key = h.scope_key and s.month = h.month
        and s.closing_date = h.date
    group by h.scope, h.scope_key, h.month
),

channel_demand as (
    select channel, sku, date, max(units) as units, max(cogs) as cogs
    from {{ ref('int_inventory_demand') }}
    group by channel, sku, date
),

demand as (
    select
        s.scope, s.scope_key,
        cast({{ dbt.date_trunc('month', 'd.date') }} as date) as month,
        count(distinct d.date) as demand_days,
        sum(d.units) as units_sold,
        sum(d.cogs) as cogs
    from channel_demand as d
    inner join scope_channels as s on s.channel = d.channel
    group by s.scope, s.scope_key, cast({{ dbt.date_trunc('month', 'd.date') }} as date)
),

lost as (
    select 'channel' as scope, channel as scope_key, cast({{ dbt.date_trunc('month', 'date') }} as date) as month,
           sum(lost_units) as lost_units, sum(lost_sales_value) as lost_sales_value
    from {{ ref('int_inventory_stockouts') }}
    group by channel, cast({{ dbt.date_trunc('month', 'date') }} as date)
    union all
    select 'company', 'company', cast({{ dbt.date_trunc('month', 'date') }} as date),
           sum(lost_units), sum(lost_sales_value)
    from {{ ref('int_inventory_stockouts') }}
    group by cast({{ dbt.date_trunc('month', 'date') }} as date)
)

select
    s.month,
    s.scope,
    s.scope_key,
    cast(s.snapshot_days as bigint) as snapshot_days,
    cast(s.active_sku_days as bigint) as active_sku_days,
    cast(s.stockout_sku_days as bigint) as stockout_sku_days,
    {{ count_rate('s.stockout_sku_days', 's.active_sku_days') }} as stockout_rate,
    cast(s.on_hand_sum as double) / s.snapshot_days as avg_on_hand_units,
    cast(coalesce(d.units_sold, 0) as bigint) as units_sold,
    cast(coalesce(d.demand_days, 0) as bigint) as demand_days,
    case when d.units_sold > 0
        then (cast(s.on_hand_sum as double) / s.snapshot_days) / (cast(d.units_sold as double) / d.demand_days) end
        as days_on_hand,
    cast(s.units_received as bigint) as units_received,
    {{ count_rate('coalesce(d.units_sold, 0)', 's.units_received') }} as sell_through,
    cast(coalesce(d.cogs, 0) as decimal(18, 2)) as cogs,
    cast(s.stock_value_sum / s.snapshot_days as decimal(18, 2)) as avg_stock_value,
    case when s.stock_value_sum > 0
        then cast(coalesce(d.cogs, 0) as double) / (cast(s.stock_value_sum as double) / s.snapshot_days) end
        as inventory_turnover,
    s.closing_date,
    cast(c.closing_on_hand as bigint) as closing_on_hand,
    cast(c.closing_stock_value as decimal(18, 2)) as closing_stock_value,
    cast(c.dead_stock_skus as bigint) as dead_stock_skus,
    cast(c.dead_stock_value as decimal(18, 2)) as dead_stock_value,
    coalesce(l.lost_units, 0) as lost_units_est,
    cast(coalesce(l.lost_sales_value, 0) as decimal(18, 2)) as lost_sales_value_est
from stock as s
left join closing as c on c.scope = s.scope and c.scope_key = s.scope_key and c.month = s.month
left join demand as d on d.scope = s.scope and d.scope_key = s.scope_key and d.month = s.month
left join lost as l on l.scope = s.scope and l.scope_key = s.scope_key and l.month = s.month
