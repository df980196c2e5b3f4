-- One row per refund or restock event line, every channel (int_refunds), booked on the refund date.
-- A view over int_refunds (event_view_config): the build keeps the rows once; publish writes it as a table.
{{ event_view_config(event_date_column='refund_date') }}
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
