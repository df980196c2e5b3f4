{# Staging of feeds whose vendor files may hold several rows per grain key: breakdown exports (Meta by
   age × gender, GA4 sessions by channel group, Google by device), or two same-named campaigns. The lake
   keeps every row with its `breakdown`; staging keeps, per grain key, the latest landed file that
   reports the key (a re-export of an overlapping period replaces the older file's rows, whatever their
   breakdown) and sums that file's rows: `sums` are added up, every other column comes from the file's
   first row of the key, `source_rows` counts the rows summed. Never one row of several by accident.
   Incrementally, the newly landed files compete with the stored row of each grain key they carry
   (`delete+insert` on the grain; the model's config sets it). #}
{% macro latest_file_totals(source_name, table_name, grain, sums) %}
    {%- set lineage = ['_source_file', '_source_sha256', '_source_line', '_source_format', '_loaded_at'] -%}
    {%- set skip = grain + sums + lineage + ['breakdown'] -%}
    {%- set others = [] -%}
    {%- set types = {} -%}
    {%- if execute -%}
        {%- for node in graph.sources.values() if node.source_name == source_name and node.name == table_name -%}
            {%- for column, spec in node.columns.items() -%}
                {%- do types.update({column: spec.data_type}) -%}
                {%- if column not in skip -%}{%- do others.append(column) -%}{%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    with
    {%- if is_incremental() %}
    landed as (
        select * from {{ source(source_name, table_name) }}
        where {{ landed_since_last_build(table_name) }}
    ),

    candidate_rows as (
        select *, cast(1 as bigint) as source_rows from landed
        union all by name
        -- the stored total of each key the new files carry, unless it comes from a file re-read here
        select {{ star_except(['source_rows']) }}, source_rows from {{ this }} as stored
        where stored._source_sha256 not in (select _source_sha256 from landed)
          and exists (
            select 1 from landed
            where {% for column in grain %}landed.{{ column }} = stored.{{ column }}{{ ' and ' if not loop.last }}{% endfor %}
        )
    ),
    {%- else %}
    candidate_rows as (
        select *, cast(1 as bigint) as source_rows from {{ source(source_name, table_name) }}
        where {{ in_file_snapshot(table_name) }}
    ),
    {%- endif %}

    latest_file as (
        select {{ grain | join(', ') }}, max_by(_source_sha256, _loaded_at) as _source_sha256
        from candidate_rows
        group by {{ grain | join(', ') }}
    )

    select
        {%- for column in grain %}
        r.{{ column }},
        {%- endfor %}
        {%- for column in others %}
        min_by(r.{{ column }}, r._source_line) as {{ column }},
        {%- endfor %}
        {%- for column in sums %}
        {#- the source's own type: a sum would widen bigint to hugeint, decimal(18,6) to (38,6) #}
        cast(sum(r.{{ column }}) as {{ types.get(column) or 'double' }}) as {{ column }},
        {%- endfor %}
        cast(sum(r.source_rows) as bigint) as source_rows,
        min(r._source_file) as _source_file,
        r._source_sha256,
        min(r._source_line) as _source_line,
        min(r._source_format) as _source_format,
        max(r._loaded_at) as _loaded_at
    from candidate_rows as r
    inner join latest_file as f
        on {% for column in grain %}f.{{ column }} = r.{{ column }} and {% endfor %}f._source_sha256 = r._source_sha256
    group by {% for column in grain %}r.{{ column }}, {% endfor %}r._source_sha256
{% endmacro %}
