-- The sales lost to stockouts, estimated from the SKU's own velocity before it ran out: one row per
-- stockout day of a system-of-record location, per channel the location serves.
-- velocity = the channel's units of the SKU in the 28 days before the episode's first day ÷ their
-- history days; lost_units = max(0, velocity − units the channel still sold that day);
-- lost_sales_value = lost_units × the channel's average net price (net sales ÷ units) of those
-- same 28 days, rounded to cents half away from zero on exact integers.
-- Rules: docs/metrics.md "Inventory health".

with stockouts as (
    select location, sku, date, stockout_started_on
    from {{ ref('int_inventory_location_daily') }}
    where is_stockout and is_system_of_record
),

pre as (
    -- the demand of the day before each episode began
    select
        s.location,
        s.sku,
        s.date,
        s.stockout_started_on,
        d.channel,
        day_d.units as units_sold,
        coalesce(pre_d.units_28d, 0) as pre_units,
        coalesce(pre_d.net_sales_28d, 0) as pre_net_sales,
        coalesce(pre_d.history_days, 0) as pre_history_days
    from stockouts as s
    inner join (select distinct location, channel from {{ ref('inventory_locations') }}) as d
        on d.location = s.location
    left join {{ ref('int_inventory_demand') }} as day_d
        on day_d.location = s.location and day_d.channel = d.channel and day_d.sku = s.sku and day_d.date = s.date
    left join {{ ref('int_inventory_demand') }} as pre_d
        on pre_d.location = s.location and pre_d.channel = d.channel and pre_d.sku = s.sku
        and pre_d.date = cast({{ dbt.dateadd('day', -1, 's.stockout_started_on') }} as date)
)

select
    location,
    channel,
    sku,
    date,
    stockout_started_on,
    cast(coalesce(units_sold, 0) as bigint) as units_sold,
    cast(pre_units as bigint) as pre_stockout_units_28d,
    cast(pre_history_days as bigint) as pre_stockout_history_days,
    case when pre_history_days > 0 then cast(pre_units as double) / pre_history_days else 0 end
        as velocity_units_per_day,
    case when pre_history_days > 0
        then greatest(0, cast(pre_units as double) / pre_history_days - coalesce(units_sold, 0)) else 0 end
        as lost_units,
    cast(case
        when pre_history_days > 0 and pre_units > 0 and pre_units - pre_history_days * coalesce(units_sold, 0) > 0
            then cast({{ div_round_half_away(
                '(pre_units - pre_history_days * coalesce(units_sold, 0)) * ' ~ to_cents('pre_net_sales'),
                'pre_history_days * pre_units') }} as decimal(18, 0)) * 0.01
        else 0
    end as decimal(18, 2)) as lost_sales_value
from pre
