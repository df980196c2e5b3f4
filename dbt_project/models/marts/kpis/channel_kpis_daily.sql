-- KPIs per sales channel and day (METRICS.md "KPIs", rules in docs/metrics.md "KPIs"). One row for
-- every sales channel of dim_channel (not `unallocated`) and every day from the first to the last
-- day with sales-side activity (orders, sessions, refunds, ad spend): a day without orders is a
-- row with 0 orders, not a missing row. Money is in the reporting currency.
--   * orders / units / AOV / order cycle / on-time shipping: the channel's non-cancelled orders
--     placed that day (order date, UTC).
--   * new_customers: identified customers whose first non-cancelled order in any channel is that
--     day, counted for the channel of that first order (dim_customer); null for channels whose
--     orders carry no buyer identity (Amazon).
--   * cohort_*: money refunds of orders placed that day, whenever they were refunded (order cohort;
--     the numbers grow as later refunds arrive). Returned units are null for channels whose
--     refunds carry no unit counts (Shopify).
--   * refund_processing_days: refunds booked that day (refund date).
--   * net_revenue, marketing_spend, cm3_pct: the channel P&L of the day (channel_pnl_daily).
--   * targets: the month's revenue target prorated evenly over the month's days (cents rounded,
--     remainder on the last day); the conversion-rate target is the month's rate.

with channels as (
    select channel, promised_handling_hours, margin_floor_pct
    from {{ ref('dim_channel') }}
    where channel_type <> 'unallocated'
),

orders as {{ not_materialized() }} (
    -- one row per order with a non-cancelled line (int_orders: shipped once every such line has
    -- shipped; cycle_hours from placed to shipped). Read twice, never held whole: DuckDB buffered all
    -- of them (10M bench: 8.8M orders, the model's query 0.43 -> 0.24 s, peak 950 -> 340 MB)
    select channel, order_date, shipped_at, cycle_hours, has_customer, units,
           gross_sales_rc as gross_sales, discounts_rc as discounts, shipping_income_rc as shipping_income
    from {{ ref('int_orders') }}
),

order_kpis as (
    select
        o.channel,
        o.order_date as date,
        count(*) as orders,
        sum(o.units) as units,
        sum(o.gross_sales) as order_gross_sales,
        sum(o.discounts) as order_discounts,
        sum(o.shipping_income) as order_shipping_income,
        count(o.shipped_at) as shipped_orders,
        sum(case when o.shipped_at is not null and o.cycle_hours <= c.promised_handling_hours then 1 else 0 end)
            as on_time_shipped_orders,
        percentile_cont(0.5) within group (order by o.cycle_hours) as order_cycle_hours
    from orders as o
    inner join channels as c on c.channel = o.channel
    group by o.channel, o.order_date
),

sessions as (
    select channel, date, sum(sessions) as sessions
    from {{ ref('stg_web_analytics__sessions') }}
    group by channel, date
),

identified_channels as (
    -- channels whose orders carry a buyer identity (Amazon's never do)
    select distinct channel from orders where has_customer
),

new_customers as (
    select first_channel as channel, first_order_date as date, count(*) as new_customers
    from {{ ref('dim_customer') }}
    group by first_channel, first_order_date
),

refunds as (
    -- money refunds; restock-only events (a returned unit back in stock, no money) are not refunds
    select * from {{ ref('fct_refunds') }}
    where returns_rc <> 0 or shipping_refund_rc <> 0 or tax_refund_rc <> 0
),

unit_untracked_channels as (
    -- channels whose refunds do not say how many units came back (Shopify Payments refunds are
    -- amounts only): their returned units, and so return_rate_units, are unknown (null), not 0
    select distinct channel from refunds where units_returned is null
),

cohort_refunds as (
    select
        channel,
        order_date as date,
        sum(units_returned) as cohort_units_returned,
        sum(returns_rc) as cohort_returns
    from refunds
    where order_date is not null
    group by channel, order_date
),

refund_timing as (
    select
        channel,
        refund_date as date,
        count(*) as timed_refunds,
        percentile_cont(0.5) within group (
            order by {{ elapsed_seconds('return_received_at', 'refunded_at') }} / 86400.0
        ) as refund_processing_days
    from refunds
    where return_received_at is not null and refunded_at is not null
    group by channel, refund_date
),

pnl as (
    select channel, date, net_revenue, marketing_spend, cm3_pct
    from {{ ref('channel_pnl_daily') }}
),

activity as (
    select order_date as date from orders
    union all select date from sessions
    union all select refund_date from refunds
    union all select date from pnl where marketing_spend <> 0
),

days as (
    select d.date, d.month
    from {{ ref('dim_date') }} as d
    inner join (select min(date) as first_date, max(date) as last_date from activity) as w
        on d.date between w.first_date and w.last_date
),

month_days as (
    select month, count(*) as days_in_month, max(date) as last_date
    from {{ ref('dim_date') }}
    group by month
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

daily_targets as (
    select
        t.channel,
        d.date,
        -- whole cents, exactly: the day's share rounded half away from zero, the rest on the last day
        cast(case
            when d.date = m.last_date
                then {{ to_cents('t.revenue_target') }}
                     - {{ div_round_half_away(to_cents('t.revenue_target'), 'm.days_in_month') }}
                     * (m.days_in_month - 1)
            else {{ div_round_half_away(to_cents('t.revenue_target'), 'm.days_in_month') }}
        end as decimal(18, 0)) * 0.01 as revenue_target,
        t.conversion_rate_target
    from targets as t
    inner join month_days as m on m.month = t.month
    inner join {{ ref('dim_date') }} as d on d.month = t.month
),

joined as (
    select
        c.channel,
        d.date,
        coalesce(o.orders, 0) as orders,
        coalesce(o.units, 0) as units,
        coalesce(o.order_gross_sales, 0) as order_gross_sales,
        coalesce(o.order_discounts, 0) as order_discounts,
        coalesce(o.order_shipping_income, 0) as order_shipping_income,
        s.sessions,
        case when ic.channel is not null then coalesce(n.new_customers, 0) end as new_customers,
        coalesce(p.marketing_spend, 0) as marketing_spend,
        coalesce(p.net_revenue, 0) as net_revenue,
        p.cm3_pct,
        case when uu.channel is null then coalesce(cr.cohort_units_returned, 0) end as cohort_units_returned,
        coalesce(cr.cohort_returns, 0) as cohort_returns,
        coalesce(rt.timed_refunds, 0) as timed_refunds,
        rt.refund_processing_days,
        coalesce(o.shipped_orders, 0) as shipped_orders,
        coalesce(o.on_time_shipped_orders, 0) as on_time_shipped_orders,
        o.order_cycle_hours,
        c.promised_handling_hours,
        c.margin_floor_pct,
        dt.revenue_target,
        dt.conversion_rate_target
    from channels as c
    cross join days as d
    left join order_kpis as o on o.channel = c.channel and o.date = d.date
    left join sessions as s on s.channel = c.channel and s.date = d.date
    left join identified_channels as ic on ic.channel = c.channel
    left join unit_untracked_channels as uu on uu.channel = c.channel
    left join new_customers as n on n.channel = c.channel and n.date = d.date
    left join pnl as p on p.channel = c.channel and p.date = d.date
    left join cohort_refunds as cr on cr.channel = c.channel and cr.date = d.date
    left join refund_timing as rt on rt.channel = c.channel and rt.date = d.date
    left join daily_targets as dt on dt.channel = c.channel and dt.date = d.date
)

select
    channel,
    date,
    {{ kpi_measures() }}
from joined
