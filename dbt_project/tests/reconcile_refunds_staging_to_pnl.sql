-- Refunds in = refunds out, per source and day in the original currency (staged refund money =
-- Σ returns + shipping_refund + tax_refund of int_refunds), then per channel and day in the
-- reporting currency: Σ int_refunds = Σ fct_refunds = channel_pnl_daily.returns.
--   shopify            |amount| of the Payments refund transactions of known, non-cancelled orders
--                      (the others are held back with their order: assert_shopify_payments_have_their_order)
--   amazon_settlement  −Σ Refund lines classified as sales, promotion or tax
--   wholesale          Σ units × unit_price − discount + tax of the credit-note lines
-- (Up to the build's max_date: events after it are left to a later build. On an incremental night,
-- from the first date the night re-processed: reconciled_dates in macros/incremental.sql.)
select * from (

with shopify_orders as (
    select order_id
    from {{ ref('int_order_lines') }}
    where source = 'shopify'
    {%- if reconciled_since() is not none %}
      -- the orders of the refunds checked
      and order_id in (
          select order_name from {{ ref('stg_shopify__payment_transactions') }}
          where transaction_type = 'refund' and {{ reconciled_instants('transaction_date') }}
      )
    {%- endif %}
    group by order_id
    having max(case when is_cancelled then 1 else 0 end) = 0
),

staged as (
    select 'shopify' as source, {{ local_date('p.transaction_date') }} as date, sum(abs(p.amount)) as money
    from {{ ref('stg_shopify__payment_transactions') }} as p
    inner join shopify_orders as o on o.order_id = p.order_name
    where p.transaction_type = 'refund' and {{ reconciled_instants('p.transaction_date') }}
    group by {{ local_date('p.transaction_date') }}
    union all
    select 'amazon_settlement', posted_date, -sum(amount)
    from {{ ref('int_settlement_lines') }}
    where transaction_type = 'Refund'
      and category in ('sales_principal', 'promotion_principal', 'sales_shipping', 'promotion_shipping', 'tax')
      and {{ reconciled_dates('posted_date') }}
    group by posted_date
    union all
    select 'wholesale', invoice_date, sum(units * unit_price - coalesce(discount, 0) + coalesce(tax_amount, 0))
    from {{ ref('stg_erp__wholesale_invoice_lines') }}
    where document_type = 'credit_note' and {{ reconciled_dates('invoice_date') }}
    group by invoice_date
),

refunded as (
    select source, refund_date as date, sum(returns + shipping_refund + tax_refund) as money
    from {{ ref('int_refunds') }}
    where source <> 'fba_return' and {{ reconciled_dates('refund_date') }}
    group by source, refund_date
),

money_mismatch as (
    select
        'money in ' || coalesce(s.source, r.source) as check_name,
        cast(null as {{ dbt.type_string() }}) as channel,
        coalesce(s.date, r.date) as date,
        s.money as expected,
        r.money as actual
    from staged as s
    full outer join refunded as r on r.source = s.source and r.date = s.date
    where coalesce(s.money, 0) <> coalesce(r.money, 0)
),

intermediate as (
    select channel, refund_date as date, sum(returns_rc) as returns, sum(shipping_refund_rc) as shipping_refund,
           sum(cogs_credit_rc) as cogs_credit
    from {{ ref('int_refunds') }}
    where {{ reconciled_dates('refund_date') }}
    group by channel, refund_date
),

fact as (
    select channel, refund_date as date, sum(returns_rc) as returns, sum(shipping_refund_rc) as shipping_refund,
           sum(cogs_credit_rc) as cogs_credit
    from {{ ref('fct_refunds') }}
    where {{ reconciled_dates('refund_date') }}
    group by channel, refund_date
),

pnl as (
    select channel, date, returns from {{ ref('channel_pnl_daily') }} where {{ reconciled_dates('date') }}
),

layer_mismatch as (
    select 'returns int→fct' as check_name, coalesce(i.channel, f.channel) as channel, coalesce(i.date, f.date) as date,
           i.returns as expected, f.returns as actual
    from intermediate as i
    full outer join fact as f on f.channel = i.channel and f.date = i.date
    where coalesce(i.returns, 0) <> coalesce(f.returns, 0)
       or coalesce(i.shipping_refund, 0) <> coalesce(f.shipping_refund, 0)
       or coalesce(i.cogs_credit, 0) <> coalesce(f.cogs_credit, 0)
    union all
    select 'returns fct→pnl', coalesce(f.channel, p.channel), coalesce(f.date, p.date), f.returns, p.returns
    from fact as f
    full outer join pnl as p on p.channel = f.channel and p.date = f.date
    where coalesce(f.returns, 0) <> coalesce(p.returns, 0)
)

select * from money_mismatch
union all
select * from layer_mismatch
) as mismatches
where {{ reconciled_dates('date') }}

-- reads several models: Dagster shows it as a check of the one it verifies
{{ config(meta={'dagster': {'ref': {'name': 'channel_pnl_daily'}}}) }}
