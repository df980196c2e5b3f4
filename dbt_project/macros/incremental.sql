{# Incremental builds (docs/incremental.md). Two kinds of incremental model:

   - staging tables merge the rows of newly landed files (`latest_version` strategy): the nightly cost
     is the new files, whatever the history;
   - event-grain models (tag `daily`: order lines, refunds, fees, spend) re-process a window of event
     dates, [min_date − late-arriving days, max_date] (`replace_window` strategy), where the
     late-arriving days are the longest `late_arriving_days` of the feeds upstream of the model
     (data_contracts/<feed>.yml) — none on a night whose window the plan drew (`window_late_days`).
     A full refresh builds every date up to max_date.
   vars: max_date (the last event date to build; none = everything), min_date (first date of the
   partition range; default max_date). Dagster sets both from the partition range, `cwh run` from
   the run date. #}


{# Config of an event-grain model: incremental over a window of event dates on DuckDB (a table on
   other engines, rebuilt whole), tagged `daily` (the Dagster partitioned assets). A mart's per-day
   sums for publish are refreshed after the model's own `post_hook`s (macros/day_sums.sql), with the
   days `also_days_where` holds a row of. #}
{% macro event_model_config(unique_key, event_date_column, post_hook=[], also_days_where=none) %}
    {{ config(
        materialized=('incremental' if target.type == 'duckdb' else 'table'),
        incremental_strategy='replace_window',
        unique_key=unique_key,
        on_schema_change='append_new_columns',
        tags=['daily'],
        meta={'event_date_column': event_date_column},
        post_hook=post_hook + ["{{ refresh_event_day_sums(" ~ (("'" ~ also_days_where ~ "'") if also_days_where
                                                                 else 'none') ~ ") }}"],
    ) }}
{% endmacro %}


{# Config of an event-grain fact that exposes an event model's rows (fct_order_lines: int_order_lines): a view
   over it, so the build keeps those rows once (each fact was a second copy, written again every night:
   10M bench, 15 s of a whole build for fct_order_lines' 14.4M rows and ~1.3 s of a night). Publish writes
   it into the published file as a table and patches it by day like the event tables (its per-day sums are
   kept the same way, with the days `also_days_where` holds a row of); its tests read the night's dates
   as theirs do (tested_window_predicate). #}
{% macro event_view_config(event_date_column, also_days_where=none) %}
    {{ config(
        materialized='view',
        tags=['daily'],
        meta={'event_date_column': event_date_column},
        post_hook=["{{ refresh_event_day_sums(" ~ (("'" ~ also_days_where ~ "'") if also_days_where else 'none') ~ ") }}"],
    ) }}
{% endmacro %}


{# The first event date an incremental night re-processes for `node` (its window's start, as event_window()
   gives it to an incremental model), or none when the build is whole (the first of a home, --full-refresh,
   a build without `landed_after`, off DuckDB, where the event models are rebuilt whole). #}
{% macro night_window_start(node) %}
    {%- if not execute or target.type != 'duckdb' or flags.FULL_REFRESH or build_var('landed_after') is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set first = build_var('min_date') or build_var('max_date') -%}
    {%- if first is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(modules.datetime.date.fromisoformat(first | string) - modules.datetime.timedelta(days=window_late_days(node))) }}
{% endmacro %}


{# The source a staging model reads, as the graph node. #}
{% macro staging_source_node(node) %}
    {% for parent in node.depends_on.nodes if parent.startswith('source.') %}
        {{ return(graph.sources[parent]) }}
    {% endfor %}
    {{ exceptions.raise_compiler_error(node.name ~ " reads no source") }}
{% endmacro %}


{# The longest late-arriving window of the feeds upstream of a node (sources met on the way). #}
{% macro upstream_late_arriving_days(node, seen=none) %}
    {% set seen = seen if seen is not none else [] %}
    {% set days = [0] %}
    {% for parent in node.depends_on.nodes if parent not in seen %}
        {% do seen.append(parent) %}
        {% if parent.startswith('source.') %}
            {% do days.append(graph.sources[parent].meta.get('late_arriving_days', 0)) %}
        {% elif parent.startswith('model.') %}
            {% do days.append(upstream_late_arriving_days(graph.nodes[parent], seen)) %}
        {% endif %}
    {% endfor %}
    {{ return(days | max) }}
{% endmacro %}


{# The days a node's window reaches back before min_date. None on a night whose window the plan drew
   (build var `window_planned`, written by the plan before dbt runs): the plan read the first event of
   every file landed since the last build and min_date is already the oldest day any new row touches
   (docs/incremental.md §3), so the feeds' late-arriving days would re-process weeks no new row is in.
   A build without a plan (dbt run by hand with min_date/max_date vars) re-processes them, not knowing
   what landed. #}
{% macro window_late_days(node) %}
    {%- if build_var('window_planned') == 'true' -%}
        {{ return(0) }}
    {%- endif -%}
    {{ return(upstream_late_arriving_days(node)) }}
{% endmacro %}


{# A value of this build's window: min_date, max_date, landed_after, window_planned. A nightly build reads them at
   run time from the table var `build_window` names (ops.build_window, written before dbt starts), so
   its --vars stay the same from night to night and dbt's partial parse survives (changed --vars force
   a full parse, ~6 s a night); without it, the var of that name (null = every date). #}
{% macro build_var(name) %}
    {%- set table = var('build_window', none) -%}
    {#- a unit test (it sees no graph) states its window in its own vars -#}
    {%- if table is none or not graph.get('nodes') -%}
        {{ return(var(name, none)) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(build_window_values(table).get(name)) }}
{% endmacro %}


{# The build window table's {name: value}, read once per dbt invocation. The table is written before
   dbt starts and never during the build, and a query per value cost ~20 ms of dbt's single-threaded
   Python (its events), ~360 times a night: every test asks (get_where_subquery). The values are kept
   in `graph` — the manifest's flat graph, one dict shared by every node of an invocation — under a
   key naming the invocation and the table, so another invocation (another window) reads its own. #}
{% macro build_window_values(table) %}
    {%- set key = '_cwh_build_window:' ~ invocation_id ~ ':' ~ table -%}
    {%- if key not in graph -%}
        {%- set values = {} -%}
        {%- for row in run_query("select name, value from " ~ table).rows -%}
            {%- do values.update({row[0]: row[1]}) -%}
        {%- endfor -%}
        {%- do graph.update({key: values}) -%}
    {%- endif -%}
    {{ return(graph[key]) }}
{% endmacro %}


{# {'start': date or none, 'end': date} of the event dates this build (re)processes, or none for all. #}
{% macro event_window() %}
    {% set max_date = build_var('max_date') %}
    {% if not execute or max_date is none %}
        {{ return(none) }}
    {% endif %}
    {% set end = modules.datetime.date.fromisoformat(max_date | string) %}
    {% set start = none %}
    {% if is_incremental() %}
        {% set first = modules.datetime.date.fromisoformat((build_var('min_date') or max_date) | string) %}
        {#- a unit test sees no graph: it states the days (var late_arriving_days) -#}
        {% set late_days = window_late_days(model) if graph.get('nodes') else var('late_arriving_days') %}
        {% set start = first - modules.datetime.timedelta(days=late_days) %}
    {% endif %}
    {{ return({'start': start, 'end': end}) }}
{% endmacro %}


{# A predicate: `date_expression` falls in this build's event window (`true` on a full build). #}
{% macro in_event_window(date_expression) -%}
    {%- set window = event_window() -%}
    {%- if window is none -%}
        true
    {%- elif window.start is none -%}
        {{ date_expression }} <= cast('{{ window.end }}' as date)
    {%- else -%}
        {{ date_expression }} between cast('{{ window.start }}' as date) and cast('{{ window.end }}' as date)
    {%- endif -%}
{%- endmacro %}


{# A predicate: `date_column` is a day of the window (start to end), the days listed so that DuckDB sees how few
   rows it keeps: it estimates a list of days from the column's distinct count (a night: a day's rows), but a
   range at a fifth of the table, and so built the hash table of the join the filter feeds on the other side,
   every row of history (10M night, int_journal_account_lines' payouts of the window's Shopify orders: 6.6M
   transactions hashed, the query's CPU 0.6-1.1 -> 0.2 s). A window of more than a year is a range, and so is
   one that ends before it starts (no day: an empty list is not SQL). #}
{% macro in_window_days(date_column, window) -%}
    {%- set days = (window.end - window.start).days + 1 -%}
    {%- if days < 1 or days > 366 -%}
        {{ date_column }} between cast('{{ window.start }}' as date) and cast('{{ window.end }}' as date)
    {%- else -%}
        {{ date_column }} in (
        {%- for n in range(days) -%}
            cast('{{ window.start + modules.datetime.timedelta(days=n) }}' as date){{ ', ' if not loop.last }}
        {%- endfor -%}
        )
    {%- endif -%}
{%- endmacro %}


{# A predicate: the business-local day of `instant` (a column of instants) falls in this build's
   event window — in_event_window(local_date(instant)), preceded by a bound on the instant itself,
   three days' margin either side (wider than any UTC offset, whatever the session's time zone).
   DuckDB tests the plain comparison first and converts only the rows it keeps to the local clock
   (ICU): a night's read of a feed's whole history (1M Shopify lines) 0.16 → 0.02 s. #}
{% macro in_event_window_local(instant) -%}
    {%- set window = event_window() -%}
    {%- if window is none -%}
        true
    {%- else -%}
        {%- set margin = modules.datetime.timedelta(days=3) -%}
        {%- if window.start is not none -%}
            {{ instant }} >= cast('{{ window.start - margin }}' as date) and
        {% endif -%}
        {{ instant }} < cast('{{ window.end + margin }}' as date)
        and {{ in_event_window(local_date(instant)) }}
    {%- endif -%}
{%- endmacro %}


{# A predicate for data tests that compare the event models with what they read: dates up to max_date
   (the staged feeds may hold later events, which this build leaves to a later one). #}
{% macro built_dates(date_expression) -%}
    {%- set max_date = build_var('max_date') -%}
    {%- if max_date is none -%} true {%- else -%} {{ date_expression }} <= cast('{{ max_date }}' as date) {%- endif -%}
{%- endmacro %}


{# The first date the staging-to-P&L reconciliations (tests/reconcile_*) check on an incremental night
   on DuckDB: the night's min_date less the longest late-arriving days of the feeds the test reads (none
   when the plan drew the window: `window_late_days`)
   (the widest window of any model it compares). The older days were reconciled by the build that last
   changed them and are untouched since: a file landed with older events widens the night's window to
   them (docs/incremental.md §3), and every model re-processes its window's dates whole. None (check
   every date) on a full build (the first, --full-refresh, no `landed_after`) and off DuckDB, where the
   event models are rebuilt whole. #}
{% macro reconciled_since() %}
    {{ return(night_window_start(model) if graph.get('nodes') else none) }}
{% endmacro %}


{# A predicate for the reconciliation tests: `date_expression` is a date they check — up to max_date
   (built_dates), from reconciled_since() on an incremental night, or one of the days in column `d` of
   `also_days` (a relation: days that change whatever their date, e.g. accrued fees). #}
{% macro reconciled_dates(date_expression, also_days=none) -%}
    {%- set since = reconciled_since() -%}
    {%- if since is none -%}
        {{ built_dates(date_expression) }}
    {%- else -%}
        ({{ built_dates(date_expression) }} and ({{ date_expression }} >= cast('{{ since }}' as date)
        {%- if also_days %} or {{ date_expression }} in (select d from {{ also_days }}){% endif %}))
    {%- endif -%}
{%- endmacro %}


{# A cheap bound on a column of instants, read before their local day is computed: every instant whose
   business-local day the reconciliations check (three days' margin, wider than any UTC offset). #}
{% macro reconciled_instants(instant) -%}
    {%- set since = reconciled_since() -%}
    {%- if since is none -%}
        true
    {%- else -%}
        {{ instant }} >= cast('{{ since - modules.datetime.timedelta(days=3) }}' as date)
    {%- endif -%}
{%- endmacro %}


{# Event models: delete the window's dates (and any key the window re-computes, should its date have
   moved), insert the window's rows. Deleting by date, not only by key, drops a row that the new
   data no longer produces (a refund of an order since cancelled). #}
{% macro get_incremental_replace_window_sql(arg_dict) %}
    {%- set window = event_window() -%}
    {%- set date_column = config.get('meta', {}).get('event_date_column') -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- if window is none or window.start is none or not date_column or not key -%}
        {{ exceptions.raise_compiler_error(this ~ ": replace_window needs max_date, meta.event_date_column and unique_key") }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {#- two deletes, not one `or`: inside the `or` DuckDB tested every row's key against the window's keys
        where alone it is a plain semi-join (10M bench, the deletes of the six largest replace_window and
        replace_since tables: 1.17 -> 0.74 s; fct_fees' 17.5M rows 0.24 -> 0.17 s) -#}
    delete from {{ arg_dict['target_relation'] }}
    where {{ date_column }} between cast('{{ window.start }}' as date) and cast('{{ window.end }}' as date);
    delete from {{ arg_dict['target_relation'] }}
    where {{ key }} in (select {{ key }} from {{ arg_dict['temp_relation'] }});
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{% endmacro %}


{# Small derived tables that read their stored rows (channel_pnl_daily: the days its facts did not
   change): the temp relation holds every row; the stored ones are replaced in the build's transaction. #}
{% macro get_incremental_replace_all_sql(arg_dict) %}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }};
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{% endmacro %}


{# Whether this incremental build adds to a stored table that has `column` (false on a full build). #}
{% macro incremental_with_column(column) %}
    {{ return(incremental_with_columns([column])) }}
{% endmacro %}

{% macro incremental_with_columns(columns) %}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set stored = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {{ return(columns | reject('in', stored) | list | length == 0) }}
{% endmacro %}


{# Models incremental by group (int_settlement_lines: by settlement): the temp relation holds every
   row of the groups (unique_key) the night re-processed; their stored rows are replaced, and the
   groups the model's source no longer holds (meta.live_groups, a ref: a settlement file removed
   from the lake) are dropped. #}
{% macro get_incremental_replace_groups_sql(arg_dict) %}
    {%- set key = arg_dict['unique_key'] -%}
    {%- set live = config.get('meta', {}).get('live_groups') -%}
    {%- if not key or not live -%}
        {{ exceptions.raise_compiler_error(this ~ ": replace_groups needs unique_key and meta.live_groups") }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {#- two deletes, not one `or` (as replace_window's) -#}
    delete from {{ arg_dict['target_relation'] }}
    where {{ key }} in (select {{ key }} from {{ arg_dict['temp_relation'] }});
    delete from {{ arg_dict['target_relation'] }}
    where {{ key }} not in (select {{ key }} from {{ ref(live) }} where {{ key }} is not null);
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{% endmacro %}


{# The groups a group-incremental model (strategy replace_groups or replace_listed_groups), or the keys
   a replace_since model (dim_customer), re-computed in this build: table `intermediate.<model>__groups`,
   one row per group (its unique_key), or one null row when the build computed every group. The model
   writes it on every DuckDB build and it stays until the next, so the model's row tests read only the
   rows the build wrote (tested_window_predicate). Always in the build-only schema `intermediate`: a
   mart's would be published. #}
{% macro night_groups_relation(relation) %}
    {%- if relation is none or relation is string -%}  {#- a unit test's model: no relation, or its given rows -#}
        {{ return(none) }}
    {%- endif -%}
    {{ return(relation.incorporate(path={'schema': night_groups_schema(), 'identifier': relation.identifier ~ '__groups'},
                                   type='table')) }}
{% endmacro %}

{% macro night_groups_schema() %}{{ return('intermediate') }}{% endmacro %}


{# Write a group-incremental model's groups table (`groups_sql`: a select of the group keys as column
   `key`; none: the build computes every group) and tell dbt's relation cache, so the tests find it. #}
{% macro write_night_groups(groups_relation, key, groups_sql=none) %}
    {%- if groups_relation is not none and execute and target.type == 'duckdb' and flags.WHICH in ('run', 'build') -%}
        {%- set every_group = 'select cast(null as ' ~ dbt.type_string() ~ ') as ' ~ key -%}
        {%- do run_query('create or replace table ' ~ groups_relation ~ ' as ' ~ (groups_sql or every_group)) -%}
        {%- do adapter.cache_added(groups_relation) -%}
    {%- endif -%}
{% endmacro %}


{# Models incremental by listed group (int_payout_items: by item group): the temp relation holds every
   row of the groups (unique_key) the build re-computed, and one marker row per such group
   (meta.row_column null) so that a group now without rows is listed too; the stored rows of the listed
   groups are deleted and the rows inserted. A marker with a null group lists every stored row (a full
   build in an incremental run: no window, or a table built before the group column). #}
{% macro get_incremental_replace_listed_groups_sql(arg_dict) %}
    {%- set key = arg_dict['unique_key'] -%}
    {%- set row_column = config.get('meta', {}).get('row_column') -%}
    {%- if not key or not row_column -%}
        {{ exceptions.raise_compiler_error(this ~ ": replace_listed_groups needs unique_key and meta.row_column") }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {#- two deletes, not one `or` (as replace_window's) -#}
    delete from {{ arg_dict['target_relation'] }}
    where {{ key }} in (select {{ key }} from {{ arg_dict['temp_relation'] }} where {{ key }} is not null);
    delete from {{ arg_dict['target_relation'] }}
    where exists (select 1 from {{ arg_dict['temp_relation'] }} where {{ row_column }} is null and {{ key }} is null);
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }} where {{ row_column }} is not null
{% endmacro %}


{# Models keyed by an entity whose row sums up the entity's history up to now (dim_customer: a
   customer's first and last order, order count). Only events on or after the window's start change
   (§2, §3 of docs/incremental.md), so an entity's row changes only if it has such an event now
   (the model re-computes it: its key is in the temp relation) or had one when the row was stored
   (meta.replaced_since_column, e.g. last_order_date, on or after the start): both are deleted, and
   the model re-computes the latter too, so an entity left without events (every order cancelled)
   disappears. Not bounded by the window's end: a backfill's window may close before later events.
   A build without a window (a full build in an incremental run) replaces every row. #}
{% macro get_incremental_replace_since_sql(arg_dict) %}
    {%- set window = event_window() -%}
    {%- set column = config.get('meta', {}).get('replaced_since_column') -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- if not column or not key -%}
        {{ exceptions.raise_compiler_error(this ~ ": replace_since needs unique_key and meta.replaced_since_column") }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- if window is not none and window.start is not none %}
    {#- two deletes, not one `or` (as replace_window's) #}
    delete from {{ arg_dict['target_relation'] }} where {{ column }} >= cast('{{ window.start }}' as date);
    delete from {{ arg_dict['target_relation'] }}
    where {{ key }} in (select {{ key }} from {{ arg_dict['temp_relation'] }});
    {%- else %}
    delete from {{ arg_dict['target_relation'] }};
    {%- endif %}
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{% endmacro %}


{# The keys of entities a `replace_since` model re-computes: those with an event in the window
   (`events`: a relation with `key_column` and the event date `date_column`) and those whose stored
   row has `since_column` (the model's meta.replaced_since_column) on or after the window's start.
   None on a full build. #}
{% macro replaced_since_keys(events, key_column, date_column, since_column) -%}
    {%- set window = event_window() -%}
    {%- if window is none or window.start is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set keys -%}
    select {{ key_column }} from {{ events }}
    where {{ key_column }} is not null and {{ date_column }} >= cast('{{ window.start }}' as date)
    union
    select {{ key_column }} from {{ this }}
    where {{ since_column }} >= cast('{{ window.start }}' as date)
    {%- endset -%}
    {{ return(keys) }}
{%- endmacro %}


{# Staging tables: the new versions replace the stored ones, key by key (the source's primary key). #}
{% macro get_incremental_latest_version_sql(arg_dict) %}
    {%- set key = staging_source_node(model).meta.primary_key -%}
    {% do arg_dict.update({'unique_key': key}) %}
    {{ return(get_incremental_delete_insert_sql(arg_dict)) }}
{% endmacro %}


{# Generic tests of an event model read, on an incremental night, only the dates the build
   re-processed (its window, late-arriving days included); the older rows are those the last
   successful build tested, left as they were (replace_window deletes every key it re-inserts, so a
   key cannot collide across the window's edge). A full build (the first of a home, --full-refresh,
   a build without `landed_after`) tests every row, and so do the tests that compare the model with
   another (relationships: the other side may have changed; equal_sums: both sides would need the
   same filter). Overrides dbt's get_where_subquery (the test's own `where` config still applies). #}
{% macro get_where_subquery(relation) -%}
    {%- if target.type != 'duckdb' -%}  {#- elsewhere exactly dbt's own (default__get_where_subquery) -#}
        {%- set where = config.get('where', '') -%}
        {%- if where -%}
            {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
            {%- endset -%}
            {{ return(filtered) }}
        {%- endif -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set predicates = [] -%}
    {%- if config.get('where') -%}
        {%- do predicates.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {%- set window_predicate = tested_window_predicate() -%}
    {%- if window_predicate -%}
        {%- do predicates.append(window_predicate) -%}
    {%- endif -%}
    {%- if predicates -%}
        {{ return('(select * from ' ~ relation ~ ' where ' ~ predicates | join(' and ') ~ ') dbt_subquery') }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}


{# The window predicate of the event model this test is attached to, or the groups predicate of a
   group-incremental or replace_since model (night_groups_predicate); none: test every row. #}
{% macro tested_window_predicate() -%}
    {%- set scoped_tests = ['not_null', 'not_null_columns', 'primary_key', 'unique',
                            'accepted_values', 'accepted_range', 'accepted_range_columns', 'expression_is_true'] -%}
    {#- DuckDB only: elsewhere the event models are rebuilt whole -#}
    {%- if not execute or target.type != 'duckdb' or flags.FULL_REFRESH or build_var('landed_after') is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set test_name = (model.get('test_metadata') or {}).get('name') -%}
    {%- set tested = graph.nodes.get(model.get('attached_node') or '') -%}
    {#- an event view (event_view_config) is scoped as the incremental model whose rows it exposes -#}
    {%- if test_name not in scoped_tests or tested is none or tested.config.materialized not in ('incremental', 'view') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if tested.config.materialized == 'incremental'
          and tested.config.incremental_strategy in ('replace_groups', 'replace_listed_groups', 'replace_since') -%}
        {{ return(night_groups_predicate(tested)) }}
    {%- endif -%}
    {%- set column = (tested.config.meta or {}).get('event_date_column') -%}
    {%- set start = night_window_start(tested) -%}
    {%- if not column or start is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(column ~ " >= cast('" ~ start ~ "' as date)") }}
{%- endmacro %}


{# A group-incremental (or replace_since) model's tested rows: those of the groups its build re-computed
   (night_groups_relation; the other groups' rows are as the last build that wrote them tested them). None
   (every row) when the build computed every group or the table is missing (a model whose build did not
   write it). #}
{% macro night_groups_predicate(tested) -%}
    {%- set key = tested.config.unique_key -%}
    {%- set groups = adapter.get_relation(tested.database, night_groups_schema(), (tested.alias or tested.name) ~ '__groups') -%}
    {%- if groups is none or not key -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set every_group = run_query('select count(*) from ' ~ groups ~ ' where ' ~ key ~ ' is null').columns[0].values()[0] -%}
    {%- if every_group -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(key ~ ' in (select g.' ~ key ~ ' from ' ~ groups ~ ' as g)') }}
{%- endmacro %}
