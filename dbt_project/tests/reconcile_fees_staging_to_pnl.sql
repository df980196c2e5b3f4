-- Fees in = fees out: per source and day in the original currency, the staged fees (Shopify
-- Payments `Fee` of every transaction, known order or not, and −amount of processor charges outside
-- it; −Σ settlement lines classified as fees or reimbursements; Σ 3PL amounts) = Σ int_fees.amount;
-- then per channel, day and P&L line in the reporting currency: Σ int_fees = Σ fct_fees =
-- channel_pnl_daily (reimbursements: a credit in the facts, a positive P&L line).
-- (Up to the build's max_date: events after it are left to a later build. On an incremental night,
-- from the first date the night re-processed — reconciled_dates in macros/incremental.sql — and the
-- days of accrued fees, which every night replaces whatever their date.)
select * from (

with
{%- if reconciled_since() is not none %}
accrual_days as (
    select fee_date as d from {{ ref('int_fee_accruals') }}
    union
    select fee_date from {{ ref('fct_fees') }} where is_accrued
),
{%- endif %}

staged as (
    select
        'shopify_payments' as source,
        {{ local_date('p.transaction_date') }} as date,
        sum(coalesce(p.fee, 0)
            - case when p.transaction_type not in ('charge', 'refund', 'reserve', 'payout', 'transfer')
                   then coalesce(p.amount, 0) else 0 end) as amount
    from {{ ref('stg_shopify__payment_transactions') }} as p
    where {{ reconciled_instants('p.transaction_date') }}
    group by {{ local_date('p.transaction_date') }}
    union all
    select 'amazon_settlement', posted_date, -sum(amount)
    from {{ ref('int_settlement_lines') }}
    where category in ('marketplace_fees', 'fulfillment_costs', 'reimbursements')
      and {{ reconciled_dates('posted_date') }}
    group by posted_date
    union all
    select 'threepl', charge_date, sum(amount)
    from {{ ref('stg_threepl__transactions') }}
    where {{ reconciled_dates('charge_date') }}
    group by charge_date
),

booked as (
    select source, fee_date as date, sum(amount) as amount
    from {{ ref('int_fees') }}
    where {{ reconciled_dates('fee_date') }}
    group by source, fee_date
),

intermediate as (
    -- the actual fee lines and the accrued fees of unsettled Amazon items (fct_fees holds both)
    select channel, fee_date as date, pnl_line, sum(amount_rc) as amount_rc
    from (
        select channel, fee_date, pnl_line, amount_rc from {{ ref('int_fees') }}
        union all
        select channel, fee_date, pnl_line, amount_rc from {{ ref('int_fee_accruals') }}
    ) as fees
    where {{ reconciled_dates('fee_date', 'accrual_days') }}
    group by channel, fee_date, pnl_line
),

fact as (
    select channel, fee_date as date, pnl_line, sum(amount_rc) as amount_rc
    from {{ ref('fct_fees') }}
    where {{ reconciled_dates('fee_date', 'accrual_days') }}
    group by channel, fee_date, pnl_line
),

pnl_days as (
    select * from {{ ref('channel_pnl_daily') }} where {{ reconciled_dates('date', 'accrual_days') }}
),

pnl as (
    select channel, date, 'fulfillment_costs' as pnl_line, fulfillment_costs as amount_rc from pnl_days
    union all
    select channel, date, 'payment_fees', payment_fees from pnl_days
    union all
    select channel, date, 'marketplace_fees', marketplace_fees from pnl_days
    union all
    select channel, date, 'reimbursements', -reimbursements from pnl_days
)

select 'money in ' || coalesce(s.source, b.source) as check_name, cast(null as {{ dbt.type_string() }}) as channel,
       coalesce(s.date, b.date) as date, cast(null as {{ dbt.type_string() }}) as pnl_line, s.amount as expected, b.amount as actual
from staged as s
full outer join booked as b on b.source = s.source and b.date = s.date
where coalesce(s.amount, 0) <> coalesce(b.amount, 0) and {{ reconciled_dates('coalesce(s.date, b.date)') }}
union all
select 'int→fct', coalesce(i.channel, f.channel), coalesce(i.date, f.date), coalesce(i.pnl_line, f.pnl_line),
       i.amount_rc, f.amount_rc
from intermediate as i
full outer join fact as f on f.channel = i.channel and f.date = i.date and f.pnl_line = i.pnl_line
where coalesce(i.amount_rc, 0) <> coalesce(f.amount_rc, 0)
union all
select 'fct→pnl', coalesce(f.channel, p.channel), coalesce(f.date, p.date), coalesce(f.pnl_line, p.pnl_line),
       f.amount_rc, p.amount_rc
from fact as f
full outer join pnl as p on p.channel = f.channel and p.date = f.date and p.pnl_line = f.pnl_line
where coalesce(f.amount_rc, 0) <> coalesce(p.amount_rc, 0)
) as mismatches
where {{ built_dates('date') }}  -- each part filters its own days (above)

-- reads several models: Dagster shows it as a check of the one it verifies
{{ config(meta={'dagster': {'ref': {'name': 'channel_pnl_daily'}}}) }}
