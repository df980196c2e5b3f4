{# A whole build of a big group-wise model, in buckets (DuckDB; docs/incremental.md "Whole builds in buckets").

   A model whose rows fall into independent groups (int_payout_items: an item's rows depend on its own
   group's inputs only, which is what its incremental build relies on) can be built whole one share of
   its groups at a time: its inputs filtered on `hash(<group's own key>) % N = bucket`, the buckets
   inserted one after the other into the same table. The result is the same rows; what changes is the
   size of the query's hash tables. Built in one piece, the 10M bench's int_payout_items spilled 16 GB
   under the build's 1.5 GB pool (115 s standalone); in 8 buckets each fits (~9 s each).

   A model opts in with `meta.full_build_rows_per_bucket` (var `full_build_rows_per_bucket` overrides
   it: tests force buckets on small data). N = the rows of the model's parent tables ÷ that, at most 64;
   1 (one piece, no filter) on Spark, when not running a build, for a unit test, for an incremental build
   (it computes a few groups) or when the parents fit in one bucket. The model calls
   `full_build_buckets()` once and filters with `full_build_bucket(expression, buckets)`; the table is
   created by this project's `duckdb__create_table_as`, which inserts every bucket. #}

{% macro full_build_buckets() %}
    {%- if not execute or target.type != 'duckdb' or flags.WHICH not in ('run', 'build') or this is none
          or model.resource_type != 'model' or is_incremental() -%}
        {{ return(1) }}
    {%- endif -%}
    {%- set per_bucket = var('full_build_rows_per_bucket', none)
                         or config.get('meta', {}).get('full_build_rows_per_bucket') -%}
    {%- if not per_bucket -%}
        {{ return(1) }}
    {%- endif -%}
    {%- set parents = [] -%}
    {%- for uid in model.depends_on.nodes if uid in graph.nodes -%}
        {%- set node = graph.nodes[uid] -%}
        {%- do parents.append("(schema_name = '" ~ node.schema ~ "' and table_name = '" ~ (node.alias or node.name) ~ "')") -%}
    {%- endfor -%}
    {%- if not parents -%}
        {{ return(1) }}
    {%- endif -%}
    {#- DuckDB's own row count of each table (no scan); views count nothing -#}
    {%- set rows = run_query("select coalesce(sum(estimated_size), 0) from duckdb_tables() where database_name = '"
                             ~ this.database ~ "' and (" ~ parents | join(' or ') ~ ")").columns[0].values()[0] -%}
    {{ return([1, [64, ((rows | int) / (per_bucket | int)) | round(0, 'ceil') | int] | min] | max) }}
{% endmacro %}


{# The predicate of the current bucket on a group's own key (DuckDB variable `cwh_full_build_bucket`, set
   by `duckdb__create_table_as`; unset, the query fails rather than build one bucket as if it were all). #}
{% macro full_build_bucket(expression, buckets) -%}
    hash({{ expression }}) % {{ buckets }}
        = cast(coalesce(getvariable('cwh_full_build_bucket'), error('cwh: full_build_bucket read outside a bucketed build')) as ubigint)
{%- endmacro %}


{# dbt-duckdb's create_table_as, and for a model built in buckets (`full_build_buckets()` > 1: a table
   created whole, never the temporary relation of an incremental build, which is_incremental() tells
   apart) the create is bucket 0 and each other bucket an insert by name, in the same statement. #}
{% macro duckdb__create_table_as(temporary, relation, compiled_code, language='sql', partitioned_by=none, sorted_by=none) -%}
    {%- set buckets = full_build_buckets() if language == 'sql' and not temporary else 1 -%}
    {%- if buckets > 1 %}
    set variable cwh_full_build_bucket = 0;
    {%- endif %}
    {{ dbt.duckdb__create_table_as(temporary, relation, compiled_code, language, partitioned_by, sorted_by) }}
    {%- if buckets > 1 %}
    {%- for bucket in range(1, buckets) %}
    set variable cwh_full_build_bucket = {{ bucket }};
    insert into {{ relation }} by name select * from (
        {{ compiled_code }}
    ) as model_subq;
    {%- endfor %}
    reset variable cwh_full_build_bucket;
    {%- endif %}
{%- endmacro %}
