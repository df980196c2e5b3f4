-- One row per order line across every channel (Shopify web/app/POS, Amazon, wholesale), at one
-- grain: units, gross, discounts (order-level discounts allocated to lines by value), shipping and
-- tax in the original currency and in the reporting currency, with the rate used and the SKU's unit
-- cost effective on the order date. Rules: docs/metrics.md.
-- Incremental over order dates (macros/incremental.sql): each source is read for the window's dates.
{{ event_model_config(unique_key='order_line_id', event_date_column='order_date') }}

{#- DuckDB's CTE hint (the unit tests render this model on Spark too) -#}
{%- set not_materialized = 'not materialized ' if target.type == 'duckdb' else '' %}

with shopify as {{ not_materialized }}(
    select
        *,
        lineitem_price * lineitem_quantity as gross,
        coalesce(lineitem_discount, 0) as line_discount
    from {{ ref('stg_shopify__order_lines') }}
    where {{ in_event_window_local('created_at') }}
),

-- each order's totals, joined back to its lines: windows over the lines held every staging column of the
-- window's lines and sorted them (10M bench, whole build: 28 of the query's 32 s)
shopify_orders as (
    select
        order_name,
        sum(line_discount) as line_discounts,
        sum({{ to_cents('gross') }}) as order_gross_cents
    from shopify
    group by order_name
),

shopify_allocation as {{ not_materialized }}(
    -- order-level discount ∝ line gross, in whole cents (exact integers, never floating point):
    -- each line gets floor(discount × gross ÷ order gross) cents, the cents left over go one each
    -- to the lines with the largest remainders, ties to the earlier line (shopify_extra_cents)
    select
        *,
        case when order_gross_cents = 0 then 0
             else {{ div_floor('order_level_discount_cents * gross_cents', 'order_gross_cents') }}
        end as alloc_floor_cents,
        case when order_gross_cents = 0 then 0
             else order_level_discount_cents * gross_cents
                  - {{ div_floor('order_level_discount_cents * gross_cents', 'order_gross_cents') }} * order_gross_cents
        end as alloc_remainder
    from (
        select
            s.*,
            {{ to_cents('s.gross') }} as gross_cents,
            -- the part of the order's discount not already on its lines
            {{ to_cents('coalesce(s.discount_amount, 0) - o.line_discounts') }} as order_level_discount_cents,
            o.order_gross_cents
        from shopify as s
        inner join shopify_orders as o on o.order_name = s.order_name
    ) as cents
),

-- the lines that get one of the cents left over: ranked only in the orders with an order-level discount
-- to share (in any other order every floor is 0 or, on a single line, the whole discount: none is left)
shopify_extra_cents as (
    select
        order_name,
        line_number,
        row_number() over (partition by order_name order by alloc_remainder desc, line_number asc)
        <= order_level_discount_cents - sum(alloc_floor_cents) over (partition by order_name) as gets_a_cent
    from shopify_allocation
    where order_name in (
        select d.order_name from shopify_allocation as d
        where d.order_gross_cents <> 0 and d.order_level_discount_cents <> 0
    )
),

shopify_lines as (
    select
        'shopify:' || s.order_name || ':' || cast(s.line_number as {{ dbt.type_string() }}) as order_line_id,
        'shopify' as source,
        coalesce(src.channel, dflt.channel) as channel,
        s.order_name as order_id,
        s.line_number,
        s.created_at as ordered_at,
        s.fulfilled_at as shipped_at,
        s.cancelled_at is not null as is_cancelled,
        s.email_hash as customer_key,
        s.lineitem_sku as sku,
        s.lineitem_quantity as units,
        s.currency,
        s.lineitem_price as unit_price,
        s.gross as gross_sales,
        s.line_discount
            + cast(s.alloc_floor_cents + case when e.gets_a_cent then 1 else 0 end as decimal(18, 0))
            * 0.01
            as discounts,
        -- order-level shipping and tax sit on the order's first line
        case when s.line_number = 1 then coalesce(s.shipping, 0) else 0 end as shipping_income,
        case when s.line_number = 1 then coalesce(s.taxes, 0) else 0 end as tax
    from shopify_allocation as s
    left join shopify_extra_cents as e on e.order_name = s.order_name and e.line_number = s.line_number
    left join {{ ref('shopify_source_channels') }} as src on src.source = s.source
    cross join (select channel from {{ ref('shopify_source_channels') }} where source = '*') as dflt
),

amazon_report as (
    select
        -- a sku listed twice in one order (two items/shipments): the second row gets ':2'
        'amazon:' || o.amazon_order_id || ':' || o.sku
            || case when o.sku_occurrence > 1 then ':' || cast(o.sku_occurrence as {{ dbt.type_string() }}) else '' end
            as order_line_id,
        'amazon_orders_report' as source,
        m.channel,
        o.amazon_order_id as order_id,
        cast(null as bigint) as line_number,
        o.purchase_date as ordered_at,
        cast(null as {{ type_instant() }}) as shipped_at,
        o.order_status = 'Cancelled' as is_cancelled,
        cast(null as {{ dbt.type_string() }}) as customer_key,
        o.sku,
        o.quantity as units,
        o.currency,
        case when o.quantity > 0 then o.item_price / o.quantity end as unit_price,
        coalesce(o.item_price, 0) as gross_sales,
        coalesce(o.item_promotion_discount, 0) as discounts,
        coalesce(o.shipping_price, 0) - coalesce(o.ship_promotion_discount, 0) as shipping_income,
        coalesce(o.item_tax, 0) + coalesce(o.shipping_tax, 0) as tax
    from {{ ref('stg_amazon__order_items') }} as o
    left join {{ ref('amazon_marketplaces') }} as m on m.marketplace_name = o.sales_channel
    where {{ in_event_window_local('o.purchase_date') }}
),

settlement_orders as (
    -- order items that reached a settlement but no All Orders report: sales from the settlement
    select
        l.order_id,
        l.sku,
        min(l.posted_date) as posted_date,
        max(l.currency) as currency,
        max(l.marketplace_name) as marketplace_name,
        -- units once per item: only its Principal carries them (legacy files repeat the item's
        -- quantity on every component; two items of one sku add up)
        sum(case when c.category = 'sales_principal' then l.quantity_purchased else 0 end) as units,
        sum(case when c.category = 'sales_principal' then l.amount else 0 end) as principal,
        sum(case when c.category = 'promotion_principal' then l.amount else 0 end) as promotion_principal,
        sum(case when c.category = 'sales_shipping' then l.amount else 0 end)
            + sum(case when c.category = 'promotion_shipping' then l.amount else 0 end) as shipping,
        sum(case when c.category = 'tax' then l.amount else 0 end) as tax
    from {{ ref('stg_amazon__settlement_lines') }} as l
    inner join {{ ref('settlement_line_categories') }} as c
        on c.amount_type = l.amount_type and c.amount_description = l.amount_description
    -- an item an All Orders report has is left out line by line, before the aggregate (an anti-join:
    -- as `not exists` after it, every item of history was summed and nearly all thrown away; 10M
    -- bench, whole build: the query 21.1 -> 18.8 s)
    left join {{ ref('stg_amazon__order_items') }} as o
        on o.amazon_order_id = l.order_id and o.sku = l.sku
    where l.transaction_type = 'Order' and l.order_id is not null and o.amazon_order_id is null
    {%- set window = event_window() %}
    {%- if window is not none and window.start is not none %}
      -- an item whose first line is in the window has every line from its start on: only the orders
      -- with such a line are aggregated, not every settlement line of history
      and l.order_id in (
          select w.order_id from {{ ref('stg_amazon__settlement_lines') }} as w
          where w.transaction_type = 'Order' and w.posted_date >= cast('{{ window.start }}' as date)
      )
    {%- endif %}
    group by l.order_id, l.sku
    -- the window is tested on the aggregate: an item's lines may post on several days
    having {{ in_event_window('min(l.posted_date)') }}
),

amazon_settlement_only as (
    select
        'amazon:' || s.order_id || ':' || s.sku as order_line_id,
        'amazon_settlement' as source,
        m.channel,
        s.order_id,
        cast(null as bigint) as line_number,
        cast(s.posted_date as {{ type_instant() }}) as ordered_at,
        cast(null as {{ type_instant() }}) as shipped_at,
        false as is_cancelled,
        cast(null as {{ dbt.type_string() }}) as customer_key,
        s.sku,
        s.units,
        s.currency,
        case when s.units > 0 then s.principal / s.units end as unit_price,
        s.principal as gross_sales,
        -s.promotion_principal as discounts,
        s.shipping as shipping_income,
        s.tax
    from settlement_orders as s
    left join {{ ref('amazon_marketplaces') }} as m on m.marketplace_name = s.marketplace_name
),

wholesale_lines as (
    select
        'wholesale:' || w.document_number || ':' || cast(w.line_number as {{ dbt.type_string() }}) as order_line_id,
        'wholesale' as source,
        'wholesale' as channel,
        w.document_number as order_id,
        w.line_number,
        cast(w.invoice_date as {{ type_instant() }}) as ordered_at,
        cast(w.ship_date as {{ type_instant() }}) as shipped_at,
        false as is_cancelled,
        w.customer_account as customer_key,
        w.sku,
        w.units,
        w.currency,
        w.unit_price,
        w.units * w.unit_price as gross_sales,
        coalesce(w.discount, 0) as discounts,
        0 as shipping_income,
        coalesce(w.tax_amount, 0) as tax
    from {{ ref('stg_erp__wholesale_invoice_lines') }} as w
    where w.document_type = 'invoice'
      and {{ in_event_window('w.invoice_date') }}
),

unified as (
    select * from shopify_lines
    union all select * from amazon_report
    union all select * from amazon_settlement_only
    union all select * from wholesale_lines
),

dated as (
    select *, {{ order_event_date('ordered_at') }} as order_date
    from unified
)

select
    d.order_line_id,
    d.source,
    d.channel,
    d.order_id,
    d.line_number,
    d.ordered_at,
    d.order_date,
    d.shipped_at,
    d.is_cancelled,
    d.customer_key,
    d.sku,
    cast(d.units as bigint) as units,
    d.currency,
    cast(d.unit_price as decimal(18, 4)) as unit_price,
    cast(d.gross_sales as decimal(18, 2)) as gross_sales,
    cast(d.discounts as decimal(18, 2)) as discounts,
    cast(d.shipping_income as decimal(18, 2)) as shipping_income,
    cast(d.tax as decimal(18, 2)) as tax,
    {{ fx_rate('d.currency', 'fx.rate') }} as fx_rate,
    {{ to_reporting('d.gross_sales', fx_rate('d.currency', 'fx.rate')) }} as gross_sales_rc,
    {{ to_reporting('d.discounts', fx_rate('d.currency', 'fx.rate')) }} as discounts_rc,
    {{ to_reporting('d.shipping_income', fx_rate('d.currency', 'fx.rate')) }} as shipping_income_rc,
    {{ to_reporting('d.tax', fx_rate('d.currency', 'fx.rate')) }} as tax_rc,
    c.unit_cost,
    c.cost_currency,
    {{ fx_rate('c.cost_currency', 'cost_fx.rate') }} as cost_fx_rate,
    {{ to_reporting('d.units * c.unit_cost', fx_rate('c.cost_currency', 'cost_fx.rate')) }} as cogs_rc
from dated as d
left join {{ ref('int_fx_rates') }} as fx
    on fx.currency = d.currency and fx.rate_date = d.order_date
left join {{ ref('int_cogs_effective') }} as c
    on c.sku = d.sku and d.order_date >= c.effective_from
    and (c.effective_to is null or d.order_date < c.effective_to)
left join {{ ref('int_fx_rates') }} as cost_fx
    on cost_fx.currency = c.cost_currency and cost_fx.rate_date = d.order_date
