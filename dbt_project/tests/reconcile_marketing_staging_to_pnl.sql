-- Spend in = spend out: per platform and day, every staged ad row's spend converted at its date's
-- rate = Σ int_marketing_spend.spend_rc (no row lost or duplicated by the campaign rules); then per
-- channel and day: Σ int_marketing_spend = Σ fct_marketing_spend = channel_pnl_daily.marketing_spend.
-- (Up to the build's max_date: events after it are left to a later build. On an incremental night,
-- from the first date the night re-processed: reconciled_dates in macros/incremental.sql.)
select * from (

with staged_rows as (
    select 'google_ads' as platform, date, currency, spend from {{ ref('stg_google_ads__campaign_daily') }}
    union all select 'meta_ads', date, currency, spend from {{ ref('stg_meta_ads__ad_daily') }}
    union all select 'pinterest_ads', date, currency, spend from {{ ref('stg_pinterest_ads__ad_daily') }}
    union all select 'amazon_ads', date, currency, spend from {{ ref('stg_amazon_ads__campaign_daily') }}
),

staged as (
    select s.platform, s.date, sum({{ to_reporting('s.spend', fx_rate('s.currency', 'r.rate')) }}) as spend_rc,
           count(*) as spend_rows
    from staged_rows as s
    left join {{ ref('int_fx_rates') }} as r on r.currency = s.currency and r.rate_date = s.date
    group by s.platform, s.date
),

mapped as (
    select platform, spend_date as date, sum(spend_rc) as spend_rc, count(*) as spend_rows
    from {{ ref('int_marketing_spend') }}
    group by platform, spend_date
),

intermediate as (
    select channel, spend_date as date, sum(spend_rc) as spend_rc from {{ ref('int_marketing_spend') }} group by channel, spend_date
),

fact as (
    select channel, spend_date as date, sum(spend_rc) as spend_rc from {{ ref('fct_marketing_spend') }} group by channel, spend_date
),

pnl as (
    select channel, date, marketing_spend as spend_rc from {{ ref('channel_pnl_daily') }}
)

select 'spend in ' || coalesce(s.platform, m.platform) as check_name, cast(null as {{ dbt.type_string() }}) as channel,
       coalesce(s.date, m.date) as date, s.spend_rc as expected, m.spend_rc as actual
from staged as s
full outer join mapped as m on m.platform = s.platform and m.date = s.date
where coalesce(s.spend_rc, 0) <> coalesce(m.spend_rc, 0) or coalesce(s.spend_rows, 0) <> coalesce(m.spend_rows, 0)
union all
select 'int→fct', coalesce(i.channel, f.channel), coalesce(i.date, f.date), i.spend_rc, f.spend_rc
from intermediate as i
full outer join fact as f on f.channel = i.channel and f.date = i.date
where coalesce(i.spend_rc, 0) <> coalesce(f.spend_rc, 0)
union all
select 'fct→pnl', coalesce(f.channel, p.channel), coalesce(f.date, p.date), f.spend_rc, p.spend_rc
from fact as f
full outer join pnl as p on p.channel = f.channel and p.date = f.date
where coalesce(f.spend_rc, 0) <> coalesce(p.spend_rc, 0)
) as mismatches
where {{ reconciled_dates('date') }}

-- reads several models: Dagster shows it as a check of the one it verifies
{{ config(meta={'dagster': {'ref': {'name': 'channel_pnl_daily'}}}) }}
