-- One row per order line, every channel (int_order_lines): cancelled lines stay, flagged, and are
-- excluded from the P&L and the KPIs. Sales are booked on the order date (a local day of the business
-- time zone).
-- A view over int_order_lines (event_view_config): the build keeps the rows once; publish writes it as a table.
{{ event_view_config(event_date_column='order_date') }}
select
    order_line_id,
    source,
    channel,
    order_id,
    line_number,
    ordered_at,
    order_date,
    shipped_at,
    is_cancelled,
    customer_key,
    sku,
    units,
    currency,
    unit_price,
    gross_sales,
    discounts,
    shipping_income,
    tax,
    fx_rate,
    gross_sales_rc,
    discounts_rc,
    shipping_income_rc,
    tax_rc,
    unit_cost,
    cost_currency,
    cost_fx_rate,
    cogs_rc
from {{ ref('int_order_lines') }}
