-- Shopify order lines (web, app, draft and POS orders), latest landed version of each line.
{{ latest_rows('shopify', 'shopify_orders') }}
