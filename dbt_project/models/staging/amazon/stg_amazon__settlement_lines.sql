-- Amazon settlement components (V2 and legacy layouts in one shape). A re-issued settlement report
-- replaces the whole settlement: only lines of the latest landed file of each settlement are kept.
-- Incrementally, the newly landed files compete with the stored file of each settlement they carry.
{{ config(incremental_strategy='delete+insert', unique_key='settlement_id') }}

with
{%- if is_incremental() %}
landed as (
    select * from {{ source('amazon', 'amazon_settlements') }}
    where {{ landed_since_last_build('amazon_settlements') }}
),

lines as (
    -- `union`, not `union all`: a file re-read from the last day is also stored
    select * from landed
    union by name
    select * from {{ this }} as stored where stored.settlement_id in (select l.settlement_id from landed as l)
),
{%- else %}
-- read twice (the latest file of each settlement, then its lines), never buffered whole
lines as {{ not_materialized() }} (
    select * from {{ source('amazon', 'amazon_settlements') }}
    where {{ in_file_snapshot('amazon_settlements') }}
),
{%- endif %}

latest_file as (
    select settlement_id, max_by(_source_sha256, _loaded_at) as _source_sha256
    from lines
    group by settlement_id
)

select lines.*
from lines
inner join latest_file using (settlement_id, _source_sha256)
