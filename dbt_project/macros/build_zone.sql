{# A build database holds its event days on one business clock. A dbt command run with another time zone
   (run by hand without CWH_BUSINESS_TIMEZONE, which `cwh` sets from config/settings.yml: the macro
   business_timezone then reads UTC) would re-date the window's events on that clock and keep the older
   days on the first: rows dropped or moved between days, silently, every test passing (the layers
   agree with each other). on-run-start of `dbt run` / `dbt build`: the zone the database was built on
   is kept in dbt_state.build_settings; another one stops the command before any model, unless it is a
   --full-refresh of every model, which rebuilds every day on the new clock and keeps it. DuckDB only. #}
{% macro check_build_timezone() %}
    {%- if target.type != 'duckdb' or not execute or flags.WHICH not in ('run', 'build') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set zone = business_timezone() -%}
    {%- do run_query("create schema if not exists dbt_state; create table if not exists dbt_state.build_settings "
                     ~ "(name varchar, value varchar)") -%}
    {%- set rows = run_query("select value from dbt_state.build_settings where name = 'business_timezone'").rows -%}
    {%- set built = rows[0][0] if rows | length > 0 else none -%}
    {%- set whole_refresh = flags.FULL_REFRESH and not invocation_args_dict.get('select') -%}
    {%- if built is not none and built != zone and not whole_refresh -%}
        {{ exceptions.raise_compiler_error(
            "This build database was built on the business time zone " ~ built ~ ", and this dbt command runs on "
            ~ zone ~ " (CWH_BUSINESS_TIMEZONE" ~ (" is not set" if env_var('CWH_BUSINESS_TIMEZONE', '') == '' else "")
            ~ "): its days would mix two clocks. Run dbt through `cwh run` / `cwh build` (they set the zone from "
            ~ "config/settings.yml), or set CWH_BUSINESS_TIMEZONE=" ~ built ~ "; after a change of the home's zone, "
            ~ "`cwh build` (a full refresh) rebuilds every day on the new one.") }}
    {%- endif -%}
    {%- if built != zone and (built is none or whole_refresh) -%}
        {%- do run_query("delete from dbt_state.build_settings where name = 'business_timezone'; "
                         ~ "insert into dbt_state.build_settings values ('business_timezone', '" ~ zone ~ "')") -%}
    {%- endif -%}
{% endmacro %}
