-- Accrued Amazon fees (docs/metrics.md "Accrued fees"): for every Amazon order item sold (All Orders
-- report, not cancelled) that no settlement has brought yet, the marketplace fees and the fulfilment
-- fees it is expected to pay, one row per item and P&L line, booked on the order date:
--   marketplace_fees   principal × (Σ marketplace fees ÷ Σ principal)
--   fulfillment_costs  units × (Σ fulfilment fees ÷ Σ units)
-- of the same SKU and channel's settled Order items posted in the 90 days through the channel's
-- settlement coverage end (int_period_coverage); a SKU without settled items there takes the
-- channel's rate over all its SKUs (rate_basis `marketplace`); a channel without any settled item
-- accrues nothing. In whole cents, rounded half away from zero. An item's accrual disappears the
-- build its settlement lands: the settlement's actual fee lines replace it (fct_fees).
--
-- DuckDB builds it incrementally: the unsettled items are looked for only among the order lines that can
-- be: those stored here (unsettled at the last build), and those of the days whose order lines changed
-- since (their kept day sums differ from those this model read: macros/day_sums.sql). Every order line
-- is read when a settlement file this model was built from is gone (re-issued, unlanded): its items
-- may be unsettled again, whatever their date. Each candidate is checked against the settled items and
-- every accrual re-rated; the rows replace the stored ones (10M bench: the anti-join of 2.7M Amazon
-- lines against 2.7M settled items was ~0.4 s of the query's 0.9 s of CPU).
{{ config(
    materialized=('incremental' if target.type == 'duckdb' else 'table'),
    incremental_strategy='replace_all',
    on_schema_change='append_new_columns',
    post_hook=["{{ save_read_day_sums('int_fee_accruals', fee_accrual_facts()) }}",
               "{{ save_read_settlement_files('int_fee_accruals') }}"],
) }}
-- depends_on: {{ ref('fct_order_lines') }} (its kept day sums; the rows are read from int_order_lines)
{#- an incremental build on a stored table that lists its order lines (false on a full build) #}
{%- set by_candidates = target.type == 'duckdb' and incremental_with_column('order_line_id') %}

with coverage as (
    select channel, max(period_end) as covered_through
    from {{ ref('int_payouts') }}
    where source = 'amazon_settlement'
    group by channel
),

-- the items settled so far (an Order line names them; int_settlement_items sums them per settlement): an
-- Amazon order item not among them accrues. An item in two settlements is listed twice: the anti-join
-- below keeps only the order lines with no match, so no line is repeated
settled_keys as (
    select order_id, sku
    from {{ ref('int_settlement_items') }}
),

-- the rates' items: settled items first posted in the 90 days through their channel's coverage end.
-- Every line of such an item is posted after the earliest channel's cutoff, so only the orders with a
-- line posted after it are summed, not every settled item of history.
recent_orders as (  -- noqa: ST03
    select i.order_id
    from {{ ref('int_settlement_items') }} as i
    where i.last_posted_date > (
        select cast({{ dbt.dateadd('day', -90, 'min(c.covered_through)') }} as date) from coverage as c
    )
),

settled_items as (
    select
        channel,
        currency,
        order_id,
        sku,
        min(first_posted_date) as posted_date,
        sum(units) as units,
        sum(principal_cents) as principal_cents,
        sum(marketplace_cents) as marketplace_cents,
        sum(fulfillment_cents) as fulfillment_cents
    from {{ ref('int_settlement_items') }}
    where order_id in (select r.order_id from recent_orders as r)
    group by channel, currency, order_id, sku
),

recent as (
    select s.*
    from settled_items as s
    inner join coverage as c on c.channel = s.channel
    where s.posted_date > cast({{ dbt.dateadd('day', -90, 'c.covered_through') }} as date)
),

sku_rates as (
    select
        channel, currency, sku,
        sum(principal_cents) as principal_cents, sum(marketplace_cents) as marketplace_cents,
        sum(units) as units, sum(fulfillment_cents) as fulfillment_cents
    from recent
    group by channel, currency, sku
),

channel_rates as (
    select
        channel, currency,
        sum(principal_cents) as principal_cents, sum(marketplace_cents) as marketplace_cents,
        sum(units) as units, sum(fulfillment_cents) as fulfillment_cents
    from recent
    group by channel, currency
),

{% if by_candidates -%}
-- the order lines that may be unsettled: the stored ones, those of the days whose order lines changed,
-- or every line when a settlement file this model read is gone
changed_days as (
    {{ changed_fact_days('int_fee_accruals', fee_accrual_facts()) }}
),

read_all as (
    {{ settlement_file_lost('int_fee_accruals') }}
),

candidate_lines as (  -- noqa: ST03
    select order_line_id from {{ ref('int_order_lines') }}
    where source = 'amazon_orders_report' and order_date in (select c.day_value from changed_days as c)
    union
    select order_line_id from {{ this }}
),
{%- endif %}

sold as (
    select o.*
    from {{ ref('int_order_lines') }} as o
    where o.source = 'amazon_orders_report'
      and not o.is_cancelled
      {%- if by_candidates %}
      and (o.order_line_id in (select c.order_line_id from candidate_lines as c)
           or (select r.is_all from read_all as r))
      {%- endif %}
),

-- an anti-join on the settled items of the sold orders: the sold lines build the join's table, the
-- settled items probe it (10M bench: against every settled item, the settled items' hash table cost
-- ~0.3 s a night; `not exists` on every settlement line was a mark join holding them all, 1.7 -> 0.9 s)
unsettled as (
    select o.*
    from sold as o
    left join (
        select k.order_id, k.sku from settled_keys as k
        where k.order_id in (select s.order_id from sold as s)
    ) as s on s.order_id = o.order_id and s.sku = o.sku
    where s.order_id is null
),

rated as (
    select
        u.order_line_id,
        u.channel,
        u.order_id,
        u.sku,
        u.order_date,
        u.currency,
        u.units,
        {{ to_cents('u.gross_sales') }} as principal_cents,
        case when sr.principal_cents > 0 and sr.units > 0 then 'sku' else 'marketplace' end as rate_basis,
        case when sr.principal_cents > 0 and sr.units > 0 then sr.principal_cents else cr.principal_cents end
            as rate_principal_cents,
        case when sr.principal_cents > 0 and sr.units > 0 then sr.marketplace_cents else cr.marketplace_cents end
            as rate_marketplace_cents,
        case when sr.principal_cents > 0 and sr.units > 0 then sr.units else cr.units end as rate_units,
        case when sr.principal_cents > 0 and sr.units > 0 then sr.fulfillment_cents else cr.fulfillment_cents end
            as rate_fulfillment_cents
    from unsettled as u
    left join sku_rates as sr on sr.channel = u.channel and sr.currency = u.currency and sr.sku = u.sku
    left join channel_rates as cr on cr.channel = u.channel and cr.currency = u.currency
),

accruals as (
    select
        order_line_id, channel, order_id, sku, order_date, currency, rate_basis,
        'marketplace_fees' as pnl_line,
        {{ div_round_half_away('principal_cents * rate_marketplace_cents', 'rate_principal_cents') }} as amount_cents
    from rated
    where rate_principal_cents > 0 and rate_units > 0
    union all
    select
        order_line_id, channel, order_id, sku, order_date, currency, rate_basis,
        'fulfillment_costs' as pnl_line,
        {{ div_round_half_away('units * rate_fulfillment_cents', 'rate_units') }} as amount_cents
    from rated
    where rate_principal_cents > 0 and rate_units > 0
)

select
    'accrual:' || a.order_line_id || ':' || a.pnl_line as fee_line_id,
    a.order_line_id,
    'amazon_accrual' as source,
    a.channel,
    a.order_date as fee_date,
    a.order_id,
    a.sku,
    a.pnl_line,
    'accrued (' || a.rate_basis || ' rate)' as fee_type,
    a.rate_basis,
    a.currency,
    a.amount,
    {{ fx_rate('a.currency', 'fx.rate') }} as fx_rate,
    {{ to_reporting('a.amount', fx_rate('a.currency', 'fx.rate')) }} as amount_rc
from (
    -- exact: whole cents times a decimal 0.01
    select *, cast(cast(amount_cents as decimal(18, 0)) * 0.01 as decimal(18, 2)) as amount from accruals
) as a
left join {{ ref('int_fx_rates') }} as fx
    on fx.currency = a.currency and fx.rate_date = a.order_date
