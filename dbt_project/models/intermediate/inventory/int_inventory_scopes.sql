-- The roll-up scopes of inventory health: each channel (the system-of-record locations that serve
-- it) and the company (every system-of-record location), with the channels whose sales draw on
-- those locations. A shared pool serves several channels: its stock and its sales appear in each
-- channel it serves (shopify_web and wholesale share the 3PL pool in the demo); the company counts
-- each location and each channel once.

with sor as (
    select location, channel from {{ ref('inventory_locations') }} where is_system_of_record
),

scope_locations as (
    select distinct 'channel' as scope, channel as scope_key, location from sor
    union all
    select distinct 'company' as scope, 'company' as scope_key, location from sor
)

select distinct
    s.scope,
    s.scope_key,
    s.location,
    l.channel as served_channel
from scope_locations as s
inner join sor as l on l.location = s.location
