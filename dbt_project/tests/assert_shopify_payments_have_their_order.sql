-- Shopify Payments charges and refunds whose order is not in the orders export (never landed, or its
-- row is in quarantine): their fee is an `unallocated` payment fee (never held back or dropped), their
-- amount is no sale or return until the order lands, and `unexplained` in the payout reconciliation
-- (docs/metrics.md, "Shopify Payments transactions without their order"). Listed as a warning, which
-- blocks nothing, so they stay visible; an unexpected number of them points at a missing orders export.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'stg_shopify__payment_transactions'}}}) }}

-- an anti-join on the distinct order ids: `not exists` on the order lines became a mark join whose hash
-- table held every line of history (10M bench: 2.8 -> 1.3 s, CPU 5.3 -> 2.6 s, same rows)
select p.transaction_key, p.transaction_date, p.transaction_type, p.order_name, p.amount, p.fee
from {{ ref('stg_shopify__payment_transactions') }} as p
left join (
    select distinct order_id from {{ ref('int_order_lines') }} where source = 'shopify'
) as o on o.order_id = p.order_name
where p.transaction_type in ('charge', 'refund') and o.order_id is null
