-- Wholesale receivables, one row per invoice: the invoice against the payment received (paid_date)
-- and the credit notes against it, the open amount at the as-of date (the latest invoice, credit
-- note or payment date in the wholesale feed) and its ageing bucket by days past due. Wholesale has
-- no payout file, so it is reconciled here, not in payout_reconciliation. Rules: docs/metrics.md
-- "Reconciliation".

with lines as {{ not_materialized() }} (  -- read twice, never held whole (10M bench: 0.21 -> 0.17 s)
    select * from {{ ref('stg_erp__wholesale_invoice_lines') }}
),

as_of as (
    select max(case when paid_date is not null and paid_date > invoice_date then paid_date else invoice_date end)
        as as_of_date
    from lines
),

invoices as (
    select
        document_number,
        max(customer_account) as customer_account,
        max(customer_name) as customer_name,
        max(currency) as currency,
        max(payment_terms) as payment_terms,
        max(invoice_date) as invoice_date,
        max(due_date) as due_date,
        max(paid_date) as paid_date,
        sum(units * unit_price - coalesce(discount, 0) + coalesce(tax_amount, 0)) as invoice_amount
    from lines
    where document_type = 'invoice'
    group by document_number
),

credits as (
    select
        l.original_document_number as document_number,
        sum(l.units * l.unit_price - coalesce(l.discount, 0) + coalesce(l.tax_amount, 0)) as credited_amount
    from lines as l
    cross join as_of as a
    where l.document_type = 'credit_note' and l.invoice_date <= a.as_of_date
    group by l.original_document_number
),

aged as (
    select
        i.*,
        coalesce(c.credited_amount, 0) as credited_amount,
        a.as_of_date,
        i.paid_date is null or i.paid_date > a.as_of_date as is_open,
        {{ dbt.datediff('coalesce(i.due_date, i.invoice_date)', 'a.as_of_date', 'day') }} as days_after_due
    from invoices as i
    cross join as_of as a
    left join credits as c on c.document_number = i.document_number
)

select
    a.document_number,
    a.customer_account,
    a.customer_name,
    a.currency,
    a.payment_terms,
    a.invoice_date,
    a.due_date,
    a.paid_date,
    a.as_of_date,
    a.is_open,
    cast(a.invoice_amount as decimal(18, 2)) as invoice_amount,
    cast(a.credited_amount as decimal(18, 2)) as credited_amount,
    cast(case when a.is_open then a.invoice_amount - a.credited_amount else 0 end as decimal(18, 2)) as open_amount,
    cast(case when a.is_open then a.days_after_due end as integer) as days_past_due,
    case when not a.is_open then 'paid'
         when a.days_after_due <= 0 then 'current'
         when a.days_after_due <= 30 then '1-30'
         when a.days_after_due <= 60 then '31-60'
         when a.days_after_due <= 90 then '61-90'
         else '90+' end as ageing_bucket,
    cast({{ fx_rate('a.currency', 'fx.rate') }} as decimal(18, 8)) as fx_rate,
    {{ to_reporting('a.invoice_amount', fx_rate('a.currency', 'fx.rate')) }} as invoice_amount_rc,
    {{ to_reporting('case when a.is_open then a.invoice_amount - a.credited_amount else 0 end',
                    fx_rate('a.currency', 'fx.rate')) }} as open_amount_rc
from aged as a
-- receivables are valued at the as-of date's rate (closing rate)
left join {{ ref('int_fx_rates') }} as fx on fx.currency = a.currency and fx.rate_date = a.as_of_date
