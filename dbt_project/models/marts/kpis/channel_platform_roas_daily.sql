-- Platform-reported return on ad spend per channel, ad platform and day: the platform's own
-- attributed conversion value ÷ the spend on that platform mapped to the channel (campaign→channel
-- rules, fct_marketing_spend). Each platform attributes conversions its own way (windows, view-
-- through, overlap), so platform_roas is per platform only: never sum conversion values or average
-- ROAS across platforms; the blended figure is MER (channel_kpis_*). Channel `unallocated` holds
-- the spend no rule maps to a channel.

select
    channel,
    platform,
    spend_date as date,
    cast(sum(spend_rc) as decimal(18, 2)) as spend_rc,
    cast(sum(conversion_value_rc) as decimal(18, 2)) as conversion_value_rc,
    cast(sum(impressions) as bigint) as impressions,
    cast(sum(clicks) as bigint) as clicks,
    cast(sum(conversions) as double) as conversions,
    {{ kpi_roas('sum(conversion_value_rc)', 'sum(spend_rc)') }} as platform_roas
from {{ ref('fct_marketing_spend') }}
group by channel, platform, spend_date
