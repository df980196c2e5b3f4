-- Inventory health rolled up per SKU × scope × day: scope `channel` (scope_key = the channel: the
-- system-of-record locations that serve it) and `company` (every system-of-record location).
-- Stock is summed over the scope's locations, demand over the channels those locations serve (each
-- channel once); lost sales are the scope channel's own (company: all). docs/metrics.md "Inventory health".

with scope_locations as (
    select distinct scope, scope_key, location from {{ ref('int_inventory_scopes') }}
),

scope_channels as (
    select distinct scope, scope_key, served_channel as channel from {{ ref('int_inventory_scopes') }}
),

stock as (
    select
        s.scope,
        s.scope_key,
        h.sku,
        h.date,
        count(*) as locations,
        sum(h.on_hand) as on_hand,
        sum(h.sellable) as sellable,
        sum(h.inbound) as inbound,
        sum(h.units_received) as units_received,
        sum(h.stock_value) as stock_value,
        sum(h.dead_stock_value) as dead_stock_value
    from {{ ref('inventory_health_daily') }} as h
    inner join scope_locations as s on s.location = h.location
    group by s.scope, s.scope_key, h.sku, h.date
),

channel_demand as (
    select
        channel, sku, date,
        max(units) as units, max(units_28d) as units_28d, max(units_90d) as units_90d,
        max(history_days) as history_days, max(sales_history_days) as sales_history_days
    from {{ ref('int_inventory_demand') }}
    group by channel, sku, date
),

demand as (
    select
        s.scope, s.scope_key, d.sku, d.date,
        sum(d.units) as units_sold, sum(d.units_28d) as units_sold_28d, sum(d.units_90d) as units_sold_90d,
        max(d.history_days) as history_days, max(d.sales_history_days) as sales_history_days
    from channel_demand as d
    inner join scope_channels as s on s.channel = d.channel
    group by s.scope, s.scope_key, d.sku, d.date
),

lost as (
    select 'channel' as scope, channel as scope_key, sku, date,
           sum(lost_units) as lost_units, sum(lost_sales_value) as lost_sales_value
    from {{ ref('int_inventory_stockouts') }}
    group by channel, sku, date
    union all
    select 'company', 'company', sku, date, sum(lost_units), sum(lost_sales_value)
    from {{ ref('int_inventory_stockouts') }}
    group by sku, date
)

select
    st.date,
    st.scope,
    st.scope_key,
    st.sku,
    cast(st.locations as bigint) as locations,
    cast(st.on_hand as bigint) as on_hand,
    cast(st.sellable as bigint) as sellable,
    cast(st.inbound as bigint) as inbound,
    cast(st.units_received as bigint) as units_received,
    cast(coalesce(d.units_sold, 0) as bigint) as units_sold,
    cast(coalesce(d.units_sold_28d, 0) as bigint) as units_sold_28d,
    cast(coalesce(d.history_days, 0) as bigint) as history_days,
    {{ count_rate('d.units_sold_28d', 'd.history_days') }} as avg_daily_units_28d,
    case when d.units_sold_28d > 0 then cast(st.on_hand as double) * d.history_days / d.units_sold_28d end
        as days_on_hand,
    cast(st.stock_value as decimal(18, 2)) as stock_value,
    (st.sellable = 0 and (st.on_hand > 0 or st.inbound > 0 or coalesce(d.units_sold_28d, 0) > 0)) as is_stockout,
    (st.on_hand > 0 and coalesce(d.units_sold_90d, 0) = 0 and coalesce(d.sales_history_days, 0) >= 90) as is_dead_stock,
    cast(st.dead_stock_value as decimal(18, 2)) as dead_stock_value,
    coalesce(l.lost_units, 0) as lost_units_est,
    cast(coalesce(l.lost_sales_value, 0) as decimal(18, 2)) as lost_sales_value_est
from stock as st
left join demand as d on d.scope = st.scope and d.scope_key = st.scope_key and d.sku = st.sku and d.date = st.date
left join lost as l on l.scope = st.scope and l.scope_key = st.scope_key and l.sku = st.sku and l.date = st.date
