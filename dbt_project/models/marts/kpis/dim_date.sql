-- One row per calendar day, whole months from the first month to the last month holding any fact
-- date (order, shipment, refund, return receipt, ad spend, sessions, target month, any P&L day, which
-- includes operating costs spread over their months). Weeks start on Monday (ISO); day_of_week is
-- ISO (1 = Monday … 7 = Sunday). Written without engine-specific generators so it runs on Spark:
-- the day numbers are a cross join of digits (up to 100,000 days, ~273 years).

with fact_dates as (
    select min(order_date) as first_date, max(order_date) as last_date
    from {{ ref('int_order_lines') }}
    union all
    select min({{ utc_date('shipped_at') }}), max({{ utc_date('shipped_at') }})
    from {{ ref('int_order_lines') }}
    union all
    select min(refund_date), max(refund_date) from {{ ref('fct_refunds') }}
    union all
    select min({{ utc_date('return_received_at') }}), max({{ utc_date('return_received_at') }})
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

digits as (
    select n from (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) as d (n)
),

day_numbers as (
    select d1.n + 10 * d2.n + 100 * d3.n + 1000 * d4.n + 10000 * d5.n as day_number
    from digits as d1
    cross join digits as d2
    cross join digits as d3
    cross join digits as d4
    cross join digits as d5
),

days as (
    select cast({{ dbt.dateadd('day', 'n.day_number', 'b.first_day') }} as date) as date
    from day_numbers as n
    cross join bounds as b
    where n.day_number <= {{ dbt.datediff('b.first_day', 'b.last_day', 'day') }}
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
