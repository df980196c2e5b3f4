-- KPIs per sales channel and calendar month, recomputed from the month's sums, never averaged
-- from days: counts and amounts are Σ channel_kpis_daily; ratios are recomputed from those sums;
-- medians (order cycle, refund processing) are recomputed from the month's events; net revenue,
-- marketing spend and cm3_pct come from channel_pnl_monthly; targets are the month's targets.
-- Definitions: channel_kpis_daily and docs/metrics.md "KPIs".

with daily as (
    select k.*, d.month
    from {{ ref('channel_kpis_daily') }} as k
    inner join {{ ref('dim_date') }} as d on d.date = k.date
),

sums as (
    select
        channel,
        month,
        sum(orders) as orders,
        sum(units) as units,
        sum(order_gross_sales) as order_gross_sales,
        sum(order_discounts) as order_discounts,
        sum(order_shipping_income) as order_shipping_income,
        sum(sessions) as sessions,
        sum(new_customers) as new_customers,
        sum(cohort_units_returned) as cohort_units_returned,
        sum(cohort_returns) as cohort_returns,
        sum(timed_refunds) as timed_refunds,
        sum(shipped_orders) as shipped_orders,
        sum(on_time_shipped_orders) as on_time_shipped_orders
    from daily
    group by channel, month
),

channels as (
    select channel, promised_handling_hours, margin_floor_pct
    from {{ ref('dim_channel') }}
),

orders as (
    -- one row per order with a non-cancelled line (int_orders: shipped once every such line has shipped)
    select channel, order_date, shipped_at, cycle_hours
    from {{ ref('int_orders') }}
),

order_cycle as (
    select
        o.channel,
        d.month,
        percentile_cont(0.5) within group (order by o.cycle_hours) as order_cycle_hours
    from orders as o
    inner join {{ ref('dim_date') }} as d on d.date = o.order_date
    where o.shipped_at is not null
    group by o.channel, d.month
),

refund_timing as (
    select
        r.channel,
        d.month,
        percentile_cont(0.5) within group (
            order by {{ elapsed_seconds('r.return_received_at', 'r.refunded_at') }} / 86400.0
        ) as refund_processing_days
    from {{ ref('fct_refunds') }} as r
    inner join {{ ref('dim_date') }} as d on d.date = r.refund_date
    where r.return_received_at is not null and r.refunded_at is not null
      and (r.returns_rc <> 0 or r.shipping_refund_rc <> 0 or r.tax_refund_rc <> 0)
    group by r.channel, d.month
),

pnl as (
    select channel, month, net_revenue, marketing_spend, cm3_pct
    from {{ ref('channel_pnl_monthly') }}
),

targets as (
    select
        t.channel,
        t.month,
        {{ to_reporting('t.net_revenue_target',
                        fx_rate("coalesce(t.currency, '" ~ var('reporting_currency') ~ "')", 'fx.rate')) }}
            as revenue_target,
        cast(t.conversion_rate_target as double) as conversion_rate_target
    from {{ ref('stg_finance__channel_targets') }} as t
    left join {{ ref('int_fx_rates') }} as fx on fx.currency = t.currency and fx.rate_date = t.month
),

joined as (
    select
        s.*,
        coalesce(p.net_revenue, 0) as net_revenue,
        coalesce(p.marketing_spend, 0) as marketing_spend,
        p.cm3_pct,
        oc.order_cycle_hours,
        rt.refund_processing_days,
        c.promised_handling_hours,
        c.margin_floor_pct,
        t.revenue_target,
        t.conversion_rate_target
    from sums as s
    inner join channels as c on c.channel = s.channel
    left join pnl as p on p.channel = s.channel and p.month = s.month
    left join order_cycle as oc on oc.channel = s.channel and oc.month = s.month
    left join refund_timing as rt on rt.channel = s.channel and rt.month = s.month
    left join targets as t on t.channel = s.channel and t.month = s.month
)

select
    channel,
    month,
    {{ kpi_measures() }}
from joined
