-- Daily anomaly scores per sales channel × day × metric (revenue, orders, aov,
-- conversion_rate, marketing_spend): is the day's value outside what the channel's own history
-- makes normal? Robust and weekday-aware, no hand-set thresholds (docs/metrics.md "Anomalies"):
--   * revenue is the value of the day's orders (gross − discounts + shipping, as AOV counts it),
--     not net revenue: refunds booked that day would make a quiet refund day look like a collapse;
--   * each metric is compared on a variance-stabilising scale t: money (net revenue, AOV, spend)
--     (revenue, AOV, spend) sign·ln(1+|x|); orders 2·√(x + 3/8) (Anscombe: Poisson counts get unit variance);
--     conversion asin(√x) (binomial proportions);
--   * baseline = the median of t over the same weekday in the trailing window
--     (anomaly_window_weeks); the day is scored when at least anomaly_min_history such days have
--     a value;
--   * scale = the largest of (a) the robust spread of the window: 1.4826 × MAD of every window
--     day's residual from its own weekday's median, (b) 1.4826 × MAD of the same-weekday values
--     around the baseline (each 1.253314 × mean absolute deviation when its MAD is 0), and (c) the sampling noise the metric has anyway: 1 for orders (Poisson on the
--     Anscombe scale), 1 ÷ (2√sessions) for conversion (binomial), 1 ÷ √(median orders of that
--     weekday, at least 1) for revenue and AOV (the Poisson noise of the number of orders behind
--     the amount), 0 for spend (set by the advertiser, not sampled);
--   * z = (t − baseline) ÷ scale; an anomaly when |z| > anomaly_z (3.5, Iglewicz & Hoaglin), or,
--     with a scale of 0, whenever the day differs from the baseline.

with daily as (
    select
        k.channel,
        k.date,
        d.day_of_week,
        k.orders,
        k.sessions,
        cast(k.order_gross_sales - k.order_discounts + k.order_shipping_income as double) as revenue,
        cast(k.aov as double) as aov,
        k.conversion_rate,
        cast(k.marketing_spend as double) as marketing_spend
    from {{ ref('channel_kpis_daily') }} as k
    inner join {{ ref('dim_date') }} as d on d.date = k.date
),

metrics as (
    select channel, date, day_of_week, 'revenue' as metric, revenue as value,
           sign(revenue) * ln(1 + abs(revenue)) as t
    from daily
    union all
    select channel, date, day_of_week, 'orders', cast(orders as double), 2 * sqrt(orders + 0.375)
    from daily
    union all
    select channel, date, day_of_week, 'aov', aov, ln(1 + aov)
    from daily where aov is not null
    union all
    select channel, date, day_of_week, 'conversion_rate', conversion_rate, asin(sqrt(conversion_rate))
    from daily where conversion_rate is not null
    union all
    select channel, date, day_of_week, 'marketing_spend', marketing_spend,
           sign(marketing_spend) * ln(1 + abs(marketing_spend))
    from daily
),

pairs as (
    -- every scored day with each day of its trailing window
    select
        s.channel,
        s.metric,
        s.date,
        s.day_of_week,
        h.date as history_date,
        h.day_of_week as history_day_of_week,
        h.value as history_value,
        h.t as history_t
    from metrics as s
    inner join metrics as h
        on h.channel = s.channel and h.metric = s.metric
        and h.date < s.date
        and {{ dbt.datediff('h.date', 's.date', 'day') }} <= 7 * {{ readback_param('anomaly_window_weeks') }}
),

same_weekday as (
    select
        channel,
        metric,
        date,
        count(*) as history_days,
        percentile_cont(0.5) within group (order by history_t) as baseline_t,
        percentile_cont(0.5) within group (order by history_value) as baseline_median
    from pairs
    where history_day_of_week = day_of_week
    group by channel, metric, date
),

same_weekday_spread as (
    select
        p.channel,
        p.metric,
        p.date,
        percentile_cont(0.5) within group (order by abs(p.history_t - w.baseline_t)) as mad,
        avg(abs(p.history_t - w.baseline_t)) as mean_abs_dev
    from pairs as p
    inner join same_weekday as w on w.channel = p.channel and w.metric = p.metric and w.date = p.date
    where p.history_day_of_week = p.day_of_week
    group by p.channel, p.metric, p.date
),

weekday_medians as (
    select channel, metric, date, history_day_of_week,
           percentile_cont(0.5) within group (order by history_t) as weekday_t
    from pairs
    group by channel, metric, date, history_day_of_week
),

residuals as (
    select p.channel, p.metric, p.date, p.history_t - w.weekday_t as residual
    from pairs as p
    inner join weekday_medians as w
        on w.channel = p.channel and w.metric = p.metric and w.date = p.date
        and w.history_day_of_week = p.history_day_of_week
),

residual_center as (
    select channel, metric, date, percentile_cont(0.5) within group (order by residual) as center
    from residuals
    group by channel, metric, date
),

spread as (
    select
        r.channel,
        r.metric,
        r.date,
        percentile_cont(0.5) within group (order by abs(r.residual - c.center)) as mad,
        avg(abs(r.residual - c.center)) as mean_abs_dev
    from residuals as r
    inner join residual_center as c on c.channel = r.channel and c.metric = r.metric and c.date = r.date
    group by r.channel, r.metric, r.date
),

weekday_orders as (
    select channel, date, percentile_cont(0.5) within group (order by history_value) as median_orders
    from pairs
    where metric = 'orders' and history_day_of_week = day_of_week
    group by channel, date
),

scored as (
    select
        m.channel,
        m.date,
        m.metric,
        m.value,
        m.t,
        w.history_days,
        w.baseline_median,
        w.baseline_t,
        case when s.mad > 0 then 1.4826 * s.mad else 1.253314 * s.mean_abs_dev end as pooled_scale,
        case when ws.mad > 0 then 1.4826 * ws.mad else 1.253314 * ws.mean_abs_dev end as weekday_scale,
        case m.metric
            when 'orders' then 1.0
            when 'conversion_rate' then 1.0 / (2 * sqrt(d.sessions))
            when 'marketing_spend' then 0.0
            else 1.0 / sqrt(case when o.median_orders > 1 then o.median_orders else 1 end)
        end as noise_floor
    from metrics as m
    inner join same_weekday as w on w.channel = m.channel and w.metric = m.metric and w.date = m.date
    inner join spread as s on s.channel = m.channel and s.metric = m.metric and s.date = m.date
    inner join same_weekday_spread as ws on ws.channel = m.channel and ws.metric = m.metric and ws.date = m.date
    inner join daily as d on d.channel = m.channel and d.date = m.date
    left join weekday_orders as o on o.channel = m.channel and o.date = m.date
    where w.history_days >= {{ readback_param('anomaly_min_history') }}
),

robust as (
    select
        *,
        case when pooled_scale > weekday_scale then pooled_scale else weekday_scale end as robust_scale
    from scored
),

z as (
    select
        *,
        case when robust_scale > noise_floor then robust_scale else noise_floor end as scale
    from robust
)

select
    channel,
    date,
    metric,
    value,
    cast(baseline_median as double) as baseline_median,
    cast(history_days as bigint) as history_days,
    t as stabilised_value,
    cast(baseline_t as double) as stabilised_baseline,
    cast(robust_scale as double) as robust_scale,
    cast(noise_floor as double) as noise_floor,
    cast(scale as double) as scale,
    case when scale > 0 then (t - baseline_t) / scale end as z_score,
    case when t > baseline_t then 'spike' when t < baseline_t then 'drop' else 'normal' end as direction,
    case when scale > 0 then abs(t - baseline_t) / scale > {{ readback_param('anomaly_z') }}
         else t <> baseline_t end as is_anomaly
from z
