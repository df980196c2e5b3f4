-- Inventory snapshots per SKU, location and day.
{{ latest_rows('inventory', 'inventory_snapshots') }}
