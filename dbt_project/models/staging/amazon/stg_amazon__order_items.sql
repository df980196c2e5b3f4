-- Amazon All Orders report items, latest landed version of each order item.
{{ latest_rows('amazon', 'amazon_orders') }}
