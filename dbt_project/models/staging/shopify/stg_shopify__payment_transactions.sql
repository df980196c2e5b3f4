-- Shopify Payments transactions (charges, refunds, adjustments), latest landed version.
{{ latest_rows('shopify', 'shopify_payments') }}
