{# The SQL that differs between DuckDB (the build) and Apache Spark (the scale-out path, README
   "Spark"): one dispatched macro each, so the models themselves are the same on both engines.
   Everything else is written with dbt's cross-database macros (dbt.type_string(), dbt.datediff…). #}

{# `*` without the given columns. #}
{% macro star_except(columns) -%}
    {{ return(adapter.dispatch('star_except')(columns)) }}
{%- endmacro %}

{% macro default__star_except(columns) -%}
    * exclude ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__star_except(columns) -%}
    * except ({{ columns | join(', ') }})
{%- endmacro %}


{# The type of an instant (a point in time, shown in UTC): Spark's `timestamp` is one. #}
{% macro type_instant() -%}
    {{ return(adapter.dispatch('type_instant')()) }}
{%- endmacro %}

{% macro default__type_instant() -%}
    timestamp with time zone
{%- endmacro %}

{% macro spark__type_instant() -%}
    timestamp
{%- endmacro %}


{# An instant's wall-clock time in UTC, whatever the session's time zone. #}
{% macro utc_clock(instant) -%}
    {{ return(adapter.dispatch('utc_clock')(instant)) }}
{%- endmacro %}

{% macro default__utc_clock(instant) -%}
    timezone('UTC', {{ instant }})
{%- endmacro %}

{# Spark shows an instant in the session time zone: shift it so that zone shows the UTC clock. #}
{% macro spark__utc_clock(instant) -%}
    to_utc_timestamp({{ instant }}, current_timezone())
{%- endmacro %}


{# The business's time zone, an IANA name (docs/metrics.md "Reporting day"): resolved once in Python
   (connectors.home.business_timezone: CWH_TIMEZONE, else config/settings.yml, else UTC) and handed
   over as CWH_BUSINESS_TIMEZONE by pipeline/dbt.prepare. An environment variable, not a --var: it is
   the same every night for a home, so dbt's partial parse survives. #}
{% macro business_timezone() -%}
    {%- if model is mapping and model.get('resource_type') == 'unit_test' -%}
        {#- unit tests: fixtures are written on UTC days whatever the home's zone; a unit test of the
            conversion sets CWH_UNIT_TEST_TIMEZONE in its overrides.env_vars -#}
        {%- set name = env_var('CWH_UNIT_TEST_TIMEZONE', 'UTC') -%}
    {%- else -%}
        {%- set name = env_var('CWH_BUSINESS_TIMEZONE', 'UTC') -%}
    {%- endif -%}
    {#- letters, digits and _+/- only: the name is written into SQL (plain Jinja, so the lint renders it too) -#}
    {%- set allowed = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+/-' -%}
    {%- if not name or name | reject('in', allowed) | list -%}
        {{ exceptions.raise_compiler_error("CWH_BUSINESS_TIMEZONE " ~ name ~ " is not an IANA time zone name") }}
    {%- endif -%}
    {{ return(name) }}
{%- endmacro %}

{# An instant's wall-clock time in the business's time zone, whatever the session's time zone. #}
{% macro local_clock(instant) -%}
    {{ return(adapter.dispatch('local_clock')(instant)) }}
{%- endmacro %}

{% macro default__local_clock(instant) -%}
    timezone('{{ business_timezone() }}', {{ instant }})
{%- endmacro %}

{# Spark: the UTC clock (above), then that clock read in the business's zone. #}
{% macro spark__local_clock(instant) -%}
    from_utc_timestamp({{ spark__utc_clock(instant) }}, '{{ business_timezone() }}')
{%- endmacro %}


{# The Spark name of a type written the DuckDB way in the YAML files (contracts of the marts, the
   generated sources): `varchar` is `string`, an instant is `timestamp`; the others are the same. #}
{% macro spark_type(type) -%}
    {%- set spelled = type | trim | lower -%}
    {{- {'varchar': 'string', 'timestamp with time zone': 'timestamp'}.get(spelled, type) -}}
{%- endmacro %}

{# dbt's cast (its contracts check the marts' columns with it): through the Spark type names. #}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ spark_type(type) }})
{%- endmacro %}


{# dbt-spark's listagg drops the order (it predates Spark 4's `listagg … within group`). #}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        {{ exceptions.raise_compiler_error("listagg with limit_num is not supported here on Spark") }}
    {%- endif -%}
    listagg({{ measure }}, {{ delimiter_text }}){% if order_by_clause %} within group ({{ order_by_clause }}){% endif %}
{%- endmacro %}


{# The dbt sources as tables of the Spark metastore over the lake's Parquet folders (on DuckDB the
   sources read the files directly: meta.external_location). Run by on-run-start. The columns come
   from the sources (generated from the contracts), so a feed with nothing landed yet (only its
   `_empty.parquet`, a name Spark skips as hidden) is an empty table with the right columns.
   Recreated on every run: dropping an external table keeps its files, and the new table lists the
   files landed since and the contract's current columns (a file without a newer column reads null). #}
{% macro register_lake_sources() -%}
    {{ return(adapter.dispatch('register_lake_sources')()) }}
{%- endmacro %}

{% macro default__register_lake_sources() -%}
{%- endmacro %}

{% macro spark__register_lake_sources() -%}
    {%- if execute -%}
    {%- for source in graph.sources.values() | sort(attribute='unique_id') -%}
        {%- set relation = source.schema ~ '.' ~ source.identifier -%}
        {%- set columns = [] -%}
        {%- for column in source.columns.values() -%}
            {%- do columns.append(adapter.quote(column.name) ~ ' ' ~ spark_type(column.data_type)) -%}
        {%- endfor -%}
        {#- the lake's feeds, or another folder of the home (source forecasts: meta.spark_folder) -#}
        {%- set folder = (source.source_meta or {}).get('spark_folder') or (source.meta or {}).get('spark_folder')
                         or 'lake/raw' -%}
        {%- do run_query('create schema if not exists ' ~ source.schema) -%}
        {%- do run_query('drop table if exists ' ~ relation) -%}
        {%- do run_query('create table ' ~ relation ~ ' (' ~ columns | join(', ') ~ ') using parquet location '
                         ~ "'" ~ env_var('CWH_HOME') ~ '/' ~ folder ~ '/' ~ source.identifier ~ "'") -%}
    {%- endfor -%}
    {%- endif -%}
{%- endmacro %}


{# Seeds: dbt-spark's session mode pastes the values into its SQL unquoted and unescaped (a quote in
   a CSV breaks the insert, an empty cell becomes the text 'None'), so they are written here as
   escaped literals. #}
{% macro spark__load_csv_rows(model, agate_table) -%}
    {%- set column_types = model['config'].get('column_types', {}) -%}
    {%- set types = [] -%}
    {%- for name in agate_table.column_names -%}
        {%- do types.append(column_types.get(name, adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {%- for row in chunk %}
            ({% for value in row -%}
                {%- if value is none -%} null
                {%- else -%} cast('{{ (value | string).replace("\\", "\\\\").replace("'", "\\'") }}' as {{ types[loop.index0] }})
                {%- endif -%}{{ ', ' if not loop.last }}
            {%- endfor %}){{ ',' if not loop.last }}
            {%- endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- do statements.append(sql) -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{%- endmacro %}


{# The value of the row that sorts last by the given columns (ascending, left to right), as one
   aggregate: `latest_by('product_name', ['created_at', 'order_name'])` replaces a row_number()
   window and its filter (a hash aggregate instead of sorting every row). The columns must not be
   null (a null sorts differently on the two engines). #}
{% macro latest_by(value, order_columns) -%}
    {{ return(adapter.dispatch('latest_by')(value, order_columns)) }}
{%- endmacro %}

{% macro default__latest_by(value, order_columns) -%}
    max_by({{ value }}, row({{ order_columns | join(', ') }}))
{%- endmacro %}

{% macro spark__latest_by(value, order_columns) -%}
    max_by({{ value }}, struct({{ order_columns | join(', ') }}))
{%- endmacro %}


{# A 64-bit hash of the given columns' values (one integer per row, for grouping a wide key cheaply;
   equal values hash equal, two different values may too). #}
{% macro key_hash(columns) -%}
    {{ return(adapter.dispatch('key_hash')(columns)) }}
{%- endmacro %}

{% macro default__key_hash(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__key_hash(columns) -%}
    xxhash64({{ columns | join(', ') }})
{%- endmacro %}


{# A CTE read more than once that is cheaper to compute again than to hold whole: DuckDB materializes such
   a CTE by default, which for a table's whole history buffers (and spills) every row of it (10M bench:
   Amazon settlement lines in staging 20-22 -> 10.7 s, in int_settlement_lines 4.4 -> 1.2 s). Spark
   does not materialize CTEs and has no such clause. #}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized')()) }}
{%- endmacro %}

{% macro default__not_materialized() -%}
{%- endmacro %}

{% macro duckdb__not_materialized() -%}
    not materialized
{%- endmacro %}


{# The number of distinct non-null values of `column` among the rows of each `partition_by` group, on every
   row (a window): Spark has no DISTINCT in window functions, but counts the set of the values. #}
{% macro distinct_count_over(column, partition_by) -%}
    {{ return(adapter.dispatch('distinct_count_over')(column, partition_by)) }}
{%- endmacro %}

{% macro default__distinct_count_over(column, partition_by) -%}
    count(distinct {{ column }}) over (partition by {{ partition_by }})
{%- endmacro %}

{% macro spark__distinct_count_over(column, partition_by) -%}
    size(collect_set({{ column }}) over (partition by {{ partition_by }}))
{%- endmacro %}
