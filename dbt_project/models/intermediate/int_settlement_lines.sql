-- Every Amazon settlement component line with its P&L category (seeds/settlement_line_categories.csv)
-- and its channel. A line without a marketplace (account-level fees) takes the marketplace of the
-- other lines of its settlement; a settlement with no marketplace at all books to `unallocated`.
-- `category` is null for a line the seed does not classify: tested (never silently dropped).

with lines as (
    select * from {{ ref('stg_amazon__settlement_lines') }}
),

settlement_marketplace as (
    select settlement_id, max(marketplace_name) as marketplace_name
    from lines
    where marketplace_name is not null and marketplace_name <> ''
    group by settlement_id
),

resolved as (
    select
        l.*,
        coalesce(nullif(l.marketplace_name, ''), s.marketplace_name) as resolved_marketplace
    from lines as l
    left join settlement_marketplace as s on s.settlement_id = l.settlement_id
)

select
    'amazon_settlement:' || r.settlement_id || ':' || r.line_id as settlement_line_id,
    r.settlement_id,
    r.line_id,
    r.report_layout,
    r.transaction_type,
    r.order_id,
    r.adjustment_id,
    r.sku,
    r.quantity_purchased,
    r.amount_type,
    r.amount_description,
    c.category,
    r.amount,
    r.currency,
    r.posted_date,
    r.posted_date_time,
    r.resolved_marketplace as marketplace_name,
    -- an unknown marketplace name stays null (fails the not_null test: add it to amazon_marketplaces)
    case when r.resolved_marketplace is null then 'unallocated' else m.channel end as channel
from resolved as r
left join {{ ref('settlement_line_categories') }} as c
    on c.amount_type = r.amount_type and c.amount_description = r.amount_description
left join {{ ref('amazon_marketplaces') }} as m on m.marketplace_name = r.resolved_marketplace
