-- One row per fee line (payment, marketplace, fulfilment), every channel: the actual fee lines
-- (int_fees) and the accrued Amazon fees of items not settled yet (int_fee_accruals, is_accrued).
-- Accruals are an estimate of the whole current state, not events of a day: int_fee_accruals re-computes
-- every accrual every night, so an accrual never outlives its settlement. A view over both
-- (event_view_config): its per-day sums re-sum every day that holds an accrual, re-rated whatever its date.
{{ event_view_config(event_date_column='fee_date', also_days_where='is_accrued') }}

select
    fee_line_id, source, channel, fee_date, order_id, pnl_line, fee_type, currency, amount, fx_rate,
    amount_rc, false as is_accrued
from {{ ref('int_fees') }}
union all
select
    fee_line_id, source, channel, fee_date, order_id, pnl_line, fee_type, currency, amount, fx_rate,
    amount_rc, true as is_accrued
from {{ ref('int_fee_accruals') }}
