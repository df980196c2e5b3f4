{#- The detail of a Shopify charge or refund whose order the facts do not have, in int_payout_items (and so in
    payout_reconciliation's items): the warning test assert_shopify_payments_have_their_order finds them by it -#}
{% macro unknown_order_detail(transaction_type) -%}
    {{ transaction_type }} || ' of an order the facts do not have'
{%- endmacro %}
