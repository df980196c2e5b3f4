-- Oversell incidents, one row per order line: accepted on a channel while the stock pool it draws
-- on was already empty (the system-of-record location had 0 sellable units at the previous day's
-- close and still 0 at the order day's close), with what the channel's own system showed.
-- docs/metrics.md "Inventory health".

select
    order_line_id,
    channel,
    order_id,
    sku,
    order_date,
    units,
    location,
    stock_pool,
    previous_close_sellable,
    close_sellable,
    channel_system_sellable
from {{ ref('int_inventory_oversells') }}
