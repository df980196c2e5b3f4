-- One row per ad platform row and day, mapped to a channel by the campaign rules (int_marketing_spend).
-- A view over int_marketing_spend (event_view_config): the build keeps the rows once; publish writes it as a table.
{{ event_view_config(event_date_column='spend_date') }}
select
    spend_row_id,
    platform,
    channel,
    spend_date,
    campaign_id,
    campaign_name,
    ad_group_name,
    ad_name,
    currency,
    spend,
    fx_rate,
    spend_rc,
    impressions,
    clicks,
    conversions,
    conversion_value,
    conversion_value_rc,
    matched_rule_priority
from {{ ref('int_marketing_spend') }}
