-- Readback flags: one row per grain (month | week) × period × sales channel × flag raised, with
-- the evidence behind it (docs/metrics.md "Channel readback"). Thresholds: seeds/readback_config.csv.
--   retire_candidate (month)                small revenue share at a large operating-cost share, or
--                                           contribution after opex negative N complete months running
--   attention_without_contribution (month)  marketing + operating costs grew ≥ X% month over month
--                                           and faster than cm2 (the contribution before them)
--   margin_floor_breach (month)             SKUs whose SKU-level cm3 margin is below the channel's floor
--   price_inconsistency (month, week)       a SKU materially below its cross-channel median price, or
--                                           listed below its minimum advertised price
--   promo_collision (month, week)           a SKU's promotion period here overlaps one on another channel
--   anomaly (month, week)                   days of the period channel_anomalies_daily marks anomalous
-- Structural flags (retire, attention) judge complete periods only.

with channels as (
    select channel, channel_name, owner
    from {{ ref('dim_channel') }}
    where channel_type <> 'unallocated' and not is_dormant
),

periods as (
    {{ readback_periods_sql() }}
),

monthly as (
    select
        p.channel,
        p.month as period_start,
        p.net_revenue,
        p.cm2,
        p.marketing_spend,
        p.operating_costs,
        p.contribution_after_opex,
        p.revenue_share,
        p.operating_cost_share,
        pr.is_complete,
        case when pr.is_complete and p.contribution_after_opex < 0 then 1 else 0 end as is_loss_month
    from {{ ref('channel_pnl_monthly') }} as p
    inner join channels as c on c.channel = p.channel
    inner join periods as pr on pr.grain = 'month' and pr.period_start = p.month
),

streak_groups as (
    select
        *,
        sum(1 - is_loss_month) over (partition by channel order by period_start
                                     rows between unbounded preceding and current row) as streak_group,
        lag(period_start) over (partition by channel order by period_start) as prev_period_start,
        lag(is_complete) over (partition by channel order by period_start) as prev_is_complete,
        lag(marketing_spend + operating_costs) over (partition by channel order by period_start) as prev_attention_cost,
        lag(cm2) over (partition by channel order by period_start) as prev_cm2
    from monthly
),

monthly_scored as (
    select
        *,
        sum(is_loss_month) over (partition by channel, streak_group order by period_start
                                 rows between unbounded preceding and current row) as loss_streak,
        coalesce(revenue_share <= {{ readback_param('retire_max_revenue_share') }}
                 and operating_cost_share >= {{ readback_param('retire_min_operating_cost_share') }}, false)
            as share_rule
    from streak_groups
),

retire as (
    select
        'month' as grain,
        period_start,
        channel,
        'retire_candidate' as flag,
        case when share_rule and loss_streak >= {{ readback_param('retire_consecutive_months') }}
                 then 'share_rule+loss_streak'
             when share_rule then 'share_rule' else 'loss_streak' end as subject,
        'revenue_share' as metric,
        revenue_share as metric_value,
        operating_cost_share as reference_value,
        {{ readback_param('retire_max_revenue_share') }} as threshold,
        loss_streak as affected_count,
        case when share_rule
             then {{ fmt_pct('revenue_share') }} || ' of revenue at ' || {{ fmt_pct('operating_cost_share') }}
                  || ' of operating cost' end as share_text,
        case when loss_streak >= {{ readback_param('retire_consecutive_months') }}
             then 'contribution after opex negative ' || cast(loss_streak as {{ dbt.type_string() }})
                  || ' months running ('
                  || {{ fmt_money('contribution_after_opex') }} || ' this month)' end as streak_text
    from monthly_scored
    where is_complete
      and (share_rule or loss_streak >= {{ readback_param('retire_consecutive_months') }})
),

attention_scored as (
    select
        *,
        cast(marketing_spend + operating_costs as double) / cast(prev_attention_cost as double) - 1 as cost_growth,
        {{ change_pct('cm2', 'prev_cm2') }} as cm2_growth
    from monthly_scored
    where is_complete and prev_is_complete and prev_attention_cost > 0
      and {{ dbt.datediff('prev_period_start', 'period_start', 'month') }} = 1
),

attention as (
    select
        'month' as grain,
        period_start,
        channel,
        'attention_without_contribution' as flag,
        'marketing_spend+operating_costs' as subject,
        'attention_cost_growth' as metric,
        cost_growth as metric_value,
        cm2_growth as reference_value,
        {{ readback_param('attention_min_cost_growth') }} as threshold,
        cast(1 as bigint) as affected_count,
        'marketing + operating costs ' || case when cost_growth >= 0 then '+' else '' end
            || {{ fmt_pct('cost_growth') }}
            || ' month over month (' || {{ fmt_money('prev_attention_cost') }} || ' to '
            || {{ fmt_money('marketing_spend + operating_costs') }} || ') while cm2 '
            || coalesce(case when cm2_growth >= 0 then '+' else '' end || {{ fmt_pct('cm2_growth') }}, 'had no base')
            as evidence
    from attention_scored
    where cost_growth >= {{ readback_param('attention_min_cost_growth') }}
      and (cm2_growth is null or cm2_growth < cost_growth)
),

margin_rows as (
    select
        *,
        row_number() over (partition by grain, period_start, channel order by sku_cm3_pct, sku) as worst_rank,
        count(*) over (partition by grain, period_start, channel) as skus
    from {{ ref('sku_channel_prices') }}
    where grain = 'month' and is_below_margin_floor
),

margin as (
    select
        grain,
        period_start,
        channel,
        'margin_floor_breach' as flag,
        sku as subject,
        'sku_cm3_pct' as metric,
        sku_cm3_pct as metric_value,
        margin_floor_pct as reference_value,
        margin_floor_pct as threshold,
        skus as affected_count,
        cast(skus as {{ dbt.type_string() }}) || case when skus = 1 then ' SKU' else ' SKUs' end || ' below the '
            || {{ fmt_pct('margin_floor_pct') }} || ' margin floor (worst ' || sku || ' at '
            || {{ fmt_pct('sku_cm3_pct') }} || ' SKU-level cm3, ' || cast(units as {{ dbt.type_string() }}) || ' units)'
            as evidence
    from margin_rows
    where worst_rank = 1
),

price_rows as (
    select
        *,
        row_number() over (partition by grain, period_start, channel
                           order by case when is_price_outlier then 0 else 1 end, price_deviation, sku) as worst_rank,
        count(*) over (partition by grain, period_start, channel) as skus
    from {{ ref('sku_channel_prices') }}
    where is_price_outlier or is_below_map
),

price as (
    select
        grain,
        period_start,
        channel,
        'price_inconsistency' as flag,
        sku as subject,
        'realised_unit_price' as metric,
        cast(realised_unit_price as double) as metric_value,
        reference_price as reference_value,
        {{ readback_param('material_price_difference') }} as threshold,
        skus as affected_count,
        sku
            || case when is_price_outlier
                    then ' sold at ' || {{ fmt_money('realised_unit_price') }}
                         || ', ' || {{ fmt_pct('-price_deviation') }}
                         || ' below its ' || {{ fmt_money('reference_price') }} || ' median across '
                         || cast(compared_channels as {{ dbt.type_string() }}) || ' channels' else '' end
            || case when is_price_outlier and is_below_map then ';' else '' end
            || case when is_below_map
                    then ' listed at ' || {{ fmt_money('lowest_list_price') }} || ' ' || map_currency || ', below its '
                         || {{ fmt_money('minimum_advertised_price') }} || ' minimum advertised price' else '' end
            || case when skus > 1 then ' (+' || cast(skus - 1 as {{ dbt.type_string() }}) || ' more SKUs)' else '' end
            as evidence
    from price_rows
    where worst_rank = 1
),

collisions as (
    -- pairs of promotion periods of the same SKU on two channels that overlap
    select
        a.channel,
        a.sku,
        a.promo_start,
        a.promo_end,
        a.discount_pct,
        b.channel as other_channel,
        b.promo_start as other_start,
        b.promo_end as other_end,
        case when a.promo_start > b.promo_start then a.promo_start else b.promo_start end as overlap_start,
        case when a.promo_end < b.promo_end then a.promo_end else b.promo_end end as overlap_end
    from {{ ref('promo_periods') }} as a
    inner join {{ ref('promo_periods') }} as b
        on b.sku = a.sku and b.channel <> a.channel
        and b.promo_start <= a.promo_end and a.promo_start <= b.promo_end
),

collision_periods as (
    {%- for grain, column in readback_grains().items() %}
    select distinct
        '{{ grain }}' as grain,
        d.{{ column }} as period_start,
        c.*
    from collisions as c
    inner join {{ ref('dim_date') }} as d on d.date between c.overlap_start and c.overlap_end
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

collision_rows as (
    select
        *,
        row_number() over (partition by grain, period_start, channel order by overlap_start, sku, other_channel)
            as first_rank,
        count(*) over (partition by grain, period_start, channel) as collisions
    from collision_periods
),

promo as (
    select
        grain,
        period_start,
        channel,
        'promo_collision' as flag,
        sku as subject,
        'overlap_days' as metric,
        cast({{ dbt.datediff('overlap_start', 'overlap_end', 'day') }} + 1 as double) as metric_value,
        discount_pct as reference_value,
        cast(null as double) as threshold,
        collisions as affected_count,
        sku || ' on promotion here '
            || cast(promo_start as {{ dbt.type_string() }}) || '..' || cast(promo_end as {{ dbt.type_string() }})
            || ' (' || {{ fmt_pct('discount_pct') }} || ' off) while on promotion on ' || other_channel || ' '
            || cast(other_start as {{ dbt.type_string() }}) || '..' || cast(other_end as {{ dbt.type_string() }})
            || ': overlap '
            || cast(overlap_start as {{ dbt.type_string() }}) || '..' || cast(overlap_end as {{ dbt.type_string() }})
            || case when collisions > 1 then ' (+' || cast(collisions - 1 as {{ dbt.type_string() }}) || ' more)'
                    else '' end as evidence
    from collision_rows
    where first_rank = 1
),

anomaly_periods as (
    {%- for grain, column in readback_grains().items() %}
    select '{{ grain }}' as grain, d.{{ column }} as period_start, a.*
    from {{ ref('channel_anomalies_daily') }} as a
    inner join {{ ref('dim_date') }} as d on d.date = a.date
    where a.is_anomaly
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

anomaly_rows as (
    select
        *,
        row_number() over (
            partition by grain, period_start, channel
            order by case when z_score is null then 0 else 1 end asc, abs(z_score) desc, date asc, metric asc
        ) as worst_rank,
        count(*) over (partition by grain, period_start, channel) as anomalies,
        replace(metric, '_', ' ') || ' ' || direction || ' on ' || cast(date as {{ dbt.type_string() }}) || ': '
            || {{ fmt_money('value') }} || ' vs a usual ' || {{ fmt_money('baseline_median') }}
            || coalesce(' (z ' || case when z_score >= 0 then '+' else '' end || {{ fmt_num('z_score', 1) }} || ')', '')
            as anomaly_text
    from anomaly_periods
),

anomaly_text as (
    select grain, period_start, channel,
           {{ dbt.listagg('anomaly_text', "'; '", 'order by date, metric') }} as evidence
    from anomaly_rows
    group by grain, period_start, channel
),

anomaly as (
    select
        r.grain,
        r.period_start,
        r.channel,
        'anomaly' as flag,
        cast(r.date as {{ dbt.type_string() }}) || ' ' || r.metric as subject,
        r.metric,
        r.value as metric_value,
        r.baseline_median as reference_value,
        {{ readback_param('anomaly_z') }} as threshold,
        r.anomalies as affected_count,
        t.evidence
    from anomaly_rows as r
    inner join anomaly_text as t on t.grain = r.grain and t.period_start = r.period_start and t.channel = r.channel
    where r.worst_rank = 1
),

flags as (
    select grain, period_start, channel, flag, subject, metric, metric_value, reference_value, threshold,
           affected_count, coalesce(share_text || '; ' || streak_text, share_text, streak_text) as evidence
    from retire
    union all
    select grain, period_start, channel, flag, subject, metric, metric_value, reference_value, threshold,
           affected_count, evidence
    from attention
    union all
    select grain, period_start, channel, flag, subject, metric, metric_value, reference_value, threshold,
           affected_count, evidence
    from margin
    union all
    select grain, period_start, channel, flag, subject, metric, metric_value, reference_value, threshold,
           affected_count, evidence
    from price
    union all
    select grain, period_start, channel, flag, subject, metric, metric_value, reference_value, threshold,
           affected_count, evidence
    from promo
    union all
    select grain, period_start, channel, flag, subject, metric, metric_value, reference_value, threshold,
           affected_count, evidence
    from anomaly
)

select
    cast(f.grain as {{ dbt.type_string() }}) as grain,
    cast(f.period_start as date) as period_start,
    f.channel,
    c.channel_name,
    c.owner,
    cast(f.flag as {{ dbt.type_string() }}) as flag,
    cast(case f.flag
        when 'retire_candidate' then 1
        when 'attention_without_contribution' then 2
        when 'margin_floor_breach' then 3
        when 'price_inconsistency' then 4
        when 'promo_collision' then 5
        else 6 end as integer) as flag_priority,
    cast(f.subject as {{ dbt.type_string() }}) as subject,
    cast(f.metric as {{ dbt.type_string() }}) as metric,
    cast(f.metric_value as double) as metric_value,
    cast(f.reference_value as double) as reference_value,
    cast(f.threshold as double) as threshold,
    cast(f.affected_count as bigint) as affected_count,
    cast(f.evidence as {{ dbt.type_string() }}) as evidence
from flags as f
inner join channels as c on c.channel = f.channel
