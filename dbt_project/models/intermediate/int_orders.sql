-- One row per channel × order with a non-cancelled line: the order's date and instant, its shipment
-- (an order is shipped once every non-cancelled line has shipped: the last of their instants), its
-- units and amounts in the reporting currency, whether it carries a buyer identity. What the KPI marts count orders, AOV,
-- order cycle and on-time shipping from (docs/metrics.md "KPIs"), instead of grouping every order
-- line of history into orders each night.
-- Incremental over order dates (macros/incremental.sql): a night groups the window's lines only. Every
-- feed dates an order once (Shopify's created_at, Amazon's purchase-date, the wholesale invoice
-- date are the order's, on each of its lines), so the window holds each of its orders whole.
-- The order cycle is computed here, once per order: read from the marts, every order of history
-- converted its two instants to the UTC clock each night (10M bench: ~2.5 s of CPU a mart).
{{ event_model_config(unique_key='order_key', event_date_column='order_date') }}

with orders as (
    select
        channel || ':' || order_id as order_key,
        channel,
        order_id,
        min(order_date) as order_date,
        min(ordered_at) as ordered_at,
        case when count(shipped_at) = count(*) then max(shipped_at) end as shipped_at,
        -- whether a buyer identity came with it (a string aggregate here doubled the build's cost)
        count(customer_key) > 0 as has_customer,
        cast(count(*) as bigint) as lines,
        cast(sum(units) as bigint) as units,
        cast(sum(gross_sales_rc) as decimal(18, 2)) as gross_sales_rc,
        cast(sum(discounts_rc) as decimal(18, 2)) as discounts_rc,
        cast(sum(shipping_income_rc) as decimal(18, 2)) as shipping_income_rc
    from {{ ref('int_order_lines') }}
    where not is_cancelled
      and {{ in_event_window('order_date') }}
    group by channel, order_id
)

select
    *,
    cast({{ elapsed_seconds('ordered_at', 'shipped_at') }} as double) / 3600 as cycle_hours
from orders
