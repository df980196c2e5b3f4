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
day sums back to the month's converted amount. The mappings (Shopify source, Amazon marketplace and
campaign → channel, settlement line → category) are read from the dbt seeds, as the models join them.
"""

from __future__ import annotations

from pathlib import Path

from connectors.seeds import (
    campaign_rules,
    marketplace_channels,
    refund_restock_shares,
    settlement_categories,
    shopify_source_channels,
)

# legacy settlement wide columns that carry P&L amounts: (amount column, description column, type)
LEGACY_AMOUNTS = [("price-amount", "price-type", "ItemPrice"),
                  ("item-related-fee-amount", "item-related-fee-type", "ItemFees"),
                  ("promotion-amount", "promotion-type", "Promotion"),
                  ("other-amount", "transaction-type", "other-transaction")]
BASE_LINES = ("gross_sales", "discounts", "returns", "shipping_income", "cogs", "fulfillment_costs",
              "payment_fees", "marketplace_fees", "reimbursements", "marketing_spend", "operating_costs")
# Shopify Payments types that are not processor charges: every other type's amount is a payment fee
NOT_PROCESSOR_CHARGES = ("charge", "refund", "reserve", "payout", "transfer")
# DuckDB read_csv column types of the Shopify exports (amounts exact, timestamps parsed in the query)
SHOPIFY_ORDER_TYPES = ("{'Subtotal': 'DECIMAL(18,2)', 'Shipping': 'DECIMAL(18,2)', 'Taxes': 'DECIMAL(18,2)', "
                       "'Total': 'DECIMAL(18,2)', 'Discount Amount': 'DECIMAL(18,2)', "
                       "'Lineitem price': 'DECIMAL(18,2)', 'Lineitem quantity': 'BIGINT', 'Created at': 'VARCHAR', "
                       "'Cancelled at': 'VARCHAR', 'Source': 'VARCHAR', 'Name': 'VARCHAR', 'Lineitem sku': 'VARCHAR'}")
SHOPIFY_PAYMENT_TYPES = ("{'Amount': 'DECIMAL(18,2)', 'Fee': 'DECIMAL(18,2)', 'Transaction Date': 'VARCHAR', "
                         "'Type': 'VARCHAR', 'Order': 'VARCHAR'}")


def _csv(landing: Path, pattern: str, **options: str) -> str:
    opts = "".join(f", {k}={v}" for k, v in options.items())
    path = f"{landing.as_posix()}/{pattern}".replace("'", "''")  # a home may hold a quote
    return f"read_csv('{path}', header=true{opts})"


def _whens(mapping: dict[str, str]) -> str:
    return " ".join(f"when '{k}' then '{v}'" for k, v in mapping.items())


def duckdb_sql(landing: Path, pinterest_currency: str = "USD", zone: str = "UTC") -> str:
    """The lower bound's query; an instant's day is its local day in the business's time `zone`."""
    c = lambda pattern, **o: _csv(landing, pattern, **o)  # noqa: E731
    tsv = dict(delim="'\\t'", quote="''", all_varchar="true")
    categories = ", ".join(f"('{a}', '{b}', '{cat}')" for (a, b), cat in settlement_categories().items())
    sources, default_source = shopify_source_channels()
    source_case = f"case max(src) {_whens(sources)} else '{default_source}' end"
    marketplace_case = "case {} " + _whens(marketplace_channels()) + " end"
    restock_share = "case o.channel " + " ".join(
        f"when '{ch}' then {share}" for ch, share in refund_restock_shares().items()) + " else 0 end"
    legacy = "\n        union all ".join(
        f"""select sid, tt, oid, adj, sku, qty, pd, mkt, '{t}' as atype, "{d}" as adesc, "{a}" as amt
        from st_comp where "{a}" is not null""" for a, d, t in LEGACY_AMOUNTS)

    def rule_case(platform: str, name: str) -> str:
        whens = []
        for plat, how, pattern, channel in campaign_rules():
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
    from {c('shopify_orders/*.csv', types=SHOPIFY_ORDER_TYPES)}
),
so_orders as (
    select order_name,
           cast(timezone('{zone}', {shop_ts.format('max(created)')}) as date) as order_date,
           max(cancelled) is not null as cancelled,
           {source_case} as channel,
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
so_order_cogs as (
    select r.order_name, sum(r.qty * k.unit_cost) as cogs
    from so_raw as r join so_orders as o using (order_name)
    join cogs as k on k.sku = r.sku and o.order_date >= k.eff_from and (k.eff_to is null or o.order_date < k.eff_to)
    group by all
),
pay as (
    select "Type" as ttype, "Order" as order_name, "Amount" as amount, "Fee" as fee,
           cast(timezone('{zone}', {shop_ts.format('"Transaction Date"')}) as date) as d
    from {c('shopify_payments/*.csv', types=SHOPIFY_PAYMENT_TYPES)}
),
shopify_refunds as (
    select o.channel, p.d,
           case when abs(p.amount) = o.total then o.subtotal
                else abs(p.amount) - (case when o.subtotal + o.taxes = 0 then 0 else floor(
                    (2 * (abs(p.amount) * 100)::bigint * (o.taxes * 100)::bigint
                     + ((o.subtotal + o.taxes) * 100)::bigint)
                    / (2.0 * ((o.subtotal + o.taxes) * 100)::bigint)) end)::decimal(18, 0) * 0.01
           end as returns,
           case when abs(p.amount) = o.total then o.shipping else 0 end as ship_refund,
           {restock_share} as share, coalesce(k.cogs, 0) as order_cogs, o.subtotal
    from pay as p join so_orders as o using (order_name)
    left join so_order_cogs as k using (order_name)
    where p.ttype = 'refund' and not o.cancelled
),
-- the assumed restock of a Shopify refund: round(share × order COGS × returns ÷ Subtotal, 2)
shopify_restocks as (
    select channel, d, case when share = 0 or subtotal <= 0 or returns <= 0 then 0 else floor(
               (2 * (share * 10000)::hugeint * (order_cogs * 100)::hugeint * (returns * 100)::hugeint
                + 10000 * (subtotal * 100)::hugeint) / (2 * 10000 * (subtotal * 100)::hugeint)) * 0.01 end as credit
    from shopify_refunds
),
-- every Fee, and every processor charge outside it; a transaction of an unknown order: unallocated
shopify_fees as (
    select coalesce(o.channel, 'unallocated') as channel, p.d,
           sum(coalesce(p.fee, 0) - case when p.ttype not in ('charge', 'refund', 'reserve', 'payout', 'transfer')
                                         then coalesce(p.amount, 0) else 0 end) as fee
    from pay as p left join so_orders as o using (order_name)
    group by all
),
-- ---- Amazon ----
az as (
    select "amazon-order-id" as oid, sku, "order-status" = 'Cancelled' as cancelled,
           cast(timezone('{zone}', "purchase-date"::timestamptz) as date) as d,
           {marketplace_case.format('"sales-channel"')} as channel,
           currency as cur, "quantity"::bigint as qty, "item-price"::decimal(18, 2) as gross,
           coalesce("item-promotion-discount"::decimal(18, 2), 0) as disc,
           coalesce("shipping-price"::decimal(18, 2), 0)
           - coalesce("ship-promotion-discount"::decimal(18, 2), 0) as ship
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
                else {marketplace_case.format("coalesce(nullif(l.mkt, ''), m.mkt)")}
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
           cast(timezone('{zone}', r."return-date"::timestamptz) as date) as d,
           coalesce(ol.d, cast(timezone('{zone}', r."return-date"::timestamptz) as date)) as cost_d,
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
           currency as cur, invoice_date::date as d,
           lower(coalesce(restock, '')) in ('yes', 'true', '1', 'y') as restock
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
           0 as marketplace_fees, 0 as reimbursements, 0 as marketing_spend, 0 as operating_costs
    from so_orders where not cancelled
    union all select channel, d, 'USD', 0, 0, 0, 0, cogs, 0, 0, 0, 0, 0, 0 from so_cogs
    union all select channel, d, 'USD', 0, 0, returns, -ship_refund, 0, 0, 0, 0, 0, 0, 0 from shopify_refunds
    union all select channel, d, 'USD', 0, 0, 0, 0, -credit, 0, 0, 0, 0, 0, 0 from shopify_restocks
    union all select channel, d, 'USD', 0, 0, 0, 0, 0, 0, fee, 0, 0, 0, 0 from shopify_fees
    union all select channel, d, cur, gross, disc, 0, ship, 0, 0, 0, 0, 0, 0, 0 from amazon_lines where not cancelled
    union all select channel, d, cur, 0, 0, returns, -ship_refund, 0, 0, 0, 0, 0, 0, 0 from amazon_refunds
    union all
    select channel, pd, cur, 0, 0, 0, 0, 0,
           case when category = 'fulfillment_costs' then -amount else 0 end, 0,
           case when category = 'marketplace_fees' then -amount else 0 end,
           case when category = 'reimbursements' then amount else 0 end, 0, 0
    from st where category in ('fulfillment_costs', 'marketplace_fees', 'reimbursements')
    union all select 'wholesale', d, cur, units * price, disc, 0, 0, 0, 0, 0, 0, 0, 0, 0 from wh where doc = 'invoice'
    union all
    select 'wholesale', d, cur, 0, 0, units * price - disc, 0, 0, 0, 0, 0, 0, 0, 0 from wh where doc = 'credit_note'
    union all select channel, d, cur, 0, 0, 0, 0, 0, amount, 0, 0, 0, 0, 0 from tpl
    union all select {rule_case('platform', 'name')}, d, cur, 0, 0, 0, 0, 0, 0, 0, 0, 0, spend, 0 from ads
    union all select channel, d, cur, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, amount from opex
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
            f"case when f.cur = 'USD' then {line} "
            f"else cast(round(cast({line} as decimal(38, 10)) * fx.rate, 2) as decimal(18, 2)) end as {line}"
            for line in BASE_LINES)}
    from facts as f left join fx on fx.cur = f.cur and fx.d = f.d
    union all
    select c.channel, c.d, 0, 0, 0, 0,
        case when c.cur = 'USD' then cost
             else cast(round(cast(cost as decimal(38, 10)) * fx.rate, 2) as decimal(18, 2)) end,
        0, 0, 0, 0, 0, 0
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
       fulfillment_costs, payment_fees, marketplace_fees, reimbursements,
       gross_sales - discounts - returns + shipping_income - cogs
           - fulfillment_costs - payment_fees - marketplace_fees + reimbursements as cm2,
       marketing_spend,
       gross_sales - discounts - returns + shipping_income - cogs
           - fulfillment_costs - payment_fees - marketplace_fees + reimbursements - marketing_spend as cm3,
       operating_costs,
       gross_sales - discounts - returns + shipping_income - cogs
           - fulfillment_costs - payment_fees - marketplace_fees + reimbursements - marketing_spend - operating_costs
           as contribution_after_opex
from monthly
order by month, channel
"""


def _zone(landing: Path) -> str:
    """The business time zone of the home whose landing folder this is (its days are local days)."""
    from connectors.home import Home, business_timezone

    return business_timezone(Home(landing.parent))


LOWER_BOUND_MEMORY = "8GB"  # DuckDB's default (80% of RAM) let the 10M query be killed on 24 GB


def duckdb_pnl(landing: Path):
    """The monthly channel P&L by one DuckDB query over the raw files → pandas DataFrame. Its buffer
    pool is capped and may spill to the home's tmp/, so the query finishes at 10M lines too."""
    import duckdb

    spill = landing.parent / "tmp" / "lower_bound"
    spill.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(config={"memory_limit": LOWER_BOUND_MEMORY, "temp_directory": str(spill)}) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(duckdb_sql(landing, zone=_zone(landing))).df()


def explain_analyze(landing: Path, out: Path) -> None:
    """The lower bound's EXPLAIN ANALYZE (a separate run: never inside the timed one)."""
    import duckdb

    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        rows = con.execute("explain analyze " + duckdb_sql(landing, zone=_zone(landing))).fetchall()
    out.write_text("\n".join(r[-1] for r in rows))


# ---- pandas: an analyst's notebook ------------------------------------------------------------------
def _read(landing: Path, pattern: str, usecols: list[str], **kw):
    import pandas as pd

    files = sorted(landing.glob(pattern))
    if not files:
        return pd.DataFrame(columns=usecols)
    return pd.concat([pd.read_csv(f, usecols=usecols, **kw) for f in files], ignore_index=True)


def _cents(series):
    """Money text or numbers → int64 cents (exact for two-decimal amounts)."""
    import numpy as np
    import pandas as pd

    values = pd.to_numeric(series, errors="coerce").fillna(0).to_numpy(dtype="float64")
    return pd.Series(np.rint(values * 100).astype("int64"), index=series.index)


def _local_date(series, zone: str, fmt: str | None = None):
    """Instants (text with an offset) as their local day in `zone`."""
    import pandas as pd

    return pd.to_datetime(series, format=fmt, utc=True).dt.tz_convert(zone).dt.tz_localize(None).dt.normalize()


def _round_half_away(numerator, denominator):
    """Integer numerator ÷ positive integer denominator, rounded half away from zero (exact)."""
    import numpy as np

    q = (2 * np.abs(numerator) + denominator) // (2 * denominator)
    return np.sign(numerator) * q


def pandas_pnl(landing: Path, pinterest_currency: str = "USD"):
    """The monthly channel P&L with pandas: each fact in int64 cents, converted on its own row at
    its date's rate (rounded half away from zero), summed by channel and month; an instant's day is
    its local day in the home's business time zone."""
    import numpy as np
    import pandas as pd

    zone = _zone(landing)

    # FX as integer micro-units (six decimals in the files)
    fx = _read(landing, "fx_rates/*.csv", ["date", "currency", "rate_to_usd"], dtype={"currency": "string"},
               parse_dates=["date"])
    fx["rate_micro"] = np.rint(fx["rate_to_usd"].to_numpy() * 1e6).astype("int64")
    fx = fx.rename(columns={"date": "d", "currency": "cur"})[["d", "cur", "rate_micro"]]

    def convert(frame, columns, date_col="d"):
        """Cents in the row's currency → USD cents, at the rate of `date_col`."""
        merged = frame.merge(fx, how="left", left_on=["cur", date_col], right_on=["cur", "d"],
                             suffixes=("", "_fx"))
        usd = merged["cur"].eq("USD").to_numpy()
        rate = merged["rate_micro"].fillna(0).astype("int64").to_numpy()
        for col in columns:
            cents = merged[col].to_numpy(dtype="int64")
            frame[col] = np.where(usd, cents, _round_half_away(cents * rate, 1_000_000))
        return frame

    cogs = pd.read_csv(landing / "cogs" / "cogs.csv", dtype={"sku": "string", "currency": "string"},
                       parse_dates=["effective_from"]).sort_values(["sku", "effective_from"])
    cogs["eff_to"] = cogs.groupby("sku")["effective_from"].shift(-1)
    cogs["cost_e4"] = np.rint(cogs["unit_cost"].to_numpy() * 10_000).astype("int64")

    def cost_cents(events):
        """events: channel, d, cost_d, sku, qty → channel, d, cogs (USD cents)."""
        m = events.merge(cogs[["sku", "effective_from", "eff_to", "cost_e4", "currency"]], on="sku")
        m = m[(m["cost_d"] >= m["effective_from"]) & (m["eff_to"].isna() | (m["cost_d"] < m["eff_to"]))]
        m = m.assign(cost_e4=m["qty"].to_numpy() * m["cost_e4"].to_numpy())
        out = m.groupby(["channel", "d", "cost_d", "currency"], as_index=False)["cost_e4"].sum()
        # the dbt models round each fact row's cost to cents; summing first is the same while unit
        # costs have whole cents (the demo's do; sub-cent costs would need per-row rounding)
        out["cogs"] = _round_half_away(out["cost_e4"].to_numpy(), 100)
        out = out.rename(columns={"currency": "cur"})
        return convert(out, ["cogs"], "cost_d")[["channel", "d", "cogs"]]

    facts = []
    sources, default_source = shopify_source_channels()
    marketplaces = marketplace_channels()

    # ---- Shopify orders: order-level fields on each order's first row ----
    so = _read(landing, "shopify_orders/*.csv",
               ["Name", "Created at", "Cancelled at", "Source", "Subtotal", "Shipping", "Taxes", "Total",
                "Discount Amount", "Lineitem quantity", "Lineitem price", "Lineitem sku"],
               dtype={"Name": "string", "Created at": "string", "Cancelled at": "string", "Source": "string",
                      "Lineitem sku": "string", "Lineitem quantity": "int64"})
    so["gross"] = so["Lineitem quantity"] * _cents(so["Lineitem price"])
    first = so[so["Created at"].notna()].set_index("Name")
    orders = pd.DataFrame({
        "d": _local_date(first["Created at"], zone, "%Y-%m-%d %H:%M:%S %z"),
        "cancelled": first["Cancelled at"].notna(),
        "channel": first["Source"].map(sources).fillna(default_source),
        "subtotal": _cents(first["Subtotal"]), "shipping": _cents(first["Shipping"]),
        "taxes": _cents(first["Taxes"]), "total": _cents(first["Total"]), "disc": _cents(first["Discount Amount"]),
    })
    orders["gross"] = so.groupby("Name")["gross"].sum()
    live = orders[~orders["cancelled"]]
    facts.append(pd.DataFrame({"channel": live["channel"], "d": live["d"], "gross_sales": live["gross"],
                               "discounts": live["disc"], "shipping_income": live["shipping"]}))
    lines = so[["Name", "Lineitem sku", "Lineitem quantity"]].join(live[["channel", "d"]], on="Name", how="inner")
    lines = lines.rename(columns={"Lineitem sku": "sku", "Lineitem quantity": "qty"})
    lines["cost_d"] = lines["d"]
    facts.append(cost_cents(lines[["channel", "d", "cost_d", "sku", "qty"]]))

    # ---- Shopify payments: refunds (returns on the refund date) and fees ----
    pay = _read(landing, "shopify_payments/*.csv", ["Transaction Date", "Type", "Order", "Amount", "Fee"],
                dtype={"Type": "string", "Order": "string", "Transaction Date": "string"})
    pay["d"] = _local_date(pay["Transaction Date"], zone, "%Y-%m-%d %H:%M:%S %z")
    pay["amount"], pay["fee"] = _cents(pay["Amount"]), _cents(pay["Fee"])
    # a transaction of an order the export does not have: its costs stay visible on `unallocated`
    pay = pay.join(orders[["channel", "cancelled", "subtotal", "shipping", "taxes", "total"]], on="Order", how="left")
    pay["channel"] = pay["channel"].fillna("unallocated")
    processor = ~pay["Type"].isin(NOT_PROCESSOR_CHARGES)
    pay["cost"] = pay["fee"].fillna(0).astype("int64") - np.where(processor, pay["amount"].fillna(0), 0).astype("int64")
    fees = pay[pay["cost"].ne(0)]
    facts.append(pd.DataFrame({"channel": fees["channel"], "d": fees["d"], "payment_fees": fees["cost"]}))
    pay = pay[pay["total"].notna()].astype({c: "int64" for c in ("subtotal", "shipping", "taxes", "total")})
    ref = pay[pay["Type"].eq("refund") & ~pay["cancelled"].astype(bool)]
    r_abs = ref["amount"].abs()
    full = r_abs.eq(ref["total"])
    base = (ref["subtotal"] + ref["taxes"]).to_numpy()
    partial_tax = np.where(base == 0, 0,
                           _round_half_away(r_abs.to_numpy() * ref["taxes"].to_numpy(), np.maximum(base, 1)))
    returns = np.where(full, ref["subtotal"], r_abs - partial_tax)
    facts.append(pd.DataFrame({"channel": ref["channel"], "d": ref["d"], "returns": returns,
                               "shipping_income": -np.where(full, ref["shipping"], 0)}))
    # the assumed restock: round(share × order COGS × returns ÷ Subtotal, 2), in exact integers
    order_cogs = cost_cents(lines[["channel", "d", "cost_d", "sku", "qty"]].assign(channel=lines["Name"]))
    order_cogs = order_cogs.groupby("channel")["cogs"].sum()
    share_bp = ref["channel"].map({c: int(v * 10000) for c, v in refund_restock_shares().items()}).fillna(0)
    num = (share_bp.astype("int64").to_numpy() * ref["Order"].map(order_cogs).fillna(0).astype("int64").to_numpy()
           * returns.astype("int64"))
    den = 10000 * ref["subtotal"].to_numpy()
    ok = (num > 0) & (den > 0)
    credit = np.where(ok, _round_half_away(np.where(ok, num, 0), np.where(ok, den, 1)), 0)
    facts.append(pd.DataFrame({"channel": ref["channel"], "d": ref["d"], "cogs": -credit}))

    # ---- Amazon: All Orders report, settlements (V2 and legacy), FBA returns ----
    tsv = dict(sep="\t", quoting=3, dtype="string", keep_default_na=False, na_values=[""])
    az = _read(landing, "amazon_orders/*.txt",
               ["amazon-order-id", "sku", "order-status", "purchase-date", "sales-channel", "currency", "quantity",
                "item-price", "item-promotion-discount", "shipping-price", "ship-promotion-discount"], **tsv)
    az = pd.DataFrame({
        "oid": az["amazon-order-id"], "sku": az["sku"], "cancelled": az["order-status"].eq("Cancelled"),
        "d": _local_date(az["purchase-date"], zone), "channel": az["sales-channel"].map(marketplaces),
        "cur": az["currency"],
        "qty": pd.to_numeric(az["quantity"]).astype("int64"), "gross": _cents(az["item-price"]),
        "disc": _cents(az["item-promotion-discount"]),
        "ship": _cents(az["shipping-price"]) - _cents(az["ship-promotion-discount"])})

    parts = []
    for path in sorted(landing.glob("amazon_settlements/*.txt")):
        raw = pd.read_csv(path, **tsv)
        head = raw[raw["transaction-type"].isna() & raw["total-amount"].notna()]
        comp = raw[raw["transaction-type"].notna()]
        common = {"sid": comp["settlement-id"], "tt": comp["transaction-type"], "oid": comp["order-id"],
                  "adj": comp["adjustment-id"].fillna(""), "sku": comp["sku"],
                  "qty": pd.to_numeric(comp["quantity-purchased"]).fillna(0).astype("int64"),
                  "mkt": comp["marketplace-name"]}
        if "amount-type" in raw.columns:  # flat file V2
            pd_ = pd.to_datetime(comp["posted-date"], format="%Y-%m-%d")
            long = [pd.DataFrame({**common, "pd": pd_, "atype": comp["amount-type"],
                                  "adesc": comp["amount-description"], "amt": comp["amount"]})]
        else:  # legacy: wide amount columns
            pd_ = pd.to_datetime(comp["posted-date"], format="%d.%m.%Y")
            long = [pd.DataFrame({**common, "pd": pd_, "atype": atype, "adesc": comp[desc], "amt": comp[amount]})
                    for amount, desc, atype in LEGACY_AMOUNTS if amount in comp.columns]
        frame = pd.concat(long)
        frame = frame[frame["amt"].notna()]
        frame["cur"] = frame["sid"].map(head.set_index("settlement-id")["currency"])
        parts.append(frame)
    st = pd.concat(parts, ignore_index=True)
    st["category"] = pd.MultiIndex.from_frame(st[["atype", "adesc"]]).map(settlement_categories().get)
    st = st[st["category"].notna()].copy()
    named = st[st["mkt"].notna() & st["mkt"].ne("")].groupby("sid")["mkt"].max()
    resolved = st["mkt"].where(st["mkt"].notna() & st["mkt"].ne(""), st["sid"].map(named))
    st["channel"] = resolved.map(marketplaces).where(resolved.notna(), "unallocated")
    st["amount"] = _cents(st["amt"])

    def cat_sum(frame, categories):
        return frame["amount"].where(frame["category"].isin(categories), 0)

    orders_st = st[st["tt"].eq("Order") & st["oid"].notna()]
    known = pd.MultiIndex.from_frame(az[["oid", "sku"]])
    orders_st = orders_st[~pd.MultiIndex.from_frame(orders_st[["oid", "sku"]]).isin(known)]
    orders_st = orders_st.assign(
        qty_p=orders_st["qty"].where(orders_st["category"].eq("sales_principal"), 0),
        gross=cat_sum(orders_st, ["sales_principal"]), disc=-cat_sum(orders_st, ["promotion_principal"]),
        ship=cat_sum(orders_st, ["sales_shipping", "promotion_shipping"]))
    settle_only = orders_st.groupby(["oid", "sku"], as_index=False).agg(
        d=("pd", "min"), cur=("cur", "max"), channel=("channel", "max"), qty=("qty_p", "sum"),
        gross=("gross", "sum"), disc=("disc", "sum"), ship=("ship", "sum"))
    settle_only["cancelled"] = False
    amazon_lines = pd.concat([az, settle_only], ignore_index=True)
    sold = amazon_lines[~amazon_lines["cancelled"]]
    facts.append(convert(pd.DataFrame({"channel": sold["channel"], "d": sold["d"], "cur": sold["cur"],
                                       "gross_sales": sold["gross"], "discounts": sold["disc"],
                                       "shipping_income": sold["ship"]}).reset_index(drop=True),
                         ["gross_sales", "discounts", "shipping_income"]))
    facts.append(cost_cents(pd.DataFrame({"channel": sold["channel"], "d": sold["d"], "cost_d": sold["d"],
                                          "sku": sold["sku"], "qty": sold["qty"]})))

    refunds = st[st["tt"].eq("Refund")]
    refunds = refunds.assign(returns=-cat_sum(refunds, ["sales_principal", "promotion_principal"]),
                             ship=cat_sum(refunds, ["sales_shipping", "promotion_shipping"]))
    refunds = refunds.groupby(["sid", "adj", "oid", "sku", "pd"], as_index=False, dropna=False).agg(
        channel=("channel", "max"), cur=("cur", "max"), returns=("returns", "sum"), shipping_income=("ship", "sum"))
    facts.append(convert(refunds.rename(columns={"pd": "d"})[["channel", "d", "cur", "returns", "shipping_income"]],
                         ["returns", "shipping_income"]))
    fee_rows = st[st["category"].isin(["fulfillment_costs", "marketplace_fees", "reimbursements"])]
    facts.append(convert(pd.DataFrame({
        "channel": fee_rows["channel"], "d": fee_rows["pd"], "cur": fee_rows["cur"],
        "fulfillment_costs": -fee_rows["amount"].where(fee_rows["category"].eq("fulfillment_costs"), 0),
        "marketplace_fees": -fee_rows["amount"].where(fee_rows["category"].eq("marketplace_fees"), 0),
        "reimbursements": fee_rows["amount"].where(fee_rows["category"].eq("reimbursements"), 0),
    }).reset_index(drop=True), ["fulfillment_costs", "marketplace_fees", "reimbursements"]))

    ret = _read(landing, "amazon_returns/*.txt",
                ["return-date", "order-id", "sku", "quantity", "detailed-disposition"], **tsv)
    ret = ret[ret["detailed-disposition"].eq("SELLABLE")]
    ret = pd.DataFrame({"oid": ret["order-id"], "sku": ret["sku"], "d": _local_date(ret["return-date"], zone),
                        "qty": -pd.to_numeric(ret["quantity"]).astype("int64")})
    ret = ret.merge(amazon_lines[["oid", "sku", "d"]].rename(columns={"d": "order_d"}), on=["oid", "sku"], how="left")
    ret["channel"] = ret["oid"].map(amazon_lines.groupby("oid")["channel"].min()).fillna("unallocated")
    ret["cost_d"] = ret["order_d"].fillna(ret["d"])
    facts.append(cost_cents(ret[["channel", "d", "cost_d", "sku", "qty"]]))

    # ---- wholesale invoices and credit notes ----
    wh = _read(landing, "wholesale_invoices/*.csv",
               ["document_type", "document_number", "original_document_number", "sku", "units", "unit_price",
                "discount", "currency", "invoice_date", "restock"],
               dtype={"document_type": "string", "document_number": "string", "original_document_number": "string",
                      "sku": "string", "currency": "string", "restock": "string", "units": "int64"},
               parse_dates=["invoice_date"])
    gross_cents = np.rint(wh["units"].to_numpy() * wh["unit_price"].to_numpy() * 100).astype("int64")
    wh["value"] = gross_cents - _cents(wh["discount"])
    inv, cn = wh[wh["document_type"].eq("invoice")], wh[wh["document_type"].eq("credit_note")]
    facts.append(convert(pd.DataFrame({"channel": "wholesale", "d": inv["invoice_date"], "cur": inv["currency"],
                                       "gross_sales": inv["value"] + _cents(inv["discount"]),
                                       "discounts": _cents(inv["discount"])}).reset_index(drop=True),
                         ["gross_sales", "discounts"]))
    facts.append(convert(pd.DataFrame({"channel": "wholesale", "d": cn["invoice_date"], "cur": cn["currency"],
                                       "returns": cn["value"]}).reset_index(drop=True), ["returns"]))
    facts.append(cost_cents(pd.DataFrame({"channel": "wholesale", "d": inv["invoice_date"],
                                          "cost_d": inv["invoice_date"], "sku": inv["sku"], "qty": inv["units"]})))
    inv_date = inv.groupby("document_number")["invoice_date"].min()
    restock = cn[cn["restock"].fillna("").str.lower().isin(["yes", "true", "1", "y"])]
    facts.append(cost_cents(pd.DataFrame({
        "channel": "wholesale", "d": restock["invoice_date"],
        "cost_d": restock["original_document_number"].map(inv_date).fillna(restock["invoice_date"]),
        "sku": restock["sku"], "qty": -restock["units"]})))

    # ---- 3PL charges: the channel of the order they reference ----
    tpl = _read(landing, "threepl_billing/*.csv", ["amount", "currency_code", "charge_date", "reference_id"],
                dtype={"reference_id": "string", "currency_code": "string"}, parse_dates=["charge_date"])
    ref_channel = pd.concat([orders["channel"], pd.Series("wholesale", index=inv_date.index)])
    facts.append(convert(pd.DataFrame({
        "channel": tpl["reference_id"].map(ref_channel).fillna("unallocated"), "d": tpl["charge_date"],
        "cur": tpl["currency_code"], "fulfillment_costs": _cents(tpl["amount"])}), ["fulfillment_costs"]))

    # ---- marketing: every platform, campaign → channel by the first matching rule ----
    ads = []
    ui = _read(landing, "google_ads/google_ads_campaign_report_*.csv", ["Day", "Campaign", "Currency code", "Cost"],
               skiprows=2, dtype="string")
    ui = ui[ui["Day"].notna() & ui["Cost"].notna()]
    ads.append(pd.DataFrame({"platform": "google_ads", "d": pd.to_datetime(ui["Day"]), "name": ui["Campaign"],
                             "cur": ui["Currency code"], "spend": _cents(ui["Cost"].str.replace(",", ""))}))
    api = _read(landing, "google_ads/google_ads_api_campaign_*.csv",
                ["segments.date", "campaign.name", "customer.currency_code", "metrics.cost_micros"],
                dtype={"campaign.name": "string", "customer.currency_code": "string", "metrics.cost_micros": "int64"},
                parse_dates=["segments.date"])
    ads.append(pd.DataFrame({"platform": "google_ads", "d": api["segments.date"], "name": api["campaign.name"],
                             "cur": api["customer.currency_code"],
                             "spend": _round_half_away(api["metrics.cost_micros"].to_numpy(), 10_000)}))
    meta = _read(landing, "meta_ads/*.csv", ["Day", "Campaign name", "Amount spent (USD)"],
                 dtype={"Campaign name": "string"}, parse_dates=["Day"])
    ads.append(pd.DataFrame({"platform": "meta_ads", "d": meta["Day"], "name": meta["Campaign name"], "cur": "USD",
                             "spend": _cents(meta["Amount spent (USD)"])}))
    pin = _read(landing, "pinterest_ads/*.csv", ["Date", "Campaign name", "Spend in account currency"],
                dtype={"Campaign name": "string"}, parse_dates=["Date"])
    ads.append(pd.DataFrame({"platform": "pinterest_ads", "d": pin["Date"], "name": pin["Campaign name"],
                             "cur": pinterest_currency, "spend": _cents(pin["Spend in account currency"])}))
    aads = _read(landing, "amazon_ads/*.csv", ["date", "campaignName", "campaignBudgetCurrencyCode", "cost"],
                 dtype={"campaignName": "string", "campaignBudgetCurrencyCode": "string"}, parse_dates=["date"])
    ads.append(pd.DataFrame({"platform": "amazon_ads", "d": aads["date"], "name": aads["campaignName"],
                             "cur": aads["campaignBudgetCurrencyCode"], "spend": _cents(aads["cost"])}))
    ads = pd.concat([a for a in ads if len(a)], ignore_index=True)
    channel = pd.Series(pd.NA, index=ads.index, dtype="string")
    for platform, how, pattern, target in campaign_rules():
        if how == "starts_with":
            hit = ads["name"].str.startswith(pattern)
        else:
            hit = ads["name"].str.contains(pattern, regex=False)
        if platform != "*":
            hit &= ads["platform"].eq(platform)
        channel = channel.mask(channel.isna() & hit.fillna(False), target)
    ads["channel"] = channel.fillna("unallocated")
    facts.append(convert(ads[["channel", "d", "cur"]].assign(marketing_spend=ads["spend"]), ["marketing_spend"]))

    # ---- operating costs: the month's amount at the rate of its first day ----
    opex = _read(landing, "operating_costs/*.csv", ["month", "channel", "amount", "currency"],
                 dtype={"month": "string", "channel": "string", "currency": "string"})
    facts.append(convert(pd.DataFrame({
        "channel": opex["channel"].replace("shared", "unallocated"), "d": pd.to_datetime(opex["month"] + "-01"),
        "cur": opex["currency"], "operating_costs": _cents(opex["amount"])}), ["operating_costs"]))

    # ---- the monthly P&L ----
    allf = pd.concat([f.drop(columns=["cur"], errors="ignore") for f in facts], ignore_index=True)
    allf[list(BASE_LINES)] = allf.reindex(columns=list(BASE_LINES)).fillna(0).astype("int64")
    allf["month"] = allf["d"].dt.to_period("M").dt.to_timestamp()
    m = allf.groupby(["channel", "month"], as_index=False)[list(BASE_LINES)].sum()
    m["net_sales"] = m["gross_sales"] - m["discounts"] - m["returns"]
    m["net_revenue"] = m["net_sales"] + m["shipping_income"]
    m["cm1"] = m["net_revenue"] - m["cogs"]
    m["cm2"] = m["cm1"] - m["fulfillment_costs"] - m["payment_fees"] - m["marketplace_fees"] + m["reimbursements"]
    m["cm3"] = m["cm2"] - m["marketing_spend"]
    m["contribution_after_opex"] = m["cm3"] - m["operating_costs"]
    columns = ["gross_sales", "discounts", "returns", "net_sales", "shipping_income", "net_revenue", "cogs", "cm1",
               "fulfillment_costs", "payment_fees", "marketplace_fees", "reimbursements", "cm2", "marketing_spend",
               "cm3", "operating_costs", "contribution_after_opex"]
    m[columns] = m[columns] / 100
    return m[["channel", "month", *columns]].sort_values(["month", "channel"], ignore_index=True)
