"""The monthly channel P&L computed straight from the raw vendor files in landing/, twice:

- `duckdb_pnl`: one hand-written DuckDB query (the lower bound: the least any tool could do);
- `pandas_pnl`: the same lines with pandas, as an analyst's notebook would (vectorised, read_csv
  with dtypes, integer cents).

Both follow the rules of the dbt models (docs/metrics.md) for the files the demo generator writes
(every feed and layout it produces: Shopify orders and payments, Amazon All Orders, settlement V2
and legacy, FBA returns, wholesale invoices and credit notes, 3PL, Google Ads UI and API exports,
Meta, Pinterest, Amazon Ads, FX, COGS, operating costs). They do none of the pipeline's contract
checks, lineage, deduplication of re-landed versions or quarantine: that is what makes them a lower
bound. Two shortcuts are exact for monthly totals and taken by both: the order-level Shopify
discount allocated to lines in whole cents sums back to the order's discount (Shopify is in the
reporting currency, so no per-line conversion rounding), and a month's operating cost spread per
day sums back to the month's converted amount.
"""

from __future__ import annotations

from pathlib import Path

# seeds/settlement_line_categories.csv, the rows the P&L uses
SETTLEMENT_CATEGORIES = {
    ("ItemPrice", "Principal"): "sales_principal", ("ItemPrice", "Shipping"): "sales_shipping",
    ("ItemPrice", "GiftWrap"): "sales_shipping", ("Promotion", "Principal"): "promotion_principal",
    ("Promotion", "Shipping"): "promotion_shipping",
    ("ItemPrice", "Tax"): "tax", ("ItemPrice", "ShippingTax"): "tax", ("ItemPrice", "GiftWrapTax"): "tax",
    ("ItemFees", "Commission"): "marketplace_fees", ("ItemFees", "RefundCommission"): "marketplace_fees",
    ("ItemFees", "VariableClosingFee"): "marketplace_fees", ("ItemFees", "FixedClosingFee"): "marketplace_fees",
    ("other-transaction", "Subscription Fee"): "marketplace_fees",
    ("ItemFees", "FBAPerUnitFulfillmentFee"): "fulfillment_costs", ("ItemFees", "FBAWeightBasedFee"): "fulfillment_costs",
    ("ItemFees", "ShippingChargeback"): "fulfillment_costs", ("other-transaction", "Storage Fee"): "fulfillment_costs",
    ("other-transaction", "REVERSAL_REIMBURSEMENT"): "fulfillment_costs",
    ("other-transaction", "WAREHOUSE_DAMAGE"): "fulfillment_costs",
    ("FBA Inventory Reimbursement", "REVERSAL_REIMBURSEMENT"): "fulfillment_costs",
    ("FBA Inventory Reimbursement", "WAREHOUSE_DAMAGE"): "fulfillment_costs",
}
MARKETPLACES = {"Amazon.com": "amazon_us", "Amazon.ca": "amazon_ca"}
# seeds/campaign_channel_rules.csv in priority order: (platform or '*', match, pattern, channel)
CAMPAIGN_RULES = [
    ("amazon_ads", "contains", "SP | US", "amazon_us"), ("amazon_ads", "contains", "SP | CA", "amazon_ca"),
    ("*", "contains", "POS", "shopify_pos"), ("*", "contains", "Retail |", "shopify_pos"),
    ("*", "contains", "DTC |", "shopify_web"), ("*", "contains", "| Web |", "shopify_web"),
    ("*", "starts_with", "Web |", "shopify_web"),
]
# legacy settlement wide columns that carry P&L amounts: (amount column, description column, type)
LEGACY_AMOUNTS = [("price-amount", "price-type", "ItemPrice"),
                  ("item-related-fee-amount", "item-related-fee-type", "ItemFees"),
                  ("promotion-amount", "promotion-type", "Promotion"),
                  ("other-amount", "transaction-type", "other-transaction")]
BASE_LINES = ("gross_sales", "discounts", "returns", "shipping_income", "cogs", "fulfillment_costs",
              "payment_fees", "marketplace_fees", "marketing_spend", "operating_costs")


def _csv(landing: Path, pattern: str, **options: str) -> str:
    opts = "".join(f", {k}={v}" for k, v in options.items())
    return f"read_csv('{landing.as_posix()}/{pattern}', header=true{opts})"


def duckdb_sql(landing: Path, pinterest_currency: str = "USD") -> str:
    c = lambda pattern, **o: _csv(landing, pattern, **o)  # noqa: E731
    tsv = dict(delim="'\\t'", quote="''", all_varchar="true")
    categories = ", ".join(f"('{a}', '{b}', '{cat}')" for (a, b), cat in SETTLEMENT_CATEGORIES.items())
    legacy = "\n        union all ".join(
        f"""select sid, tt, oid, adj, sku, qty, pd, mkt, '{t}' as atype, "{d}" as adesc, "{a}" as amt
        from st_comp where "{a}" is not null""" for a, d, t in LEGACY_AMOUNTS)

    def rule_case(platform: str, name: str) -> str:
        whens = []
        for plat, how, pattern, channel in CAMPAIGN_RULES:
            test = f"position('{pattern}' in {name}) > 0" if how == "contains" else f"starts_with({name}, '{pattern}')"
            if plat != "*":
                test = f"{platform} = '{plat}' and {test}"
            whens.append(f"when {test} then '{channel}'")
        return f"case {' '.join(whens)} else 'unallocated' end"

    shop_ts = "strptime({}, '%Y-%m-%d %H:%M:%S %z')"
    ad_sources = [  # (file pattern, read options, select list)
        ("google_ads/google_ads_campaign_report_*.csv", dict(skip="2", all_varchar="true"),
         """'google_ads' as platform, "Day"::date as d, "Campaign" as name, "Currency code" as cur,
           replace("Cost", ',', '')::decimal(18, 6) as spend""", """"Day" is not null and "Cost" is not null"""),
        ("google_ads/google_ads_api_campaign_*.csv", dict(all_varchar="true"),
         """'google_ads', "segments.date"::date, "campaign.name", "customer.currency_code",
           "metrics.cost_micros"::decimal(38, 0) / 1000000""", "true"),
        ("meta_ads/*.csv", dict(all_varchar="true"),
         """'meta_ads', "Day"::date, "Campaign name", 'USD', "Amount spent (USD)"::decimal(18, 6)""", "true"),
        ("pinterest_ads/*.csv", dict(all_varchar="true"),
         f"""'pinterest_ads', "Date"::date, "Campaign name", '{pinterest_currency}',
           "Spend in account currency"::decimal(18, 6)""", "true"),
        ("amazon_ads/*.csv", dict(all_varchar="true"),
         """'amazon_ads', "date"::date, "campaignName", "campaignBudgetCurrencyCode", "cost"::decimal(18, 6)""",
         "true"),
    ]
    ads = "\n    union all\n    ".join(
        f"select {cols}\n    from {c(pattern, **opts)}\n    where {where}"
        for pattern, opts, cols, where in ad_sources if any(landing.glob(pattern)))
    return f"""
with
fx as (
    select "date"::date as d, currency as cur, rate_to_usd::decimal(18, 8) as rate
    from {c('fx_rates/*.csv', all_varchar='true')}
),
cogs as (
    select sku, unit_cost::decimal(18, 4) as unit_cost, currency as cost_cur, effective_from::date as eff_from,
           lead(effective_from::date) over (partition by sku order by effective_from::date) as eff_to
    from {c('cogs/*.csv', all_varchar='true')}
),
-- ---- Shopify: order-level fields sit on each order's first row ----
so_raw as (
    select "Name" as order_name, "Created at" as created, "Cancelled at" as cancelled, "Source" as src,
           "Subtotal" as subtotal, "Shipping" as shipping, "Taxes" as taxes, "Total" as total,
           "Discount Amount" as disc, "Lineitem quantity" as qty, "Lineitem price" as price,
           "Lineitem sku" as sku
    from {c('shopify_orders/*.csv', types="{'Subtotal': 'DECIMAL(18,2)', 'Shipping': 'DECIMAL(18,2)', 'Taxes': 'DECIMAL(18,2)', 'Total': 'DECIMAL(18,2)', 'Discount Amount': 'DECIMAL(18,2)', 'Lineitem price': 'DECIMAL(18,2)', 'Lineitem quantity': 'BIGINT', 'Created at': 'VARCHAR', 'Cancelled at': 'VARCHAR', 'Source': 'VARCHAR', 'Name': 'VARCHAR', 'Lineitem sku': 'VARCHAR'}")}
),
so_orders as (
    select order_name,
           cast(timezone('UTC', {shop_ts.format('max(created)')}) as date) as order_date,
           max(cancelled) is not null as cancelled,
           case when max(src) = 'pos' then 'shopify_pos' else 'shopify_web' end as channel,
           max(subtotal) as subtotal, coalesce(max(shipping), 0) as shipping, coalesce(max(taxes), 0) as taxes,
           max(total) as total, coalesce(max(disc), 0) as disc, sum(qty * price) as gross
    from so_raw group by order_name
),
so_cogs as (
    select o.channel, o.order_date as d, sum(r.qty * k.unit_cost) as cogs
    from so_raw as r join so_orders as o using (order_name)
    join cogs as k on k.sku = r.sku and o.order_date >= k.eff_from and (k.eff_to is null or o.order_date < k.eff_to)
    where not o.cancelled
    group by all
),
pay as (
    select "Type" as ttype, "Order" as order_name, "Amount" as amount, "Fee" as fee,
           cast(timezone('UTC', {shop_ts.format('"Transaction Date"')}) as date) as d
    from {c('shopify_payments/*.csv', types="{'Amount': 'DECIMAL(18,2)', 'Fee': 'DECIMAL(18,2)', 'Transaction Date': 'VARCHAR', 'Type': 'VARCHAR', 'Order': 'VARCHAR'}")}
),
shopify_refunds as (
    select o.channel, p.d,
           case when abs(p.amount) = o.total then o.subtotal
                else abs(p.amount) - (case when o.subtotal + o.taxes = 0 then 0 else floor(
                    (2 * (abs(p.amount) * 100)::bigint * (o.taxes * 100)::bigint + ((o.subtotal + o.taxes) * 100)::bigint)
                    / (2.0 * ((o.subtotal + o.taxes) * 100)::bigint)) end)::decimal(18, 0) * 0.01
           end as returns,
           case when abs(p.amount) = o.total then o.shipping else 0 end as ship_refund
    from pay as p join so_orders as o using (order_name)
    where p.ttype = 'refund' and not o.cancelled
),
shopify_fees as (
    select o.channel, p.d, sum(p.fee) as fee
    from pay as p join so_orders as o using (order_name)
    where p.fee <> 0 group by all
),
-- ---- Amazon ----
az as (
    select "amazon-order-id" as oid, sku, "order-status" = 'Cancelled' as cancelled,
           cast(timezone('UTC', "purchase-date"::timestamptz) as date) as d,
           case "sales-channel" {' '.join(f"when '{k}' then '{v}'" for k, v in MARKETPLACES.items())} end as channel,
           currency as cur, "quantity"::bigint as qty, "item-price"::decimal(18, 2) as gross,
           coalesce("item-promotion-discount"::decimal(18, 2), 0) as disc,
           coalesce("shipping-price"::decimal(18, 2), 0) - coalesce("ship-promotion-discount"::decimal(18, 2), 0) as ship
    from {c('amazon_orders/*.txt', **tsv)}
),
st_raw as (
    select * from {c('amazon_settlements/*.txt', **tsv, union_by_name='true')}
),
st_head as (
    select "settlement-id" as sid, max(currency) as cur from st_raw
    where "transaction-type" is null and "total-amount" is not null group by 1
),
st_comp as (
    select *, "settlement-id" as sid, "transaction-type" as tt, "order-id" as oid, "adjustment-id" as adj,
           "quantity-purchased"::bigint as qty, "marketplace-name" as mkt,
           coalesce(try_strptime("posted-date", '%Y-%m-%d'), try_strptime("posted-date", '%d.%m.%Y'))::date as pd
    from st_raw where "transaction-type" is not null
),
st_long as (
    select sid, tt, oid, adj, sku, qty, pd, mkt, "amount-type" as atype, "amount-description" as adesc, "amount" as amt
    from st_comp where "amount" is not null
    union all {legacy}
),
st_mkt as (select sid, max(mkt) as mkt from st_comp where mkt is not null and mkt <> '' group by 1),
cats(atype, adesc, category) as (values {categories}),
st as (
    select l.sid, l.tt, l.oid, coalesce(l.adj, '') as adj, l.sku, l.qty, l.pd, h.cur, c.category,
           l.amt::decimal(18, 2) as amount,
           case when coalesce(nullif(l.mkt, ''), m.mkt) is null then 'unallocated'
                else case coalesce(nullif(l.mkt, ''), m.mkt) {' '.join(f"when '{k}' then '{v}'" for k, v in MARKETPLACES.items())} end
           end as channel
    from st_long as l join cats as c using (atype, adesc)
    left join st_head as h using (sid) left join st_mkt as m using (sid)
),
settle_only as (
    select s.oid, s.sku, min(s.pd) as d, max(s.cur) as cur, max(s.channel) as channel,
           sum(case when category = 'sales_principal' then qty else 0 end) as qty,
           sum(case when category = 'sales_principal' then amount else 0 end) as gross,
           -sum(case when category = 'promotion_principal' then amount else 0 end) as disc,
           sum(case when category in ('sales_shipping', 'promotion_shipping') then amount else 0 end) as ship
    from st as s
    where s.tt = 'Order' and s.oid is not null
      and not exists (select 1 from az where az.oid = s.oid and az.sku = s.sku)
    group by s.oid, s.sku
),
amazon_lines as (
    select oid, sku, channel, d, cur, qty, gross, disc, ship, cancelled from az
    union all select oid, sku, channel, d, cur, qty, gross, disc, ship, false from settle_only
),
amazon_refunds as (
    select max(channel) as channel, pd as d, max(cur) as cur,
           -sum(case when category in ('sales_principal', 'promotion_principal') then amount else 0 end) as returns,
           -sum(case when category in ('sales_shipping', 'promotion_shipping') then amount else 0 end) as ship_refund
    from st where tt = 'Refund' group by sid, adj, oid, sku, pd
),
fba_restock as (
    select coalesce(o.channel, 'unallocated') as channel,
           cast(timezone('UTC', r."return-date"::timestamptz) as date) as d,
           coalesce(ol.d, cast(timezone('UTC', r."return-date"::timestamptz) as date)) as cost_d,
           r.sku, r.quantity::bigint as qty
    from {c('amazon_returns/*.txt', **tsv)} as r
    left join amazon_lines as ol on ol.oid = r."order-id" and ol.sku = r.sku
    left join (select oid, min(channel) as channel from amazon_lines group by oid) as o on o.oid = r."order-id"
    where r."detailed-disposition" = 'SELLABLE'
),
-- ---- wholesale ----
wh as (
    select document_type as doc, document_number as num, original_document_number as orig, sku,
           units::bigint as units, unit_price::decimal(18, 4) as price, coalesce(discount::decimal(18, 2), 0) as disc,
           currency as cur, invoice_date::date as d, lower(coalesce(restock, '')) in ('yes', 'true', '1', 'y') as restock
    from {c('wholesale_invoices/*.csv', all_varchar='true')}
),
wh_orders as (select num, min(d) as d from wh where doc = 'invoice' group by num),
-- ---- 3PL ----
tpl as (
    select coalesce(o.channel, 'unallocated') as channel, t.charge_date::date as d, t.currency_code as cur,
           t.amount::decimal(18, 2) as amount
    from {c('threepl_billing/*.csv', all_varchar='true')} as t
    left join (select order_name as id, min(channel) as channel from so_orders group by 1
               union all select num, 'wholesale' from wh_orders) as o on o.id = t.reference_id
),
-- ---- marketing ----
ads as (
    {ads}
),
-- ---- operating costs: the month's converted amount (its daily spread sums back to it) ----
opex as (
    select case when o.channel = 'shared' then 'unallocated' else o.channel end as channel,
           (o.month || '-01')::date as d, o.currency as cur, o.amount::decimal(18, 2) as amount
    from {c('operating_costs/*.csv', all_varchar='true')} as o
),
-- ---- every fact as (channel, date, currency, line amounts), converted on its own row ----
facts as (
    select channel, order_date as d, 'USD' as cur, gross as gross_sales, disc as discounts, 0 as returns,
           shipping as shipping_income, 0 as cogs, 0 as fulfillment_costs, 0 as payment_fees,
           0 as marketplace_fees, 0 as marketing_spend, 0 as operating_costs
    from so_orders where not cancelled
    union all select channel, d, 'USD', 0, 0, 0, 0, cogs, 0, 0, 0, 0, 0 from so_cogs
    union all select channel, d, 'USD', 0, 0, returns, -ship_refund, 0, 0, 0, 0, 0, 0 from shopify_refunds
    union all select channel, d, 'USD', 0, 0, 0, 0, 0, 0, fee, 0, 0, 0 from shopify_fees
    union all select channel, d, cur, gross, disc, 0, ship, 0, 0, 0, 0, 0, 0 from amazon_lines where not cancelled
    union all select channel, d, cur, 0, 0, returns, -ship_refund, 0, 0, 0, 0, 0, 0 from amazon_refunds
    union all
    select channel, pd, cur, 0, 0, 0, 0, 0,
           case when category = 'fulfillment_costs' then -amount else 0 end, 0,
           case when category = 'marketplace_fees' then -amount else 0 end, 0, 0
    from st where category in ('fulfillment_costs', 'marketplace_fees')
    union all select 'wholesale', d, cur, units * price, disc, 0, 0, 0, 0, 0, 0, 0, 0 from wh where doc = 'invoice'
    union all select 'wholesale', d, cur, 0, 0, units * price - disc, 0, 0, 0, 0, 0, 0, 0 from wh where doc = 'credit_note'
    union all select channel, d, cur, 0, 0, 0, 0, 0, amount, 0, 0, 0, 0 from tpl
    union all select {rule_case('platform', 'name')}, d, cur, 0, 0, 0, 0, 0, 0, 0, 0, spend, 0 from ads
    union all select channel, d, cur, 0, 0, 0, 0, 0, 0, 0, 0, 0, amount from opex
),
-- COGS (sales at the order date's cost, restocks credited at the original order's cost), in the
-- cost currency and converted at the cost date's rate
cost_events as (
    select 'amazon' as src, channel, d, d as cost_d, sku, qty from amazon_lines where not cancelled
    union all select 'wholesale', 'wholesale', d, d, sku, units from wh where doc = 'invoice'
    union all select 'restock', channel, d, cost_d, sku, -qty from fba_restock
    union all
    select 'restock', 'wholesale', w.d, coalesce(o.d, w.d), w.sku, -w.units
    from wh as w left join wh_orders as o on o.num = w.orig where w.doc = 'credit_note' and w.restock
),
costed as (
    select e.channel, e.d, k.cost_cur as cur, e.cost_d, e.qty * k.unit_cost as cost
    from cost_events as e
    join cogs as k on k.sku = e.sku and e.cost_d >= k.eff_from and (k.eff_to is null or e.cost_d < k.eff_to)
),
converted as (
    select f.channel, f.d,
        {', '.join(
            f"case when f.cur = 'USD' then {line} else cast(round(cast({line} as decimal(38, 10)) * fx.rate, 2) as decimal(18, 2)) end as {line}"
            for line in BASE_LINES)}
    from facts as f left join fx on fx.cur = f.cur and fx.d = f.d
    union all
    select c.channel, c.d, 0, 0, 0, 0,
        case when c.cur = 'USD' then cost else cast(round(cast(cost as decimal(38, 10)) * fx.rate, 2) as decimal(18, 2)) end,
        0, 0, 0, 0, 0
    from costed as c left join fx on fx.cur = c.cur and fx.d = c.cost_d
),
monthly as (
    select channel, date_trunc('month', d)::date as month,
           {', '.join(f'sum({line})::decimal(18, 2) as {line}' for line in BASE_LINES)}
    from converted group by all
)
select channel, month, gross_sales, discounts, returns,
       gross_sales - discounts - returns as net_sales, shipping_income,
       gross_sales - discounts - returns + shipping_income as net_revenue, cogs,
       gross_sales - discounts - returns + shipping_income - cogs as cm1,
       fulfillment_costs, payment_fees, marketplace_fees,
       gross_sales - discounts - returns + shipping_income - cogs - fulfillment_costs - payment_fees - marketplace_fees as cm2,
       marketing_spend,
       gross_sales - discounts - returns + shipping_income - cogs - fulfillment_costs - payment_fees - marketplace_fees - marketing_spend as cm3,
       operating_costs,
       gross_sales - discounts - returns + shipping_income - cogs - fulfillment_costs - payment_fees - marketplace_fees - marketing_spend - operating_costs as contribution_after_opex
from monthly
order by month, channel
"""


def duckdb_pnl(landing: Path, explain: Path | None = None):
    """The monthly channel P&L by one DuckDB query over the raw files → pandas DataFrame."""
    import duckdb

    sql = duckdb_sql(landing)
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        if explain is not None:
            rows = con.execute("explain analyze " + sql).fetchall()
            explain.write_text("\n".join(r[-1] for r in rows))
        return con.execute(sql).df()
