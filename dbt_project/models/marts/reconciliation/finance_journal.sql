-- The month-end close journal: one summarised journal per Shopify Payments payout and per Amazon
-- settlement, split at month end into month parts, one line per journal × account (seeds/
-- journal_accounts.csv gives each account its ledger code and name). Amounts in the payout's own
-- currency, signed as cash to the seller; the `transfer` line of a month part is that part's share
-- of the deposit (Σ of its other lines), so Σ transfer over a payout's parts = the deposit and every
-- journal balances (Σ debit = Σ credit). Rules: docs/metrics.md "Finance journal".
--
-- Month part: Amazon lines by their posted date, Shopify transactions by their reporting day.
-- Accounts:
--   Amazon    sales categories of an Order → sales / shipping_income / promotions; of any other
--             transaction type (Refund, A-to-z or chargeback refunds) → refunds; tax (collected,
--             refunded, withheld by Amazon as marketplace facilitator) → tax_collected; marketplace,
--             fulfilment fees and reimbursements → their account; reserve → reserves_held (< 0) or
--             reserves_released (> 0); a line of no known category → other
--   Shopify   a charge → sales, promotions, shipping_income and tax_collected in the shares of its
--             order (the charge of the whole order: the order's own amounts; sales takes the cents of
--             rounding); a refund → refunds and tax_collected (the refund fact's tax); charges and
--             refunds of a cancelled order → refunds (they net to nothing, as in the reconciliation);
--             disputes and chargebacks → refunds; every Fee and any adjustment → payment_fees;
--             reserve → reserves_*; a transaction of an order the facts do not have → other

with settlement_lines as (
    select
        'amazon_settlement' as source,
        settlement_id as reference,
        posted_date as event_date,
        currency,
        case
            when category = 'tax' then 'tax_collected'
            when category = 'reserve' and amount < 0 then 'reserves_held'
            when category = 'reserve' then 'reserves_released'
            when category = 'marketplace_fees' then 'marketplace_fees'
            when category = 'fulfillment_costs' then 'fulfilment_fees'
            when category = 'reimbursements' then 'reimbursements'
            when category in ('sales_principal', 'sales_shipping', 'promotion_principal', 'promotion_shipping')
                 and transaction_type <> 'Order' then 'refunds'
            when category = 'sales_principal' then 'sales'
            when category = 'sales_shipping' then 'shipping_income'
            when category in ('promotion_principal', 'promotion_shipping') then 'promotions'
            else 'other'
        end as account,
        amount
    from {{ ref('int_settlement_lines') }}
),

-- ---- Shopify Payments ------------------------------------------------------------------------------
shopify_orders as (
    select
        order_id,
        sum(gross_sales) as gross_sales,
        sum(discounts) as discounts,
        sum(shipping_income) as shipping_income,
        sum(tax) as tax,
        max(case when is_cancelled then 1 else 0 end) as is_cancelled
    from {{ ref('int_order_lines') }}
    where source = 'shopify'
    group by order_id
),

shopify_tx as (
    select
        p.transaction_key,
        p.payout_id,
        p.transaction_type,
        p.amount,
        p.fee,
        p.currency,
        {{ local_date('p.transaction_date') }} as event_date,
        o.order_id as known_order,
        o.is_cancelled,
        o.gross_sales,
        o.discounts,
        o.shipping_income,
        o.tax,
        o.gross_sales - o.discounts + o.shipping_income + o.tax as order_total
    from {{ ref('stg_shopify__payment_transactions') }} as p
    left join shopify_orders as o on o.order_id = p.order_name
    -- `payout` rows are the transfer itself (as in int_payouts)
    where p.payout_id is not null and p.transaction_type <> 'payout'
),

shopify_kinds as (
    select
        *,
        case
            when transaction_type = 'reserve' then 'reserve'
            when transaction_type = 'adjustment' then 'payment_fees'
            when known_order is null then 'other'
            when transaction_type in ('charge', 'refund') and is_cancelled = 1 then 'refunds'
            when transaction_type = 'charge' then 'charge'
            when transaction_type = 'refund' then 'refund'
            when transaction_type in ('dispute', 'chargeback', 'chargeback_won', 'chargeback_lost') then 'refunds'
            else 'other'
        end as kind
    from shopify_tx
),

-- a charge's order amounts in the charge's share of the order total (the whole order: exactly its own)
shopify_charges as (
    select
        *,
        case when amount = order_total then discounts
             else cast(round(discounts * amount / order_total, 2) as decimal(18, 2)) end as discount_part,
        case when amount = order_total then shipping_income
             else cast(round(shipping_income * amount / order_total, 2) as decimal(18, 2)) end as shipping_part,
        case when amount = order_total then tax
             else cast(round(tax * amount / order_total, 2) as decimal(18, 2)) end as tax_part
    from shopify_kinds
    where kind = 'charge' and order_total <> 0
),

shopify_refunds as (
    select
        k.event_date,
        k.payout_id,
        k.currency,
        k.amount,
        -coalesce(r.tax_refund, 0) as tax_part
    from shopify_kinds as k
    left join {{ ref('int_refunds') }} as r
        on r.source = 'shopify' and r.refund_line_id = 'shopify:' || k.transaction_key
    where k.kind = 'refund'
),

shopify_lines as (
    {% set shopify_columns = "'shopify_payments' as source, payout_id as reference, event_date, currency" %}
    select {{ shopify_columns }}, 'sales' as account, amount + discount_part - shipping_part - tax_part as amount
    from shopify_charges
    union all
    select {{ shopify_columns }}, 'promotions' as account, -discount_part as amount from shopify_charges
    union all
    select {{ shopify_columns }}, 'shipping_income' as account, shipping_part as amount from shopify_charges
    union all
    select {{ shopify_columns }}, 'tax_collected' as account, tax_part as amount from shopify_charges
    union all
    -- a charge of an order whose total is zero: nothing to share out
    select {{ shopify_columns }}, 'sales' as account, amount
    from shopify_kinds
    where kind = 'charge' and order_total = 0
    union all
    select {{ shopify_columns }}, 'refunds' as account, amount - tax_part as amount from shopify_refunds
    union all
    select {{ shopify_columns }}, 'tax_collected' as account, tax_part as amount from shopify_refunds
    union all
    select
        {{ shopify_columns }},
        case when kind <> 'reserve' then kind when amount < 0 then 'reserves_held' else 'reserves_released' end
            as account,
        amount
    from shopify_kinds
    where kind not in ('charge', 'refund')
    union all
    select {{ shopify_columns }}, 'payment_fees' as account, -fee as amount
    from shopify_tx
    where fee is not null and fee <> 0
),

-- ---- journals ----------------------------------------------------------------------------------------
all_lines as (
    select
        source,
        reference,
        currency,
        event_date,
        cast({{ dbt.date_trunc('month', 'event_date') }} as date) as month,
        account,
        amount
    from (
        select * from settlement_lines
        union all
        select * from shopify_lines
    ) as unioned
),

account_lines as (
    select
        source,
        reference,
        month,
        account,
        count(*) as source_rows,
        sum(amount) as amount
    from all_lines
    group by source, reference, month, account
),

parts as (
    select
        source,
        reference,
        month,
        max(currency) as currency,
        min(event_date) as part_start,
        max(event_date) as part_end,
        count(*) as source_rows,
        sum(amount) as transfer
    from all_lines
    group by source, reference, month
),

numbered_parts as (
    select
        p.*,
        row_number() over (partition by p.source, p.reference order by p.month) as month_part,
        count(*) over (partition by p.source, p.reference) as month_parts
    from parts as p
),

deposits as (
    select
        source,
        payout_id as reference,
        max(payout_date) as deposit_date,
        max(payout_status) as payout_status,
        sum(reported) as deposit
    from {{ ref('int_payouts') }}
    group by source, payout_id
),

journals as (
    select
        p.*,
        d.deposit_date,
        d.payout_status,
        d.deposit,
        -- dated in its own month: the deposit day when the deposit falls in that month (after the part's
        -- last line), else the month's last day
        case when d.deposit_date >= p.part_end
                  and d.deposit_date <= cast({{ dbt.last_day('p.month', 'month') }} as date) then d.deposit_date
             else cast({{ dbt.last_day('p.month', 'month') }} as date) end as journal_date,
        {{ fx_rate('p.currency', 'fx.rate') }} as fx_rate
    from numbered_parts as p
    left join deposits as d on d.source = p.source and d.reference = p.reference
    -- the rate of the part's last day (a deposit date can lie after the last published rate)
    left join {{ ref('int_fx_rates') }} as fx on fx.currency = p.currency and fx.rate_date = p.part_end
),

lines as (
    select
        a.source,
        a.reference,
        a.month,
        a.account,
        a.source_rows,
        a.amount,
        {{ to_reporting('a.amount', 'j.fx_rate') }} as amount_rc
    from account_lines as a
    inner join journals as j on j.source = a.source and j.reference = a.reference and j.month = a.month
    where a.amount <> 0
),

-- the transfer: the part's share of the deposit; in the reporting currency the sum of the converted
-- lines, so the converted journal balances too
transfers as (
    select
        j.source,
        j.reference,
        j.month,
        'transfer' as account,
        j.source_rows,
        j.transfer as amount,
        coalesce(l.amount_rc, 0) as amount_rc
    from journals as j
    left join (
        select source, reference, month, sum(amount_rc) as amount_rc
        from lines
        group by source, reference, month
    ) as l on l.source = j.source and l.reference = j.reference and l.month = j.month
),

journal_lines as (
    select * from lines
    union all
    select * from transfers
)

select
    l.source || ':' || l.reference || ':' || cast(l.month as {{ dbt.type_string() }}) || ':' || l.account
        as journal_line_id,
    l.source || ':' || l.reference || ':' || cast(l.month as {{ dbt.type_string() }}) as journal_id,
    l.source,
    l.reference,
    l.month,
    cast(j.month_part as bigint) as month_part,
    cast(j.month_parts as bigint) as month_parts,
    j.journal_date,
    j.part_start,
    j.part_end,
    j.deposit_date,
    j.payout_status,
    j.currency,
    l.account,
    a.account_code,
    a.account_name,
    cast(l.source_rows as bigint) as source_rows,
    cast(l.amount as decimal(18, 2)) as amount,
    -- the deposit goes to the bank (clearing) account as a debit; income is a credit, a cost a debit
    cast(case when (l.account = 'transfer') = (l.amount > 0) then abs(l.amount) else 0 end as decimal(18, 2))
        as debit,
    cast(case when (l.account = 'transfer') = (l.amount > 0) then 0 else abs(l.amount) end as decimal(18, 2))
        as credit,
    cast(j.deposit as decimal(18, 2)) as deposit,
    j.fx_rate,
    cast(l.amount_rc as decimal(18, 2)) as amount_rc
from journal_lines as l
inner join journals as j on j.source = l.source and j.reference = l.reference and j.month = l.month
left join {{ ref('journal_accounts') }} as a on a.account = l.account
