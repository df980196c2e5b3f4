-- Effective-dated unit costs per SKU.
{{ latest_rows('finance', 'cogs') }}
