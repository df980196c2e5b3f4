-- Amazon's settled items: the Order lines of each settlement summed per item (order id × SKU), one row
-- per settlement × channel × currency × item — what int_fee_accruals needs to know of history (which
-- items a settlement has brought, and the recent items' rates) without reading every settlement line
-- of history every night (10M bench: the accruals query's CPU 2.0 → 0.9 s).
--
-- Incremental on DuckDB by settlement (docs/incremental.md, strategy `replace_listed_groups`): a night
-- re-computes the settlements whose file differs from the one built (new, re-issued, unlanded: as
-- int_settlement_lines, by the file's sha256), those int_settlement_lines no longer has, and those with
-- an Order line then unclassified or without channel (a seed fix classifies it the next night); their
-- stored rows are deleted and the re-computed ones inserted. A full build (first, --full-refresh, a
-- table built before `unclassified_lines`) computes every settlement. Elsewhere a table rebuilt whole.
{{ config(
    materialized=('incremental' if target.type == 'duckdb' else 'table'),
    incremental_strategy='replace_listed_groups',
    unique_key='settlement_id',
    on_schema_change='append_new_columns',
    meta={'row_column': 'order_id'},
) }}

{%- set by_settlements = incremental_with_columns(['unclassified_lines', '_source_sha256']) %}
{%- set groups_relation = night_groups_relation(this) %}
{%- set groups_as_table = by_settlements and execute and flags.WHICH in ('run', 'build') %}
{%- set affected_settlements %}
    -- staging keeps one file per settlement (its latest)
    with live_files as (
        select distinct settlement_id, _source_sha256 from {{ ref('int_settlement_lines') }}
    ),

    built_files as (
        select distinct settlement_id, _source_sha256 from {{ this }}
    )

    -- new settlements
    select l.settlement_id
    from live_files as l
    left join built_files as b on b.settlement_id = l.settlement_id
    where b.settlement_id is null
    union
    -- settlements built from a file their lines no longer come from: re-issued, or gone (unlanded)
    select b.settlement_id
    from built_files as b
    left join live_files as l on l.settlement_id = b.settlement_id and l._source_sha256 = b._source_sha256
    where l.settlement_id is null
    union
    select settlement_id from {{ this }} where unclassified_lines > 0 or channel is null
{%- endset %}
{%- do write_night_groups(groups_relation, 'settlement_id', affected_settlements if groups_as_table else none) %}

with
{%- if by_settlements %}
affected as (
    {%- if groups_as_table %}
    select settlement_id from {{ groups_relation }}
    {%- else %}
    {{ affected_settlements }}
    {%- endif %}
),
{%- endif %}

items as (
    select
        settlement_id,
        channel,
        currency,
        order_id,
        sku,
        min(posted_date) as first_posted_date,
        max(posted_date) as last_posted_date,
        -- units and principal once per item: only its Principal lines carry them
        cast(sum(case when category = 'sales_principal' then quantity_purchased else 0 end) as bigint) as units,
        cast(sum(case when category = 'sales_principal' then {{ to_cents('amount') }} else 0 end) as bigint)
            as principal_cents,
        cast(sum(case when category = 'marketplace_fees' then -{{ to_cents('amount') }} else 0 end) as bigint)
            as marketplace_cents,
        cast(sum(case when category = 'fulfillment_costs' then -{{ to_cents('amount') }} else 0 end) as bigint)
            as fulfillment_cents,
        cast(sum(case when category is null then 1 else 0 end) as bigint) as unclassified_lines,
        min(_source_sha256) as _source_sha256
    from {{ ref('int_settlement_lines') }}
    where transaction_type = 'Order' and order_id is not null
    {%- if by_settlements %}
        and settlement_id in (select a.settlement_id from affected as a)
    {%- endif %}
    group by settlement_id, channel, currency, order_id, sku
)

select * from items
{%- if is_incremental() %}
-- the settlements re-computed, one marker row each (order_id null: strategy replace_listed_groups deletes
-- their stored rows, inserts none); a full build in an incremental run marks every stored row (null settlement)
union all
select
    {{ 'a.settlement_id' if by_settlements else 'cast(null as ' ~ dbt.type_string() ~ ')' }},
    null, null, cast(null as {{ dbt.type_string() }}), null, null, null, null, null, null, null, null, null
{{ 'from affected as a' if by_settlements else '' }}
{%- endif %}
