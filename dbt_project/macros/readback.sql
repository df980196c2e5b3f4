{# Helpers of the readback marts (channel_flags, channel_readback_*). #}

{# A readback threshold from seeds/readback_config.csv, as a scalar subquery. #}
{% macro readback_param(name) -%}
    (select max(value) from {{ ref('readback_config') }} where parameter = '{{ name }}')
{%- endmacro %}

{# A ratio as a percentage text with one decimal, e.g. 0.0341 → '3.4%'. #}
{% macro fmt_pct(expr) -%}
    (cast(cast(round(cast({{ expr }} as decimal(18, 6)) * 100, 1) as decimal(18, 1)) as {{ dbt.type_string() }}) || '%')
{%- endmacro %}

{# A money amount as text with two decimals, e.g. '1234.50'. #}
{% macro fmt_money(expr) -%}
    cast(cast(round(cast({{ expr }} as decimal(18, 4)), 2) as decimal(18, 2)) as {{ dbt.type_string() }})
{%- endmacro %}

{# A number as text with the given decimals. #}
{% macro fmt_num(expr, decimals=1) -%}
    cast(cast(round(cast({{ expr }} as decimal(18, 6)), {{ decimals }}) as decimal(18, {{ decimals }})) as {{ dbt.type_string() }})
{%- endmacro %}

{# The readback grains: name → the period column of dim_date. #}
{% macro readback_grains() -%}
    {{ return({'month': 'month', 'week': 'week_start'}) }}
{%- endmacro %}

{# One row per readback grain × period with data: days in the period, days the data covers
   (between the first and the last day of channel_kpis_daily) and whether the period is complete. #}
{% macro readback_periods_sql() -%}
    select
        grain,
        period_start,
        days_in_period,
        covered_days,
        covered_days = days_in_period as is_complete
    from (
        {%- for grain, column in readback_grains().items() %}
        select
            '{{ grain }}' as grain,
            d.{{ column }} as period_start,
            {{ '7' if grain == 'week' else 'count(*)' }} as days_in_period,
            sum(case when d.date between c.first_day and c.last_day then 1 else 0 end) as covered_days
        from {{ ref('dim_date') }} as d
        cross join (select min(date) as first_day, max(date) as last_day from {{ ref('channel_kpis_daily') }}) as c
        group by d.{{ column }}
        {{ "union all" if not loop.last }}
        {%- endfor %}
    ) as p
    where covered_days > 0
{%- endmacro %}
