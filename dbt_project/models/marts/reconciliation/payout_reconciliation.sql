-- Payout reconciliation, one row per channel × payout (Shopify Payments payout, Amazon settlement):
-- what the order, refund and fee facts say the payout should be (expected), what the payout file
-- says it paid (reported), and the variance split into explained components and an unexplained
-- remainder, in the payout currency and in the reporting currency. Rules: docs/metrics.md
-- "Reconciliation" (int_payout_items says which item explains which part).

with payouts as (
    select * from {{ ref('int_payouts') }}
),

-- summed by kind and component first, then spread into columns: one grouping of every item of history on
-- three keys instead of a dozen conditional sums per item (10M bench, 21.4M items: 0.34 -> 0.22 s). The
-- grouping and the notes below read the items each for themselves: one CTE read by both held every column
-- of every item, `detail` included, for the notes' few rows (10M bench: the query's CPU 1.8 -> 0.7 s)
items_by_kind as (
    select payout_key, item_kind, component, sum(expected) as expected, sum(paid) as paid, sum(variance) as variance
    from {{ ref('int_payout_items') }}
    group by payout_key, item_kind, component
),

sums as (
    select
        payout_key,
        sum(case when item_kind = 'sale' then expected else 0 end) as expected_sales,
        sum(case when item_kind = 'refund' then expected else 0 end) as expected_refunds,
        sum(case when item_kind = 'fee' then expected else 0 end) as expected_fees,
        sum(case when item_kind = 'reimbursement' then expected else 0 end) as expected_reimbursements,
        sum(expected) as expected,
        sum(paid) as paid,
        {%- for component in ['timing', 'refunds', 'fees', 'reimbursements', 'reserves', 'adjustments'] %}
        sum(case when component = '{{ component }}' then variance else 0 end)
            as {{ component }}{{ "," if not loop.last }}
        {%- endfor %}
    from items_by_kind
    group by payout_key
),

component_notes as (
    select
        payout_key,
        {{ dbt.listagg("note", "'; '", "order by note") }} as notes
    from (
        select
            payout_key,
            case when component = 'unexplained'
                 then 'unexplained ' || cast(sum(variance) as {{ dbt.type_string() }}) || ': ' || detail
                      || ' x' || cast(count(*) as {{ dbt.type_string() }})
                 else component || ' ' || cast(sum(variance) as {{ dbt.type_string() }})
                      || ' (' || cast(count(*) as {{ dbt.type_string() }}) || ' item(s))'
            end as note
        from (
            select
                payout_key, component, case when component = 'unexplained' then detail else '' end as detail, variance
            from {{ ref('int_payout_items') }}
            where variance <> 0
        ) as nonzero
        group by payout_key, component, detail
    ) as grouped
    group by payout_key
),

reconciled as (
    select
        p.*,
        coalesce(s.expected_sales, 0) as expected_sales,
        coalesce(s.expected_refunds, 0) as expected_refunds,
        coalesce(s.expected_fees, 0) as expected_fees,
        coalesce(s.expected_reimbursements, 0) as expected_reimbursements,
        coalesce(s.expected, 0) as expected,
        coalesce(s.paid, 0) as paid,
        {%- for component in ['timing', 'refunds', 'fees', 'reimbursements', 'reserves', 'adjustments'] %}
        coalesce(s.{{ component }}, 0) as {{ component }},
        {%- endfor %}
        n.notes,
        {{ fx_rate('p.currency', 'fx.rate') }} as fx_rate
    from payouts as p
    left join sums as s on s.payout_key = p.payout_key
    left join component_notes as n on n.payout_key = p.payout_key
    -- converted at the rate of the payout period's last day
    left join {{ ref('int_fx_rates') }} as fx on fx.currency = p.currency and fx.rate_date = p.period_end
),

converted as (
    select
        *,
        reported - expected as variance,
        reported - expected - (timing + refunds + fees + reimbursements + reserves + adjustments) as unexplained,
        {{ to_reporting('expected', 'fx_rate') }} as expected_rc,
        {{ to_reporting('reported', 'fx_rate') }} as reported_rc,
        {%- for component in ['timing', 'refunds', 'fees', 'reimbursements', 'reserves', 'adjustments'] %}
        {{ to_reporting(component, 'fx_rate') }} as {{ component }}_rc,
        {%- endfor %}
        -- the tolerance of METRICS.md: 0.5% of the reported payout or 1.00, whichever is larger
        greatest(
            cast(round(abs(cast({{ to_reporting('reported', 'fx_rate') }} as decimal(38, 10)))
                       * {{ var('reconciliation_tolerance_pct', 0.005) }}, 2) as decimal(18, 2)),
            cast({{ var('reconciliation_tolerance_min', 1.00) }} as decimal(18, 2))
        ) as tolerance_rc
    from reconciled
),

final as (
    select
        *,
        reported_rc - expected_rc as variance_rc,
        -- converted on its own like every component: a payout with nothing unexplained has 0.00 in
        -- every currency; the components add up to variance_rc within a cent each of rounding
        {{ to_reporting('unexplained', 'fx_rate') }} as unexplained_rc
    from converted
)

select
    payout_key,
    source,
    payout_id,
    channel,
    currency,
    payout_date,
    payout_status,
    period_start,
    period_end,
    transactions,
    cast(expected_sales as decimal(18, 2)) as expected_sales,
    cast(expected_refunds as decimal(18, 2)) as expected_refunds,
    cast(expected_fees as decimal(18, 2)) as expected_fees,
    cast(expected_reimbursements as decimal(18, 2)) as expected_reimbursements,
    cast(expected as decimal(18, 2)) as expected,
    cast(reported as decimal(18, 2)) as reported,
    cast(variance as decimal(18, 2)) as variance,
    {%- for component in ['timing', 'refunds', 'fees', 'reimbursements', 'reserves', 'adjustments', 'unexplained'] %}
    cast({{ component }} as decimal(18, 2)) as {{ component }},
    {%- endfor %}
    cast(fx_rate as decimal(18, 8)) as fx_rate,
    cast(expected_rc as decimal(18, 2)) as expected_rc,
    cast(reported_rc as decimal(18, 2)) as reported_rc,
    cast(variance_rc as decimal(18, 2)) as variance_rc,
    {%- for component in ['timing', 'refunds', 'fees', 'reimbursements', 'reserves', 'adjustments', 'unexplained'] %}
    cast({{ component }}_rc as decimal(18, 2)) as {{ component }}_rc,
    {%- endfor %}
    cast(tolerance_rc as decimal(18, 2)) as tolerance_rc,
    abs(unexplained_rc) <= tolerance_rc as is_reconciled,
    case when reported <> paid
         then coalesce(notes || '; ', '') || 'unexplained ' || cast(reported - paid as {{ dbt.type_string() }})
              || ': reported total differs from the sum of its lines'
         else coalesce(notes, '') end as explanation
from final
