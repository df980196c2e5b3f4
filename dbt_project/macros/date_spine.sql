{# The date spine, written once (dim_date, int_inventory_demand, int_operating_costs_daily). Built
   from a cross join of digits rather than an engine's generator (generate_series, sequence), so it
   runs unchanged on DuckDB and Spark. #}

{# The whole numbers 0 … 10^digits − 1, one row each, as column `n`. #}
{% macro whole_numbers(digits) -%}
    select
        {% for i in range(digits) -%}
        {{ 'd' ~ i ~ '.n' if i == 0 else '+ ' ~ 10 ** i ~ ' * d' ~ i ~ '.n' }}
        {% endfor -%}
        as n
    from (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) as d0 (n)
    {%- for i in range(1, digits) %}
    cross join (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) as d{{ i }} (n)
    {%- endfor %}
{%- endmacro %}

{# One row per day, column `date`, from `first_day` to `last_day` (inclusive) of the one-row
   relation `bounds`; up to 100,000 days (~273 years). #}
{% macro date_spine(bounds, first_day='first_day', last_day='last_day') -%}
    select cast({{ dbt.dateadd('day', 'n.n', 'b.' ~ first_day) }} as date) as date
    from ({{ whole_numbers(5) }}) as n
    cross join {{ bounds }} as b
    where n.n <= {{ dbt.datediff('b.' ~ first_day, 'b.' ~ last_day, 'day') }}
{%- endmacro %}
