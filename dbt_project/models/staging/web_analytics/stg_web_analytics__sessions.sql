-- Sessions per channel and day: the latest landed file that reports the channel's day, its rows summed
-- (a GA4 report split by channel group, source / medium or device has one row per value).
{{ config(incremental_strategy='delete+insert', unique_key=['date', 'channel']) }}
{{ latest_file_totals('web_analytics', 'sessions', ['date', 'channel'], ['sessions']) }}
