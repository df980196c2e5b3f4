-- Amazon settlement components (V2 and legacy layouts in one shape). A re-issued settlement report
-- replaces the whole settlement: only lines of the latest landed file of each settlement are kept.
with lines as (
    select * from {{ source('amazon', 'amazon_settlements') }}
),

latest_file as (
    select settlement_id, max_by(_source_sha256, _loaded_at) as _source_sha256
    from lines
    group by settlement_id
)

select lines.*
from lines
inner join latest_file using (settlement_id, _source_sha256)
