-- Channel P&L per channel and calendar month (month = its first day). Every money line is the sum
-- of the daily lines (never re-converted or re-rounded); margins and shares are recomputed per month.
with monthly as (
    select
        channel,
        cast({{ dbt.date_trunc('month', 'date') }} as date) as month,
        {%- for line in pnl_base_lines() %}
        sum({{ line }}) as {{ line }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('channel_pnl_daily') }}
    group by channel, cast({{ dbt.date_trunc('month', 'date') }} as date)
),

{{ pnl_from_lines('monthly', 'month') }}
