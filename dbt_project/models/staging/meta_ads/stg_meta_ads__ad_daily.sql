-- Meta Ads spend per campaign, ad set, ad and day, latest landed version.
{{ latest_rows('meta_ads', 'meta_ads') }}
