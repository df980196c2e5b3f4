-- One row per stock snapshot (location × SKU × day) with the location's configuration
-- (seeds/inventory_locations.csv), the sellable count (on hand when the source reports none), the
-- day number used by trailing windows, and the stock value at the unit cost effective on the
-- snapshot day (int_cogs_effective), in the reporting currency. Rules: docs/metrics.md "Inventory health".

with locations as (
    select
        location,
        max(system) as system,
        max(stock_pool) as stock_pool,
        max(case when is_shared_pool then 1 else 0 end) = 1 as is_shared_pool,
        max(case when is_system_of_record then 1 else 0 end) = 1 as is_system_of_record
    from {{ ref('inventory_locations') }}
    group by location
)

select
    s.date,
    {{ dbt.datediff("cast('1970-01-01' as date)", 's.date', 'day') }} as day_number,
    s.location,
    s.sku,
    l.system,
    l.stock_pool,
    l.is_shared_pool,
    l.is_system_of_record,
    cast(s.on_hand as bigint) as on_hand,
    cast(coalesce(s.sellable, s.on_hand) as bigint) as sellable,
    cast(coalesce(s.inbound, 0) as bigint) as inbound,
    s.snapshot_at,
    s._loaded_at as loaded_at,
    c.unit_cost,
    c.cost_currency,
    {{ to_reporting('c.unit_cost', fx_rate('c.cost_currency', 'fx.rate')) }} as unit_cost_rc,
    {{ to_reporting('s.on_hand * c.unit_cost', fx_rate('c.cost_currency', 'fx.rate')) }} as stock_value
from {{ ref('stg_inventory__snapshots') }} as s
left join locations as l on l.location = s.location
left join {{ ref('int_cogs_effective') }} as c
    on c.sku = s.sku and s.date >= c.effective_from
    and (c.effective_to is null or s.date < c.effective_to)
left join {{ ref('int_fx_rates') }} as fx
    on fx.currency = c.cost_currency and fx.rate_date = s.date
