-- Channel P&L per channel and day (UTC), reporting currency, docs/metrics.md. Every line is the sum
-- of its facts' converted rows booked that day:
--   sales (order date): gross_sales, discounts, shipping_income, cogs of non-cancelled order lines
--   refunds (refund date): returns, shipping refunds (− shipping_income), restock credits (− cogs)
--   fees (fee date): fulfillment_costs, payment_fees, marketplace_fees by pnl_line; reimbursements
--     (FBA compensation for lost stock, a credit in fct_fees) as a positive line
--   marketing (spend date) and operating costs (spread per day)
--   accrued_* (fee date): the accrued fees of unsettled Amazon items (fct_fees.is_accrued), already
--     included in marketplace_fees / fulfillment_costs, carried apart too
-- Dense: every dim_channel channel (`unallocated` included) on every date on which any line of any
-- channel is non-zero, zeros where a channel has nothing. period_status: macros/pnl.sql.

with booked as (
    select
        channel, order_date as date,
        gross_sales_rc as gross_sales, discounts_rc as discounts, 0 as returns,
        shipping_income_rc as shipping_income, cogs_rc as cogs,
        0 as fulfillment_costs, 0 as payment_fees, 0 as marketplace_fees, 0 as reimbursements,
        0 as marketing_spend, 0 as operating_costs,
        0 as accrued_marketplace_fees, 0 as accrued_fulfillment_costs
    from {{ ref('fct_order_lines') }}
    where not is_cancelled
    union all
    select
        channel, refund_date,
        0, 0, returns_rc,
        -shipping_refund_rc, -cogs_credit_rc,
        0, 0, 0, 0, 0, 0,
        0, 0
    from {{ ref('fct_refunds') }}
    union all
    select
        channel, fee_date,
        0, 0, 0, 0, 0,
        case when pnl_line = 'fulfillment_costs' then amount_rc else 0 end,
        case when pnl_line = 'payment_fees' then amount_rc else 0 end,
        case when pnl_line = 'marketplace_fees' then amount_rc else 0 end,
        case when pnl_line = 'reimbursements' then -amount_rc else 0 end,
        0, 0,
        case when is_accrued and pnl_line = 'marketplace_fees' then amount_rc else 0 end,
        case when is_accrued and pnl_line = 'fulfillment_costs' then amount_rc else 0 end
    from {{ ref('fct_fees') }}
    union all
    select
        channel, spend_date,
        0, 0, 0, 0, 0, 0, 0, 0, 0, spend_rc, 0,
        0, 0
    from {{ ref('fct_marketing_spend') }}
    union all
    select
        channel, cost_date,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, amount_rc,
        0, 0
    from {{ ref('int_operating_costs_daily') }}
),

by_channel_day as (
    select
        channel,
        date,
        {%- for line in pnl_base_lines() + pnl_accrued_lines() %}
        sum({{ line }}) as {{ line }}{{ "," if not loop.last }}
        {%- endfor %}
    from booked
    group by channel, date
),

active_dates as (
    select date
    from by_channel_day
    group by date
    having
        {%- for line in pnl_base_lines() %}
        sum(case when {{ line }} <> 0 then 1 else 0 end) > 0{{ " or" if not loop.last }}
        {%- endfor %}
),

channels as (
    -- a fact channel missing from dim_channel still shows (and fails its relationships test)
    select channel from {{ ref('dim_channel') }}
    union
    select channel from by_channel_day
),

spine as (
    select c.channel, d.date
    from channels as c
    cross join active_dates as d
),

filled as (
    select
        s.channel,
        s.date,
        {%- for line in pnl_base_lines() + pnl_accrued_lines() %}
        coalesce(b.{{ line }}, 0) as {{ line }}{{ "," if not loop.last }}
        {%- endfor %}
    from spine as s
    left join by_channel_day as b on b.channel = s.channel and b.date = s.date
),

with_status as (
    {{ with_period_status('filled', 'b.date') }}
),

{{ pnl_from_lines('with_status', 'date') }}
