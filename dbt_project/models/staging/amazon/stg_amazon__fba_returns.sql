-- FBA customer returns, one row per returned unit.
{{ latest_rows('amazon', 'amazon_returns') }}
