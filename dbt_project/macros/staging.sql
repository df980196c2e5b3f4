{# The primary key of a source table, from its meta (generated from the feed's contract). #}
{% macro source_primary_key(source_name, table_name) %}
    {% if execute %}
        {% for node in graph.sources.values() %}
            {% if node.source_name == source_name and node.name == table_name %}
                {{ return(node.meta.primary_key) }}
            {% endif %}
        {% endfor %}
        {{ exceptions.raise_compiler_error("no source " ~ source_name ~ "." ~ table_name) }}
    {% endif %}
    {{ return([]) }}
{% endmacro %}


{# Every landed version of a row stays in the lake (one Parquet file per landed file); staging keeps
   the latest: per primary key, the row of the most recently landed file (then the later line). #}
{% macro latest_rows(source_name, table_name, key=none) %}
    {%- set key = key or source_primary_key(source_name, table_name) -%}
    select {{ star_except(["_version"]) }}
    from (
        select
            *,
            row_number() over (
                partition by {{ key | join(', ') }}
                order by _loaded_at desc, _source_line desc
            ) as _version
        from {{ source(source_name, table_name) }}
    ) as versions
    where _version = 1
{% endmacro %}
