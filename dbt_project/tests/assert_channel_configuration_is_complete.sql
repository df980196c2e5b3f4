-- Channel configuration checks the column tests cannot express: the `unallocated` channel exists
-- (costs no rule ties to a channel go there) and Shopify sources have exactly one `*` default.
select 'no unallocated channel' as problem
where not exists (select 1 from {{ ref('channels') }} where channel = 'unallocated')
union all
select 'shopify_source_channels needs exactly one * row'
where (select count(*) from {{ ref('shopify_source_channels') }} where source = '*') <> 1

-- reads several models: Dagster shows it as a check of the one it verifies
{{ config(meta={'dagster': {'ref': {'name': 'shopify_source_channels'}}}) }}
