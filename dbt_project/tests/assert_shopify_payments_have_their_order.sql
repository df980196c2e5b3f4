-- Shopify Payments charges and refunds whose order is not in the orders export (never landed, or its
-- row is in quarantine): their fee is an `unallocated` payment fee (never held back or dropped), their
-- amount is no sale or return until the order lands, and `unexplained` in the payout reconciliation
-- (docs/metrics.md, "Shopify Payments transactions without their order"). Listed as a warning, which
-- blocks nothing, so they stay visible; an unexpected number of them points at a missing orders export.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'stg_shopify__payment_transactions'}}}) }}

select p.transaction_key, p.transaction_date, p.transaction_type, p.order_name, p.amount, p.fee
from {{ ref('stg_shopify__payment_transactions') }} as p
where p.transaction_type in ('charge', 'refund')
  and not exists (
      select 1 from {{ ref('int_order_lines') }} as o
      where o.source = 'shopify' and o.order_id = p.order_name
  )
