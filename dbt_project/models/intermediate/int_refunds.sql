-- One row per refund or restock event line, every channel: refunded merchandise (`returns`, net of
-- the discounts it carried), shipping refunded and tax refunded in the original currency and in the
-- reporting currency (at the refund date's rate), and the COGS credit of restocked units (at the
-- unit cost effective on the ORIGINAL order date). Booked on the refund date. Rules: docs/metrics.md
-- "Returns and refunds" and "COGS".
--   shopify            Shopify Payments `refund` transactions (full or partial split of |amount|);
--                      no restock flag exists: the COGS credit is the channel's configured
--                      refund_restock_share (seeds/channels.csv) of the refunded part of the
--                      order's COGS
--   amazon_settlement  settlement lines of transaction type Refund, one row per refund item
--   wholesale          ERP credit-note lines
--   fba_return         FBA customer returns with disposition SELLABLE: restock only (returns 0),
--                      booked on the return date; the money refund is the settlement row
-- Incremental over refund dates (macros/incremental.sql); the orders the window's refunds refer to
-- are looked up in all of history.
{{ event_model_config(unique_key='refund_line_id', event_date_column='refund_date') }}

with window_shopify_refunds as (
    select p.*
    from {{ ref('stg_shopify__payment_transactions') }} as p
    where p.transaction_type = 'refund' and {{ in_event_window_local('p.transaction_date') }}
),

window_fba_restocks as (
    select f.*
    from {{ ref('stg_amazon__fba_returns') }} as f
    where f.detailed_disposition = 'SELLABLE' and {{ in_event_window_local('f.return_date') }}
),

window_credit_notes as (
    select w.*
    from {{ ref('stg_erp__wholesale_invoice_lines') }} as w
    where w.document_type = 'credit_note' and {{ in_event_window('w.invoice_date') }}
),

fba_returns as (
    select * from {{ ref('stg_amazon__fba_returns') }}
),

amazon_refund_items as (
    select
        settlement_id,
        coalesce(adjustment_id, '') as adjustment_id,
        order_id,
        sku,
        posted_date,
        min(posted_date_time) as refunded_at,
        max(currency) as currency,
        max(channel) as channel,
        max(case when category = 'sales_principal' then quantity_purchased end) as units_returned,
        -sum(case when category in ('sales_principal', 'promotion_principal') then amount else 0 end) as returns,
        -sum(case when category in ('sales_shipping', 'promotion_shipping') then amount else 0 end) as shipping_refund,
        -sum(case when category = 'tax' then amount else 0 end) as tax_refund
    from {{ ref('int_settlement_lines') }}
    where transaction_type = 'Refund'
      and {{ in_event_window('posted_date') }}
      and category in ('sales_principal', 'promotion_principal', 'sales_shipping', 'promotion_shipping', 'tax')
    group by settlement_id, coalesce(adjustment_id, ''), order_id, sku, posted_date
),

order_lines as (
    -- the lines of the orders the window's refunds and returns refer to, whole (an order's channel,
    -- date, cost and lines come from all its lines): reading only those orders keeps a night's cost
    -- off the size of the history
    select * from {{ ref('int_order_lines') }}
    where order_id in (
        select sr.order_name from window_shopify_refunds as sr
        union all select ar.order_id from amazon_refund_items as ar
        union all select fr.order_id from window_fba_restocks as fr
        union all select cn.original_document_number from window_credit_notes as cn
    )
),

orders as (
    -- one row per order: its channel and date, and whether it was cancelled
    select
        source,
        order_id,
        min(channel) as channel,
        min(order_date) as order_date,
        max(case when is_cancelled then 1 else 0 end) as is_cancelled
    from order_lines
    group by source, order_id
),

-- ---- Shopify ----------------------------------------------------------------------------------
shopify_order_costs as (
    select order_id, sum(coalesce(cogs_rc, 0)) as cogs_rc
    from order_lines
    where source = 'shopify'
    group by order_id
),

shopify_totals as (
    select
        order_name,
        max(subtotal) as subtotal,
        max(shipping) as shipping,
        max(taxes) as taxes,
        max(total) as total
    from {{ ref('stg_shopify__order_lines') }}
    where order_name in (select sr.order_name from window_shopify_refunds as sr)
    group by order_name
),

shopify_refund_amounts as (
    select
        p.transaction_key,
        p.transaction_date,
        p.order_name,
        p.currency,
        abs(p.amount) as refund_amount,
        t.total,
        coalesce(t.subtotal, 0) as subtotal,
        coalesce(t.shipping, 0) as shipping,
        coalesce(t.taxes, 0) as taxes,
        o.channel,
        o.order_date,
        coalesce(oc.cogs_rc, 0) as order_cogs_rc,
        coalesce(ch.refund_restock_share, 0) as restock_share
    from window_shopify_refunds as p
    -- a refund of an order not (yet) in the orders export is held back with its order (docs/metrics.md)
    inner join orders as o on o.source = 'shopify' and o.order_id = p.order_name
    inner join shopify_totals as t on t.order_name = p.order_name
    left join shopify_order_costs as oc on oc.order_id = p.order_name
    left join {{ ref('channels') }} as ch on ch.channel = o.channel
    -- a cancelled order was never a sale: its refund is not a return
    where o.is_cancelled = 0
),

shopify_refund_splits as (
    select
        *,
        -- full refund (|R| = Total): Subtotal, Shipping and Taxes; partial: tax pro rata, rest merchandise
        case when refund_amount = total then subtotal
             else refund_amount - partial_tax end as returns,
        case when refund_amount = total then shipping else 0 end as shipping_refund,
        case when refund_amount = total then taxes else partial_tax end as tax_refund
    from (
        select
            *,
            -- round(|R| × Taxes ÷ (Subtotal + Taxes), 2), half away from zero, in exact cents
            case when {{ to_cents('subtotal') }} + {{ to_cents('taxes') }} = 0 then cast(0 as decimal(18, 2))
                 else cast({{ div_round_half_away(
                        to_cents('refund_amount') ~ ' * ' ~ to_cents('taxes'),
                        to_cents('subtotal') ~ ' + ' ~ to_cents('taxes')) }} as decimal(18, 0)) * 0.01
            end as partial_tax
        from shopify_refund_amounts
    ) as split
),

shopify_refunds as (
    select
        'shopify:' || transaction_key as refund_line_id,
        'shopify' as source,
        channel,
        order_name as order_id,
        cast(null as {{ dbt.type_string() }}) as sku,
        cast(null as {{ dbt.type_string() }}) as order_line_id,
        {{ local_date('transaction_date') }} as refund_date,
        transaction_date as refunded_at,
        cast(null as {{ type_instant() }}) as return_received_at,
        order_date,
        cast(null as bigint) as units_returned,
        cast(0 as bigint) as restocked_units,
        currency,
        returns,
        shipping_refund,
        tax_refund,
        -- the assumed restock: round(share × order COGS × returns ÷ Subtotal, 2), half away from zero,
        -- in exact cents (share in basis points)
        case when restock_share = 0 or {{ to_cents('subtotal') }} <= 0 or returns <= 0
                 then cast(0 as decimal(18, 2))
             else cast({{ div_round_half_away(
                    'cast(round(restock_share * 10000, 0) as bigint) * ' ~ to_cents('order_cogs_rc')
                    ~ ' * ' ~ to_cents('returns'),
                    '10000 * ' ~ to_cents('subtotal')) }} as decimal(18, 0)) * 0.01
        end as assumed_cogs_credit_rc
    from shopify_refund_splits
),

-- ---- Amazon -------------------------------------------------------------------------------------
amazon_order_lines as (
    -- one line per (order, sku): an order listing a sku on two rows (two items) refers the sku's
    -- refunds and returns to its first line, so a refund is never counted once per item
    select order_id, sku, order_line_id, order_date, currency
    from (
        select
            order_id, sku, order_line_id, order_date, currency,
            row_number() over (partition by order_id, sku order by order_line_id) as sku_line
        from order_lines
        where source in ('amazon_orders_report', 'amazon_settlement')
    ) as ranked
    where sku_line = 1
),

amazon_refunds as (
    select
        'amazon_settlement:' || r.settlement_id || ':' || r.adjustment_id || ':' || r.order_id || ':' || r.sku
            || ':' || cast(r.posted_date as {{ dbt.type_string() }}) as refund_line_id,
        'amazon_settlement' as source,
        r.channel,
        r.order_id,
        r.sku,
        ol.order_line_id,
        r.posted_date as refund_date,
        r.refunded_at,
        received.return_received_at,
        ol.order_date,
        cast(r.units_returned as bigint) as units_returned,
        cast(0 as bigint) as restocked_units,
        r.currency,
        r.returns,
        r.shipping_refund,
        r.tax_refund,
        cast(null as decimal(18, 2)) as assumed_cogs_credit_rc
    from amazon_refund_items as r
    left join amazon_order_lines as ol on ol.order_id = r.order_id and ol.sku = r.sku
    left join (
        select order_id, sku, min(return_date) as return_received_at
        from fba_returns
        group by order_id, sku
    ) as received on received.order_id = r.order_id and received.sku = r.sku
),

fba_restocks as (
    -- the unit goes back to sellable stock: its cost leaves COGS on the return date
    select
        'fba_return:' || f.order_id || ':' || f.sku || ':' || f.license_plate_number as refund_line_id,
        'fba_return' as source,
        -- a return of an order no feed knows cannot be tied to a marketplace
        coalesce(o.channel, 'unallocated') as channel,
        f.order_id,
        f.sku,
        ol.order_line_id,
        {{ local_date('f.return_date') }} as refund_date,
        f.return_date as refunded_at,
        f.return_date as return_received_at,
        ol.order_date,
        cast(null as bigint) as units_returned,
        cast(f.quantity as bigint) as restocked_units,
        ol.currency,
        0 as returns,
        0 as shipping_refund,
        0 as tax_refund,
        cast(null as decimal(18, 2)) as assumed_cogs_credit_rc
    from window_fba_restocks as f
    left join amazon_order_lines as ol on ol.order_id = f.order_id and ol.sku = f.sku
    left join (
        select order_id, min(channel) as channel
        from order_lines
        where source in ('amazon_orders_report', 'amazon_settlement')
        group by order_id
    ) as o on o.order_id = f.order_id
),

-- ---- Wholesale ----------------------------------------------------------------------------------
wholesale_invoice_lines as (
    select
        order_id,
        sku,
        order_line_id,
        row_number() over (partition by order_id, sku order by line_number) as sku_line
    from order_lines
    where source = 'wholesale'
),

wholesale_credits as (
    select
        'wholesale:' || w.document_number || ':' || cast(w.line_number as {{ dbt.type_string() }}) as refund_line_id,
        'wholesale' as source,
        'wholesale' as channel,
        w.original_document_number as order_id,
        w.sku,
        il.order_line_id,
        w.invoice_date as refund_date,
        cast(null as {{ type_instant() }}) as refunded_at,
        cast(null as {{ type_instant() }}) as return_received_at,
        o.order_date,
        cast(w.units as bigint) as units_returned,
        cast(case when w.restock then w.units else 0 end as bigint) as restocked_units,
        w.currency,
        w.units * w.unit_price - coalesce(w.discount, 0) as returns,
        0 as shipping_refund,
        coalesce(w.tax_amount, 0) as tax_refund,
        cast(null as decimal(18, 2)) as assumed_cogs_credit_rc
    from window_credit_notes as w
    left join orders as o on o.source = 'wholesale' and o.order_id = w.original_document_number
    left join wholesale_invoice_lines as il
        on il.order_id = w.original_document_number and il.sku = w.sku and il.sku_line = 1
),

events as (
    select * from shopify_refunds
    union all select * from amazon_refunds
    union all select * from fba_restocks
    union all select * from wholesale_credits
),

costed as (
    select
        e.*,
        -- the cost of a restocked unit is the one its sale booked: effective on the original order
        -- date (the refund date when the original order is unknown), at that date's rate
        coalesce(e.order_date, e.refund_date) as cost_date
    from events as e
)

select
    e.refund_line_id,
    e.source,
    e.channel,
    e.order_id,
    e.sku,
    e.order_line_id,
    e.refund_date,
    e.refunded_at,
    e.return_received_at,
    e.order_date,
    e.units_returned,
    e.restocked_units,
    coalesce(e.currency, c.cost_currency) as currency,
    {{ fx_rate('coalesce(e.currency, c.cost_currency)', 'fx.rate') }} as fx_rate,
    cast(e.returns as decimal(18, 2)) as returns,
    cast(e.shipping_refund as decimal(18, 2)) as shipping_refund,
    cast(e.tax_refund as decimal(18, 2)) as tax_refund,
    {{ to_reporting('e.returns', fx_rate('coalesce(e.currency, c.cost_currency)', 'fx.rate')) }} as returns_rc,
    {{ to_reporting('e.shipping_refund', fx_rate('coalesce(e.currency, c.cost_currency)', 'fx.rate')) }}
        as shipping_refund_rc,
    {{ to_reporting('e.tax_refund', fx_rate('coalesce(e.currency, c.cost_currency)', 'fx.rate')) }} as tax_refund_rc,
    case when e.restocked_units > 0 then c.unit_cost end as unit_cost,
    case when e.restocked_units > 0 then c.cost_currency end as cost_currency,
    case when e.restocked_units > 0 then {{ fx_rate('c.cost_currency', 'cost_fx.rate') }} end as cost_fx_rate,
    -- cast: Spark widens cents × 0.01 to decimal(21, 2), the contract says (18, 2)
    cast(case when e.assumed_cogs_credit_rc is not null then e.assumed_cogs_credit_rc
              when e.restocked_units = 0 then cast(0 as decimal(18, 2))
              else {{ to_reporting('e.restocked_units * c.unit_cost', fx_rate('c.cost_currency', 'cost_fx.rate')) }}
         end as decimal(18, 2)) as cogs_credit_rc
from costed as e
left join {{ ref('int_cogs_effective') }} as c
    on c.sku = e.sku and e.cost_date >= c.effective_from
    and (c.effective_to is null or e.cost_date < c.effective_to)
left join {{ ref('int_fx_rates') }} as fx
    on fx.currency = coalesce(e.currency, c.cost_currency) and fx.rate_date = e.refund_date
left join {{ ref('int_fx_rates') }} as cost_fx
    on cost_fx.currency = c.cost_currency and cost_fx.rate_date = e.cost_date
