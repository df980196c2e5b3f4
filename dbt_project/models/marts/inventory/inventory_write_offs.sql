-- Stock written off because a marketplace lost or damaged it and reimbursed it: one row per FBA
-- reimbursement settlement line (category `reimbursements`, seeds/settlement_line_categories.csv).
-- The reimbursement is P&L income (channel_pnl_*.reimbursements); the lost units' cost leaves
-- inventory value here, at the unit cost effective on the posted date, converted at that date's
-- rate (docs/metrics.md "Fees": reimbursements). A line without a SKU or quantity writes off nothing
-- it cannot value: units 0, value null (visible, never guessed).
with reimbursements as (
    select
        settlement_line_id,
        settlement_id,
        channel,
        posted_date,
        sku,
        amount_description,
        coalesce(quantity_purchased, 0) as units,
        currency,
        amount
    from {{ ref('int_settlement_lines') }}
    where category = 'reimbursements'
)

select
    r.settlement_line_id,
    r.settlement_id,
    r.channel,
    r.posted_date as write_off_date,
    r.sku,
    r.amount_description as reason,
    cast(r.units as bigint) as units,
    c.unit_cost,
    c.cost_currency,
    {{ to_reporting('r.units * c.unit_cost', fx_rate('c.cost_currency', 'cost_fx.rate')) }} as write_off_value_rc,
    {{ to_reporting('r.amount', fx_rate('r.currency', 'fx.rate')) }} as reimbursement_rc
from reimbursements as r
left join {{ ref('int_cogs_effective') }} as c
    on c.sku = r.sku and r.posted_date >= c.effective_from
    and (c.effective_to is null or r.posted_date < c.effective_to)
left join {{ ref('int_fx_rates') }} as cost_fx
    on cost_fx.currency = c.cost_currency and cost_fx.rate_date = r.posted_date
left join {{ ref('int_fx_rates') }} as fx
    on fx.currency = r.currency and fx.rate_date = r.posted_date
