-- The same SKU's sellable quantity as reported by each system on the same day: every location that
-- mirrors a stock pool (e.g. Shopify's "Main warehouse") against the pool's system of record (the
-- 3PL that holds the units), with the difference, whether it is beyond tolerance (vars
-- inventory_mismatch_tolerance_units and _pct: more than N units AND more than P of the system of
-- record's count), how many consecutive days it has been, and the pool's oversell incidents that
-- day. docs/metrics.md "Inventory health".

with positions as (
    select * from {{ ref('int_inventory_positions') }}
),

pairs as (
    select
        m.date,
        m.day_number,
        m.sku,
        m.stock_pool,
        m.location,
        m.system,
        r.location as reference_location,
        r.system as reference_system,
        m.sellable,
        r.sellable as reference_sellable,
        m.sellable - r.sellable as difference,
        m.snapshot_at,
        r.snapshot_at as reference_snapshot_at
    from positions as m
    inner join positions as r
        on r.stock_pool = m.stock_pool and r.sku = m.sku and r.date = m.date and r.is_system_of_record
    where not m.is_system_of_record
),

judged as (
    select
        *,
        abs(difference) > {{ var('inventory_mismatch_tolerance_units') }}
            and abs(difference)
                > cast({{ var('inventory_mismatch_tolerance_pct') }} as decimal(9, 4)) * reference_sellable
            as is_beyond_tolerance
    from pairs
),

islands as (
    select
        *,
        day_number - row_number() over (partition by location, sku, is_beyond_tolerance order by date) as island
    from judged
),

runs as (
    select
        *,
        case when is_beyond_tolerance
            then min(date) over (partition by location, sku, is_beyond_tolerance, island) end as mismatch_started_on
    from islands
),

oversells as (
    select stock_pool, sku, order_date, count(*) as order_lines, sum(units) as units
    from {{ ref('int_inventory_oversells') }}
    group by stock_pool, sku, order_date
)

select
    r.date,
    r.sku,
    r.stock_pool,
    r.location,
    r.system,
    r.reference_location,
    r.reference_system,
    r.sellable,
    r.reference_sellable,
    r.difference,
    abs(r.difference) as abs_difference,
    r.is_beyond_tolerance,
    r.mismatch_started_on,
    cast(case when r.is_beyond_tolerance
        then {{ dbt.datediff('r.mismatch_started_on', 'r.date', 'day') }} + 1 else 0 end as bigint) as mismatch_days,
    r.snapshot_at,
    r.reference_snapshot_at,
    cast({{ dbt.datediff('r.reference_snapshot_at', 'r.snapshot_at', 'minute') }} as bigint) as snapshot_gap_minutes,
    cast(coalesce(o.order_lines, 0) as bigint) as oversell_order_lines,
    cast(coalesce(o.units, 0) as bigint) as oversell_units
from runs as r
left join oversells as o on o.stock_pool = r.stock_pool and o.sku = r.sku and o.order_date = r.date
