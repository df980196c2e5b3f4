-- Every finance journal balances and the journals of a payout add up to its deposit, to the cent
-- (docs/metrics.md "Finance journal"): per journal Σ debit = Σ credit and Σ amount of the lines =
-- the transfer; per payout or settlement Σ transfer over its month parts = the deposit the payout
-- file reports (int_payouts.reported, the settlement's total-amount) — and no payout is left out.
{{ config(meta={'dagster': {'ref': {'name': 'finance_journal'}}}) }}

with journals as (
    select
        source,
        reference,
        journal_id,
        sum(debit) as debit,
        sum(credit) as credit,
        sum(case when account <> 'transfer' then amount else 0 end) as lines,
        sum(case when account = 'transfer' then amount else 0 end) as transfer
    from {{ ref('finance_journal') }}
    group by source, reference, journal_id
),

unbalanced as (
    select source, reference, journal_id, 'debits and credits differ' as problem, debit - credit as difference
    from journals
    where debit <> credit
    union all
    select source, reference, journal_id, 'lines differ from the transfer' as problem, lines - transfer as difference
    from journals
    where lines <> transfer
),

deposits as (
    select source, payout_id as reference, sum(reported) as deposit
    from {{ ref('int_payouts') }}
    group by source, payout_id
),

transfers as (
    select source, reference, sum(transfer) as transfer
    from journals
    group by source, reference
)

select source, reference, journal_id, problem, difference from unbalanced
union all
select
    d.source,
    d.reference,
    cast(null as {{ dbt.type_string() }}) as journal_id,
    'transfers differ from the deposit' as problem,
    coalesce(t.transfer, 0) - d.deposit as difference
from deposits as d
left join transfers as t on t.source = d.source and t.reference = d.reference
where coalesce(t.transfer, 0) <> d.deposit
