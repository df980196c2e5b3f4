-- One row per SKU known to any feed: sold (order lines), refunded, costed (COGS) or stocked
-- (inventory snapshots). The product name is the latest Shopify line-item name, else the latest
-- Amazon product title (wholesale and COGS files carry no names). The current cost is the SKU's
-- open-ended COGS row (effective_to null), in its own currency.

with skus as (
    select sku from {{ ref('int_order_lines') }}
    union
    select sku from {{ ref('fct_refunds') }}
    union
    select sku from {{ ref('int_cogs_effective') }}
    union
    select sku from {{ ref('stg_inventory__snapshots') }}
),

shopify_names as (  -- the name on the latest line (created_at, order_name, line_number: never null)
    select lineitem_sku as sku, lineitem_name as product_name
    from (
        {{ latest_per_key(ref('stg_shopify__order_lines'), 'lineitem_sku', 'lineitem_name',
                          ['created_at', 'order_name', 'line_number']) }}
    ) as latest
),

amazon_names as (  -- the title on the latest item (its key, never null, breaks ties)
    select sku, product_name
    from (
        {{ latest_per_key(ref('stg_amazon__order_items'), 'sku', 'product_name',
                          ['purchase_date', 'amazon_order_id', 'sku_occurrence']) }}
    ) as latest
),

first_sales as (
    select sku, min(order_date) as first_sold_date
    from {{ ref('int_order_lines') }}
    where not is_cancelled
    group by sku
),

current_cost as (
    select sku, unit_cost, cost_currency, effective_from
    from {{ ref('int_cogs_effective') }}
    where effective_to is null
)

select
    s.sku,
    coalesce(sn.product_name, an.product_name) as product_name,
    case
        when sn.product_name is not null then 'shopify'
        when an.product_name is not null then 'amazon'
    end as product_name_source,
    f.first_sold_date,
    cast(c.unit_cost as decimal(18, 4)) as current_unit_cost,
    c.cost_currency as current_cost_currency,
    c.effective_from as current_cost_effective_from
from skus as s
left join shopify_names as sn on sn.sku = s.sku
left join amazon_names as an on an.sku = s.sku
left join first_sales as f on f.sku = s.sku
left join current_cost as c on c.sku = s.sku
where s.sku is not null
