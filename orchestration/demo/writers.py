"""Vendor file writers: exact vendor headers, streaming rows to disk with the csv module.

A `Sink` is one open file; `MonthlyFeed` opens one sink per month lazily; `SettlementStream`
spools each Amazon settlement's component rows to a temporary file so the summary row (which
carries the total and comes first) can be written when the settlement closes. Nothing here holds
all rows of a file in memory.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from pathlib import Path

# ---- headers (exactly as the vendors write them; see shared/FORMATS.md) ----------------------
SHOPIFY_ORDERS = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code",
    "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping",
    "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing Street",
    "Billing Address1", "Billing Address2", "Billing Company", "Billing City", "Billing Zip",
    "Billing Province", "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street",
    "Shipping Address1", "Shipping Address2", "Shipping Company", "Shipping City", "Shipping Zip",
    "Shipping Province", "Shipping Country", "Shipping Phone", "Notes", "Note Attributes",
    "Cancelled at", "Payment Method", "Payment Reference", "Refunded Amount", "Vendor",
    "Outstanding Balance", "Employee", "Location", "Device ID", "Id", "Tags", "Risk Level", "Source",
    "Lineitem discount", "Tax 1 Name", "Tax 1 Value", "Tax 2 Name", "Tax 2 Value", "Tax 3 Name",
    "Tax 3 Value", "Tax 4 Name", "Tax 4 Value", "Tax 5 Name", "Tax 5 Value", "Phone",
    "Receipt Number", "Duties", "Billing Province Name", "Shipping Province Name", "Payment ID",
    "Payment Terms Name", "Next Payment Due At", "Payment References",
]
SO = {name: i for i, name in enumerate(SHOPIFY_ORDERS)}
SHOPIFY_PAYMENTS = [
    "Transaction Date", "Type", "Order", "Card Brand", "Card Source", "Payout Status", "Payout Date",
    "Payout ID", "Available On", "Amount", "Fee", "Net", "Checkout", "Payment Method Name",
    "Presentment Amount", "Presentment Currency", "Currency",
]
SETTLEMENT_V2 = [
    "settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount",
    "currency", "transaction-type", "order-id", "merchant-order-id", "adjustment-id", "shipment-id",
    "marketplace-name", "amount-type", "amount-description", "amount", "fulfillment-id",
    "posted-date", "posted-date-time", "order-item-code", "merchant-order-item-id",
    "merchant-adjustment-item-id", "sku", "quantity-purchased", "promotion-id",
]
SETTLEMENT_LEGACY = [
    "settlement-id", "settlement-start-date", "settlement-end-date", "deposit-date", "total-amount",
    "currency", "transaction-type", "order-id", "merchant-order-id", "adjustment-id", "shipment-id",
    "marketplace-name", "shipment-fee-type", "shipment-fee-amount", "order-fee-type",
    "order-fee-amount", "fulfillment-id", "posted-date", "order-item-code", "merchant-order-item-id",
    "merchant-adjustment-item-id", "sku", "quantity-purchased", "price-type", "price-amount",
    "item-related-fee-type", "item-related-fee-amount", "misc-fee-amount", "other-fee-amount",
    "other-fee-reason-description", "promotion-id", "promotion-type", "promotion-amount",
    "direct-payment-type", "direct-payment-amount", "other-amount",
]
SETTLEMENT_LEGACY_OLD = [h for h in SETTLEMENT_LEGACY
                         if h not in ("promotion-id", "promotion-type", "promotion-amount")]
AMAZON_ORDERS = [
    "amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date", "order-status",
    "fulfillment-channel", "sales-channel", "order-channel", "ship-service-level", "product-name",
    "sku", "asin", "item-status", "quantity", "currency", "item-price", "item-tax", "shipping-price",
    "shipping-tax", "gift-wrap-price", "gift-wrap-tax", "item-promotion-discount",
    "ship-promotion-discount", "ship-city", "ship-state", "ship-postal-code", "ship-country",
    "promotion-ids", "is-business-order", "purchase-order-number", "price-designation",
]
AMAZON_RETURNS = [
    "return-date", "order-id", "sku", "asin", "fnsku", "product-name", "quantity",
    "fulfillment-center-id", "detailed-disposition", "reason", "status", "license-plate-number",
    "customer-comments",
]
WHOLESALE = [
    "document_type", "document_number", "line_number", "original_document_number",
    "customer_account", "customer_name", "payment_terms", "sku", "units", "unit_price", "discount",
    "currency", "invoice_date", "ship_date", "due_date", "paid_date", "restock",
]
GOOGLE_UI = ["Campaign type", "Campaign", "Day", "Currency code", "Cost", "Clicks", "Impr.", "CTR",
             "Avg. CPC", "Conversions", "Conv. rate", "Conv. value", "Cost / conv."]
GOOGLE_API = ["segments.date", "campaign.id", "campaign.name", "customer.currency_code",
              "metrics.impressions", "metrics.clicks", "metrics.cost_micros", "metrics.conversions",
              "metrics.conversions_value"]
META = ["Day", "Campaign name", "Ad set name", "Ad name", "Amount spent (USD)", "Impressions",
        "Reach", "Link clicks", "Purchases", "Purchases conversion value", "Reporting starts",
        "Reporting ends"]
PINTEREST = ["Date", "Campaign name", "Ad group name", "Spend in account currency", "Impressions",
             "Reach", "Outbound clicks", "Saves", "Engagements", "Total conversions (Checkout)",
             "Total order value (Checkout)"]
AMAZON_ADS = ["date", "campaignId", "campaignName", "campaignStatus", "campaignBudgetAmount",
              "campaignBudgetCurrencyCode", "impressions", "clicks", "cost", "purchases7d", "sales7d",
              "unitsSoldClicks7d"]
THREEPL = ["transaction_id", "amount", "currency_code", "charge_date", "invoice_id", "invoice_date",
           "invoice_type", "transaction_fee", "reference_id", "reference_type", "fulfillment_center"]
COGS = ["sku", "unit_cost", "currency", "effective_from"]
OPERATING_COSTS = ["month", "channel", "cost_type", "amount", "currency"]
FX_RATES = ["date", "currency", "rate_to_usd"]
SESSIONS = ["date", "channel", "sessions"]
INVENTORY = ["date", "location", "sku", "on_hand", "sellable", "inbound", "snapshot_at"]
CHANNEL_TARGETS = ["month", "channel", "net_revenue_target", "orders_target",
                   "conversion_rate_target", "marketing_spend_budget", "cm3_margin_target"]

# feed -> (file name pattern, header, delimiter); {m} = YYYY-MM
FEEDS = {
    "shopify_orders": ("orders_export_{m}.csv", SHOPIFY_ORDERS, ","),
    "shopify_payments": ("payment_transactions_export_{m}.csv", SHOPIFY_PAYMENTS, ","),
    "amazon_orders": ("all_orders_{m}.txt", AMAZON_ORDERS, "\t"),
    "amazon_returns_US": ("fba_customer_returns_US_{m}.txt", AMAZON_RETURNS, "\t"),
    "amazon_returns_CA": ("fba_customer_returns_CA_{m}.txt", AMAZON_RETURNS, "\t"),
    "wholesale_invoices": ("wholesale_invoices_{m}.csv", WHOLESALE, ","),
    "google_ads_ui": ("google_ads_campaign_report_{m}.csv", GOOGLE_UI, ","),
    "google_ads_api": ("google_ads_api_campaign_{m}.csv", GOOGLE_API, ","),
    "meta_ads": ("meta_ads_{m}.csv", META, ","),
    "pinterest_ads": ("pinterest_ads_{m}.csv", PINTEREST, ","),
    "amazon_ads_US": ("sp_campaigns_US_{m}.csv", AMAZON_ADS, ","),
    "amazon_ads_CA": ("sp_campaigns_CA_{m}.csv", AMAZON_ADS, ","),
    "threepl_billing": ("shipbob_transactions_{m}.csv", THREEPL, ","),
    "operating_costs": ("operating_costs_{m}.csv", OPERATING_COSTS, ","),
    "fx_rates": ("fx_rates_{m}.csv", FX_RATES, ","),
    "sessions": ("sessions_{m}.csv", SESSIONS, ","),
    "inventory_snapshots": ("inventory_{m}.csv", INVENTORY, ","),
}


# ---- value formatting --------------------------------------------------------------------------
def iso_ts(d: date, secs: int, tz: tzinfo | None = None) -> str:
    """`2026-05-04T14:22:33+00:00`: the instant of second-of-day `secs` on day `d` on the clock of `tz`
    (UTC when None), written in UTC as Amazon does."""
    h, rem = divmod(secs, 3600)
    if tz is not None:
        local = datetime.combine(d, time(h, rem // 60, rem % 60), tz)
        return local.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return f"{d.isoformat()}T{h:02d}:{rem // 60:02d}:{rem % 60:02d}+00:00"


def legacy_ts(d: date, secs: int = 8 * 3600) -> str:
    h, rem = divmod(secs, 3600)
    return f"{d:%d.%m.%Y} {h:02d}:{rem // 60:02d}:{rem % 60:02d} UTC"


def thousands(v: Decimal) -> str:
    """Google UI money: `1,234.50` when >= 1000."""
    return f"{v:,.2f}"


class LocalClock:
    """Formats epoch seconds as Shopify does: `2026-05-04 10:22:33 -0400` in the store's zone.

    DST transitions happen on whole UTC hours, so the local hour prefix is cached per UTC hour."""

    def __init__(self, tz):
        self.tz = tz
        self._cache: dict[int, tuple[str, str, str]] = {}

    def fmt(self, ts: int) -> tuple[str, str]:
        """(timestamp text, local YYYY-MM-DD)."""
        hour = ts // 3600
        hit = self._cache.get(hour)
        if hit is None:
            local = datetime.fromtimestamp(hour * 3600, self.tz)
            hit = (local.strftime("%Y-%m-%d %H:"), local.strftime("%z"), local.strftime("%Y-%m-%d"))
            if len(self._cache) > 5000:
                self._cache.clear()
            self._cache[hour] = hit
        rem = ts % 3600
        return f"{hit[0]}{rem // 60:02d}:{rem % 60:02d} {hit[1]}", hit[2]


# ---- sinks -------------------------------------------------------------------------------------
class Sink:
    """One vendor file being written. `lines` counts physical lines; `rows` counts data rows."""

    def __init__(self, registry: "Registry", feed: str, path: Path, header: list[str], *,
                 delimiter: str = ",", crlf: bool = False, bom: bool = False,
                 preamble: tuple[str, ...] = ()):
        self.feed, self.path = feed, path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.f = open(path, "w", newline="", encoding="utf-8-sig" if bom else "utf-8", buffering=1 << 20)
        self.eol = "\r\n" if crlf else "\n"
        for line in preamble:
            self.f.write(line + self.eol)
        self.w = csv.writer(self.f, delimiter=delimiter, lineterminator=self.eol)
        self.w.writerow(header)
        self.lines = len(preamble) + 1
        self.rows = 0
        self.extra: list = []  # non-data rows written on close (Google "Total:" rows)
        registry.add(self)

    def row(self, values: list) -> int:
        """Write one data row; return its 1-based physical line number."""
        self.w.writerow(values)
        self.lines += 1
        self.rows += 1
        return self.lines

    def close(self) -> None:
        if self.f is not None:
            for values in self.extra:
                self.w.writerow(values)
            self.f.close()
            self.f = None


class Registry:
    """Every file written, for files.csv and the summary."""

    def __init__(self):
        self.sinks: list[Sink] = []
        self.copies: list[tuple[str, Path, int]] = []

    def add(self, sink: Sink) -> None:
        self.sinks.append(sink)

    def close(self) -> None:
        for s in self.sinks:
            s.close()

    def files(self) -> list[tuple[str, str, int]]:
        out = [(s.feed, s.path.name, s.rows) for s in self.sinks]
        out += [(feed, p.name, rows) for feed, p, rows in self.copies]
        return sorted(out)


class MonthlyFeed:
    """One file per month (`{m}` = YYYY-MM), opened on first use."""

    def __init__(self, registry: Registry, landing: Path, key: str, *, crlf=False, bom=False,
                 feed: str | None = None, preamble=None):
        self.pattern, self.header, self.delimiter = FEEDS[key]
        self.feed = feed or key
        self.registry, self.dir = registry, landing / self.feed
        self.crlf, self.bom, self.preamble = crlf, bom, preamble
        self.headers: dict[str, list[str]] = {}  # per-month header override (messy demo)
        self.open: dict[str, Sink] = {}

    def get(self, month: str) -> Sink:
        sink = self.open.get(month)
        if sink is None:
            pre = self.preamble(month) if self.preamble else ()
            sink = Sink(self.registry, self.feed, self.dir / self.pattern.format(m=month),
                        self.headers.get(month, self.header),
                        delimiter=self.delimiter, crlf=self.crlf, bom=self.bom, preamble=pre)
            self.open[month] = sink
        return sink

    def close_before(self, month: str) -> None:
        """Close every file of an earlier month (bounded number of open handles)."""
        for m in [m for m in self.open if m < month]:
            self.open.pop(m).close()


class SettlementStream:
    """Amazon settlements of one marketplace: one spooled temp file per 14-day period."""

    def __init__(self, registry: Registry, folder: Path, marketplace: str, currency: str,
                 layout: str, periods: list[tuple[date, date]], base_id: int, tz: tzinfo | None = None):
        self.registry, self.folder, self.tz = registry, folder, tz  # tz: the clock of the posted days
        self.marketplace, self.currency, self.layout = marketplace, currency, layout
        self.periods, self.base_id = periods, base_id
        self.spool: dict[int, list] = {}  # period -> [tempfile, writer, total, count]
        self.summaries: list[tuple] = []
        # truth of the month-end split: (settlement id, posted month, transaction type, amount type,
        # description) -> Σ amount, as the lines are written
        self.components: dict[tuple[str, str, str, str, str], Decimal] = {}

    def header(self, k: int) -> list[str]:
        if self.layout == "v2":
            return SETTLEMENT_V2
        return SETTLEMENT_LEGACY_OLD if k == 0 else SETTLEMENT_LEGACY

    def settlement_id(self, k: int) -> str:
        return str(self.base_id + 1013 * k)

    def add(self, k: int, ttype: str, amount_type: str, desc: str, amount: Decimal, posted: date,
            secs: int, order_id: str = "", shipment_id: str = "", adjustment_id: str = "",
            item_code: str = "", sku: str = "", qty: str = "", promo_id: str = "",
            adj_item_id: str = "") -> None:
        sp = self.spool.get(k)
        if sp is None:
            f = tempfile.TemporaryFile("w+", newline="", encoding="utf-8")
            sp = self.spool[k] = [f, csv.writer(f, delimiter="\t", lineterminator="\n"), Decimal(0), 0]
        sp[2] += amount
        sp[3] += 1
        sid = self.settlement_id(k)
        part = (sid, f"{posted:%Y-%m}", ttype, amount_type, desc)
        self.components[part] = self.components.get(part, Decimal(0)) + amount
        fee_row = amount_type in ("other-transaction", "FBA Inventory Reimbursement")
        mkt = "" if amount_type == "other-transaction" else self.marketplace
        fid = "" if fee_row else "AFN"
        amt = str(amount)
        if self.layout == "v2":
            sp[1].writerow([sid, "", "", "", "", "", ttype, order_id, "", adjustment_id, shipment_id,
                            mkt, amount_type, desc, amt, fid, posted.isoformat(), iso_ts(posted, secs, self.tz),
                            item_code, "", adj_item_id, sku, qty, promo_id])
            return
        r = [sid, "", "", "", "", "", ttype, order_id, "", adjustment_id, shipment_id, mkt, "", "", "",
             "", fid, f"{posted:%d.%m.%Y}", item_code, "", adj_item_id, sku, qty,
             "", "", "", "", "", "", "", "", "", "", "", "", ""]
        if amount_type == "ItemPrice":
            r[23], r[24] = desc, amt
        elif amount_type == "ItemFees":
            r[25], r[26] = desc, amt
        elif amount_type == "Promotion":
            r[30], r[31], r[32] = promo_id, desc, amt
        else:  # Storage Fee / Subscription Fee / reimbursements: own transaction type, other-amount
            r[6], r[35] = desc, amt
        if k == 0:  # older layout without the promotion columns
            assert amount_type != "Promotion", "first legacy settlement must carry no promotions"
            del r[30:33]
        sp[1].writerow(r)

    def finalize(self) -> None:
        for k, (start, end) in enumerate(self.periods):
            sp = self.spool.get(k)
            total, count = (sp[2], sp[3]) if sp else (Decimal("0.00"), 0)
            sid = self.settlement_id(k)
            deposit = end + timedelta(days=2)
            if self.layout == "v2":
                dates = [f"{d.isoformat()}T08:00:00+00:00" for d in (start, end, deposit)]
            else:
                dates = [legacy_ts(d) for d in (start, end, deposit)]
            header = self.header(k)
            sink = Sink(self.registry, "amazon_settlements", self.folder / f"settlement_{sid}.txt",
                        header, delimiter="\t")
            summary = [sid, *dates, str(total), self.currency] + [""] * (len(header) - 6)
            sink.w.writerow(summary)
            sink.lines += 1
            sink.f.flush()
            if sp:
                sp[0].seek(0)
                shutil.copyfileobj(sp[0], sink.f)
                sp[0].close()
                sink.lines += count
                sink.rows += count
            sink.close()
            self.summaries.append((sid, self.marketplace, self.layout, start.isoformat(),
                                   end.isoformat(), self.currency, str(total), count))
