-- Google Ads spend per campaign and day (UI and API layouts): per campaign and day, the latest landed
-- file that reports it (ad platforms revise recent days), its rows summed (segments such as Device or
-- Network split a campaign's day into several rows; two same-named campaigns add up).
{{ config(incremental_strategy='delete+insert', unique_key=['date', 'campaign_name']) }}
{{ latest_file_totals('google_ads', 'google_ads', ['date', 'campaign_name'],
                      ['spend', 'impressions', 'clicks', 'conversions', 'conversion_value']) }}
