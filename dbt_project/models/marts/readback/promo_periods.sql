-- Promotion periods per SKU × channel, derived from discounted order lines (docs/metrics.md
-- "Channel readback"). Only channels whose type takes part in the price comparison
-- (seeds/price_compare_channel_types.csv; wholesale account discounts are not promotions).
--   * a line is promotional when its SKU-level discount (Shopify `Lineitem discount`, Amazon
--     item-promotion-discount; never an order-level code) is at least promo_min_discount_pct of
--     its gross;
--   * a promotion day of a SKU × channel is a day on which it sold and every non-cancelled line of
--     it was promotional;
--   * a promotion period is a run of promotion days not interrupted by a day on which the SKU sold
--     on that channel at full price (days without a sale neither extend nor break it), spanning
--     its first to its last promotion day, with at least promo_min_lines promotional lines.

with lines as (
    select
        l.channel,
        l.sku,
        l.order_date,
        l.gross_sales,
        case when l.source = 'shopify' then coalesce(s.lineitem_discount, 0) else l.discounts end as sku_discount
    from {{ ref('fct_order_lines') }} as l
    inner join {{ ref('dim_channel') }} as c on c.channel = l.channel
    inner join {{ ref('price_compare_channel_types') }} as t on t.channel_type = c.channel_type and t.compared
    left join {{ ref('stg_shopify__order_lines') }} as s
        on l.source = 'shopify' and s.order_name = l.order_id and s.line_number = l.line_number
    where not l.is_cancelled and l.gross_sales > 0 and l.sku is not null
),

days as (
    select
        channel,
        sku,
        order_date,
        count(*) as lines,
        sum(case when sku_discount >= {{ readback_param('promo_min_discount_pct') }} * gross_sales then 1 else 0 end)
            as promo_lines,
        sum(sku_discount) as sku_discount,
        sum(gross_sales) as gross_sales
    from lines
    group by channel, sku, order_date
),

islands as (
    select
        *,
        case when promo_lines = lines then 1 else 0 end as is_promo_day,
        sum(case when promo_lines = lines then 0 else 1 end)
            over (partition by channel, sku order by order_date rows between unbounded preceding and current row)
            as island
    from days
),

periods as (
    select
        channel,
        sku,
        min(order_date) as promo_start,
        max(order_date) as promo_end,
        count(*) as promo_days,
        sum(promo_lines) as promo_lines,
        sum(sku_discount) as sku_discount,
        sum(gross_sales) as gross_sales
    from islands
    where is_promo_day = 1
    group by channel, sku, island
    having sum(promo_lines) >= {{ readback_param('promo_min_lines') }}
)

select
    channel,
    sku,
    promo_start,
    promo_end,
    cast(promo_days as bigint) as promo_days,
    cast(promo_lines as bigint) as promo_lines,
    cast(sku_discount as decimal(18, 2)) as sku_discount,
    cast(gross_sales as decimal(18, 2)) as gross_sales,
    cast(sku_discount as double) / cast(gross_sales as double) as discount_pct
from periods
