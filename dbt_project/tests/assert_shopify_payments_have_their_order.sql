-- Shopify Payments charges and refunds whose order is not in the orders export (never landed, or its
-- row is in quarantine): their fee is an `unallocated` payment fee (never held back or dropped), their
-- amount is no sale or return until the order lands, and `unexplained` in the payout reconciliation
-- (docs/metrics.md, "Shopify Payments transactions without their order"). Listed as a warning, which
-- blocks nothing, so they stay visible; an unexpected number of them points at a missing orders export.
-- Every such transaction of history is listed, each night.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'stg_shopify__payment_transactions'}}}) }}

-- A transaction in a payout is already matched with the facts' orders by int_payout_items, which a night
-- re-computes for every order and transaction it could change (an order landing late included): its
-- charges and refunds of an order the facts do not have are Shopify items `unmatched` with that detail.
-- Only the transactions in no payout yet (the last days') are looked up in the order lines here. Matching
-- every transaction of history with every order again cost more than the rest of a night's Shopify work
-- (10M bench: 6.6M transactions, 6.3M orders, CPU 2.6 s; now ~0). The detail's selectivity also has
-- DuckDB build its join on those items, not on the transactions.
with paid_without_order as (
    select i.payout_id, i.item_key as transaction_key
    from {{ ref('int_payout_items') }} as i
    where i.source = 'shopify_payments' and i.item_kind = 'unmatched'
      and i.detail in ({{ unknown_order_detail("'charge'") }}, {{ unknown_order_detail("'refund'") }})
),

pending as (
    select transaction_key, transaction_date, transaction_type, order_name, amount, fee
    from {{ ref('stg_shopify__payment_transactions') }}
    where payout_id is null and transaction_type in ('charge', 'refund')
)

select p.transaction_key, p.transaction_date, p.transaction_type, p.order_name, p.amount, p.fee
from paid_without_order as w
inner join {{ ref('stg_shopify__payment_transactions') }} as p
    on p.payout_id = w.payout_id and p.transaction_key = w.transaction_key
where p.transaction_type in ('charge', 'refund')
union all
select p.transaction_key, p.transaction_date, p.transaction_type, p.order_name, p.amount, p.fee
from pending as p
left join (
    select distinct l.order_id
    from {{ ref('int_order_lines') }} as l
    where l.source = 'shopify' and l.order_id in (select n.order_name from pending as n)
) as o on o.order_id = p.order_name
where o.order_id is null
