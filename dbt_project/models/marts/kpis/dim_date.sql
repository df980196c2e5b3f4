-- One row per calendar day, whole months from the first month to the last month holding any fact
-- date (order, shipment, refund, return receipt, ad spend, sessions, target month, any P&L day, which
-- includes operating costs spread over their months). Weeks start on Monday (ISO); day_of_week is
-- ISO (1 = Monday … 7 = Sunday). The days come from the date_spine macro (portable to Spark).

with shipping_bounds as (
    select source, min(shipped_at) as first_at, max(shipped_at) as last_at
    from {{ ref('int_order_lines') }}
    group by source
),

near_bounds as (
    -- within two days of every source's first shipping instant, or of every source's last
    select
        {{ dbt.dateadd('day', 2, 'max(first_at)') }} as early_until,
        {{ dbt.dateadd('day', -2, 'min(last_at)') }} as late_from
    from shipping_bounds
),

shipped_near_bounds as (
    -- the ship day (a local day: a conversion per row) of the lines near the bounds, not of every line
    -- of history: a local day follows the instant except across a clock change, which moves it back by
    -- hours, never days, so the first and last ship days are among these (10M bench: 0.9 -> 0.1 s)
    select l.source, l.shipped_at
    from {{ ref('int_order_lines') }} as l
    cross join near_bounds as b
    where l.shipped_at <= b.early_until or l.shipped_at >= b.late_from
),

fact_dates as (
    select min(order_date) as first_date, max(order_date) as last_date
    from {{ ref('int_order_lines') }}
    union all
    select min({{ order_event_date('shipped_at') }}), max({{ order_event_date('shipped_at') }})
    from shipped_near_bounds
    union all
    select min(refund_date), max(refund_date) from {{ ref('fct_refunds') }}
    union all
    select min({{ local_date('return_received_at') }}), max({{ local_date('return_received_at') }})
    from {{ ref('fct_refunds') }}
    union all
    select min(spend_date), max(spend_date) from {{ ref('fct_marketing_spend') }}
    union all
    select min(date), max(date) from {{ ref('stg_web_analytics__sessions') }}
    union all
    select min(month), max(month) from {{ ref('stg_finance__channel_targets') }}
    union all
    select min(date), max(date) from {{ ref('channel_pnl_daily') }}
),

bounds as (
    select
        cast({{ dbt.date_trunc('month', 'min(first_date)') }} as date) as first_day,
        cast({{ dbt.last_day('max(last_date)', 'month') }} as date) as last_day
    from fact_dates
),

days as (
    {{ date_spine('bounds') }}
),

numbered as (
    -- 1900-01-01 was a Monday
    select date, mod({{ dbt.datediff("cast('1900-01-01' as date)", 'date', 'day') }}, 7) + 1 as day_of_week
    from days
)

select
    date,
    cast({{ dbt.dateadd('day', '1 - day_of_week', 'date') }} as date) as week_start,
    cast({{ dbt.date_trunc('month', 'date') }} as date) as month,
    cast({{ dbt.date_trunc('quarter', 'date') }} as date) as quarter,
    cast(extract(year from date) as integer) as year,
    cast(day_of_week as integer) as day_of_week,
    day_of_week >= 6 as is_weekend
from numbered
