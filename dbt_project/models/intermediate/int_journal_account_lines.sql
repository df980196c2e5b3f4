-- The month-end close journal's lines before the payout-level joins: one row per payout (Shopify
-- Payments payout, Amazon settlement) × month × account, with the amount (payout currency, signed as
-- cash to the seller), the source rows behind it and the part's dates. finance_journal adds the
-- month parts' numbering, the transfer line, the deposit, the FX rate and the ledger codes: those
-- read small tables and are rebuilt every night. Rules: docs/metrics.md "Finance journal".
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
--
-- Incremental on DuckDB by payout (docs/incremental.md, strategy `replace_listed_groups`): a payout's
-- lines depend on its own transactions or settlement lines and, for Shopify, on the facts of their
-- orders (the order's amounts share out a charge; a refund's tax). A night re-computes the payouts
-- any input in the night's window touches — a settlement line posted, a Shopify transaction dated
-- (two days earlier: instants; a refund is dated by its transaction), an order line of an order whose
-- transactions a payout holds —, those with a stored line dated in the window (a transaction since
-- moved to another payout) and those int_payouts no longer has (a file unlanded); their stored rows are
-- deleted and the re-computed ones inserted. A full build (first, --full-refresh, no window) computes
-- every payout. Elsewhere a table rebuilt whole.
-- depends_on: {{ ref('int_payouts') }}  (read on incremental nights only: the payouts still there)
{{ config(
    materialized=('incremental' if target.type == 'duckdb' else 'table'),
    incremental_strategy='replace_listed_groups',
    unique_key='payout_ref',
    on_schema_change='append_new_columns',
    meta={'row_column': 'account'},
) }}

{%- set window = event_window() if is_incremental() else none %}
{%- set by_payouts = window is not none and window.start is not none %}
{#- DuckDB's CTE hints (a unit test renders the incremental night on Spark too) -#}
{%- set duckdb = target.type == 'duckdb' %}
{%- if by_payouts %}
    {%- set start = "cast('" ~ window.start ~ "' as date)" %}
    {%- set tx_start = "cast('" ~ (window.start - modules.datetime.timedelta(days=2)) ~ "' as date)" %}
{%- endif %}

with
{%- if by_payouts %}
-- ---- the payouts this night re-computes (docs/incremental.md) ------------------------------------------
-- (ST03: sqlfluff does not see the uses below, in `in (select …)` filters)
shopify_payout_tx as {% if duckdb %}not materialized {% endif %}(  -- noqa: ST03
    select transaction_key, order_name, payout_id, transaction_date
    from {{ ref('stg_shopify__payment_transactions') }}
    where payout_id is not null and transaction_type <> 'payout'
),

affected_payouts as {% if duckdb %}materialized {% endif %}(  -- noqa: ST03
    -- stored payouts int_payouts no longer has
    select s.source, s.reference as payout_id
    from (select distinct source, reference from {{ this }}) as s
    left join (select distinct source, payout_id from {{ ref('int_payouts') }}) as p
        on p.source = s.source and p.payout_id = s.reference
    where p.payout_id is null
    union
    -- stored payouts with a line from the window (a transaction since moved to another payout)
    select source, reference from {{ this }} where last_date >= {{ tx_start }}
    union
    select 'amazon_settlement', settlement_id
    from {{ ref('int_settlement_lines') }}
    where posted_date >= {{ start }}
    union
    -- the transactions from two days before the window: among them those of the window's refunds, which
    -- are dated by their transaction's business day (int_refunds)
    select 'shopify_payments', payout_id
    from shopify_payout_tx
    where transaction_date >= {{ tx_start }}
    union
    select 'shopify_payments', t.payout_id
    from shopify_payout_tx as t
    inner join (
        -- the orders of the lines the night re-processed (their window's days)
        select order_id from {{ ref('int_order_lines') }}
        where source = 'shopify' and {{ in_window_days('order_date', window) }}
    ) as o on o.order_id = t.order_name
),
{%- endif %}

settlement_lines as (
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
    {%- if by_payouts %}
    -- on the raw id: no key built for every line of history
    where settlement_id in (select a.payout_id from affected_payouts as a where a.source = 'amazon_settlement')
    {%- endif %}
),

-- ---- Shopify Payments ------------------------------------------------------------------------------
payout_transactions as (
    select *
    from {{ ref('stg_shopify__payment_transactions') }}
    -- `payout` rows are the transfer itself (as in int_payouts)
    where payout_id is not null and transaction_type <> 'payout'
    {%- if by_payouts %}
        and payout_id in (select a.payout_id from affected_payouts as a where a.source = 'shopify_payments')
    {%- endif %}
),

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
    {%- if by_payouts %}
        and order_id in (select t.order_name from payout_transactions as t)
    {%- endif %}
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
    from payout_transactions as p
    left join shopify_orders as o on o.order_id = p.order_name
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
)

select
    source || ':' || reference as payout_ref,
    source,
    reference,
    month,
    account,
    max(currency) as currency,
    min(event_date) as first_date,
    max(event_date) as last_date,
    cast(count(*) as bigint) as source_rows,
    cast(sum(amount) as decimal(18, 2)) as amount
from all_lines
group by source, reference, month, account
{%- if is_incremental() %}
-- the payouts re-computed, one marker row each (account null: strategy replace_listed_groups deletes
-- their stored rows, inserts none); a full build in an incremental run marks every stored row (null payout)
union all
select
    {{ "a.source || ':' || a.payout_id" if by_payouts else 'cast(null as ' ~ dbt.type_string() ~ ')' }} as payout_ref,
    null, null, null, cast(null as {{ dbt.type_string() }}) as account, null, null, null, null, null
    {%- if by_payouts %}
from affected_payouts as a
    {%- endif %}
{%- endif %}
