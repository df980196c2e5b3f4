-- Weekly and monthly P&L lines are the sums of the daily lines (never re-converted or re-rounded),
-- for every channel, period and P&L line; the ratios are recomputed at their grain.

with daily_weekly as (
    select channel, cast({{ dbt.date_trunc('week', 'date') }} as date) as period,
        {%- for line in pnl_lines() %}
        sum({{ line }}) as {{ line }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('channel_pnl_daily') }}
    group by channel, cast({{ dbt.date_trunc('week', 'date') }} as date)
),

daily_monthly as (
    select channel, cast({{ dbt.date_trunc('month', 'date') }} as date) as period,
        {%- for line in pnl_lines() %}
        sum({{ line }}) as {{ line }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('channel_pnl_daily') }}
    group by channel, cast({{ dbt.date_trunc('month', 'date') }} as date)
),

compared as (
    select 'weekly' as grain, coalesce(d.channel, w.channel) as channel, coalesce(d.period, w.week_start) as period,
        {%- for line in pnl_lines() %}
        coalesce(d.{{ line }}, 0) = coalesce(w.{{ line }}, 0){{ " and" if not loop.last }}
        {%- endfor %} as lines_equal,
        w.cm1_pct is not distinct from {{ safe_ratio('w.cm1', 'w.net_revenue') }} as ratio_recomputed
    from daily_weekly as d
    full outer join {{ ref('channel_pnl_weekly') }} as w on w.channel = d.channel and w.week_start = d.period
    union all
    select 'monthly', coalesce(d.channel, m.channel), coalesce(d.period, m.month),
        {%- for line in pnl_lines() %}
        coalesce(d.{{ line }}, 0) = coalesce(m.{{ line }}, 0){{ " and" if not loop.last }}
        {%- endfor %},
        m.cm1_pct is not distinct from {{ safe_ratio('m.cm1', 'm.net_revenue') }}
    from daily_monthly as d
    full outer join {{ ref('channel_pnl_monthly') }} as m on m.channel = d.channel and m.month = d.period
)

select * from compared where not lines_equal or not ratio_recomputed

-- reads several models: Dagster shows it as a check of the one it verifies
{{ config(meta={'dagster': {'ref': {'name': 'channel_pnl_monthly'}}}) }}
