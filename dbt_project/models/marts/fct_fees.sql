-- One row per fee line (payment, marketplace, fulfilment), every channel (int_fees).
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
