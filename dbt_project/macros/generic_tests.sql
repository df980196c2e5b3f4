{# Generic tests written here (dbt hub packages cannot be fetched in this environment). #}

{# Rows where `expression` is false (or null). #}
{% test expression_is_true(model, expression, where_clause=none) %}
select * from {{ model }}
where not coalesce(({{ expression }}), false)
{% if where_clause %} and ({{ where_clause }}) {% endif %}
{% endtest %}


{# The grain's key: values of the key (`column_name` on a column, or `columns` on a model) that occur
   more than once or hold a null — unique + not_null of every key column in one node (each dbt node
   costs a query and dbt's own overhead). A failing row is the key with its count. Repeats are found
   in two steps: the keys' 64-bit hashes that occur more than once (an aggregate over one integer per
   row, where grouping the key columns themselves holds every distinct key: 21M item keys at the 10M
   bench, 5.5 → 2.6 s), then the keys of those hashes counted exactly (a hash shared by two keys is
   no failure). A model the test reads through a `where` (a subquery: the rows a night re-computed,
   macros/incremental.sql) is filtered once into a materialized CTE of its key columns, where each of
   the three reads filtered the whole table again (int_payout_items at the 10M bench: 21M rows for
   70k groups' rows, 1.2–1.4 → 0.4 s alone). A whole table is read as it is, never held in memory. #}
{% test primary_key(model, column_name=none, columns=none) %}
{%- set key = [column_name] if column_name else columns -%}
{%- set has_null %}{% for column in key %}{{ column }} is null{% if not loop.last %} or {% endif %}{% endfor %}{% endset -%}
{%- set subset = model is string -%}
{%- set rows = 'model_rows' if subset else model -%}
with {% if subset -%}
model_rows as {% if target.type == 'duckdb' %}materialized {% endif %}(
    select {{ key | join(', ') }} from {{ model }}
),

{% endif -%}
repeated_hashes as (
    select {{ key_hash(key) }} as key_hash
    from {{ rows }}
    group by {{ key_hash(key) }}
    having count(*) > 1
)

select {{ key | join(', ') }}, count(*) as occurrences
from {{ rows }}
where not ({{ has_null }}) and {{ key_hash(key) }} in (select key_hash from repeated_hashes)
group by {{ key | join(', ') }}
having count(*) > 1
union all
select {{ key | join(', ') }}, count(*) as occurrences
from {{ rows }}
where {{ has_null }}
group by {{ key | join(', ') }}
{% endtest %}


{# Values of `column_name` outside [min_value, max_value]. #}
{% test accepted_range(model, column_name, min_value=none, max_value=none) %}
select * from {{ model }}
where {{ column_name }} is not null and (
    false
    {% if min_value is not none %} or {{ column_name }} < {{ min_value }} {% endif %}
    {% if max_value is not none %} or {{ column_name }} > {{ max_value }} {% endif %}
)
{% endtest %}


{# Groups where Σ column in this model differs from Σ compare_column in compare_model, per
   group_by (the reconciliation "rows/amounts in = out across layers"). #}
{% test equal_sums(model, column_name, compare_model, compare_column, group_by) %}
with here as (
    select {{ group_by | join(', ') }}, sum({{ column_name }}) as total from {{ model }} group by {{ group_by | join(', ') }}
), there as (
    select {{ group_by | join(', ') }}, sum({{ compare_column }}) as total from {{ compare_model }} group by {{ group_by | join(', ') }}
)
select coalesce(here.total, 0) as model_total, coalesce(there.total, 0) as compare_total, {% for g in group_by %}coalesce(here.{{ g }}, there.{{ g }}) as {{ g }}{% if not loop.last %}, {% endif %}{% endfor %}
from here
full outer join there on {% for g in group_by %}here.{{ g }} = there.{{ g }}{% if not loop.last %} and {% endif %}{% endfor %}
where coalesce(here.total, 0) <> coalesce(there.total, 0)
{% endtest %}


{# Rows where any of `column_names` is null: the not_null test of a model's non-key columns in one
   node (every test node costs a query and dbt's per-node overhead; the keys keep their own
   unique + not_null). A failing row comes back whole, so it shows which column is null. #}
{% test not_null_columns(model, column_names) %}
select * from {{ model }}
where {% for column in column_names %}{{ column }} is null{% if not loop.last %} or {% endif %}{% endfor %}
{% endtest %}


{# Rows where any of `column_names` (when not null) lies outside [min_value, max_value]: the
   accepted_range test of several columns with one range in one node (see not_null_columns). #}
{% test accepted_range_columns(model, column_names, min_value=none, max_value=none) %}
select * from {{ model }}
where false
{%- for column in column_names %}
    {%- if min_value is not none %} or {{ column }} < {{ min_value }}{% endif %}
    {%- if max_value is not none %} or {{ column }} > {{ max_value }}{% endif %}
{%- endfor %}
{% endtest %}


{# Totals in = totals out between a model and the model it is built from, per `group_by`: `totals` maps
   a name to the expression computing it here and the one computing it there ({name: [here, there]},
   e.g. orders: ['count(*)', 'count(distinct order_id)']); `compare_where` filters the other side (the
   rows this model keeps). Returns the groups where any total differs. On an incremental night only the
   dates in `date_column` the night re-processed are compared (reconciled_dates: both models re-process
   their window's dates whole, the older ones are untouched since the build that last compared them); a
   full build compares every date up to max_date. #}
{% test same_totals(model, compare_model, group_by, totals, date_column, compare_where='true') %}
with here as (
    select {{ group_by | join(', ') }}
        {%- for name, expressions in totals.items() %}, {{ expressions[0] }} as {{ name }}{% endfor %}
    from {{ model }}
    where {{ reconciled_dates(date_column) }}
    group by {{ group_by | join(', ') }}
),

there as (
    select {{ group_by | join(', ') }}
        {%- for name, expressions in totals.items() %}, {{ expressions[1] }} as {{ name }}{% endfor %}
    from {{ compare_model }}
    where ({{ compare_where }}) and {{ reconciled_dates(date_column) }}
    group by {{ group_by | join(', ') }}
)

select
    {% for g in group_by %}coalesce(here.{{ g }}, there.{{ g }}) as {{ g }}, {% endfor %}
    {%- for name in totals %}here.{{ name }} as {{ name }}_here, there.{{ name }} as {{ name }}_there{% if not loop.last %}, {% endif %}{% endfor %}
from here
full outer join there on {% for g in group_by %}here.{{ g }} = there.{{ g }}{% if not loop.last %} and {% endif %}{% endfor %}
where {% for name in totals %}coalesce(here.{{ name }}, 0) <> coalesce(there.{{ name }}, 0){% if not loop.last %} or {% endif %}{% endfor %}
{% endtest %}
