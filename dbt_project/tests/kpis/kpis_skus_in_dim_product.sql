-- relationships sku → dim_product: every SKU sold or refunded is a dim_product row.
select 'order_line' as fact, order_line_id as fact_id, sku
from {{ ref('int_order_lines') }}
where sku is not null and sku not in (select sku from {{ ref('dim_product') }})
union all
select 'refund', refund_line_id, sku
from {{ ref('fct_refunds') }}
where sku is not null and sku not in (select sku from {{ ref('dim_product') }})

-- reads several models: Dagster shows it as a check of the one it verifies
{{ config(meta={'dagster': {'ref': {'name': 'dim_product'}}}) }}
