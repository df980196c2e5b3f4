-- Channel P&L per channel and week (weeks start on Monday: week_start). Every money line is the sum
-- of the daily lines (never re-converted or re-rounded); margins and shares are recomputed per week.
with weekly as (
    select
        channel,
        cast({{ dbt.date_trunc('week', 'date') }} as date) as week_start,
        {%- for line in pnl_base_lines() %}
        sum({{ line }}) as {{ line }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('channel_pnl_daily') }}
    group by channel, cast({{ dbt.date_trunc('week', 'date') }} as date)
),

{{ pnl_from_lines('weekly', 'week_start') }}
