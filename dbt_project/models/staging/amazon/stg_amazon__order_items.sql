-- Amazon All Orders report items. An order can list one sku on several rows (sku_occurrence tells
-- them apart). A report pulled again over an overlapping period replaces each order it carries
-- whole: only the rows of the latest landed file of each order are kept (an order first seen
-- pending as one row of 2 units and later shipped as two rows of 1 is never counted 3 times).
-- Incrementally, the newly landed files compete with the stored file of each order they carry.
{{ config(incremental_strategy='delete+insert', unique_key='amazon_order_id') }}

with
{%- if is_incremental() %}
landed as (
    select * from {{ source('amazon', 'amazon_orders') }}
    where {{ landed_since_last_build('amazon_orders') }}
),

items as (
    -- `union`, not `union all`: a file re-read from the last day is also stored
    select * from landed
    union by name
    select * from {{ this }} as stored where stored.amazon_order_id in (select l.amazon_order_id from landed as l)
),
{%- else %}
items as {{ not_materialized() }} (  -- read twice (each order's latest file, then its rows), never held whole
    select * from {{ source('amazon', 'amazon_orders') }}
    where {{ in_file_snapshot('amazon_orders') }}
),
{%- endif %}

latest_file as (
    select amazon_order_id, max_by(_source_sha256, _loaded_at) as _source_sha256
    from items
    group by amazon_order_id
)

select items.*
from items
inner join latest_file using (amazon_order_id, _source_sha256)
