-- Google Ads spend per campaign and day (UI and API layouts), latest landed version: ad platforms revise recent days.
{{ latest_rows('google_ads', 'google_ads') }}
