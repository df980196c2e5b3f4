-- relationships customer → dim_customer: every identified customer of a non-cancelled order line is a
-- dim_customer row (and every dim_customer row has such an order: no phantom customers).
-- The two key sets are compared once (the ordering customers grouped, one full join with dim_customer;
-- at 1M lines CPU 1.7 → 1.0 s against a null-aware `not in` each way); only the lines of a customer
-- missing from dim_customer are read back, to list them.
with ordering_customers as (
    select customer_key
    from {{ ref('int_order_lines') }}
    where customer_key is not null and not is_cancelled
    group by customer_key
),

unmatched as (
    select o.customer_key as ordering_key, c.customer_key as dim_key, c.first_order_id
    from ordering_customers as o
    full outer join {{ ref('dim_customer') }} as c on c.customer_key = o.customer_key
    where o.customer_key is null or c.customer_key is null
)

select 'order_line' as side, l.order_line_id as id, l.customer_key
from {{ ref('int_order_lines') }} as l
where not l.is_cancelled
  and l.customer_key in (select u.ordering_key from unmatched as u where u.dim_key is null)
union all
select 'dim_customer' as side, u.first_order_id as id, u.dim_key as customer_key
from unmatched as u
where u.ordering_key is null

-- reads several models: Dagster shows it as a check of the one it verifies
{{ config(meta={'dagster': {'ref': {'name': 'dim_customer'}}}) }}
