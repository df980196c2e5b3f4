-- One row per ad platform row (campaign / ad group / ad × day), every platform, with the channel of
-- the first campaign rule (seeds/campaign_channel_rules.csv, lowest priority number first) that
-- matches its platform ('*' = any) and campaign name (`contains` or `starts_with`, case-sensitive);
-- no rule → `unallocated`, matched_rule_priority null. Spend converted at the spend date's rate.
-- Platform-reported conversions and values stay per platform (never summed across platforms).
-- Incremental over spend dates (macros/incremental.sql): platforms revise their recent days.
{{ event_model_config(unique_key='spend_row_id', event_date_column='spend_date') }}

with spend as (
    select
        'google_ads' as platform, date as spend_date, campaign_id, campaign_name, ad_group_name, ad_name,
        currency, spend, impressions, clicks, cast(conversions as double) as conversions, conversion_value,
        cast(date as {{ dbt.type_string() }}) || '::' || campaign_name as row_key
    from {{ ref('stg_google_ads__campaign_daily') }}
    where {{ in_event_window('date') }}
    union all
    select
        'meta_ads', date, campaign_id, campaign_name, ad_group_name, ad_name,
        currency, spend, impressions, clicks, cast(conversions as double), conversion_value,
        cast(date as {{ dbt.type_string() }}) || '::' || campaign_name || '::' || ad_group_name || '::' || ad_name
    from {{ ref('stg_meta_ads__ad_daily') }}
    where {{ in_event_window('date') }}
    union all
    select
        'pinterest_ads', date, campaign_id, campaign_name, ad_group_name, ad_name,
        currency, spend, impressions, clicks, cast(conversions as double), conversion_value,
        cast(date as {{ dbt.type_string() }}) || '::' || campaign_name || '::' || ad_group_name || '::' || ad_name
    from {{ ref('stg_pinterest_ads__ad_daily') }}
    where {{ in_event_window('date') }}
    union all
    select
        'amazon_ads', date, campaign_id, campaign_name, ad_group_name, ad_name,
        currency, spend, impressions, clicks, cast(conversions as double), conversion_value,
        cast(date as {{ dbt.type_string() }}) || '::' || campaign_name
    from {{ ref('stg_amazon_ads__campaign_daily') }}
    where {{ in_event_window('date') }}
),

keyed as (
    select *, platform || '::' || row_key as spend_row_id
    from spend
),

matches as (
    select
        k.spend_row_id,
        r.priority,
        r.channel,
        row_number() over (partition by k.spend_row_id order by r.priority) as match_rank
    from keyed as k
    inner join {{ ref('campaign_channel_rules') }} as r
        on (r.platform = '*' or r.platform = k.platform)
        and (
            (r.match_type = 'contains' and position(r.pattern in k.campaign_name) > 0)
            or (r.match_type = 'starts_with'
                and substring(k.campaign_name from 1 for length(r.pattern)) = r.pattern)
        )
),

first_match as (
    select spend_row_id, priority, channel from matches where match_rank = 1
)

select
    k.spend_row_id,
    k.platform,
    coalesce(m.channel, 'unallocated') as channel,
    k.spend_date,
    k.campaign_id,
    k.campaign_name,
    k.ad_group_name,
    k.ad_name,
    k.currency,
    cast(k.spend as decimal(18, 6)) as spend,
    {{ fx_rate('k.currency', 'fx.rate') }} as fx_rate,
    {{ to_reporting('k.spend', fx_rate('k.currency', 'fx.rate')) }} as spend_rc,
    k.impressions,
    k.clicks,
    k.conversions,
    cast(k.conversion_value as decimal(18, 2)) as conversion_value,
    {{ to_reporting('k.conversion_value', fx_rate('k.currency', 'fx.rate')) }} as conversion_value_rc,
    cast(m.priority as bigint) as matched_rule_priority
from keyed as k
left join first_match as m on m.spend_row_id = k.spend_row_id
left join {{ ref('int_fx_rates') }} as fx
    on fx.currency = k.currency and fx.rate_date = k.spend_date
