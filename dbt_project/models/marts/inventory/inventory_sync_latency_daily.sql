-- Inventory sync latency per stock location and snapshot day: when the source system took the
-- snapshot (snapshot_at, when the feed states it) against when the warehouse loaded it (_loaded_at
-- of the rows staging keeps). docs/metrics.md "Inventory health".

select
    date,
    location,
    max(system) as system,
    cast(count(*) as bigint) as skus,
    max(snapshot_at) as snapshot_at,
    max(loaded_at) as loaded_at,
    case when max(snapshot_at) is not null
        then cast({{ elapsed_seconds('max(snapshot_at)', 'max(loaded_at)') }} as double) / 3600 end
        as sync_latency_hours
from {{ ref('int_inventory_positions') }}
group by date, location
