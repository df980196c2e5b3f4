-- relationships customer → dim_customer: every identified customer of a non-cancelled order line is a
-- dim_customer row (and every dim_customer row has such an order: no phantom customers).
select 'order_line' as side, order_line_id as id, customer_key
from {{ ref('int_order_lines') }}
where customer_key is not null and not is_cancelled
  and customer_key not in (select customer_key from {{ ref('dim_customer') }})
union all
select 'dim_customer', first_order_id, customer_key
from {{ ref('dim_customer') }}
where customer_key not in (
    select customer_key from {{ ref('int_order_lines') }} where customer_key is not null and not is_cancelled
)

-- reads several models: Dagster shows it as a check of the one it verifies
{{ config(meta={'dagster': {'ref': {'name': 'dim_customer'}}}) }}
