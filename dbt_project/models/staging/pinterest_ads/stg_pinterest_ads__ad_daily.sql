-- Pinterest Ads spend per campaign, ad group, ad and day: the latest landed file that reports the key,
-- its rows summed (breakdown exports by age, gender, device…; reach summed over them).
{{ config(incremental_strategy='delete+insert', unique_key=['date', 'campaign_name', 'ad_group_name', 'ad_name']) }}
{{ latest_file_totals('pinterest_ads', 'pinterest_ads', ['date', 'campaign_name', 'ad_group_name', 'ad_name'],
                      ['spend', 'impressions', 'clicks', 'conversions', 'conversion_value', 'reach',
                       'saves', 'engagements']) }}
