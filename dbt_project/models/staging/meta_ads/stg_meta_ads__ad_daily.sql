-- Meta Ads spend per campaign, ad set, ad and day: the latest landed file that reports the key (Meta
-- revises recent days), its rows summed (breakdown exports: one row per age × gender, placement…).
-- Reach is summed over the breakdown rows (exact for age / gender, an upper bound for placements).
{{ config(incremental_strategy='delete+insert', unique_key=['date', 'campaign_name', 'ad_group_name', 'ad_name']) }}
{{ latest_file_totals('meta_ads', 'meta_ads', ['date', 'campaign_name', 'ad_group_name', 'ad_name'],
                      ['spend', 'impressions', 'clicks', 'conversions', 'conversion_value', 'reach']) }}
