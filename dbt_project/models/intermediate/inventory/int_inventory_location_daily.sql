-- Snapshots with the demand drawn on their location: one row per location × SKU × snapshot day,
-- the units sold that day and in the trailing 28 / 90 days on the channels the location serves,
-- units received (what left the inbound pipeline since the previous snapshot), whether the SKU-day
-- is active and stocked out, and which stockout episode it belongs to.
-- Rules: docs/metrics.md "Inventory health".

with demand as (
    select
        location,
        sku,
        date,
        sum(units) as units_sold,
        sum(units_28d) as units_sold_28d,
        sum(units_90d) as units_sold_90d,
        sum(cogs_28d) as cogs_28d,
        max(history_days) as history_days,
        max(sales_history_days) as sales_history_days
    from {{ ref('int_inventory_demand') }}
    group by location, sku, date
),

joined as (
    select
        p.*,
        cast(coalesce(d.units_sold, 0) as bigint) as units_sold,
        cast(coalesce(d.units_sold_28d, 0) as bigint) as units_sold_28d,
        cast(coalesce(d.units_sold_90d, 0) as bigint) as units_sold_90d,
        cast(coalesce(d.cogs_28d, 0) as decimal(18, 2)) as cogs_28d,
        cast(coalesce(d.history_days, 0) as bigint) as history_days,
        cast(coalesce(d.sales_history_days, 0) as bigint) as sales_history_days,
        -- received = the fall of the inbound count since the previous snapshot (a receipt empties
        -- the pipeline into on-hand); 0 on the first snapshot
        cast(greatest(0, coalesce(lag(p.inbound) over (partition by p.location, p.sku order by p.date) - p.inbound, 0))
             as bigint)
            as units_received
    from {{ ref('int_inventory_positions') }} as p
    left join demand as d on d.location = p.location and d.sku = p.sku and d.date = p.date
),

flagged as (
    select
        *,
        (on_hand > 0 or inbound > 0 or units_sold_28d > 0) as is_active,
        (sellable = 0 and (on_hand > 0 or inbound > 0 or units_sold_28d > 0)) as is_stockout
    from joined
),

islands as (
    select
        *,
        -- consecutive stockout days share day_number − their rank among the SKU-location's stockout days
        day_number - row_number() over (partition by location, sku, is_stockout order by date) as island
    from flagged
)

select
    *,
    case when is_stockout then min(date) over (partition by location, sku, is_stockout, island) end
        as stockout_started_on
from islands
