-- One row per channel × payout: every Shopify Payments payout (split by the channel of each
-- transaction's order; `unallocated` for transactions of an order the facts do not have) and every
-- Amazon settlement (its marketplace's channel), with its currency, dates and the amount the payout
-- file reports. Rules: docs/metrics.md "Reconciliation".
--   shopify_payments   reported = Σ Net (Amount − Fee) of the payout's transactions, `payout`
--                      transfer rows excluded (they are the transfer itself); period = the first and
--                      last local day of those transactions (docs/metrics.md "Reporting day")
--   amazon_settlement  reported = the summary row's total-amount (Σ of the channel's lines when one
--                      settlement holds lines of several channels); period = [settlement start date,
--                      settlement end date), deposit date = payout date

with shopify_orders as (
    select order_id, min(channel) as channel
    from {{ ref('int_order_lines') }}
    where source = 'shopify'
    group by order_id
),

shopify as (
    select
        'shopify_payments' as source,
        p.payout_id,
        coalesce(o.channel, 'unallocated') as channel,
        max(p.currency) as currency,
        max(p.payout_date) as payout_date,
        max(p.payout_status) as payout_status,
        min({{ local_date('p.transaction_date') }}) as period_start,
        max({{ local_date('p.transaction_date') }}) as period_end,
        count(*) as transactions,
        sum(p.net) as reported
    from {{ ref('stg_shopify__payment_transactions') }} as p
    left join shopify_orders as o on o.order_id = p.order_name
    where p.payout_id is not null and p.transaction_type <> 'payout'
    group by p.payout_id, coalesce(o.channel, 'unallocated')
),

settlement_channels as (
    select settlement_id, channel, count(*) as lines, sum(amount) as amount
    from {{ ref('int_settlement_lines') }}
    group by settlement_id, channel
),

settlements as (
    select
        settlement_id,
        max(currency) as currency,
        max(total_amount) as total_amount,
        cast(max(settlement_start_date) as date) as period_start,
        cast(max(settlement_end_date) as date) as period_end_exclusive,
        cast(max(deposit_date) as date) as deposit_date
    from {{ ref('stg_amazon__settlement_lines') }}
    group by settlement_id
),

amazon as (
    select
        'amazon_settlement' as source,
        s.settlement_id as payout_id,
        c.channel,
        s.currency,
        s.deposit_date as payout_date,
        'settled' as payout_status,
        s.period_start,
        cast({{ dbt.dateadd('day', -1, 's.period_end_exclusive') }} as date) as period_end,
        c.lines as transactions,
        case when n.channels = 1 then s.total_amount else c.amount end as reported
    from settlements as s
    inner join settlement_channels as c on c.settlement_id = s.settlement_id
    inner join (
        select settlement_id, count(*) as channels from settlement_channels group by settlement_id
    ) as n on n.settlement_id = s.settlement_id
)

{# the same columns from each source's payouts #}
{% for payouts in ["shopify", "amazon"] %}
select
    source || ':' || payout_id || ':' || channel as payout_key,
    source,
    payout_id,
    channel,
    currency,
    payout_date,
    payout_status,
    period_start,
    period_end,
    cast(transactions as bigint) as transactions,
    cast(reported as decimal(18, 2)) as reported
from {{ payouts }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
