-- One row per channel × SKU × order date × currency × unit list price of the non-cancelled order lines
-- that sold units of a SKU: the lines, units, gross, discounts and COGS in the reporting currency.
-- sku_channel_prices reads it (realised prices, MAP, SKU margins by week and month) instead of every
-- order line of history each night; the MAP and the channels compared are applied there, so a changed
-- seed applies the next night without a full refresh. A line's price point (currency, unit price in it)
-- is kept whole: "a line listed below the SKU's MAP" is decided on the price point, for all its lines.
-- Incremental over order dates (macros/incremental.sql): a night re-reads the window's lines only.
{{ event_model_config(unique_key='price_day_key', event_date_column='order_date') }}

select
    channel || ':' || sku || ':' || cast(order_date as {{ dbt.type_string() }}) || ':' || coalesce(currency, '')
        || ':' || coalesce(cast(unit_price as {{ dbt.type_string() }}), '') as price_day_key,
    channel,
    sku,
    order_date,
    currency,
    unit_price,
    cast(count(*) as bigint) as lines,
    cast(sum(units) as bigint) as units,
    cast(sum(gross_sales_rc) as decimal(18, 2)) as gross_sales_rc,
    cast(sum(discounts_rc) as decimal(18, 2)) as discounts_rc,
    cast(sum(cogs_rc) as decimal(18, 2)) as cogs_rc
from {{ ref('fct_order_lines') }}
where not is_cancelled and units > 0 and sku is not null
  and {{ in_event_window('order_date') }}
group by channel, sku, order_date, currency, unit_price
