-- Promotion periods per SKU × channel, derived from discounted order lines (docs/metrics.md
-- "Channel readback") as int_sku_channel_days sums them up per day. Only channels whose type takes
-- part in the price comparison (seeds/price_compare_channel_types.csv; wholesale account discounts
-- are not promotions).
--   * a line is promotional when its SKU-level discount (Shopify `Lineitem discount`, Amazon
--     item-promotion-discount; never an order-level code) is at least promo_min_discount_pct of
--     its gross;
--   * a promotion day of a SKU × channel is a day on which it sold and every non-cancelled line of
--     it was promotional;
--   * a promotion period is a run of promotion days not interrupted by a day on which the SKU sold
--     on that channel at full price (days without a sale neither extend nor break it), spanning
--     its first to its last promotion day, with at least promo_min_lines promotional lines.

with days as (
    select
        d.channel,
        d.sku,
        d.order_date,
        d.lines,
        d.sku_discount,
        d.gross_sales,
        -- every line of the day promotional: its discount share at least the threshold (exact, in millionths)
        d.lowest_discount_ppm >= cast(
            round(cast({{ readback_param('promo_min_discount_pct') }} as decimal(18, 6)) * 1000000, 0) as bigint
        ) as all_promotional
    from {{ ref('int_sku_channel_days') }} as d
    inner join {{ ref('dim_channel') }} as c on c.channel = d.channel
    inner join {{ ref('price_compare_channel_types') }} as t on t.channel_type = c.channel_type and t.compared
),

islands as (
    select
        *,
        case when all_promotional then 1 else 0 end as is_promo_day,
        sum(case when all_promotional then 0 else 1 end)
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
        sum(lines) as promo_lines,  -- a promotion day's lines are all promotional
        sum(sku_discount) as sku_discount,
        sum(gross_sales) as gross_sales
    from islands
    where is_promo_day = 1
    group by channel, sku, island
    having sum(lines) >= {{ readback_param('promo_min_lines') }}
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
