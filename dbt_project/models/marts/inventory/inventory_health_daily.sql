-- Inventory health per SKU × stock location × snapshot day (docs/metrics.md "Inventory health").
-- Every location of the snapshots is here, system-of-record or mirror (is_system_of_record); the
-- channel and company roll-ups (inventory_health_rollup_daily, inventory_kpis_monthly) count only
-- the system-of-record locations, so a stock pool reported by two systems is counted once.
-- projected_days_of_cover / projected_stockout_date: the sellable units against the night's demand
-- forecast of the channels the location serves (demand_forecast_daily), on the forecast's origin day.

with lead_times as (
    select sku, lead_time_days from {{ ref('replenishment') }} where sku <> '*'
),

default_lead_time as (
    select max(lead_time_days) as lead_time_days from {{ ref('replenishment') }} where sku = '*'
),

lost as (
    select location, sku, date, sum(lost_units) as lost_units, sum(lost_sales_value) as lost_sales_value
    from {{ ref('int_inventory_stockouts') }}
    group by location, sku, date
),

forecast_days as (
    select
        l.location,
        f.sku,
        f.origin_date,
        f.date,
        f.horizon_days,
        sum(f.forecast_units) as units
    from {{ source('forecasts', 'demand_forecast') }} as f
    inner join {{ ref('inventory_locations') }} as l on l.channel = f.channel
    group by l.location, f.sku, f.origin_date, f.date, f.horizon_days
),

forecast_running as (
    select
        *,
        sum(units) over (
            partition by location, sku, origin_date
            order by horizon_days rows between unbounded preceding and current row
        ) as cumulative_units,
        sum(units) over (partition by location, sku, origin_date) as horizon_units,
        count(*) over (partition by location, sku, origin_date) as horizon_days_total
    from forecast_days
),

windows as (
    select
        d.*,
        sum(d.units_received) over w28 as units_received_28d,
        sum(d.stock_value) over w28 as stock_value_sum_28d,
        count(d.stock_value) over w28 as stock_value_days_28d
    from {{ ref('int_inventory_location_daily') }} as d
    window w28 as (partition by d.location, d.sku order by d.day_number range between 27 preceding and current row)
),

-- the first forecast day whose cumulative demand reaches the sellable units
stockout_days as (
    select w.location, w.sku, w.date, min(f.horizon_days) as stockout_horizon
    from windows as w
    inner join forecast_running as f on f.location = w.location and f.sku = w.sku and f.origin_date = w.date
    where f.cumulative_units >= w.sellable and f.cumulative_units > 0
    group by w.location, w.sku, w.date
),

projection as (
    select
        w.location,
        w.sku,
        w.date,
        max(case when f.horizon_days = s.stockout_horizon then f.date end) as projected_stockout_date,
        -- whole days covered, plus the part of the stockout day the last units cover; stock that
        -- outlasts the horizon: sellable ÷ the horizon's average daily forecast
        coalesce(
            max(case when f.horizon_days = s.stockout_horizon
                then f.horizon_days - 1 + (w.sellable - (f.cumulative_units - f.units)) / f.units end),
            max(case when f.horizon_units > 0
                then cast(w.sellable as double) * f.horizon_days_total / f.horizon_units end)
        ) as projected_days_of_cover
    from windows as w
    inner join forecast_running as f on f.location = w.location and f.sku = w.sku and f.origin_date = w.date
    left join stockout_days as s on s.location = w.location and s.sku = w.sku and s.date = w.date
    group by w.location, w.sku, w.date
)

select
    w.date,
    w.location,
    w.sku,
    w.system,
    w.stock_pool,
    w.is_shared_pool,
    w.is_system_of_record,
    w.on_hand,
    w.sellable,
    w.inbound,
    w.units_received,
    cast(w.units_received_28d as bigint) as units_received_28d,
    w.units_sold,
    w.units_sold_28d,
    w.history_days,
    {{ count_rate('w.units_sold_28d', 'w.history_days') }} as avg_daily_units_28d,
    case when w.units_sold_28d > 0 then cast(w.on_hand as double) * w.history_days / w.units_sold_28d end
        as days_on_hand,
    cast(coalesce(lt.lead_time_days, dl.lead_time_days) as integer) as lead_time_days,
    -- days_on_hand < lead time, decided on integers: on_hand × history_days < lead × units_28d
    coalesce(w.units_sold_28d > 0
             and w.on_hand * w.history_days < coalesce(lt.lead_time_days, dl.lead_time_days) * w.units_sold_28d, false)
        as is_below_lead_time,
    {{ count_rate('w.units_sold_28d', 'w.units_received_28d') }} as sell_through_28d,
    w.unit_cost_rc,
    w.stock_value,
    -- the average rounded half away on whole cents exactly (an average in double can miss the half)
    {{ money_per('w.stock_value_sum_28d', 'w.stock_value_days_28d') }} as avg_stock_value_28d,
    w.cogs_28d,
    -- cogs ÷ the unrounded average stock value
    case when w.stock_value_sum_28d > 0
        then cast(w.cogs_28d as double) * w.stock_value_days_28d / cast(w.stock_value_sum_28d as double) end
        as inventory_turnover_28d,
    w.is_active,
    w.is_stockout,
    w.stockout_started_on,
    w.units_sold_90d,
    (w.on_hand > 0 and w.units_sold_90d = 0 and w.sales_history_days >= 90) as is_dead_stock,
    cast(case when w.on_hand > 0 and w.units_sold_90d = 0 and w.sales_history_days >= 90 then w.stock_value else 0 end
         as decimal(18, 2)) as dead_stock_value,
    coalesce(l.lost_units, 0) as lost_units_est,
    cast(coalesce(l.lost_sales_value, 0) as decimal(18, 2)) as lost_sales_value_est,
    pr.projected_days_of_cover,
    pr.projected_stockout_date
from windows as w
left join lead_times as lt on lt.sku = w.sku
cross join default_lead_time as dl
left join lost as l on l.location = w.location and l.sku = w.sku and l.date = w.date
left join projection as pr on pr.location = w.location and pr.sku = w.sku and pr.date = w.date
