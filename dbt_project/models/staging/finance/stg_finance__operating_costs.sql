-- Monthly channel operating costs.
{{ latest_rows('finance', 'operating_costs') }}
