-- Channel P&L per channel and calendar month (month = its first day). Every money line is the sum
-- of the daily lines (never re-converted or re-rounded), the accrued lines too; margins, shares and
-- period_status are recomputed per month.
with monthly as (
    select
        channel,
        cast({{ dbt.date_trunc('month', 'date') }} as date) as month,
        {%- for line in pnl_base_lines() + pnl_accrued_lines() %}
        sum({{ line }}) as {{ line }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('channel_pnl_daily') }}
    group by channel, cast({{ dbt.date_trunc('month', 'date') }} as date)
),

with_status as (
    {%- set month_end = dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'b.month')) %}
    {{ with_period_status('monthly', 'cast(' ~ month_end ~ ' as date)') }}
),

{{ pnl_from_lines('with_status', 'month') }}
