-- Pinterest Ads spend per campaign, ad group, ad and day, latest landed version.
{{ latest_rows('pinterest_ads', 'pinterest_ads') }}
