-- The monthly channel P&L with, per channel and month, whether finance can sign it off: the
-- reconciliation status of the payouts covering the month (every payout whose period overlaps it)
-- and their unexplained amount; wholesale by its receivables (the month's invoices collected or
-- open). A month is `reconciled` only when it is also closed (period_status, docs/metrics.md
-- "Period status"). Rules: docs/metrics.md "Reconciliation".

with pnl as (
    select * from {{ ref('channel_pnl_monthly') }}
),

payout_months as (
    select
        m.channel,
        m.month,
        count(*) as payouts,
        sum(case when r.is_reconciled then 1 else 0 end) as payouts_reconciled,
        sum(r.unexplained_rc) as unexplained_rc,
        max(r.period_end) as payouts_cover_through
    from pnl as m
    inner join {{ ref('payout_reconciliation') }} as r
        on r.channel = m.channel
        and r.period_start < cast({{ dbt.dateadd('month', 1, 'm.month') }} as date)
        and r.period_end >= m.month
    group by m.channel, m.month
),

receivable_months as (
    select
        'wholesale' as channel,
        cast({{ dbt.date_trunc('month', 'invoice_date') }} as date) as month,
        count(*) as invoices,
        sum(case when is_open then 1 else 0 end) as open_invoices,
        sum(open_amount_rc) as open_receivables_rc
    from {{ ref('wholesale_receivables') }}
    group by cast({{ dbt.date_trunc('month', 'invoice_date') }} as date)
)

select
    p.*,
    case when coalesce(pm.payouts, 0) > 0
             then case when pm.payouts_reconciled < pm.payouts then 'not_reconciled'
                       -- the payouts so far reconcile, but the month is not closed yet (payouts do
                       -- not cover it, or accrued fees are still in it): not signed off
                       when p.period_status <> 'closed' then 'awaiting_payouts'
                       else 'reconciled' end
         when coalesce(rm.invoices, 0) > 0
             then case when rm.open_invoices = 0 then 'receivables_collected' else 'receivables_open' end
         else 'no_payouts' end as reconciliation_status,
    cast(coalesce(pm.payouts, 0) as bigint) as payouts,
    cast(coalesce(pm.payouts_reconciled, 0) as bigint) as payouts_reconciled,
    cast(pm.unexplained_rc as decimal(18, 2)) as unexplained_rc,
    pm.payouts_cover_through,
    cast(rm.invoices as bigint) as invoices,
    cast(rm.open_invoices as bigint) as open_invoices,
    cast(rm.open_receivables_rc as decimal(18, 2)) as open_receivables_rc
from pnl as p
left join payout_months as pm on pm.channel = p.channel and pm.month = p.month
left join receivable_months as rm on rm.channel = p.channel and rm.month = p.month
