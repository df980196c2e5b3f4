-- seeds/inventory_locations.csv: a location has the same system, pool and flags on each of its rows,
-- and every stock pool has exactly one system-of-record location.
select 'location' as kind, location as name
from {{ ref('inventory_locations') }}
group by location
having count(distinct system) > 1 or count(distinct stock_pool) > 1
    or count(distinct is_system_of_record) > 1 or count(distinct is_shared_pool) > 1
union all
select 'stock_pool', stock_pool
from {{ ref('inventory_locations') }}
group by stock_pool
having count(distinct case when is_system_of_record then location end) <> 1
union all
select 'replenishment default', 'sku *'
from (select count(*) as n from {{ ref('replenishment') }} where sku = '*') as d
where n <> 1

-- reads several models: Dagster shows it as a check of the one it verifies
{{ config(meta={'dagster': {'ref': {'name': 'inventory_locations'}}}) }}
