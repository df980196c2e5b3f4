-- One row per fee line (payment, marketplace, fulfilment), every channel: the actual fee lines
-- (int_fees) and the accrued Amazon fees of items not settled yet (int_fee_accruals, is_accrued).
-- Accruals are an estimate of the whole current state, not events of a day: every build replaces
-- all of them (an incremental build inserts every current accrual and deletes the accruals whose
-- item has since been settled, whatever their date), so an accrual never outlives its settlement.
{{ event_model_config(unique_key='fee_line_id', event_date_column='fee_date', also_days_where='is_accrued', post_hook=[
    "delete from {{ this }} where is_accrued and fee_line_id not in "
    ~ "(select fee_line_id from {{ ref('int_fee_accruals') }})"
] if target.type == 'duckdb' else []) }}

with actual as (
    select
        fee_line_id, source, channel, fee_date, order_id, pnl_line, fee_type, currency, amount, fx_rate,
        amount_rc, false as is_accrued
    from {{ ref('int_fees') }}
    where {{ in_event_window('fee_date') }}
),

accrued as (
    select
        fee_line_id, source, channel, fee_date, order_id, pnl_line, fee_type, currency, amount, fx_rate,
        amount_rc, true as is_accrued
    from {{ ref('int_fee_accruals') }}
    where {{ built_dates('fee_date') }}
)

select * from actual
union all
select * from accrued
