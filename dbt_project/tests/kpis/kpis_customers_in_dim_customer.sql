-- relationships customer → dim_customer: every identified customer of a non-cancelled order line is a
-- dim_customer row (and every dim_customer row has such an order: no phantom customers).
-- The two key sets are compared once (the ordering customers grouped, one full join with dim_customer;
-- at 1M lines CPU 1.7 → 1.0 s against a null-aware `not in` each way); only the lines of a customer
-- missing from dim_customer are read back, to list them.
-- On an incremental night (reconciled_since) only the customers the night could change are compared: those
-- with an order line in its window, or a dim_customer row last ordered in it (dim_customer re-computes
-- exactly those, docs/incremental.md); every other customer's lines and row are untouched since the
-- build that last compared them. A full build compares every customer.
{%- set since = reconciled_since() %}
{%- set in_scope = 'in (select s.customer_key from scope as s)' %}
with
{%- if since is not none %}
scope as (  -- noqa: ST03
    select customer_key from {{ ref('int_order_lines') }}
    where customer_key is not null and order_date >= cast('{{ since }}' as date)
    union
    select customer_key from {{ ref('dim_customer') }}
    where last_order_date >= cast('{{ since }}' as date)
),
{%- endif %}

ordering_customers as (
    select customer_key
    from {{ ref('int_order_lines') }}
    where customer_key is not null and not is_cancelled
    {%- if since is not none %} and customer_key {{ in_scope }}{% endif %}
    group by customer_key
),

customers as (
    select customer_key, first_order_id
    from {{ ref('dim_customer') }}
    {%- if since is not none %}
    where customer_key {{ in_scope }}
    {%- endif %}
),

unmatched as (
    select o.customer_key as ordering_key, c.customer_key as dim_key, c.first_order_id
    from ordering_customers as o
    full outer join customers as c on c.customer_key = o.customer_key
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
