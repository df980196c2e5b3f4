-- Channel P&L per channel and day (a local day of the business time zone), reporting currency,
-- docs/metrics.md. Every line is the sum of its facts' converted rows booked that day:
--   sales (order date): gross_sales, discounts, shipping_income, cogs of non-cancelled order lines
--   refunds (refund date): returns, shipping refunds (− shipping_income), restock credits (− cogs)
--   fees (fee date): fulfillment_costs, payment_fees, marketplace_fees by pnl_line; reimbursements
--     (FBA compensation for lost stock, a credit in fct_fees) as a positive line
--   marketing (spend date) and operating costs (spread per day)
--   accrued_* (fee date): the accrued fees of unsettled Amazon items (fct_fees.is_accrued), already
--     included in marketplace_fees / fulfillment_costs, carried apart too
-- Dense: every dim_channel channel (`unallocated` included) on every date on which any line of any
-- channel is non-zero, zeros where a channel has nothing. period_status: macros/pnl.sql.
-- DuckDB builds it incrementally: a night re-sums only the days whose facts changed since its last
-- build (their kept day sums differ: macros/day_sums.sql) and keeps its stored lines of the other
-- days; every day when its stored rows are not one per dim_channel channel and day (a channel added
-- or gone). period_status and the derived lines are recomputed on every row (a small table).
{{ config(
    materialized=('incremental' if target.type == 'duckdb' else 'table'),
    incremental_strategy='replace_all',
    on_schema_change='append_new_columns',
    post_hook=["{{ save_read_day_sums('channel_pnl_daily', pnl_daily_facts()) }}"],
) }}
{%- set line_columns = pnl_base_lines() + pnl_accrued_lines() %}
{#- an incremental build on a stored table with every line (false on a full build) #}
{%- set by_days = target.type == 'duckdb' and incremental_with_columns(line_columns) %}
{%- set days = 'resummed_days' if by_days else none %}

with
{%- if by_days %}
changed_days as (
    {{ changed_fact_days('channel_pnl_daily', pnl_daily_facts()) }}
),

stored as (
    select * from {{ this }}
),

-- every day when the stored rows are not exactly one per dim_channel channel and day, or a changed day
-- is null
resum_all as (
    select
        exists (select channel from stored except select channel from {{ ref('dim_channel') }})
        or exists (select channel from {{ ref('dim_channel') }} except select channel from stored)
        or (select count(*) from stored)
        <> (select count(distinct date) from stored) * (select count(*) from {{ ref('dim_channel') }})
        or exists (select 1 from changed_days where day_value is null) as is_all
),

resummed_days as (
    select day_value from changed_days where day_value is not null
    union
    select cast(sums.day as date)
    from ({{ fact_day_sums_now(pnl_daily_facts()) }}) as sums
    where sums.day is not null and (select r.is_all from resum_all as r)
),
{%- endif %}

booked as (
    select
        channel, order_date as date,
        gross_sales_rc as gross_sales, discounts_rc as discounts, 0 as returns,
        shipping_income_rc as shipping_income, cogs_rc as cogs,
        0 as fulfillment_costs, 0 as payment_fees, 0 as marketplace_fees, 0 as reimbursements,
        0 as marketing_spend, 0 as operating_costs,
        0 as accrued_marketplace_fees, 0 as accrued_fulfillment_costs
    from {{ ref('fct_order_lines') }}
    where not is_cancelled and {{ in_days('order_date', days) }}
    union all
    select
        channel, refund_date,
        0, 0, returns_rc,
        -shipping_refund_rc, -cogs_credit_rc,
        0, 0, 0, 0, 0, 0,
        0, 0
    from {{ ref('fct_refunds') }}
    where {{ in_days('refund_date', days) }}
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
    where {{ in_days('fee_date', days) }}
    union all
    select
        channel, spend_date,
        0, 0, 0, 0, 0, 0, 0, 0, 0, spend_rc, 0,
        0, 0
    from {{ ref('fct_marketing_spend') }}
    where {{ in_days('spend_date', days) }}
    union all
    select
        channel, cost_date,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, amount_rc,
        0, 0
    from {{ ref('int_operating_costs_daily') }}
    where {{ in_days('cost_date', days) }}
),

by_channel_day as (
    select
        channel,
        date,
        {%- for line in line_columns %}
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

resummed as (
    select
        s.channel,
        s.date,
        {%- for line in line_columns %}
        coalesce(b.{{ line }}, 0) as {{ line }}{{ "," if not loop.last }}
        {%- endfor %}
    from spine as s
    left join by_channel_day as b on b.channel = s.channel and b.date = s.date
),

filled as (
    select * from resummed
    {%- if by_days %}
    union all
    select channel, date, {{ line_columns | join(', ') }}
    from stored
    where date not in (select r.day_value from resummed_days as r)
    {%- endif %}
),

with_status as (
    {{ with_period_status('filled', 'b.date') }}
),

{{ pnl_from_lines('with_status', 'date') }}
