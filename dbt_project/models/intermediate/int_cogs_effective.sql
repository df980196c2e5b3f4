-- Effective-dated unit cost per SKU as ranges: a cost applies from its effective_from until the
-- next one (exclusive), never retroactively.
select
    sku,
    unit_cost,
    currency as cost_currency,
    effective_from,
    lead(effective_from) over (partition by sku order by effective_from) as effective_to
from {{ ref('stg_finance__cogs') }}
