{# The channel readback at one grain ('month' or 'week'): see models/marts/readback/channel_readback_monthly.sql. #}
{% macro channel_readback(grain) -%}
{%- set period = 'month' if grain == 'month' else 'week_start' -%}
{%- set pnl = 'channel_pnl_monthly' if grain == 'month' else 'channel_pnl_weekly' -%}
{%- set step = 'month' if grain == 'month' else 'day' -%}
{%- set back = -1 if grain == 'month' else -7 -%}
{%- set year_back = -12 if grain == 'month' else -364 -%}
with channels as (
    select channel, channel_name, owner, margin_floor_pct
    from {{ ref('dim_channel') }}
    where channel_type <> 'unallocated' and not is_dormant
),

periods as (
    select * from ({{ readback_periods_sql() }}) as p where grain = '{{ grain }}'
),

pnl as (
    select p.*
    from {{ ref(pnl) }} as p
    inner join channels as c on c.channel = p.channel
),

month_days as (
    select month, count(*) as days_in_month from {{ ref('dim_date') }} group by month
),

daily as (
    select
        k.channel,
        d.{{ period }} as period_start,
        k.orders,
        k.sessions,
        k.order_gross_sales,
        k.order_discounts,
        k.order_shipping_income,
        k.revenue_target,
        cast(t.orders_target as double) / md.days_in_month as orders_target,
        case when k.conversion_rate_target > 0
             then cast(t.orders_target as double) / md.days_in_month / k.conversion_rate_target end as sessions_target
    from {{ ref('channel_kpis_daily') }} as k
    inner join {{ ref('dim_date') }} as d on d.date = k.date
    inner join month_days as md on md.month = d.month
    left join {{ ref('stg_finance__channel_targets') }} as t on t.channel = k.channel and t.month = d.month
),

kpis as (
    select
        channel,
        period_start,
        sum(orders) as orders,
        sum(sessions) as sessions,
        sum(order_gross_sales) as order_gross_sales,
        sum(order_discounts) as order_discounts,
        sum(order_shipping_income) as order_shipping_income,
        sum(revenue_target) as revenue_target,
        sum(orders_target) as orders_target,
        sum(sessions_target) as sessions_target
    from daily
    group by channel, period_start
),

flag_text as (
    select
        grain,
        period_start,
        channel,
        count(*) as flag_count,
        {{ dbt.listagg('flag', "','", 'order by flag_priority') }} as flags,
        {{ dbt.listagg('evidence', "'; '", 'order by flag_priority') }} as evidence
    from {{ ref('channel_flags') }}
    where grain = '{{ grain }}'
    group by grain, period_start, channel
),

joined as (
    select
        p.channel,
        c.channel_name,
        c.owner,
        p.{{ period }} as period_start,
        pr.days_in_period,
        pr.covered_days,
        pr.is_complete,
        p.net_revenue,
        p.cm2,
        p.cm3,
        p.cm3_pct,
        p.marketing_spend,
        p.operating_costs,
        p.contribution_after_opex,
        p.revenue_share,
        p.contribution_share,
        p.operating_cost_share,
        cast(c.margin_floor_pct as double) as margin_floor_pct,
        prev.net_revenue as prev_net_revenue,
        prev.contribution_after_opex as prev_contribution_after_opex,
        ly.net_revenue as year_ago_net_revenue,
        ly.contribution_after_opex as year_ago_contribution_after_opex,
        coalesce(k.orders, 0) as orders,
        k.sessions,
        k.order_gross_sales,
        k.order_discounts,
        k.order_shipping_income,
        k.revenue_target,
        k.orders_target,
        k.sessions_target,
        coalesce(f.flag_count, 0) as flag_count,
        f.flags,
        f.evidence
    from pnl as p
    inner join channels as c on c.channel = p.channel
    inner join periods as pr on pr.period_start = p.{{ period }}
    left join pnl as prev
        on prev.channel = p.channel and prev.{{ period }} = cast({{ dbt.dateadd(step, back, 'p.' ~ period) }} as date)
    left join pnl as ly
        on ly.channel = p.channel and ly.{{ period }} = cast({{ dbt.dateadd(step, year_back, 'p.' ~ period) }} as date)
    left join kpis as k on k.channel = p.channel and k.period_start = p.{{ period }}
    left join flag_text as f on f.channel = p.channel and f.period_start = p.{{ period }}
),

drivers as (
    select
        *,
        cast(net_revenue - revenue_target as decimal(18, 2)) as revenue_gap,
        {{ count_rate('revenue_target', 'orders_target') }} as target_value_per_order,
        case when sessions_target > 0 then orders_target / sessions_target end as conversion_rate_target
    from joined
),

effects as (
    select
        *,
        cast(round((orders - orders_target) * target_value_per_order, 2) as decimal(18, 2)) as orders_effect,
        cast(case when sessions > 0 and conversion_rate_target is not null
             then round((orders - conversion_rate_target * sessions) * target_value_per_order, 2) end as decimal(18, 2))
            as conversion_effect
    from drivers
)

select
    channel,
    channel_name,
    owner,
    cast(period_start as date) as {{ period }},
    cast(days_in_period as integer) as days_in_period,
    cast(covered_days as integer) as covered_days,
    is_complete,
    net_revenue,
    cm3,
    cm3_pct,
    contribution_after_opex,
    marketing_spend,
    operating_costs,
    revenue_share,
    contribution_share,
    operating_cost_share,
    margin_floor_pct,
    cm3_pct - margin_floor_pct as margin_vs_floor,
    prev_net_revenue,
    {{ change_pct('net_revenue', 'prev_net_revenue') }} as net_revenue_change_pct,
    cast(contribution_after_opex - prev_contribution_after_opex as decimal(18, 2)) as contribution_change,
    year_ago_net_revenue,
    {{ change_pct('net_revenue', 'year_ago_net_revenue') }} as net_revenue_yoy_pct,
    cast(contribution_after_opex - year_ago_contribution_after_opex as decimal(18, 2)) as contribution_yoy_change,
    cast(orders as bigint) as orders,
    cast(sessions as bigint) as sessions,
    {{ kpi_aov() }} as aov,
    {{ kpi_conversion_rate() }} as conversion_rate,
    cast(revenue_target as decimal(18, 2)) as revenue_target,
    orders_target,
    sessions_target,
    conversion_rate_target,
    target_value_per_order,
    revenue_gap,
    orders_effect,
    cast(orders_effect - conversion_effect as decimal(18, 2)) as traffic_effect,
    conversion_effect,
    cast(revenue_gap - orders_effect as decimal(18, 2)) as aov_effect,
    cast(flag_count as bigint) as flag_count,
    flags,
    case when flag_count > 0
         then 'Review ' || channel_name || ': ' || evidence || '; owner: ' || owner
         else 'Keep the course on ' || channel_name || ': no flags; owner: ' || owner end as next_action
from effects
{%- endmacro %}
