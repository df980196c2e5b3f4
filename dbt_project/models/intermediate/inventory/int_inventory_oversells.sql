-- Oversell incidents: every non-cancelled order line accepted on a channel while the stock pool it
-- draws on was already empty — the system-of-record location serving the channel had 0 sellable
-- units of the SKU at the previous day's close and still 0 at the order day's close (nothing arrived
-- that day). What the channel's own system showed at the previous close (the Shopify mirror) is kept:
-- it is why the order was accepted. Rules: docs/metrics.md "Inventory health".

with served as (
    select distinct location, channel, stock_pool
    from {{ ref('inventory_locations') }}
    where is_system_of_record
),

mirrors as (
    select stock_pool, location, sku, date, sellable
    from {{ ref('int_inventory_positions') }}
    where not is_system_of_record
)

select
    o.order_line_id,
    o.channel,
    o.order_id,
    o.sku,
    o.order_date,
    cast(o.units as bigint) as units,
    s.location,
    s.stock_pool,
    cast(prev.sellable as bigint) as previous_close_sellable,
    cast(cur.sellable as bigint) as close_sellable,
    cast(max(m.sellable) as bigint) as channel_system_sellable
from {{ ref('int_order_lines') }} as o
inner join served as s on s.channel = o.channel
inner join {{ ref('int_inventory_positions') }} as cur
    on cur.location = s.location and cur.sku = o.sku and cur.date = o.order_date
inner join {{ ref('int_inventory_positions') }} as prev
    on prev.location = s.location and prev.sku = o.sku
    and prev.date = cast({{ dbt.dateadd('day', -1, 'o.order_date') }} as date)
left join mirrors as m
    on m.stock_pool = s.stock_pool and m.sku = o.sku and m.date = prev.date
where not o.is_cancelled and prev.sellable = 0 and cur.sellable = 0
group by o.order_line_id, o.channel, o.order_id, o.sku, o.order_date, o.units, s.location, s.stock_pool,
         prev.sellable, cur.sellable
