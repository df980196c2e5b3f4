-- inventory_health_rollup_daily: the company's stock of a SKU and day is the sum over the
-- system-of-record locations of inventory_health_daily (mirrors excluded), and so is its dead stock value.
with company as (
    select sku, date, on_hand, stock_value, dead_stock_value
    from {{ ref('inventory_health_rollup_daily') }}
    where scope = 'company'
),

locations as (
    select sku, date, sum(on_hand) as on_hand, sum(stock_value) as stock_value, sum(dead_stock_value) as dead_stock_value
    from {{ ref('inventory_health_daily') }}
    where is_system_of_record
    group by sku, date
)

select coalesce(c.sku, l.sku) as sku, coalesce(c.date, l.date) as date
from company as c
full outer join locations as l on l.sku = c.sku and l.date = c.date
where c.sku is null or l.sku is null
    or c.on_hand <> l.on_hand
    or coalesce(c.stock_value, 0) <> coalesce(l.stock_value, 0)
    or c.dead_stock_value <> l.dead_stock_value

-- reads several models: Dagster shows it as a check of the one it verifies
{{ config(meta={'dagster': {'ref': {'name': 'inventory_health_rollup_daily'}}}) }}
