-- How to split a tight SKU's available units across the channels its stock location serves, on the
-- latest snapshot day (as_of_date). A SKU is tight at a system-of-record location when its days on
-- hand are below its replenishment lead time (seeds/replenishment.csv) and it still has sellable
-- units. The split follows the channel-priority rules the user configures (seeds/allocation_priority.csv,
-- or the var `allocation_priority`), as a waterfall of claims, each served in full before the next:
--   1. open orders (ordered in the last 28 days, not shipped by as_of_date) of the channels with
--      reserve_open_orders, by priority;
--   2. each channel's demand over the lead time (its 28-day velocity × lead_time_days, or with the var
--      allocation_demand: forecast, its forecast units per day over the lead time × lead_time_days,
--      from demand_forecast_daily; velocity where the channel × SKU has no forecast), by priority,
--      then the highest contribution per unit, then the channel code;
--   3. anything left over, by velocity share.
-- The exact (fractional) split is rounded to whole units by largest remainder (ties: the better
-- claim rank, then the channel), so the units allocated sum exactly to the available units.
-- docs/metrics.md "Inventory health".

{%- set override = var('allocation_priority', none) %}
{%- set demand_basis = var('allocation_demand', 'velocity') %}
{%- if demand_basis not in ('velocity', 'forecast') %}
    {{ exceptions.raise_compiler_error("var allocation_demand is '" ~ demand_basis ~ "': set it to velocity or forecast") }}
{%- endif %}

with as_of as (
    select max(date) as as_of_date from {{ ref('int_inventory_positions') }}
),

tight as (
    select
        h.date as as_of_date,
        h.location,
        h.stock_pool,
        h.sku,
        h.on_hand,
        h.sellable as available_units,
        h.days_on_hand,
        h.lead_time_days,
        h.history_days
    from {{ ref('inventory_health_daily') }} as h
    inner join as_of as a on a.as_of_date = h.date
    where h.is_system_of_record and h.is_below_lead_time and h.sellable > 0
),

priorities as (
{%- if override %}
    {%- for row in override %}
    select '{{ row["channel"] }}' as channel, {{ row["priority"] | int }} as priority,
           {{ 'true' if row["reserve_open_orders"] in (true, 'true', 'yes', 1) else 'false' }} as reserve_open_orders
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- else %}
    select channel, priority, reserve_open_orders from {{ ref('allocation_priority') }}
{%- endif %}
),

window_lines as (
    select o.*
    from {{ ref('int_order_lines') }} as o
    cross join as_of as a
    where not o.is_cancelled
        and o.order_date <= a.as_of_date
        and o.order_date > cast({{ dbt.dateadd('day', -90, 'a.as_of_date') }} as date)
),

open_orders as (
    select o.channel, o.sku, sum(o.units) as open_units
    from window_lines as o
    cross join as_of as a
    where o.order_date > cast({{ dbt.dateadd('day', -28, 'a.as_of_date') }} as date)
        and (o.shipped_at is null or {{ order_event_date('o.shipped_at', 'o.source') }} > a.as_of_date)
    group by o.channel, o.sku
),

sku_margin as (
    select channel, sku, sum(units) as units, sum(gross_sales_rc - discounts_rc - coalesce(cogs_rc, 0)) as margin
    from window_lines
    group by channel, sku
),

-- the night's forecast per day over the lead time (the cover period), capped at the forecast's horizon
forecast_rates as (
    select f.channel, f.sku, avg(f.forecast_units) as units_per_day
    from {{ source('forecasts', 'demand_forecast') }} as f
    inner join (select distinct sku, lead_time_days from tight) as t on t.sku = f.sku
    where f.horizon_days <= t.lead_time_days
    group by f.channel, f.sku
),

channel_units as (
    select channel, sum(units) as units from window_lines group by channel
),

channel_costs as (
    select p.channel, sum(p.fulfillment_costs + p.payment_fees + p.marketplace_fees) as variable_costs
    from {{ ref('channel_pnl_daily') }} as p
    cross join as_of as a
    where p.date <= a.as_of_date and p.date > cast({{ dbt.dateadd('day', -90, 'a.as_of_date') }} as date)
    group by p.channel
),

inputs as (
    select
        t.*,
        l.channel,
        cast(coalesce(p.priority, 999) as integer) as priority,
        coalesce(p.reserve_open_orders, false) as reserve_open_orders,
        cast(coalesce(d.units_28d, 0) as bigint) as units_28d,
        {%- if demand_basis == 'forecast' %}
        case when fr.units_per_day is not null then 'forecast' else 'velocity' end as demand_basis,
        case when fr.units_per_day is not null then fr.units_per_day
             when t.history_days > 0 then cast(coalesce(d.units_28d, 0) as double) / t.history_days else 0 end
            as velocity_units_per_day,
        case when fr.units_per_day is not null then fr.units_per_day * t.lead_time_days
             when t.history_days > 0
            then cast(coalesce(d.units_28d, 0) as double) * t.lead_time_days / t.history_days else 0 end
            as demand_over_lead_time,
        {%- else %}
        'velocity' as demand_basis,
        case when t.history_days > 0 then cast(coalesce(d.units_28d, 0) as double) / t.history_days else 0 end
            as velocity_units_per_day,
        case when t.history_days > 0
            then cast(coalesce(d.units_28d, 0) as double) * t.lead_time_days / t.history_days else 0 end
            as demand_over_lead_time,
        {%- endif %}
        cast(case when coalesce(p.reserve_open_orders, false) then coalesce(oo.open_units, 0) else 0 end as bigint)
            as open_order_units,
        fr.units_per_day as forecast_units_per_day,
        cast(case when m.units > 0
            then cast(m.margin as double) / m.units
                 - coalesce(cast(c.variable_costs as double) / nullif(cu.units, 0), 0)
        end as decimal(18, 2)) as contribution_per_unit
    from tight as t
    inner join (select distinct location, channel from {{ ref('inventory_locations') }}) as l on l.location = t.location
    left join priorities as p on p.channel = l.channel
    left join {{ ref('int_inventory_demand') }} as d
        on d.location = t.location and d.channel = l.channel and d.sku = t.sku and d.date = t.as_of_date
    left join open_orders as oo on oo.channel = l.channel and oo.sku = t.sku
    left join forecast_rates as fr on fr.channel = l.channel and fr.sku = t.sku
    left join sku_margin as m on m.channel = l.channel and m.sku = t.sku
    left join channel_units as cu on cu.channel = l.channel
    left join channel_costs as c on c.channel = l.channel
),

claims as (
    select location, sku, channel, available_units, 1 as stage, priority, contribution_per_unit,
           cast(open_order_units as double) as claim_units
    from inputs
    where open_order_units > 0
    union all
    select location, sku, channel, available_units, 2 as stage, priority, contribution_per_unit,
           demand_over_lead_time as claim_units
    from inputs
    where demand_over_lead_time > 0
),

ranked as (
    select
        *,
        row_number() over (
            partition by location, sku
            order by stage asc, priority asc, contribution_per_unit desc nulls last, channel asc
        ) as claim_rank,
        coalesce(sum(claim_units) over (
            partition by location, sku
            order by stage asc, priority asc, contribution_per_unit desc nulls last, channel asc
            rows between unbounded preceding and 1 preceding
        ), 0) as claimed_before
    from claims
),

granted as (
    select
        location, sku, channel,
        sum(case when stage = 1 then greatest(0, least(claim_units, available_units - claimed_before)) else 0 end)
            as reserved_units,
        sum(case when stage = 2 then greatest(0, least(claim_units, available_units - claimed_before)) else 0 end)
            as demand_units_granted,
        min(claim_rank) as best_rank,
        min(case when stage = 2 then claim_rank end) as demand_rank
    from ranked
    group by location, sku, channel
),

totals as (
    select location, sku, sum(claim_units) as claimed from claims group by location, sku
),

exact as (
    select
        i.*,
        coalesce(g.reserved_units, 0) as reserved_units,
        coalesce(g.demand_units_granted, 0) as demand_units_granted,
        coalesce(g.best_rank, 999999) as best_rank,
        g.demand_rank,
        greatest(0, i.available_units - coalesce(tt.claimed, 0)) * i.velocity_units_per_day
            / nullif(sum(i.velocity_units_per_day) over (partition by i.location, i.sku), 0) as surplus_units
    from inputs as i
    left join granted as g on g.location = i.location and g.sku = i.sku and g.channel = i.channel
    left join totals as tt on tt.location = i.location and tt.sku = i.sku
),

floored as (
    select
        *,
        round(reserved_units + demand_units_granted + coalesce(surplus_units, 0), 6) as exact_allocation,
        floor(round(reserved_units + demand_units_granted + coalesce(surplus_units, 0), 6)) as floor_units
    from exact
),

remainders as (
    select
        *,
        available_units - sum(floor_units) over (partition by location, sku) as units_left,
        row_number() over (
            partition by location, sku order by exact_allocation - floor_units desc, best_rank asc, channel asc
        ) as remainder_rank
    from floored
),

allocated as (
    select
        *,
        cast(floor_units + case when remainder_rank <= units_left then 1 else 0 end as bigint) as allocated_units
    from remainders
)

select
    as_of_date,
    location,
    stock_pool,
    sku,
    channel,
    cast(available_units as bigint) as available_units,
    cast(on_hand as bigint) as on_hand,
    days_on_hand,
    cast(lead_time_days as integer) as lead_time_days,
    units_28d,
    demand_basis,
    forecast_units_per_day,
    velocity_units_per_day,
    demand_over_lead_time,
    open_order_units,
    contribution_per_unit,
    priority,
    reserve_open_orders,
    cast(best_rank as bigint) as claim_rank,
    reserved_units,
    demand_units_granted,
    exact_allocation,
    allocated_units,
    cast(allocated_units as double) / available_units as allocation_share,
    case when reserved_units > 0
            then 'reserved ' || cast(cast(reserved_units as decimal(18, 1)) as {{ dbt.type_string() }})
                 || ' units for open orders first (priority ' || cast(priority as {{ dbt.type_string() }}) || '); '
         else '' end
    || case when demand_over_lead_time > 0
            then case when demand_basis = 'forecast' then 'forecast ' else '' end
                 || 'demand over the ' || cast(lead_time_days as {{ dbt.type_string() }}) || '-day lead time '
                 || cast(cast(demand_over_lead_time as decimal(18, 1)) as {{ dbt.type_string() }}) || ' units ('
                 || cast(cast(velocity_units_per_day as decimal(18, 2)) as {{ dbt.type_string() }})
                 || '/day), contribution '
                 || coalesce(cast(contribution_per_unit as {{ dbt.type_string() }}), 'unknown') || '/unit, priority '
                 || cast(priority as {{ dbt.type_string() }})
                 || ', claim ' || cast(demand_rank as {{ dbt.type_string() }}) || ': '
                 || case when demand_units_granted >= demand_over_lead_time - 0.000001 then 'fully covered'
                         when demand_units_granted > 0 then 'partly covered ('
                              || cast(cast(demand_units_granted as decimal(18, 1)) as {{ dbt.type_string() }})
                              || ' units)'
                         else 'not covered, the stock went to higher-ranked claims' end
         else 'no sales in the last 28 days' end
    || case when surplus_units > 0
            then '; leftover by velocity share '
                 || cast(cast(surplus_units as decimal(18, 1)) as {{ dbt.type_string() }}) || ' units'
         else '' end
    || '; ' || cast(allocated_units as {{ dbt.type_string() }})
    || ' of ' || cast(available_units as {{ dbt.type_string() }})
    || ' units after rounding to whole units (largest remainder)' as reason
from allocated
