-- allocation_recommendation: the whole units allocated to the channels of a tight SKU sum exactly
-- to its available units, and no channel gets a negative number.
select location, sku, max(available_units) as available_units, sum(allocated_units) as allocated
from {{ ref('allocation_recommendation') }}
group by location, sku
having sum(allocated_units) <> max(available_units) or min(allocated_units) < 0
