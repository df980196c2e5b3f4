-- One row per calendar day, whole months from the first month to the last month holding any fact
-- date (order, shipment, refund, return receipt, ad spend, sessions, target month, any P&L day, which
-- includes operating costs spread over their months). Weeks start on Monday (ISO); day_of_week is
-- ISO (1 = Monday … 7 = Sunday). The days come from the date_spine macro (portable to Spark).

with fact_dates as (
    select min(order_date) as first_date, max(order_date) as last_date
    from {{ ref('int_order_lines') }}
    union all
    select min({{ order_event_date('shipped_at') }}), max({{ order_event_date('shipped_at') }})
    from {{ ref('int_order_lines') }}
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
