{# An amount in the reporting currency: converted on its own fact row at the event date's rate and
   rounded to cents, half away from zero (docs/metrics.md). Widened first: decimal(18,2) × decimal(18,8)
   would otherwise be typed decimal(18,10) and overflow at 100 million. #}
{% macro to_reporting(amount, rate) -%}
    {{ return(adapter.dispatch('to_reporting')(amount, rate)) }}
{%- endmacro %}

{% macro default__to_reporting(amount, rate) -%}
    cast(round(cast({{ amount }} as decimal(38, 10)) * {{ rate }}, 2) as decimal(18, 2))
{%- endmacro %}

{# DuckDB rounds the widened product, a decimal(38, 18), in 128-bit arithmetic: five conversions of the
   10M bench's 14.4M order lines took 5.1 s. An amount in whole cents at a rate of at most 8 decimals
   whose product stays below 10 million (the norm) is multiplied and rounded in 64 bits instead — the
   same exact product and rounding (1.3 s); any other amount takes the widened way. #}
{% macro duckdb__to_reporting(amount, rate) -%}
    cast(case
        when try_cast({{ amount }} as decimal(18, 2)) = {{ amount }}
             and try_cast({{ rate }} as decimal(18, 8)) = {{ rate }}
             and abs(cast({{ amount }} as double)) * cast({{ rate }} as double) < 10000000
            then round(cast({{ amount }} as decimal(18, 2)) * cast({{ rate }} as decimal(18, 8)), 2)
        else round(cast({{ amount }} as decimal(38, 10)) * {{ rate }}, 2)
    end as decimal(18, 2))
{%- endmacro %}

{# The rate that converts `currency` into the reporting currency: 1 for the reporting currency
   itself, else the joined daily rate (null when the rate is missing: tested, never 1.0). #}
{% macro fx_rate(currency, joined_rate) -%}
    case when {{ currency }} = '{{ var("reporting_currency") }}' then cast(1 as decimal(18, 8)) else {{ joined_rate }} end
{%- endmacro %}
