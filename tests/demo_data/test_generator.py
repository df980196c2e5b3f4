"""Demo data generator: determinism, vendor headers, settlement totals, truth identities, messy defects.

The expected headers are copied from shared/FORMATS.md (and the wholesale template) on purpose:
nothing is imported from the generator except `generate`. Campaigns are mapped to channels by the
rules of dbt_project/seeds/campaign_channel_rules.csv (connectors.seeds), as the warehouse does.
"""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from itertools import chain
from pathlib import Path

import pytest

from connectors.seeds import campaign_channel
from orchestration.demo import generate

SMALL = dict(days=30, orders_per_day=40, seed=7, end=date(2026, 10, 31))

SHOPIFY_ORDERS = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,Currency,"
    "Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,Created at,"
    "Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,Lineitem sku,"
    "Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,Billing Name,"
    "Billing Street,Billing Address1,Billing Address2,Billing Company,Billing City,Billing Zip,"
    "Billing Province,Billing Country,Billing Phone,Shipping Name,Shipping Street,Shipping Address1,"
    "Shipping Address2,Shipping Company,Shipping City,Shipping Zip,Shipping Province,Shipping Country,"
    "Shipping Phone,Notes,Note Attributes,Cancelled at,Payment Method,Payment Reference,"
    "Refunded Amount,Vendor,Outstanding Balance,Employee,Location,Device ID,Id,Tags,Risk Level,Source,"
    "Lineitem discount,Tax 1 Name,Tax 1 Value,Tax 2 Name,Tax 2 Value,Tax 3 Name,Tax 3 Value,"
    "Tax 4 Name,Tax 4 Value,Tax 5 Name,Tax 5 Value,Phone,Receipt Number,Duties,Billing Province Name,"
    "Shipping Province Name,Payment ID,Payment Terms Name,Next Payment Due At,Payment References"
).split(",")
V2 = ("settlement-id, settlement-start-date, settlement-end-date, deposit-date, total-amount, currency, "
      "transaction-type, order-id, merchant-order-id, adjustment-id, shipment-id, marketplace-name, "
      "amount-type, amount-description, amount, fulfillment-id, posted-date, posted-date-time, "
      "order-item-code, merchant-order-item-id, merchant-adjustment-item-id, sku, quantity-purchased, "
      "promotion-id").split(", ")
LEGACY = ("settlement-id, settlement-start-date, settlement-end-date, deposit-date, total-amount, currency, "
          "transaction-type, order-id, merchant-order-id, adjustment-id, shipment-id, marketplace-name, "
          "shipment-fee-type, shipment-fee-amount, order-fee-type, order-fee-amount, fulfillment-id, "
          "posted-date, order-item-code, merchant-order-item-id, merchant-adjustment-item-id, sku, "
          "quantity-purchased, price-type, price-amount, item-related-fee-type, item-related-fee-amount, "
          "misc-fee-amount, other-fee-amount, other-fee-reason-description, promotion-id, promotion-type, "
          "promotion-amount, direct-payment-type, direct-payment-amount, other-amount").split(", ")
LEGACY_OLD = [h for h in LEGACY if h not in ("promotion-id", "promotion-type", "promotion-amount")]
HEADERS = {
    "shopify_orders": SHOPIFY_ORDERS,
    "shopify_payments": ("Transaction Date, Type, Order, Card Brand, Card Source, Payout Status, Payout Date, "
                         "Payout ID, Available On, Amount, Fee, Net, Checkout, Payment Method Name, "
                         "Presentment Amount, Presentment Currency, Currency").split(", "),
    "amazon_orders": ("amazon-order-id, merchant-order-id, purchase-date, last-updated-date, order-status, "
                      "fulfillment-channel, sales-channel, order-channel, ship-service-level, product-name, "
                      "sku, asin, item-status, quantity, currency, item-price, item-tax, shipping-price, "
                      "shipping-tax, gift-wrap-price, gift-wrap-tax, item-promotion-discount, "
                      "ship-promotion-discount, ship-city, ship-state, ship-postal-code, ship-country, "
                      "promotion-ids, is-business-order, purchase-order-number, price-designation").split(", "),
    "amazon_returns": ("return-date, order-id, sku, asin, fnsku, product-name, quantity, fulfillment-center-id, "
                       "detailed-disposition, reason, status, license-plate-number, customer-comments").split(", "),
    "wholesale_invoices": ("document_type,document_number,line_number,original_document_number,customer_account,"
                           "customer_name,payment_terms,sku,units,unit_price,discount,currency,invoice_date,"
                           "ship_date,due_date,paid_date,restock").split(","),
    "google_ads_ui": ("Campaign type, Campaign, Day, Currency code, Cost, Clicks, Impr., CTR, Avg. CPC, "
                      "Conversions, Conv. rate, Conv. value, Cost / conv.").split(", "),
    "google_ads_api": ("segments.date, campaign.id, campaign.name, customer.currency_code, metrics.impressions, "
                       "metrics.clicks, metrics.cost_micros, metrics.conversions, "
                       "metrics.conversions_value").split(", "),
    "meta_ads": ("Day, Campaign name, Ad set name, Ad name, Amount spent (USD), Impressions, Reach, Link clicks, "
                 "Purchases, Purchases conversion value, Reporting starts, Reporting ends").split(", "),
    "pinterest_ads": ("Date, Campaign name, Ad group name, Spend in account currency, Impressions, Reach, "
                      "Outbound clicks, Saves, Engagements, Total conversions (Checkout), "
                      "Total order value (Checkout)").split(", "),
    "amazon_ads": ("date,campaignId,campaignName,campaignStatus,campaignBudgetAmount,campaignBudgetCurrencyCode,"
                   "impressions,clicks,cost,purchases7d,sales7d,unitsSoldClicks7d").split(","),
    "threepl_billing": ("transaction_id, amount, currency_code, charge_date, invoice_id, invoice_date, "
                        "invoice_type, transaction_fee, reference_id, reference_type, "
                        "fulfillment_center").split(", "),
    "cogs": ["sku", "unit_cost", "currency", "effective_from"],
    "operating_costs": ["month", "channel", "cost_type", "amount", "currency"],
    "fx_rates": ["date", "currency", "rate_to_usd"],
    "sessions": ["date", "channel", "sessions"],
    "inventory_snapshots": ["date", "location", "sku", "on_hand", "sellable", "inbound", "snapshot_at"],
    "channel_targets": ["month", "channel", "net_revenue_target", "orders_target", "conversion_rate_target",
                        "marketing_spend_budget", "cm3_margin_target"],
}
CHANNELS = ["shopify_web", "shopify_pos", "amazon_us", "amazon_ca", "wholesale", "unallocated"]
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("clean")
    generate(home, **SMALL)
    return home


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("messy")
    generate(home, messy=True, **SMALL)
    return home


def _text(path: Path) -> str:
    """A file's text whatever its vendor encoding (UTF-8 with or without BOM, UTF-16 with BOM)."""
    raw = path.read_bytes()
    return raw.decode("utf-16") if raw.startswith(b"\xff\xfe") else raw.decode("utf-8-sig")


def _rows(path: Path, delimiter: str = ",", skip: int = 0) -> list[list[str]]:
    lines = _text(path).splitlines()[skip:]
    if delimiter == "," and lines and "\t" in lines[0]:
        delimiter = "\t"  # a tab-separated download (Google's Excel CSV)
    return list(csv.reader(lines, delimiter=delimiter))


def _dicts(path: Path, delimiter: str = ",", skip: int = 0) -> list[dict]:
    rows = _rows(path, delimiter, skip)
    # not strict: exports end with footnote rows of one field (ShipBob's "* Storage is billed …")
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:] if r and r[0] and not r[0].startswith("Total:")]


def _truth(home: Path, name: str) -> list[dict]:
    with open(home / "demo" / "truth" / name, newline="") as f:
        return list(csv.DictReader(f))


def _digest(home: Path) -> dict[str, str]:
    return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(home.rglob("*")) if p.is_file()}


def test_deterministic(clean, tmp_path):
    summary = generate(tmp_path, **SMALL)
    assert _digest(tmp_path) == _digest(clean)
    assert summary["shopify_orders"]["rows"] > 0 and summary["truth_dir"].endswith("truth")


def test_every_file_has_the_vendor_header(clean):
    landing = clean / "landing"
    seen = set()
    for path in sorted(landing.rglob("*.*")):
        feed = path.parent.name
        seen.add(feed)
        if feed == "amazon_settlements":
            header = _rows(path, "\t")[0]
            assert header in (V2, LEGACY, LEGACY_OLD), path.name
            continue
        delimiter = "\t" if path.suffix == ".txt" else ","
        if feed == "google_ads":
            ui = path.read_text().startswith("Campaign report")
            rows = _rows(path, skip=2 if ui else 0)
            assert rows[0] == HEADERS["google_ads_ui" if ui else "google_ads_api"], path.name
            continue
        assert _rows(path, delimiter)[0] == HEADERS[feed], path.name
    assert seen == set(HEADERS) - {"google_ads_ui", "google_ads_api"} | {"google_ads", "amazon_settlements"}
    layouts = {r["layout"] for r in _truth(clean, "settlements.csv")}
    assert layouts == {"v2", "legacy"}
    opts = (clean / "config" / "feed_options.yml").read_text()
    assert "pinterest_ads: {currency: USD}" in opts and opts.startswith("#")


def test_settlement_summary_equals_components(clean):
    truth = {r["settlement_id"]: r for r in _truth(clean, "settlements.csv")}
    files = sorted((clean / "landing" / "amazon_settlements").glob("settlement_*.txt"))
    assert len(files) == len(truth) >= 4
    old_layout = 0
    for path in files:
        rows = _rows(path, "\t")
        header = rows[0]
        summary, comps = dict(zip(header, rows[1], strict=True)), [dict(zip(header, r, strict=True)) for r in rows[2:]]
        old_layout += header == LEGACY_OLD
        amount_cols = [c for c in ("amount", "price-amount", "item-related-fee-amount", "promotion-amount",
                                   "other-amount", "shipment-fee-amount", "order-fee-amount",
                                   "misc-fee-amount", "other-fee-amount", "direct-payment-amount") if c in header]
        total = Decimal(0)
        for c in comps:
            values = [c[k] for k in amount_cols if c[k]]
            assert len(values) == 1, c  # one component per row
            total += Decimal(values[0])
            if c["transaction-type"] not in ("Storage Fee", "Subscription Fee") and \
                    c.get("amount-description") not in ("Storage Fee", "Subscription Fee"):
                assert c["marketplace-name"] in ("Amazon.com", "Amazon.ca")
        assert Decimal(summary["total-amount"]) == total, path.name
        assert all(summary[k] == "" for k in header[6:])
        t = truth[summary["settlement-id"]]
        assert Decimal(t["total_amount"]) == total and int(t["components"]) == len(comps)
    assert old_layout == 1  # only the first CA file uses the older layout


def test_pnl_identities_and_channels(clean):
    pnl = _truth(clean, "pnl_daily.csv")
    totals = defaultdict(lambda: defaultdict(Decimal))
    for r in pnl:
        v = {k: Decimal(x) for k, x in r.items() if k not in ("channel", "date")}
        assert all(x == x.quantize(CENT) and len(r[k].split(".")[1]) == 2 for k, x in v.items())
        assert v["net_sales"] == v["gross_sales"] - v["discounts"] - v["returns"]
        assert v["net_revenue"] == v["net_sales"] + v["shipping_income"]
        assert v["cm1"] == v["net_revenue"] - v["cogs"]
        assert v["cm2"] == (v["cm1"] - v["fulfillment_costs"] - v["payment_fees"] - v["marketplace_fees"]
                            + v["reimbursements"])
        assert v["cm3"] == v["cm2"] - v["marketing_spend"]
        assert v["contribution_after_opex"] == v["cm3"] - v["operating_costs"]
        assert any(v.values())
        for k, x in v.items():
            totals[r["channel"]][k] += x
    assert list(dict.fromkeys(r["channel"] for r in pnl)) == CHANNELS
    for ch in CHANNELS[:5]:
        t = totals[ch]
        assert t["gross_sales"] > 1000 and t["cogs"] > 0 and t["operating_costs"] > 0, ch
        assert t["net_revenue"] > 0 and t["cm1"] > 0
    assert totals["shopify_web"]["payment_fees"] > 0 and totals["shopify_web"]["returns"] > 0
    assert totals["amazon_us"]["marketplace_fees"] > 0 and totals["amazon_us"]["fulfillment_costs"] > 0
    assert totals["wholesale"]["fulfillment_costs"] > 0 and totals["shopify_pos"]["marketing_spend"] > 0
    un = totals["unallocated"]
    assert un["gross_sales"] == 0 and un["marketing_spend"] > 0 and un["fulfillment_costs"] > 0
    assert un["operating_costs"] > 0
    # amazon_ca: small revenue, heavy operating costs
    assert totals["amazon_ca"]["contribution_after_opex"] < 0
    kpis = _truth(clean, "kpis_daily.csv")
    new = defaultdict(int)
    for r in kpis:
        new[r["channel"]] += int(r["new_customers"] or 0)
        assert (r["sessions"] == "") == (r["channel"] in ("shopify_pos", "wholesale"))
        assert (r["new_customers"] == "") == r["channel"].startswith("amazon")
    assert new["shopify_web"] > 0 and new["shopify_pos"] > 0 and new["wholesale"] > 0


def _fx(home: Path) -> dict:
    out = {}
    for p in (home / "landing" / "fx_rates").glob("*.csv"):
        for r in _dicts(p):
            out[(r["date"], r["currency"])] = Decimal(r["rate_to_usd"])
    return out


def _spend_from_files(home: Path) -> dict:
    """Marketing spend per (channel, day) recomputed from the ad files (blank costs skipped)."""
    landing, out = home / "landing", defaultdict(Decimal)
    for key, amount in chain(_google_spend(landing), _meta_spend(landing), _pinterest_spend(landing),
                             _amazon_ads_spend(landing, _fx(home))):
        out[key] += amount
    return {k: v for k, v in out.items() if v}


def _google_spend(landing: Path):
    for p in (landing / "google_ads").glob("*.csv"):
        ui = _text(p).startswith("Campaign report")
        for r in _dicts(p, skip=2 if ui else 0):
            if not ui:
                yield ((campaign_channel("google_ads", r["campaign.name"]), r["segments.date"]),
                       Decimal(r["metrics.cost_micros"]) / 1000000)
            elif r["Cost"]:
                yield (campaign_channel("google_ads", r["Campaign"]), r["Day"]), Decimal(r["Cost"].replace(",", ""))


def _meta_spend(landing: Path):
    for p in (landing / "meta_ads").glob("*.csv"):
        for r in _dicts(p):
            # 8-decimal floating-point spend (messy) is the cents the P&L books
            yield ((campaign_channel("meta_ads", r["Campaign name"]), r["Day"]),
                   Decimal(r["Amount spent (USD)"]).quantize(CENT, ROUND_HALF_UP))


def _pinterest_spend(landing: Path):
    for p in (landing / "pinterest_ads").glob("*.csv"):
        for r in _dicts(p):
            yield ((campaign_channel("pinterest_ads", r["Campaign name"]), r["Date"]),
                   Decimal(r["Spend in account currency"]))


def _amazon_ads_spend(landing: Path, fx: dict):
    for p in (landing / "amazon_ads").glob("*.csv"):
        for r in _dicts(p):
            if "Spend" in r:  # the Ads console download (messy): `Oct 2, 2026`, `$1,234.50`, Currency
                r = {"date": datetime.strptime(r["Date"], "%b %d, %Y").date().isoformat(),
                     "cost": r["Spend"].replace("$", "").replace(",", ""),
                     "campaignBudgetCurrencyCode": r["Currency"], "campaignName": r["Campaign Name"]}
            cost = Decimal(r["cost"])
            if r["campaignBudgetCurrencyCode"] != "USD":
                cost = (cost * fx[(r["date"], r["campaignBudgetCurrencyCode"])]).quantize(CENT, ROUND_HALF_UP)
            yield (campaign_channel("amazon_ads", r["campaignName"]), r["date"]), cost


@pytest.mark.parametrize("mode", ["clean", "messy"])
def test_truth_matches_files_for_spend_and_payment_fees(mode, request):
    home = request.getfixturevalue(mode)
    pnl = _truth(home, "pnl_daily.csv")
    truth_spend = {(r["channel"], r["date"]): Decimal(r["marketing_spend"]) for r in pnl
                   if Decimal(r["marketing_spend"])}
    assert truth_spend == _spend_from_files(home)
    bad_orders = set()
    if mode == "messy":
        for d in _truth(home, "defects.csv"):
            if d["kind"] == "bad_date":
                rows = _rows(home / "landing" / d["feed"] / d["file"])
                bad_orders.add(rows[int(d["line"]) - 1][0])
    fees = defaultdict(Decimal)
    for p in sorted((home / "landing" / "shopify_payments").glob("*.csv")):
        if "(1)" in p.name:
            continue  # the planted duplicate file
        for r in _dicts(p):
            ts = datetime.strptime(r["Transaction Date"], "%Y-%m-%d %H:%M:%S %z")  # the shop's clock: its local day
            # the Fee, and a processor charge outside it (the seeded chargeback fees: type adjustment)
            charge = -Decimal(r["Amount"]) if r["Type"] not in ("charge", "refund", "reserve", "payout") else 0
            fees[ts.date().isoformat()] += Decimal(r["Fee"]) + charge
    truth_fees = defaultdict(Decimal)
    for r in pnl:
        # the fee of a payment without its order (the quarantined one) is an unallocated payment fee
        if r["channel"].startswith("shopify") or r["channel"] == "unallocated":
            truth_fees[r["date"]] += Decimal(r["payment_fees"])
    assert {k: v for k, v in truth_fees.items() if v} == {k: v for k, v in fees.items() if v}
    assert len(bad_orders) == (1 if mode == "messy" else 0)


def test_files_csv_counts_data_rows(clean):
    for r in _truth(clean, "files.csv"):
        path = clean / "landing" / r["feed"] / r["file"]
        rows = [x for x in _rows(path, "\t" if path.suffix == ".txt" else ",") if x]
        skip = 1
        if r["feed"] == "amazon_settlements":
            skip = 2
        elif r["feed"] == "google_ads" and rows[0] == ["Campaign report"]:
            skip = 3
            rows = [x for x in rows if not x[0].startswith("Total:")]
        assert len(rows) - skip == int(r["data_rows"]), r["file"]


def test_messy_defects_at_recorded_lines(messy):
    defects = _truth(messy, "defects.csv")
    kinds = {d["kind"] for d in defects}
    assert kinds == {"bad_date", "missing_amount", "non_numeric", "missing_key", "duplicate_file",
                     "renamed_optional_column", "bom_crlf", "trailing_blank"}
    for d in defects:
        path = messy / "landing" / d["feed"] / d["file"]
        raw = path.read_bytes()
        # the messy All Orders report may be Seller Central's .csv download, in Windows-1252
        lines = (raw.decode("cp1252") if path.suffix == ".csv" and d["feed"] == "amazon_orders"
                 else _text(path)).splitlines()
        line = lines[int(d["line"]) - 1] if int(d["line"]) else None
        kind = d["kind"]
        if kind == "bad_date":
            assert "2026-13-45 25:00:00 -0400" in line and line.startswith("#")
        elif kind == "missing_amount":  # Google UI report, comma CSV or tab-separated Excel CSV
            delimiter = "\t" if "\t" in line else ","
            header = next(csv.reader([lines[2]], delimiter=delimiter))
            assert next(csv.reader([line], delimiter=delimiter))[header.index("Cost")] == ""
        elif kind == "non_numeric":  # 3PL amount, API layout or ShipBob's invoice download
            header = [h.lower() for h in next(csv.reader([lines[0]]))]
            assert next(csv.reader([line]))[header.index("amount")] == "N/A"
        elif kind == "missing_key":
            fields = next(csv.reader([line], delimiter="\t" if path.suffix == ".txt" else ","))
            assert fields[0] == "" and fields[2].startswith("20")
        elif kind == "duplicate_file":
            others = [p for p in path.parent.iterdir() if p != path]
            assert any(p.read_bytes() == raw for p in others)
        elif kind == "renamed_optional_column":
            assert "Reach (estimated)" in lines[0].split(",")
        elif kind == "bom_crlf":
            assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and raw.count(b"\n") == raw.count(b"\r\n")
        elif kind == "trailing_blank":
            assert raw.endswith(b"\n\n\n")


def test_messy_excludes_defective_events(clean, messy):
    """The messy truth differs from the clean one only by the excluded defective events."""
    def totals(home):
        t = defaultdict(Decimal)
        for r in _truth(home, "pnl_daily.csv"):
            t[(r["channel"], "gross")] += Decimal(r["gross_sales"])
            t[(r["channel"], "ful")] += Decimal(r["fulfillment_costs"])
            t[(r["channel"], "mktg")] += Decimal(r["marketing_spend"])
        return t
    c, m = totals(clean), totals(messy)
    assert m[("shopify_web", "gross")] < c[("shopify_web", "gross")]
    assert m[("amazon_us", "gross")] < c[("amazon_us", "gross")]
    assert m[("shopify_web", "mktg")] < c[("shopify_web", "mktg")]
    assert m[("shopify_web", "ful")] < c[("shopify_web", "ful")]
    for ch in ("shopify_pos", "amazon_ca", "wholesale", "unallocated"):  # no defect touches these
        for line in ("gross", "ful", "mktg"):
            assert m[(ch, line)] == c[(ch, line)], (ch, line)
    assert not (clean / "demo" / "truth" / "defects.csv").exists()
    assert not (clean / "landing" / "shopify_orders").glob("*.csv").__next__().read_bytes().startswith(b"\xef")


def _tsv(path: Path) -> list[dict]:
    rows = _rows(path, "\t")
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_messy_amazon_files_speak_the_real_dialects(messy):
    """`cwh demo --messy` writes the dialects real sellers download (dialects_amazon.py): All Orders
    as quoted Windows-1252 CSV with – and ™ in product names, the same sku twice in an order (both
    paid in the settlement), legacy quantity rows, and a settlement with decimal commas, each still
    adding up to its summary total."""
    landing = messy / "landing"
    csv_orders = sorted((landing / "amazon_orders").glob("*.csv"))
    assert len(csv_orders) == 1
    raw = csv_orders[0].read_bytes()
    assert raw.startswith(b'"amazon-order-id","merchant-order-id"') and b"\r\n" in raw
    text = raw.decode("cp1252")
    assert "\u2122 \u2013 " in text and all(line.startswith('"') for line in text.splitlines())
    orders = [dict(zip(r[0], x, strict=True)) for r in [_rows_of(text)] for x in r[1:]]
    seen: dict[tuple, list] = defaultdict(list)
    for r in orders:
        seen[(r["amazon-order-id"], r["sku"])].append(r)
    repeated = {k: v for k, v in seen.items() if k[0] and len(v) > 1}
    assert repeated, "no order lists a sku twice"
    for rows in repeated.values():
        assert [r["quantity"] for r in rows] == ["1", "1"] and rows[0]["item-price"] == rows[1]["item-price"]
    # the repeated items are two paid order items in the settlement: two order-item-codes
    components = [c for p in sorted((landing / "amazon_settlements").glob("*.txt")) for c in _tsv(p)
                  if c.get("amount-description") == "Principal" and c.get("transaction-type") == "Order"]
    codes = defaultdict(set)
    for c in components:
        codes[(c["order-id"], c["sku"])].add(c["order-item-code"])
    assert any(len(codes[k]) == 2 for k in repeated)
    # legacy settlements: a quantity row (no amount) opens each order item; components carry none
    legacy_amounts = ("price-amount", "item-related-fee-amount", "promotion-amount", "other-amount")
    comma_files = 0
    truth = {r["settlement_id"]: r for r in _truth(messy, "settlements.csv")}
    for path in sorted((landing / "amazon_settlements").glob("*.txt")):
        rows = _tsv(path)
        summary, comps = rows[0], rows[1:]
        if "price-amount" not in summary:
            continue
        quantity_rows = [c for c in comps if c["quantity-purchased"] and not any(c.get(a) for a in legacy_amounts)]
        amounts = [c for c in comps if any(c.get(a) for a in legacy_amounts)]
        items = [c for c in amounts if c["transaction-type"] in ("Order", "Refund")]
        assert quantity_rows and items and all(not c["quantity-purchased"] for c in items)
        uses_commas = "," in summary["total-amount"]
        comma_files += uses_commas
        total = sum(_amount(c[a], uses_commas) for c in amounts for a in legacy_amounts if c.get(a))
        assert total == _amount(summary["total-amount"], uses_commas) == Decimal(
            truth[summary["settlement-id"]]["total_amount"])
        assert len(amounts) == int(truth[summary["settlement-id"]]["components"])
    assert comma_files == 1


def _amount(text: str, decimal_comma: bool) -> Decimal:
    """A settlement amount: `1.234,56` in a file that writes decimal commas, `1234.56` otherwise."""
    return Decimal(text.replace(".", "").replace(",", ".") if decimal_comma else text)


def _rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(text.splitlines()))


def test_messy_demo_speaks_the_marketing_and_3pl_dialects(messy):
    """Google's Excel CSV, Ads console exports in USD and CAD, a Meta age × gender breakdown with
    8-decimal spend and ShipBob's invoice download are in the messy demo (their spend is checked
    against the truth in test_truth_matches_files_for_spend_and_payment_fees)."""
    landing = messy / "landing"
    (google,) = list((landing / "google_ads").glob("*.csv"))
    assert google.read_bytes().startswith(b"\xff\xfeC\x00") and "\tCost\t" in _text(google)
    consoles = {r["Currency"] for p in (landing / "amazon_ads").glob("*.csv") for r in _dicts(p)}
    assert consoles == {"USD", "CAD"}
    (meta,) = list((landing / "meta_ads").glob("*.csv"))
    rows = _dicts(meta)
    assert {"Age", "Gender"} <= set(rows[0]) and len({(r["Day"], r["Ad name"]) for r in rows}) < len(rows)
    assert any(len(r["Amount spent (USD)"].split(".")[1]) == 8 for r in rows)
    (shipbob,) = list((landing / "threepl_billing").glob("*.csv"))
    rows = _dicts(shipbob)
    assert all(r["Amount"].startswith("$ ") or r["Amount"] == "N/A" for r in rows if r["Invoice Number"][0].isdigit())
    assert any(len(r["Amount"].split(".")[-1]) == 4 for r in rows if r["Invoice Type"] == "WarehouseStorage")
    assert _text(shipbob).rstrip().splitlines()[-3].startswith("Total:")
