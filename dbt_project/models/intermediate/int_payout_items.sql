-- Payout reconciliation at item grain: one row per payout (channel × payout/settlement) × item,
-- where an item is what a fact is about (a sale = a Shopify order / an Amazon order item, a refund,
-- a fee line) or a paid amount no fact is about. `paid` is what the payout file paid for the item
-- in this payout; `expected` is the fact's amount when this payout is the fact's home; `component`
-- says which part of the variance (paid − expected) the row explains. Rules: docs/metrics.md
-- "Reconciliation". Amounts are in the payout currency, signed as cash to the seller.
--
-- Home of a fact: Shopify — the payout of the transaction it comes from (refunds, fees) or of the
-- order's first charge (sales); Amazon — the channel's settlement whose period holds the fact's
-- date (order date, refund date, fee posted date). A fact with no home is expected in no payout.
--
-- Components: an item whose fact the payouts paid exactly (Σ paid over all payouts = the fact), or
-- not at all yet, is explained — its variance is paid in another payout than its home: `timing`
-- (sales), `refunds`, `fees`, `reimbursements`. Reserve movements → `reserves`; charges and refunds
-- of orders the facts know as cancelled (never a sale, never a return) → `refunds`; tax Amazon
-- withholds as marketplace facilitator (ItemWithheldTax) → `adjustments`. A processor charge outside
-- Shopify's Fee column (adjustment, chargeback, dispute) is a payment-fee fact, and so is the Fee of
-- a transaction whose order the facts do not have (booked to `unallocated`). Everything else — paid
-- amounts no fact records (the charge or refund amount of an order the facts do not have), a fact
-- paid at another amount — is `unexplained`.
--
-- Incremental on DuckDB by item group (docs/incremental.md, strategy `replace_listed_groups`): a row
-- depends on every payout of its item (paid_total) and on the facts, so a night re-computes whole
-- groups — `group_key`: a Shopify order (its charges, refunds, fees, whatever their item kind; a
-- transaction without an order is its own group), an Amazon item key — across every payout. The
-- groups re-computed are those any input in the night's window touches (transactions, order lines,
-- refunds, fees, settlement lines by their event dates, from the window start or the start of the
-- earliest Amazon settlement period reaching into the window), and the groups of every stored row
-- of a payout whose transactions, period or lines fall in the window or that no longer exists. The
-- stored rows of those groups are deleted (so an item whose kind or key changed leaves no row
-- behind) and the re-computed rows inserted. A full build (first, --full-refresh, a build without a
-- window, a table built before `group_key`) computes every group. Elsewhere a table rebuilt whole.
{{ config(
    materialized=('incremental' if target.type == 'duckdb' else 'table'),
    incremental_strategy='replace_listed_groups',
    unique_key='group_key',
    on_schema_change='append_new_columns',
    meta={'row_column': 'payout_key', 'full_build_rows_per_bucket': 6000000},
) }}

{%- set window = event_window() if is_incremental() else none %}
{%- set by_groups = window is not none and window.start is not none and incremental_with_column('group_key') %}
{%- set in_groups = 'in (select a.group_key from affected_groups as a)' %}
{#- a Shopify group's own key (an order name or a transaction key): the inputs are filtered on their raw
    columns, not on a key built for every row of history (9.7M order lines, 6.6M transactions at 10M) -#}
{%- set in_shopify_groups = "in (select substr(a.group_key, 18) from affected_groups as a where starts_with(a.group_key, 'shopify_payments:'))" %}
{#- a whole build (first, --full-refresh) runs in buckets of groups when the inputs are big (macro
    full_build_buckets): each input filtered on its group's own key, as by_groups filters on the groups -#}
{%- set buckets = full_build_buckets() %}
{%- if by_groups %}
    {#- Shopify transaction times are instants: two days' slack covers any business time zone -#}
    {%- set start = "cast('" ~ window.start ~ "' as date)" %}
    {%- set tx_start = "cast('" ~ (window.start - modules.datetime.timedelta(days=2)) ~ "' as date)" %}
{%- endif %}

{#- only a build writes the groups' table: `dbt compile` and `dbt docs generate` show the same groups as a CTE.
    It stays after the build: the model's row tests read only its groups (night_groups_relation) -#}
{%- set groups_as_table = by_groups and execute and flags.WHICH in ('run', 'build') %}
{%- set groups_relation = night_groups_relation(this) %}

{#- the settlement lines a night's rows are computed from: those that may hold a key of its groups, so that
    an item key is built for them only, not for every line of history (12.3M at the 10M bench: its night
    query's CPU 2.3 -> 1.4 s). Every Amazon group key of a line is `amazon:<its order id>:<sku>` (a sale) or
    starts `amazon_settlement:<its settlement>:` (a refund, a fee, any other line: settlement_line_id), so
    the second part of the key names the order or the settlement; an id holding a colon cannot be read
    off a key, so its lines all pass. The groups query itself reads every line (all_settlement_lines). -#}
{%- set night_settlement_lines %}
settlement_lines as {% if by_groups %}not materialized {% endif %}(
    select l.*
    from {{ ref('int_settlement_lines') }} as l
    where l.order_id in (select split_part(a.group_key, ':', 2) from {{ groups_relation }} as a
                         where starts_with(a.group_key, 'amazon:'))
       or l.settlement_id in (select split_part(a.group_key, ':', 2) from {{ groups_relation }} as a
                              where starts_with(a.group_key, 'amazon_settlement:'))
       or contains(l.order_id, ':') or contains(l.settlement_id, ':')
)
{%- endset %}
{%- set all_settlement_lines %}
settlement_lines as {% if by_groups %}not materialized {% endif %}(
    select * from {{ ref('int_settlement_lines') }}
)
{%- endset %}

{#- the inputs the groups and the rows are computed from, after a CTE `settlement_lines` -#}
{%- set inputs %}
payouts as (
    select * from {{ ref('int_payouts') }}
),

-- ---- Amazon settlement lines and the items they pay ------------------------------------------------------
amazon_lines as {% if by_groups %}not materialized {% endif %}(
    select
        *,
        case when category = 'reserve' then 'reserve'
             when transaction_type = 'Order' and amount_type = 'ItemWithheldTax' then 'withheld_tax'
             when transaction_type = 'Order'
                  and category in ('sales_principal', 'sales_shipping', 'promotion_principal', 'promotion_shipping',
                                   'tax')
                  then 'sale'
             when transaction_type = 'Refund'
                  and category in ('sales_principal', 'sales_shipping', 'promotion_principal', 'promotion_shipping',
                                   'tax')
                  then 'refund'
             when category = 'reimbursements' then 'reimbursement'
             when category in ('marketplace_fees', 'fulfillment_costs') then 'fee'
             else 'unmatched' end as item_kind
    from settlement_lines
),

amazon_lines_keyed as {% if by_groups %}not materialized {% endif %}(
    select
        settlement_id,
        channel,
        item_kind,
        transaction_type,
        amount_type,
        amount_description,
        amount,
        posted_date,
        case when item_kind in ('sale', 'withheld_tax') then 'amazon:' || order_id || ':' || sku
             -- the refund item of int_refunds: lines of one adjustment, order, SKU and posted date
             when item_kind = 'refund' then 'amazon_settlement:' || settlement_id || ':' || coalesce(adjustment_id, '')
                 || ':' || order_id || ':' || sku || ':' || cast(posted_date as {{ dbt.type_string() }})
             else settlement_line_id end as item_key
    from amazon_lines
)
{%- endset %}

{#- the groups this night re-computes; written to a table before the model's query (below), so the
    optimizer plans the query knowing they are a few thousand keys: as a CTE it built its hash tables on
    the whole-history inputs instead (10M bench: the query 13.2 → 4.3 + 4.8 s, CPU 29 → 15 s) -#}
{%- if by_groups %}
{%- set groups %}

-- ---- the groups this night re-computes (docs/incremental.md) -------------------------------------------
tx_groups as not materialized (
    select
        transaction_key,
        transaction_date,
        payout_id,
        'shopify_payments:' || coalesce(order_name, transaction_key) as group_key
    from {{ ref('stg_shopify__payment_transactions') }}
),

-- payouts whose rows may change: a Shopify payout with a transaction in the window, an Amazon
-- settlement whose period reaches into the window or with a line posted in it
affected_payouts as (
    select distinct 'shopify_payments' as source, payout_id
    from tx_groups
    where payout_id is not null and transaction_date >= {{ tx_start }}
    union
    select source, payout_id from payouts where source = 'amazon_settlement' and period_end >= {{ start }}
    union
    select distinct 'amazon_settlement' as source, settlement_id as payout_id
    from {{ ref('int_settlement_lines') }}
    where posted_date >= {{ start }}
),

-- Amazon facts are homed by date: from the start of the earliest affected settlement period
-- (ST03: sqlfluff does not see the uses below, in comma joins and `in (select …)` filters)
amazon_start as (  -- noqa: ST03
    select least({{ start }}, coalesce(min(p.period_start), {{ start }})) as first_date  -- noqa: RF02
    from payouts as p
    inner join affected_payouts as a on a.source = p.source and a.payout_id = p.payout_id
    where p.source = 'amazon_settlement'
),

-- the stored payouts whose rows are all re-computed: an affected payout's, or one that no longer exists
-- (a few thousand keys, so the stored rows are read by one semi-join on them)
replaced_payouts as (  -- noqa: ST03
    select s.payout_key
    from (select distinct payout_key from {{ this }}) as s
    where s.payout_key not in (select p.payout_key from payouts as p where p.payout_key is not null)
    union
    select p.payout_key
    from payouts as p
    inner join affected_payouts as a on a.source = p.source and a.payout_id = p.payout_id
),

affected_groups as materialized (  -- noqa: ST03
    -- every stored row of an affected payout, or of a payout that no longer exists
    select s.group_key
    from {{ this }} as s
    where s.payout_key in (select r.payout_key from replaced_payouts as r)
    union
    -- every transaction from two days before the window: among them those of the window's Shopify refunds
    -- and fees, which are dated by their transaction's business day (int_refunds, int_fees)
    select group_key from tx_groups where transaction_date >= {{ tx_start }}
    union
    select 'shopify_payments:' || order_id
    from {{ ref('int_order_lines') }}
    where source = 'shopify' and order_date >= {{ start }}
    union
    select l.order_line_id
    from {{ ref('int_order_lines') }} as l, amazon_start as w
    where l.source in ('amazon_orders_report', 'amazon_settlement') and l.order_date >= w.first_date
    union
    select r.refund_line_id
    from {{ ref('int_refunds') }} as r, amazon_start as w
    where r.source = 'amazon_settlement' and r.refund_date >= w.first_date
    union
    select f.fee_line_id
    from {{ ref('int_fees') }} as f, amazon_start as w
    where f.source = 'amazon_settlement' and f.fee_date >= w.first_date
    union
    select l.item_key
    from amazon_lines_keyed as l, amazon_start as w
    where l.posted_date >= w.first_date
    union
    select l.item_key
    from amazon_lines_keyed as l
    where l.settlement_id in (select a.payout_id from affected_payouts as a where a.source = 'amazon_settlement')
)
{%- endset %}
{%- endif %}

{%- do write_night_groups(groups_relation, 'group_key', ('with ' ~ all_settlement_lines ~ ',' ~ inputs ~ ',' ~ groups
                          ~ ' select distinct group_key from affected_groups') if groups_as_table else none) %}

with {{ night_settlement_lines if groups_as_table else all_settlement_lines }},
{{ inputs }},
{%- if groups_as_table %}

affected_groups as (
    select group_key from {{ groups_relation }}
),
{%- elif by_groups %}
{{ groups }},
{%- endif %}

-- ---- Shopify Payments -----------------------------------------------------------------------------
shopify_orders as (
    select
        order_id,
        min(channel) as channel,
        max(case when is_cancelled then 1 else 0 end) as is_cancelled,
        sum(gross_sales - discounts + shipping_income + tax) as order_total
    from {{ ref('int_order_lines') }}
    where source = 'shopify'
    {%- if by_groups %} and order_id {{ in_shopify_groups }}{% endif %}
    {%- if buckets > 1 %} and {{ full_build_bucket('order_id', buckets) }}{% endif %}
    group by order_id
),

shopify_tx as (
    select
        p.transaction_key,
        p.transaction_date,
        p.transaction_type,
        p.order_name,
        p.payout_id,
        p.amount,
        p.fee,
        o.order_id as known_order,
        o.is_cancelled,
        coalesce(o.channel, 'unallocated') as channel,
        -- an order's transactions are one group (a cancellation changes their item kinds and keys)
        'shopify_payments:' || coalesce(p.order_name, p.transaction_key) as group_key
    from {{ ref('stg_shopify__payment_transactions') }} as p
    left join shopify_orders as o on o.order_id = p.order_name
    where p.payout_id is not null and p.transaction_type <> 'payout'
    {%- if by_groups %}
        and coalesce(p.order_name, p.transaction_key) {{ in_shopify_groups }}
    {%- elif buckets > 1 %}
        and {{ full_build_bucket('coalesce(p.order_name, p.transaction_key)', buckets) }}
    {%- endif %}
),

shopify_paid as (
    select
        'shopify_payments' as source,
        payout_id,
        channel,
        case when transaction_type = 'reserve' then 'reserve'
             -- a processor charge outside the Fee column is a payment fee (int_fees)
             when transaction_type not in ('charge', 'refund', 'payout', 'transfer') then 'fee'
             when known_order is null then 'unmatched'
             when is_cancelled = 1 and transaction_type in ('charge', 'refund') then 'cancelled'
             when transaction_type = 'charge' then 'sale'
             when transaction_type = 'refund' then 'refund'
             else 'unmatched' end as item_kind,
        case when transaction_type = 'charge' and known_order is not null and is_cancelled = 0 then order_name
             else transaction_key end as item_key,
        case when known_order is null and transaction_type in ('charge', 'refund')
                 then {{ unknown_order_detail('transaction_type') }}
             else transaction_type end as detail,
        amount as paid,
        group_key
    from shopify_tx
    union all
    select
        'shopify_payments' as source,
        payout_id,
        channel,
        -- the Fee is a payment-fee fact even when the order is unknown (int_fees: `unallocated`)
        'fee' as item_kind,
        transaction_key as item_key,
        'fee' as detail,
        -fee as paid,
        group_key
    from shopify_tx
    where fee is not null and fee <> 0
),

shopify_first_charge as (
    select order_name, payout_id, channel
    from (
        select
            order_name,
            payout_id,
            channel,
            row_number() over (partition by order_name order by transaction_date, transaction_key) as charge_rank
        from shopify_tx
        where transaction_type = 'charge' and known_order is not null
    ) as ranked
    where charge_rank = 1
),

shopify_facts as (
    select
        'shopify_payments' as source,
        'sale' as item_kind,
        o.order_id as item_key,
        o.order_total as fact,
        c.payout_id as home_payout_id,
        c.channel as home_channel,
        'shopify_payments:' || o.order_id as group_key
    from shopify_orders as o
    inner join shopify_first_charge as c on c.order_name = o.order_id
    where o.is_cancelled = 0
    union all
    select
        'shopify_payments' as source,
        'refund' as item_kind,
        t.transaction_key as item_key,
        -(r.returns + r.shipping_refund + r.tax_refund) as fact,
        t.payout_id as home_payout_id,
        t.channel as home_channel,
        t.group_key
    from {{ ref('int_refunds') }} as r
    inner join shopify_tx as t on r.refund_line_id = 'shopify:' || t.transaction_key
    where r.source = 'shopify'
    union all
    select
        'shopify_payments' as source,
        'fee' as item_kind,
        t.transaction_key as item_key,
        -- a transaction's Fee and its processor charge (int_fees `…:amount`) are one item
        -sum(f.amount) as fact,
        t.payout_id as home_payout_id,
        t.channel as home_channel,
        t.group_key
    from {{ ref('int_fees') }} as f
    -- two equi-joins, not one `in (…)` join: that one is a nested loop, quadratic in the history
    inner join (
        select transaction_key, payout_id, channel, group_key, 'shopify_payments:' || transaction_key as fee_line_id
        from shopify_tx
        union all
        select transaction_key, payout_id, channel, group_key, 'shopify_payments:' || transaction_key || ':amount'
        from shopify_tx
    ) as t on f.fee_line_id = t.fee_line_id
    where f.source = 'shopify_payments'
    {%- if buckets > 1 %}
      -- the bucket's fees: a fee's order is its transaction's, and one without an order finds its transaction
      -- in its own bucket only (probing every fee of history in every bucket: 10M bench, ~1.4 s CPU a bucket)
      and (f.order_id is null or {{ full_build_bucket('f.order_id', buckets) }})
    {%- endif %}
    group by t.transaction_key, t.payout_id, t.channel, t.group_key
),

-- ---- Amazon settlements -------------------------------------------------------------------------------
amazon_paid as (
    select
        'amazon_settlement' as source,
        settlement_id as payout_id,
        channel,
        item_kind,
        item_key,
        case when item_kind = 'unmatched' then transaction_type || ' ' || amount_type || '/' || amount_description
             else amount_description end as detail,
        amount as paid,
        item_key as group_key
    from amazon_lines_keyed
    {%- if by_groups %}
    where item_key {{ in_groups }}
    {%- elif buckets > 1 %}
    where {{ full_build_bucket('item_key', buckets) }}
    {%- endif %}
),

amazon_withheld as (
    select item_key, sum(paid) as withheld
    from amazon_paid
    where item_kind = 'withheld_tax'
    group by item_key
),

amazon_fact_rows as (
    select
        'sale' as item_kind,
        l.order_line_id as item_key,
        l.channel,
        l.order_date as fact_date,
        -- a settlement-only sale's tax includes what Amazon withheld: that part is an adjustment
        l.gross_sales - l.discounts + l.shipping_income + l.tax
            - case when l.source = 'amazon_settlement' then coalesce(w.withheld, 0) else 0 end as fact
    from {{ ref('int_order_lines') }} as l
    left join amazon_withheld as w on w.item_key = l.order_line_id
    where l.source in ('amazon_orders_report', 'amazon_settlement') and not l.is_cancelled
    {%- if by_groups %} and l.order_line_id {{ in_groups }}{% endif %}
    {%- if buckets > 1 %} and {{ full_build_bucket('l.order_line_id', buckets) }}{% endif %}
    union all
    select
        'refund' as item_kind,
        refund_line_id as item_key,
        channel,
        refund_date as fact_date,
        -(returns + shipping_refund + tax_refund) as fact
    from {{ ref('int_refunds') }}
    where source = 'amazon_settlement'
    {%- if by_groups %} and refund_line_id {{ in_groups }}{% endif %}
    {%- if buckets > 1 %} and {{ full_build_bucket('refund_line_id', buckets) }}{% endif %}
    union all
    select
        case when pnl_line = 'reimbursements' then 'reimbursement' else 'fee' end as item_kind,
        fee_line_id as item_key,
        channel,
        fee_date as fact_date,
        -amount as fact
    from {{ ref('int_fees') }}
    where source = 'amazon_settlement'
    {%- if by_groups %} and fee_line_id {{ in_groups }}{% endif %}
    {%- if buckets > 1 %} and {{ full_build_bucket('fee_line_id', buckets) }}{% endif %}
),

amazon_facts as (
    select
        'amazon_settlement' as source,
        item_kind,
        item_key,
        fact,
        home_payout_id,
        home_channel,
        item_key as group_key
    from (
        select
            f.item_kind,
            f.item_key,
            f.fact,
            p.payout_id as home_payout_id,
            p.channel as home_channel,
            row_number() over (partition by f.item_kind, f.item_key order by p.period_start desc, p.payout_id desc)
                as home_rank
        from (
            select item_kind, item_key, max(channel) as channel, min(fact_date) as fact_date, sum(fact) as fact
            from amazon_fact_rows
            group by item_kind, item_key
        ) as f
        left join payouts as p
            on p.source = 'amazon_settlement' and p.channel = f.channel
            and f.fact_date >= p.period_start and f.fact_date <= p.period_end
    ) as homed
    where home_rank = 1
),

-- ---- matching -------------------------------------------------------------------------------------------
paid as (
    select source, payout_id, channel, item_kind, item_key, group_key, max(detail) as detail,
           count(*) as paid_lines, sum(paid) as paid
    from (select * from shopify_paid union all select * from amazon_paid) as p
    group by source, payout_id, channel, item_kind, item_key, group_key
),

facts as (
    select * from shopify_facts
    union all
    select * from amazon_facts
),

-- per item, over every payout: what they paid, and its facts' amount (null: no fact), in one grouping
-- (two groupings, each joined back, cost a hash join more: 1M whole build, the query 5.3 -> 4.9 s)
item_totals as (
    select source, item_kind, item_key, sum(paid) as paid_total, sum(fact) as fact
    from (
        select source, item_kind, item_key, paid, null as fact from paid
        union all
        select source, item_kind, item_key, null as paid, fact from facts
    ) as amounts
    group by source, item_kind, item_key
),

matched as (
    select
        coalesce(p.source, f.source) as source,
        coalesce(p.payout_id, f.home_payout_id) as payout_id,
        coalesce(p.channel, f.home_channel) as channel,
        coalesce(p.item_kind, f.item_kind) as item_kind,
        coalesce(p.item_key, f.item_key) as item_key,
        coalesce(p.detail, f.item_kind) as detail,
        coalesce(p.paid_lines, 0) as paid_lines,
        coalesce(p.paid, 0) as paid,
        coalesce(f.fact, 0) as expected,
        coalesce(p.group_key, f.group_key) as group_key
    from paid as p
    full outer join (select * from facts where home_payout_id is not null) as f
        on f.source = p.source and f.home_payout_id = p.payout_id and f.home_channel = p.channel
        and f.item_kind = p.item_kind and f.item_key = p.item_key
)

select
    m.source || ':' || m.payout_id || ':' || m.channel as payout_key,
    m.source,
    m.payout_id,
    m.channel,
    m.item_kind,
    m.item_key,
    m.detail,
    cast(m.paid_lines as bigint) as paid_lines,
    cast(m.paid as decimal(18, 2)) as paid,
    cast(m.expected as decimal(18, 2)) as expected,
    cast(m.paid - m.expected as decimal(18, 2)) as variance,
    cast(t.fact as decimal(18, 2)) as fact,
    cast(coalesce(t.paid_total, 0) as decimal(18, 2)) as paid_total,
    case m.item_kind
        when 'reserve' then 'reserves'
        when 'cancelled' then 'refunds'
        when 'withheld_tax' then 'adjustments'
        when 'unmatched' then 'unexplained'
        else case
            when t.fact is not null and (coalesce(t.paid_total, 0) = t.fact or coalesce(t.paid_total, 0) = 0)
                then case m.item_kind when 'sale' then 'timing' when 'refund' then 'refunds'
                                      when 'fee' then 'fees' else 'reimbursements' end
            else 'unexplained' end
    end as component,
    m.group_key
from matched as m
left join item_totals as t on t.source = m.source and t.item_kind = m.item_kind and t.item_key = m.item_key
{%- if is_incremental() %}
-- the groups re-computed, one marker row each (payout_key null: strategy replace_listed_groups deletes
-- their stored rows, inserts none); a full build in an incremental run marks every stored row (null group)
union all
select
    cast(null as {{ dbt.type_string() }}) as payout_key,
    null, null, null, null, null, null, null, null, null, null, null, null, null,
    {{ 'a.group_key from affected_groups as a' if by_groups else 'cast(null as ' ~ dbt.type_string() ~ ')' }}
{%- endif %}
