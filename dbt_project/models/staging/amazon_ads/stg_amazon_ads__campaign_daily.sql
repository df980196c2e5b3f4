-- Amazon Sponsored Products spend per campaign and day (API report or console download): the latest
-- landed file that reports the campaign's day, its rows summed (placement or product breakdowns).
{{ config(incremental_strategy='delete+insert', unique_key=['date', 'campaign_name']) }}
{{ latest_file_totals('amazon_ads', 'amazon_ads', ['date', 'campaign_name'],
                      ['spend', 'impressions', 'clicks', 'conversions', 'conversion_value', 'units_sold']) }}
