-- Channel P&L per channel and week (weeks start on Monday: week_start). Every money line is the sum
-- of the daily lines (never re-converted or re-rounded), the accrued lines too; margins, shares and
-- period_status are recomputed per week.
with weekly as (
    select
        channel,
        cast({{ dbt.date_trunc('week', 'date') }} as date) as week_start,
        {%- for line in pnl_base_lines() + pnl_accrued_lines() %}
        sum({{ line }}) as {{ line }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('channel_pnl_daily') }}
    group by channel, cast({{ dbt.date_trunc('week', 'date') }} as date)
),

with_status as (
    {{ with_period_status('weekly', 'cast(' ~ dbt.dateadd('day', 6, 'b.week_start') ~ ' as date)') }}
),

{{ pnl_from_lines('with_status', 'week_start') }}
