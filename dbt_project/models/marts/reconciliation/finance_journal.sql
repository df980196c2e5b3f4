-- The month-end close journal: one summarised journal per Shopify Payments payout and per Amazon
-- settlement, split at month end into month parts, one line per journal × account (seeds/
-- journal_accounts.csv gives each account its ledger code and name). Amounts in the payout's own
-- currency, signed as cash to the seller; the `transfer` line of a month part is that part's share
-- of the deposit (Σ of its other lines), so Σ transfer over a payout's parts = the deposit and every
-- journal balances (Σ debit = Σ credit). Rules: docs/metrics.md "Finance journal".
--
-- The lines per payout × month × account (the account rules, the month parts' dates) come from
-- int_journal_account_lines, incremental by payout; this model numbers the parts, adds the transfer,
-- the deposit, the FX rate and the ledger codes, reading small tables only.

with account_lines as (
    select source, reference, month, account, source_rows, amount
    from {{ ref('int_journal_account_lines') }}
),

parts as (
    select
        source,
        reference,
        month,
        max(currency) as currency,
        min(first_date) as part_start,
        max(last_date) as part_end,
        sum(source_rows) as source_rows,
        sum(amount) as transfer
    from {{ ref('int_journal_account_lines') }}
    group by source, reference, month
),

numbered_parts as (
    select
        p.*,
        row_number() over (partition by p.source, p.reference order by p.month) as month_part,
        count(*) over (partition by p.source, p.reference) as month_parts
    from parts as p
),

deposits as (
    select
        source,
        payout_id as reference,
        max(payout_date) as deposit_date,
        max(payout_status) as payout_status,
        sum(reported) as deposit
    from {{ ref('int_payouts') }}
    group by source, payout_id
),

journals as (
    select
        p.*,
        d.deposit_date,
        d.payout_status,
        d.deposit,
        -- dated in its own month: the deposit day when the deposit falls in that month (after the part's
        -- last line), else the month's last day
        case when d.deposit_date >= p.part_end
                  and d.deposit_date <= cast({{ dbt.last_day('p.month', 'month') }} as date) then d.deposit_date
             else cast({{ dbt.last_day('p.month', 'month') }} as date) end as journal_date,
        {{ fx_rate('p.currency', 'fx.rate') }} as fx_rate
    from numbered_parts as p
    left join deposits as d on d.source = p.source and d.reference = p.reference
    -- the rate of the part's last day (a deposit date can lie after the last published rate)
    left join {{ ref('int_fx_rates') }} as fx on fx.currency = p.currency and fx.rate_date = p.part_end
),

lines as (
    select
        a.source,
        a.reference,
        a.month,
        a.account,
        a.source_rows,
        a.amount,
        {{ to_reporting('a.amount', 'j.fx_rate') }} as amount_rc
    from account_lines as a
    inner join journals as j on j.source = a.source and j.reference = a.reference and j.month = a.month
    where a.amount <> 0
),

-- the transfer: the part's share of the deposit; in the reporting currency the sum of the converted
-- lines, so the converted journal balances too
transfers as (
    select
        j.source,
        j.reference,
        j.month,
        'transfer' as account,
        j.source_rows,
        j.transfer as amount,
        coalesce(l.amount_rc, 0) as amount_rc
    from journals as j
    left join (
        select source, reference, month, sum(amount_rc) as amount_rc
        from lines
        group by source, reference, month
    ) as l on l.source = j.source and l.reference = j.reference and l.month = j.month
),

journal_lines as (
    select * from lines
    union all
    select * from transfers
)

select
    l.source || ':' || l.reference || ':' || cast(l.month as {{ dbt.type_string() }}) || ':' || l.account
        as journal_line_id,
    l.source || ':' || l.reference || ':' || cast(l.month as {{ dbt.type_string() }}) as journal_id,
    l.source,
    l.reference,
    l.month,
    cast(j.month_part as bigint) as month_part,
    cast(j.month_parts as bigint) as month_parts,
    j.journal_date,
    j.part_start,
    j.part_end,
    j.deposit_date,
    j.payout_status,
    j.currency,
    l.account,
    a.account_code,
    a.account_name,
    cast(l.source_rows as bigint) as source_rows,
    cast(l.amount as decimal(18, 2)) as amount,
    -- the deposit goes to the bank (clearing) account as a debit; income is a credit, a cost a debit
    cast(case when (l.account = 'transfer') = (l.amount > 0) then abs(l.amount) else 0 end as decimal(18, 2))
        as debit,
    cast(case when (l.account = 'transfer') = (l.amount > 0) then 0 else abs(l.amount) end as decimal(18, 2))
        as credit,
    cast(j.deposit as decimal(18, 2)) as deposit,
    j.fx_rate,
    cast(l.amount_rc as decimal(18, 2)) as amount_rc
from journal_lines as l
inner join journals as j on j.source = l.source and j.reference = l.reference and j.month = l.month
left join {{ ref('journal_accounts') }} as a on a.account = l.account
