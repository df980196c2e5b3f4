{# Per-day sums of a published event-grain table, kept by the build itself (DuckDB only): table
   dbt_state.event_day_sums holds, for each day of each event-grain mart, its row count and the sum
   of its rows' hashes — what publish compares with the published file to find the days a night
   changed (orchestration/pipeline/publish.py, step 3). Summing every day of a 10M-line
   fct_order_lines at each publish cost ~3.3 s; here a night re-sums only the days it may have
   changed:
     - every day of its event window (replace_window deletes and re-inserts them);
     - every day whose row count differs from the stored one (a row deleted because its key moved into
       the window, a day gone or new);
     - the days `also_days_where` holds a row of (fct_fees: accrued fees, re-rated whatever their date);
     - every day when the stored sums are of other columns (a column added) or there are none (the
       first build, a full refresh: all its days are new).
   Schema dbt_state is the build's own bookkeeping, never published. Publish trusts these sums only
   when their columns and per-day row counts match the table's; otherwise it sums the table itself. #}
{% macro refresh_event_day_sums(also_days_where=none) %}
    {%- if not keeps_event_day_sums(this) -%}
        {{ return('') }}
    {%- endif -%}
    {%- set date_column = config.get('meta', {}).get('event_date_column') -%}
    {#- a whole build (--full-refresh) re-sums every day; so does a first one, which has no stored sums. An
        event view (event_view_config) has the window of a night as the table it reads does -#}
    {%- if config.get('materialized') == 'view' -%}
        {%- set start = night_window_start(model) -%}
        {%- set whole = start is none or build_var('max_date') is none -%}
        {%- set window = none if whole else {'start': start, 'end': build_var('max_date')} -%}
    {%- else -%}
        {%- set whole = not is_incremental() -%}
        {%- set window = none if whole else event_window() -%}
    {%- endif -%}
    {%- set table_name = "'" ~ this.schema ~ '.' ~ this.identifier ~ "'" -%}
    {%- set signature = event_day_sums_signature(this.database, this.schema, this.identifier) -%}
    create or replace temp table event_day_counts as
        select {{ date_column }} as day_value, cast({{ date_column }} as varchar) as "day", count(*) as "rows"
        from {{ this }} group by {{ date_column }};
    create or replace temp table event_days_resummed as
        select c.day_value
        from event_day_counts as c
        left join (
            select "day", "rows" from dbt_state.event_day_sums
            where table_name = {{ table_name }} and columns_signature = ({{ signature }})
        ) as s on s."day" is not distinct from c."day"
        where {{ 'true or ' if whole }}s."rows" is distinct from c."rows"
        {%- if window is not none and window.start is not none %}
           or c.day_value between cast('{{ window.start }}' as date) and cast('{{ window.end }}' as date)
        {%- endif %}
        {%- if also_days_where %}
           or c.day_value in (select {{ date_column }} from {{ this }} where {{ also_days_where }})
        {%- endif %};
    delete from dbt_state.event_day_sums as s
    where s.table_name = {{ table_name }}
      and (s.columns_signature <> ({{ signature }})
           or not exists (select 1 from event_day_counts as c where c."day" is not distinct from s."day")
           or exists (select 1 from event_days_resummed as r
                      where cast(r.day_value as varchar) is not distinct from s."day"));
    insert into dbt_state.event_day_sums
    select {{ table_name }}, d, n, h, ({{ signature }})
    from (
        {{ event_day_sums_query(this, date_column, date_column ~ ' in (select day_value from event_days_resummed)') }}
        {#- a semi-join on the days, the null day apart: in one `or`, every row of history was hashed (10M: ~1 s) #}
        union all
        {{ event_day_sums_query(this, date_column, date_column ~ ' is null and'
                                ~ ' (select count(*) from event_days_resummed where day_value is null) > 0') }}
    );
    drop table event_day_counts;
    drop table event_days_resummed
{% endmacro %}


{# Whether the build keeps the day sums of an event-grain relation: DuckDB's published marts. #}
{% macro keeps_event_day_sums(relation) %}
    {{ return(target.type == 'duckdb' and relation.schema == 'marts') }}
{% endmacro %}


{# The tables of the kept sums and of what each reader last read (the sums, the settlement files: below),
   created once before a build's models (on-run-start): created by the marts' post-hooks themselves, two
   of them running at once on dbt's two threads conflicted in DuckDB's catalog (the first build of a home
   failed one). #}
{% macro create_event_day_sums() %}
    {%- if target.type == 'duckdb' -%}
    create schema if not exists dbt_state;
    create table if not exists dbt_state.event_day_sums (
        table_name varchar, "day" varchar, "rows" bigint, row_hash_sum hugeint, columns_signature varchar
    );
    create table if not exists dbt_state.event_day_sums_read (
        reader varchar, table_name varchar, "day" varchar, "rows" bigint, row_hash_sum hugeint,
        columns_signature varchar
    );
    create table if not exists dbt_state.settlement_files_read (
        reader varchar, settlement_id varchar, _source_sha256 varchar
    )
    {%- endif -%}
{% endmacro %}


{# Readers of the kept sums: a model that sums event facts per day (channel_pnl_daily) re-sums only the
   days whose facts changed since its last build, instead of every fact of history each night. `facts`:
   a list of {relation, date_column}; a fact whose sums the build keeps is read from
   dbt_state.event_day_sums, another (meant for small tables: int_operating_costs_daily) is summed
   here. The reader saves the sums it was built from in its post-hook, in the transaction of its own
   build (save_read_day_sums), so a night it did not build (failed upstream, not selected) is caught
   up at its next build. DuckDB only. #}

{# SELECT (table_name, day, rows, row_hash_sum, columns_signature) of the facts' current sums. #}
{% macro fact_day_sums_now(facts) -%}
    {%- for fact in facts %}
    {%- set relation = fact.relation %}
    {%- if keeps_event_day_sums(relation) %}
    select table_name, "day", "rows", row_hash_sum, columns_signature from dbt_state.event_day_sums
    where table_name = '{{ relation.schema }}.{{ relation.identifier }}'
    {%- else %}
    select '{{ relation.schema }}.{{ relation.identifier }}', d, n, h,
        ({{ event_day_sums_signature(relation.database, relation.schema, relation.identifier) }})
    from ({{ event_day_sums_query(relation, fact.date_column) }}) as sums
    {%- endif %}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{# SELECT day_value (a date; null for the facts' null day): the days whose sums differ from those
   `reader` saw (a day new, gone or changed in any fact; every day the first time). #}
{% macro changed_fact_days(reader, facts) -%}
    select distinct cast(coalesce(now_sums."day", seen."day") as date) as day_value
    from ({{ fact_day_sums_now(facts) }}) as now_sums
    full outer join (select * from dbt_state.event_day_sums_read where reader = '{{ reader }}') as seen
        on seen.table_name = now_sums.table_name and seen."day" is not distinct from now_sums."day"
    where now_sums.table_name is null or seen.table_name is null
       or now_sums."rows" <> seen."rows" or now_sums.row_hash_sum <> seen.row_hash_sum
       or now_sums.columns_signature is distinct from seen.columns_signature
{%- endmacro %}


{# A filter on an event date: the days of `days` (a relation of day_value), or every day (none). #}
{% macro in_days(date_column, days) -%}
    {{ date_column ~ ' in (select d.day_value from ' ~ days ~ ' as d)' if days else 'true' }}
{%- endmacro %}


{# A reader's post-hook: keep the sums it was just built from. #}
{% macro save_read_day_sums(reader, facts) %}
    {%- if target.type != 'duckdb' -%}
        {{ return('') }}
    {%- endif -%}
    delete from dbt_state.event_day_sums_read where reader = '{{ reader }}';
    insert into dbt_state.event_day_sums_read
    select '{{ reader }}', * from ({{ fact_day_sums_now(facts) }}) as sums
{% endmacro %}


{# Readers of the settled items (int_fee_accruals): the settlement files (settlement, file sha256) the
   reader was last built from, saved in its post-hook as the day sums are. A settlement file saved and no
   longer among the settled items' (re-issued, unlanded) may have taken items back off the settled list,
   whatever their order date: the reader then reads every order line again. DuckDB only. #}

{# SELECT settlement_id, _source_sha256 of the settled items now. #}
{% macro settlement_files_now() -%}
    select distinct settlement_id, _source_sha256 from {{ ref('int_settlement_items') }}
{%- endmacro %}


{# SELECT is_all: true when the reader saved no settlement files, or one it saved is gone. #}
{% macro settlement_file_lost(reader) -%}
    select not exists (select 1 from dbt_state.settlement_files_read where reader = '{{ reader }}')
        or exists (
            select settlement_id, _source_sha256 from dbt_state.settlement_files_read where reader = '{{ reader }}'
            except
            {{ settlement_files_now() }}
        ) as is_all
{%- endmacro %}


{# A reader's post-hook: keep the settlement files it was just built from. #}
{% macro save_read_settlement_files(reader) %}
    {%- if target.type != 'duckdb' -%}
        {{ return('') }}
    {%- endif -%}
    delete from dbt_state.settlement_files_read where reader = '{{ reader }}';
    insert into dbt_state.settlement_files_read
    select '{{ reader }}', settlement_id, _source_sha256 from ({{ settlement_files_now() }}) as files
{% endmacro %}


{# SELECT (d, n, h) of a relation's rows per day: the day as text, the rows, the sum of the rows' hashes
   — the same query as publish.py's `_days_of_table`, so the sums compare. #}
{% macro event_day_sums_query(relation, date_column, where='true') -%}
    select cast({{ date_column }} as varchar) as d, count(*) as n, sum(hash(*COLUMNS(*))) as h
    from {{ relation }} where {{ where }} group by {{ date_column }}
{%- endmacro %}


{# A scalar subquery: a table's columns and their types in order, so sums of other columns are not reused
   (publish.py's `_columns_signature` is the same query). #}
{% macro event_day_sums_signature(database, schema, identifier) -%}
    select string_agg(column_name || ' ' || data_type, ', ' order by column_index) from duckdb_columns()
    where database_name = '{{ database }}' and schema_name = '{{ schema }}' and table_name = '{{ identifier }}'
{%- endmacro %}
