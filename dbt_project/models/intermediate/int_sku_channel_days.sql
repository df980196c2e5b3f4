-- One row per channel × SKU × order date with a sale: the day's non-cancelled lines, their gross,
-- their SKU-level discount (Shopify `Lineitem discount`, Amazon item-promotion-discount, a wholesale
-- line's discount; never an order-level code) and the lowest discount share of any of its lines, in
-- millionths rounded down (an exact integer: "every line discounted by at least p" is
-- lowest_discount_ppm >= p × 10⁶ for a p of up to six decimals). promo_periods reads it (docs/
-- metrics.md "Channel readback") with its thresholds, so a changed threshold applies the next night.
-- Incremental over order dates (macros/incremental.sql): a night re-reads the window's lines only.
{{ event_model_config(unique_key='sku_day_key', event_date_column='order_date') }}

with lines as (
    select
        l.channel,
        l.sku,
        l.order_date,
        l.gross_sales,
        case when l.source = 'shopify' then coalesce(s.lineitem_discount, 0) else l.discounts end as sku_discount
    from {{ ref('fct_order_lines') }} as l
    left join (
        select order_name, line_number, lineitem_discount
        from {{ ref('stg_shopify__order_lines') }}
        -- a Shopify line's order date is the local day it was created
        where {{ in_event_window_local('created_at') }}
    ) as s
        on l.source = 'shopify' and s.order_name = l.order_id and s.line_number = l.line_number
    where not l.is_cancelled and l.gross_sales > 0 and l.sku is not null
      and {{ in_event_window('l.order_date') }}
)

select
    channel || ':' || sku || ':' || cast(order_date as {{ dbt.type_string() }}) as sku_day_key,
    channel,
    sku,
    order_date,
    cast(count(*) as bigint) as lines,
    cast(sum(sku_discount) as decimal(18, 2)) as sku_discount,
    cast(sum(gross_sales) as decimal(18, 2)) as gross_sales,
    -- a negative discount (a surcharge) is no discount: −1, below any threshold
    min(case when sku_discount < 0 then -1
             else {{ div_floor(to_cents('sku_discount') ~ ' * 1000000', to_cents('gross_sales')) }} end)
        as lowest_discount_ppm
from lines
group by channel, sku, order_date
