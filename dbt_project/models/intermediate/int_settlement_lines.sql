-- Every Amazon settlement component line with its P&L category (seeds/settlement_line_categories.csv)
-- and its channel. A line without a marketplace (account-level fees) takes the marketplace of the
-- other lines of its settlement; a settlement with no marketplace at all books to `unallocated`.
-- `category` is null for a line the seed does not classify: tested (never silently dropped).
-- Incremental on DuckDB by settlement (docs/incremental.md): a night re-processes only the
-- settlements whose file differs from the one built (new, re-issued), and those with a line left
-- unclassified (so a seed fix applies the next night); strategy replace_groups also drops the
-- settlements staging no longer holds. Elsewhere a table rebuilt whole.
{{ config(
    materialized=('incremental' if target.type == 'duckdb' else 'table'),
    incremental_strategy='replace_groups',
    unique_key='settlement_id',
    on_schema_change='append_new_columns',
    meta={'live_groups': 'stg_amazon__settlement_lines'},
) }}

{#- a table built before it carried the file's sha256 is re-processed whole, once -#}
{%- set compares_files = incremental_with_column('_source_sha256') %}
{%- set changed_settlements %}
    -- staging keeps one file per settlement (its latest)
    with staged_files as (
        select settlement_id, min(_source_sha256) as source_sha256
        from {{ ref('stg_amazon__settlement_lines') }}
        group by settlement_id
    ),

    built_files as (
        select
            settlement_id,
            min(_source_sha256) as source_sha256,
            max(case when category is null or channel is null then 1 else 0 end) as has_unresolved_line
        from {{ this }}
        group by settlement_id
    )

    select s.settlement_id
    from staged_files as s
    left join built_files as b on b.settlement_id = s.settlement_id
    where b.settlement_id is null
        or coalesce(b.source_sha256, '') <> s.source_sha256
        or b.has_unresolved_line = 1
{%- endset %}
{#- the settlements re-processed, kept for the model's row tests (night_groups_relation); a build reads them back -#}
{%- set groups_relation = night_groups_relation(this) %}
{%- set groups_as_table = compares_files and execute and flags.WHICH in ('run', 'build') %}
{%- do write_night_groups(groups_relation, 'settlement_id', changed_settlements if groups_as_table else none) %}

with
{%- if compares_files %}
changed_settlements as (
    {%- if groups_as_table %}
    select settlement_id from {{ groups_relation }}
    {%- else %}
    {{ changed_settlements }}
    {%- endif %}
),

lines as (
    select * from {{ ref('stg_amazon__settlement_lines') }}
    where settlement_id in (select c.settlement_id from changed_settlements as c)
),
{%- else %}
lines as {{ not_materialized() }} (  -- every line of history, read again rather than held whole
    select * from {{ ref('stg_amazon__settlement_lines') }}
),
{%- endif %}

settlement_marketplace as (
    select settlement_id, max(marketplace_name) as marketplace_name
    from lines
    where marketplace_name is not null and marketplace_name <> ''
    group by settlement_id
),

resolved as (
    select
        l.*,
        coalesce(nullif(l.marketplace_name, ''), s.marketplace_name) as resolved_marketplace
    from lines as l
    left join settlement_marketplace as s on s.settlement_id = l.settlement_id
)

select
    'amazon_settlement:' || r.settlement_id || ':' || r.line_id as settlement_line_id,
    r.settlement_id,
    r.line_id,
    r.report_layout,
    r.transaction_type,
    r.order_id,
    r.adjustment_id,
    r.sku,
    r.quantity_purchased,
    r.amount_type,
    r.amount_description,
    c.category,
    r.amount,
    r.currency,
    r.posted_date,
    r.posted_date_time,
    r.resolved_marketplace as marketplace_name,
    -- an unknown marketplace name stays null (fails the not_null test: add it to amazon_marketplaces)
    case when r.resolved_marketplace is null then 'unallocated' else m.channel end as channel,
    r._source_sha256
from resolved as r
left join {{ ref('settlement_line_categories') }} as c
    on c.amount_type = r.amount_type and c.amount_description = r.amount_description
left join {{ ref('amazon_marketplaces') }} as m on m.marketplace_name = r.resolved_marketplace
