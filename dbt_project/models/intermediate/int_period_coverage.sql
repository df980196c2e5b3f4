-- One row per channel: what a P&L period of the channel needs to be final (docs/metrics.md "Period
-- status"). as_of_date = the build's last event day (var max_date; without it the last order day);
-- a channel that sells through a payout source (it has payouts and sales: Shopify Payments, Amazon
-- settlements) awaits its payouts, and they cover it through the latest payout period end;
-- a channel with nothing to wait for (wholesale, unallocated) is final once its period is over.
-- Every channel's period also waits for the monthly operating costs (opex_covered_through): the daily
-- feeds are fresh through the as-of day whenever a night publishes (their 36 h freshness gates), but
-- a month's operating-cost file may come weeks later (its gate allows 45 days).
{%- set max_date = build_var('max_date') %}

with channels as (
    select channel from {{ ref('dim_channel') }}
    union
    select channel from {{ ref('int_payouts') }}
),

payouts as (
    select channel, max(period_end) as covered_through
    from {{ ref('int_payouts') }}
    group by channel
),

opex as (
    select max(month) as last_month
    from {{ ref('stg_finance__operating_costs') }}
),

selling as (
    select distinct channel
    from {{ ref('int_order_lines') }}
    where not is_cancelled
)

select
    c.channel,
    {% if max_date is not none -%}
    cast('{{ max_date }}' as date) as as_of_date,
    {%- else -%}
    (select max(o.order_date) from {{ ref('int_order_lines') }} as o) as as_of_date,
    {%- endif %}
    (p.channel is not null and s.channel is not null) as awaits_payouts,
    p.covered_through,
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'x.last_month')) }} as date) as opex_covered_through
from channels as c
cross join opex as x
left join payouts as p on p.channel = c.channel
left join selling as s on s.channel = c.channel
