-- One row per fee line (payment, marketplace, fulfilment), every channel (int_fees).
{{ event_model_config(unique_key='fee_line_id', event_date_column='fee_date') }}
select
    fee_line_id,
    source,
    channel,
    fee_date,
    order_id,
    pnl_line,
    fee_type,
    currency,
    amount,
    fx_rate,
    amount_rc
from {{ ref('int_fees') }}
where {{ in_event_window('fee_date') }}
