-- Realised price and SKU-level margin per SKU × sales channel × period, at two grains (grain =
-- 'month': period_start = the month's first day; grain = 'week': the Monday). Reporting currency.
-- Rules (docs/metrics.md "Channel readback"):
--   * realised_unit_price = (gross − discounts) ÷ units of the non-cancelled order lines of the
--     period (order date), discounts including order-level codes allocated to the line;
--   * compared: the channel's type takes part in the price comparison
--     (seeds/price_compare_channel_types.csv: not wholesale, which sells at trade prices) and the
--     SKU sold at least `price_min_units` units there in the period;
--   * reference_price = the median realised price of the SKU across the compared channels of the
--     period (needs two channels); is_price_outlier when the channel's price is at least
--     `material_price_difference` below it;
--   * below_map: a line listed (unit list price, before discounts, in its own currency) below the
--     SKU's minimum advertised price in that currency (seeds/minimum_advertised_prices.csv);
--   * sku_cm3_pct = (net sales − COGS) ÷ net sales − the channel's variable cost rate of the
--     period ((fulfillment + payment + marketplace fees + marketing) ÷ net revenue, from the channel
--     P&L): the SKU's cm3 margin with the channel's variable costs spread in proportion to net
--     sales; below_margin_floor when under dim_channel.margin_floor_pct (with price_min_units).

with lines as (
    -- the order lines' price points per day (int_sku_channel_price_days: non-cancelled lines that sold
    -- units of a SKU, grouped by channel, SKU, order date, currency and unit list price)
    select
        l.channel,
        l.sku,
        l.units,
        l.currency,
        l.unit_price,
        l.gross_sales_rc,
        l.discounts_rc,
        l.cogs_rc,
        d.month,
        d.week_start,
        m.minimum_advertised_price,
        case when m.minimum_advertised_price is not null and l.unit_price < m.minimum_advertised_price
             then l.lines else 0 end as lines_below_map
    from {{ ref('int_sku_channel_price_days') }} as l
    inner join {{ ref('dim_date') }} as d on d.date = l.order_date
    inner join {{ ref('dim_channel') }} as c on c.channel = l.channel
    left join {{ ref('price_compare_channel_types') }} as t on t.channel_type = c.channel_type
    left join {{ ref('minimum_advertised_prices') }} as m
        on m.sku = l.sku and m.currency = l.currency and coalesce(t.compared, false)
),

periods as (
    {%- for grain, column in readback_grains().items() %}
    select
        '{{ grain }}' as grain,
        {{ column }} as period_start,
        channel,
        sku,
        sum(units) as units,
        sum(gross_sales_rc) as gross_sales,
        sum(discounts_rc) as discounts,
        sum(cogs_rc) as cogs,
        max(minimum_advertised_price) as minimum_advertised_price,
        max(case when minimum_advertised_price is not null then currency end) as map_currency,
        min(case when minimum_advertised_price is not null then unit_price end) as lowest_list_price,
        sum(lines_below_map) as lines_below_map
    from lines
    group by {{ column }}, channel, sku
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

pnl as (
    {%- for grain, column in readback_grains().items() %}
    select
        '{{ grain }}' as grain,
        {{ column if grain == 'month' else 'week_start' }} as period_start,
        channel,
        {{ safe_ratio('fulfillment_costs + payment_fees + marketplace_fees - reimbursements + marketing_spend',
                      'net_revenue') }}
            as variable_cost_rate
    from {{ ref('channel_pnl_monthly' if grain == 'month' else 'channel_pnl_weekly') }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

priced as (
    select
        p.*,
        c.margin_floor_pct,
        cast(p.gross_sales - p.discounts as decimal(18, 2)) as net_sales,
        -- rounded half away on 4 places exactly (units > 0): a quotient in double can miss the half
        cast(cast({{ div_round_half_away(to_cents('p.gross_sales - p.discounts') ~ ' * 100', 'p.units') }}
                  as decimal(18, 0))
             * 0.0001 as decimal(18, 4)) as realised_unit_price,
        coalesce(t.compared, false) and p.units >= {{ readback_param('price_min_units') }} as is_compared,
        pnl.variable_cost_rate
    from periods as p
    inner join {{ ref('dim_channel') }} as c on c.channel = p.channel
    left join {{ ref('price_compare_channel_types') }} as t on t.channel_type = c.channel_type
    left join pnl on pnl.grain = p.grain and pnl.period_start = p.period_start and pnl.channel = p.channel
),

reference as (
    select
        grain,
        period_start,
        sku,
        count(*) as compared_channels,
        -- in double: a median of decimals is cut to their 4 places by DuckDB, not by Spark
        percentile_cont(0.5) within group (order by cast(realised_unit_price as double)) as reference_price
    from priced
    where is_compared
    group by grain, period_start, sku
),

scored as (
    select
        p.*,
        coalesce(r.compared_channels, 0) as compared_channels,
        case when p.is_compared and r.compared_channels >= 2 then r.reference_price end as reference_price
    from priced as p
    left join reference as r on r.grain = p.grain and r.period_start = p.period_start and r.sku = p.sku
),

margins as (
    select
        *,
        case when reference_price > 0 then cast(realised_unit_price as double) / reference_price - 1 end
            as price_deviation,
        case when net_sales <> 0
             then cast(net_sales - cogs as double) / cast(net_sales as double) - variable_cost_rate end as sku_cm3_pct
    from scored
)

select
    grain,
    cast(period_start as date) as period_start,
    channel,
    sku,
    cast(units as bigint) as units,
    cast(gross_sales as decimal(18, 2)) as gross_sales,
    cast(discounts as decimal(18, 2)) as discounts,
    net_sales,
    cast(cogs as decimal(18, 2)) as cogs,
    realised_unit_price,
    is_compared,
    cast(compared_channels as bigint) as compared_channels,
    cast(reference_price as double) as reference_price,
    price_deviation,
    coalesce(price_deviation <= -{{ readback_param('material_price_difference') }}, false) as is_price_outlier,
    cast(minimum_advertised_price as decimal(18, 2)) as minimum_advertised_price,
    map_currency,
    cast(lowest_list_price as decimal(18, 4)) as lowest_list_price,
    cast(lines_below_map as bigint) as lines_below_map,
    lines_below_map > 0 as is_below_map,
    variable_cost_rate,
    sku_cm3_pct,
    cast(margin_floor_pct as double) as margin_floor_pct,
    coalesce(units >= {{ readback_param('price_min_units') }} and sku_cm3_pct < margin_floor_pct, false)
        as is_below_margin_floor
from margins
