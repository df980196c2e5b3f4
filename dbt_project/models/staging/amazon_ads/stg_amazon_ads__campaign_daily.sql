-- Amazon Sponsored Products spend per campaign and day, latest landed version.
{{ latest_rows('amazon_ads', 'amazon_ads') }}
