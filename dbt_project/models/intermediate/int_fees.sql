-- One row per fee line, every source, with the P&L line it belongs to (docs/metrics.md "Fees").
-- `amount` is a positive cost in the original currency (credits negative), whatever the vendor's
-- sign; `amount_rc` is it converted at the fee date's rate.
--   shopify_payments   the `Fee` of every Shopify Payments transaction, and the amount of every
--                      processor charge outside it (adjustment, dispute, chargeback…: anything but
--                      charge, refund, reserve, payout, transfer) → payment_fees, on the
--                      transaction's local day, channel of its order; `unallocated` when the order is
--                      not in the orders export (docs/metrics.md)
--   amazon_settlement  settlement lines the seed classifies as marketplace_fees, fulfillment_costs
--                      or reimbursements, negated (Amazon signs fees negative, so a reimbursement
--                      is a negative amount here), on the posted date
--   threepl            3PL charges (positive) → fulfillment_costs, on the charge date; a charge whose
--                      reference is a Shopify order name or wholesale invoice goes to that order's
--                      channel, every other charge (storage, receiving…) to `unallocated`
-- Incremental over fee dates (macros/incremental.sql); the orders the window's fees refer to are
-- looked up in all of history.
{{ event_model_config(unique_key='fee_line_id', event_date_column='fee_date') }}

with window_transactions as (
    select p.*
    from {{ ref('stg_shopify__payment_transactions') }} as p
    where {{ in_event_window_local('p.transaction_date') }}
),

window_threepl as (
    select t.*
    from {{ ref('stg_threepl__transactions') }} as t
    where {{ in_event_window('t.charge_date') }}
),

orders as (
    -- the Shopify and wholesale orders the window's fees refer to, each looked up in all of history: on
    -- a night only those the window names (reading only their lines keeps a night's cost off the size of
    -- the history); a whole build takes every one (a semi-join with every transaction and charge of
    -- history cost more than it spared: 10M bench, the query 14.3 -> 12.2 s)
    select source, order_id, min(channel) as channel
    from {{ ref('int_order_lines') }}
    where source in ('shopify', 'wholesale')
    {%- set window = event_window() %}
    {%- if window is not none and window.start is not none %}
      and order_id in (
          select wt.order_name from window_transactions as wt
          union all
          select w3.reference_id from window_threepl as w3
      )
    {%- endif %}
    group by source, order_id
),

shopify_transactions as (
    select
        p.*,
        -- a transaction whose order is not in the orders export cannot take a channel: its costs
        -- stay visible on `unallocated` (never held back or dropped)
        coalesce(o.channel, 'unallocated') as channel
    from window_transactions as p
    left join orders as o on o.source = 'shopify' and o.order_id = p.order_name
),

shopify_payments as (
    select
        'shopify_payments:' || transaction_key as fee_line_id,
        'shopify_payments' as source,
        channel,
        {{ local_date('transaction_date') }} as fee_date,
        order_name as order_id,
        'payment_fees' as pnl_line,
        transaction_type as fee_type,
        currency,
        fee as amount
    from shopify_transactions
    where fee is not null and fee <> 0
    union all
    -- processor charges outside the Fee column (chargeback and dispute fees, adjustments): the
    -- debited amount is the cost (a won dispute's credit gives it back)
    select
        'shopify_payments:' || transaction_key || ':amount' as fee_line_id,
        'shopify_payments' as source,
        channel,
        {{ local_date('transaction_date') }} as fee_date,
        order_name as order_id,
        'payment_fees' as pnl_line,
        transaction_type as fee_type,
        currency,
        -amount as amount
    from shopify_transactions
    where transaction_type not in ('charge', 'refund', 'reserve', 'payout', 'transfer')
      and amount is not null and amount <> 0
),

amazon_settlement as (
    select
        settlement_line_id as fee_line_id,
        'amazon_settlement' as source,
        channel,
        posted_date as fee_date,
        order_id,
        category as pnl_line,
        amount_description as fee_type,
        currency,
        -amount as amount
    from {{ ref('int_settlement_lines') }}
    where category in ('marketplace_fees', 'fulfillment_costs', 'reimbursements')
      and {{ in_event_window('posted_date') }}
),

threepl as (
    select
        'threepl:' || t.transaction_id as fee_line_id,
        'threepl' as source,
        coalesce(o.channel, 'unallocated') as channel,
        t.charge_date as fee_date,
        o.order_id,
        'fulfillment_costs' as pnl_line,
        t.transaction_fee as fee_type,
        t.currency,
        t.amount
    from window_threepl as t
    left join (
        select order_id, min(channel) as channel
        from orders
        group by order_id
    ) as o on o.order_id = t.reference_id
),

fees as (
    select * from shopify_payments
    union all select * from amazon_settlement
    union all select * from threepl
)

select
    f.fee_line_id,
    f.source,
    f.channel,
    f.fee_date,
    f.order_id,
    f.pnl_line,
    f.fee_type,
    f.currency,
    cast(f.amount as decimal(18, 2)) as amount,
    {{ fx_rate('f.currency', 'fx.rate') }} as fx_rate,
    {{ to_reporting('f.amount', fx_rate('f.currency', 'fx.rate')) }} as amount_rc
from fees as f
left join {{ ref('int_fx_rates') }} as fx
    on fx.currency = f.currency and fx.rate_date = f.fee_date
