-- Daily FX rates to the reporting currency.
{{ latest_rows('finance', 'fx_rates') }}
