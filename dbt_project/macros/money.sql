{# An amount in the reporting currency: converted on its own fact row at the event date's rate and
   rounded to cents, half away from zero (docs/metrics.md). Widened first: decimal(18,2) × decimal(18,8)
   would otherwise be typed decimal(18,10) and overflow at 100 million. #}
{% macro to_reporting(amount, rate) -%}
    cast(round(cast({{ amount }} as decimal(38, 10)) * {{ rate }}, 2) as decimal(18, 2))
{%- endmacro %}

{# The rate that converts `currency` into the reporting currency: 1 for the reporting currency
   itself, else the joined daily rate (null when the rate is missing: tested, never 1.0). #}
{% macro fx_rate(currency, joined_rate) -%}
    case when {{ currency }} = '{{ var("reporting_currency") }}' then cast(1 as decimal(18, 8)) else {{ joined_rate }} end
{%- endmacro %}
