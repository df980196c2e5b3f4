-- Every Amazon settlement line is classified by seeds/settlement_line_categories.csv and none is
-- silently dropped: per settlement, Σ staged amounts = Σ classified amounts (and the same number of
-- lines); and every line of a sales, promotion or tax category belongs to an Order or Refund
-- transaction (the only ones the sales and refund models read).

with staged as (
    select settlement_id, sum(amount) as amount, count(*) as lines
    from {{ ref('stg_amazon__settlement_lines') }}
    group by settlement_id
),

classified as (
    select settlement_id, sum(amount) as amount, count(*) as lines
    from {{ ref('int_settlement_lines') }}
    where category is not null
    group by settlement_id
)

select
    'unclassified or dropped' as problem,
    coalesce(s.settlement_id, c.settlement_id) as settlement_id,
    cast(null as {{ dbt.type_string() }}) as transaction_type,
    cast(null as {{ dbt.type_string() }}) as category,
    s.amount as staged_amount,
    c.amount as classified_amount
from staged as s
full outer join classified as c on c.settlement_id = s.settlement_id
where coalesce(s.amount, 0) <> coalesce(c.amount, 0) or coalesce(s.lines, 0) <> coalesce(c.lines, 0)
union all
select
    'sales line outside Order/Refund', settlement_id, transaction_type, category, amount, cast(null as decimal(18, 2))
from {{ ref('int_settlement_lines') }}
where category in ('sales_principal', 'sales_shipping', 'promotion_principal', 'promotion_shipping', 'tax')
  and transaction_type not in ('Order', 'Refund')

-- reads several models: Dagster shows it as a check of the one it verifies
{{ config(meta={'dagster': {'ref': {'name': 'int_settlement_lines'}}}) }}
