-- Operating costs per channel, cost type and day (docs/metrics.md "Operating costs"): a month's
-- amount, converted at the rate of the month's first day, is spread evenly over the month's days:
-- round(amount ÷ days, 2) a day (half away from zero, exact cents), the remainder on the month's
-- last day, so every month adds up exactly. Channel `shared` → `unallocated`.

with costs as (
    select
        o.month,
        o.channel as cost_channel,
        o.cost_type,
        o.currency,
        o.amount,
        {{ fx_rate('o.currency', 'fx.rate') }} as fx_rate,
        {{ to_reporting('o.amount', fx_rate('o.currency', 'fx.rate')) }} as month_amount_rc
    from (
        select
            cast({{ dbt.date_trunc('month', 'month') }} as date) as month,
            channel, cost_type, currency, amount
        from {{ ref('stg_finance__operating_costs') }}
    ) as o
    left join {{ ref('int_fx_rates') }} as fx
        on fx.currency = o.currency and fx.rate_date = o.month
),

sized as (
    select
        *,
        cast({{ dbt.datediff('month', dbt.last_day('month', 'month'), 'day') }} as bigint) + 1 as days_in_month
    from costs
),

day_offsets as (
    select n as day_offset from ({{ whole_numbers(2) }}) as n where n < 31
),

daily as (
    select
        s.*,
        d.day_offset,
        cast({{ dbt.dateadd('day', 'd.day_offset', 's.month') }} as date) as cost_date,
        {{ div_round_half_away(to_cents('s.month_amount_rc'), 's.days_in_month') }} as daily_cents
    from sized as s
    inner join day_offsets as d on d.day_offset < s.days_in_month
)

select
    case when cost_channel = 'shared' then 'unallocated' else cost_channel end as channel,
    cost_channel,
    cost_date,
    cost_type,
    currency,
    month,
    amount as month_amount,
    fx_rate,
    month_amount_rc,
    cast(case when day_offset = days_in_month - 1
              then month_amount_rc - cast(daily_cents * (days_in_month - 1) as decimal(18, 0)) * 0.01
              else cast(daily_cents as decimal(18, 0)) * 0.01
         end as decimal(18, 2)) as amount_rc
from daily
