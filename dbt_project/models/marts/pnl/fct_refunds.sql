-- One row per refund or restock event line, every channel (int_refunds), booked on the refund date.
{{ event_model_config(unique_key='refund_line_id', event_date_column='refund_date') }}
select
    refund_line_id,
    source,
    channel,
    order_id,
    sku,
    order_line_id,
    refund_date,
    refunded_at,
    return_received_at,
    order_date,
    units_returned,
    restocked_units,
    currency,
    fx_rate,
    returns,
    shipping_refund,
    tax_refund,
    returns_rc,
    shipping_refund_rc,
    tax_refund_rc,
    unit_cost,
    cost_currency,
    cost_fx_rate,
    cogs_credit_rc
from {{ ref('int_refunds') }}
where {{ in_event_window('refund_date') }}
