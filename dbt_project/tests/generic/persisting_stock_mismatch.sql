{# Rows of stock_mismatch on the latest snapshot day whose mismatch has lasted at least `alert_days`
   consecutive days (default: var inventory_mismatch_alert_days). The latest snapshot day is the last
   day any location reported, up to var max_date when a run sets it (the run's last complete day), so
   a mirror that has not reported that day is not judged on an older one. #}
{% test persisting_stock_mismatch(model, alert_days=none) %}
{%- set alert_days = alert_days if alert_days is not none else var('inventory_mismatch_alert_days') %}
with last_snapshot as (
    select max(date) as date
    from {{ ref('int_inventory_positions') }}
    {%- if build_var('max_date') is not none %}
    where date <= cast('{{ build_var("max_date") }}' as date)
    {%- endif %}
)

select m.*
from {{ model }} as m
inner join last_snapshot as l on m.date = l.date
where m.mismatch_days >= {{ alert_days }}
{% endtest %}
