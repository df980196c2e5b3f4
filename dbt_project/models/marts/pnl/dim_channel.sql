-- One row per channel of the business, from seeds/channels.csv: every fact's channel is one of these
-- (relationships tests), `unallocated` included (costs no rule ties to a sales channel).
select
    cast(channel as {{ dbt.type_string() }}) as channel,
    cast(channel_name as {{ dbt.type_string() }}) as channel_name,
    cast(channel_type as {{ dbt.type_string() }}) as channel_type,
    cast(currency as {{ dbt.type_string() }}) as currency,
    cast(owner as {{ dbt.type_string() }}) as owner,
    cast(promised_handling_hours as integer) as promised_handling_hours,
    cast(margin_floor_pct as decimal(9, 4)) as margin_floor_pct,
    cast(is_dormant as boolean) as is_dormant,
    channel_type = 'unallocated' as is_unallocated
from {{ ref('channels') }}
