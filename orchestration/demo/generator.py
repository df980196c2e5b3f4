"""Event simulation for the demo brand, written as vendor files, with its own ground truth.

The simulation walks the window day by day: days of the shop's time zone (America/New_York by
default, written into the home's config/settings.yml), so every event's truth day is its local day.
Every event (order line, payment, refund,
settlement component, ad row, 3PL charge …) is written to its vendor file when it happens and, at
the same moment, booked into the truth P&L (channel × day) following docs/metrics.md. The truth is
computed from the events, never by reading the files back. Files are streamed: the only
per-row state kept is bounded (pending refunds/charges of the next days, spooled settlements).
"""

from __future__ import annotations

import calendar
import csv
import random
import shutil
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from connectors.seeds import campaign_channel, refund_restock_shares  # the truth books ad spend by the seed's rules

from . import catalog as C
from . import writers as W
from .accrual_truth import README as ACCRUAL_README
from .accrual_truth import AccrualTruth
from .catalog import SKUS, q2
from .demand_truth import TRUTH_README as DEMAND_README
from .demand_truth import WEEKDAY_FACTORS, DemandTruth
from .dialects_amazon import write_messy_dialects as write_amazon_dialects
from .dialects_marketing import write_messy_dialects as write_marketing_dialects
from .inventory_truth import TRUTH_README as INVENTORY_README
from .inventory_truth import InventoryTruth
from .kpi_truth import TRUTH_README as KPI_README
from .kpi_truth import KpiTruth
from .readback_truth import TRUTH_README as READBACK_README
from .readback_truth import ReadbackTruth
from .recon_truth import TRUTH_README as RECON_README
from .recon_truth import ReconTruth

GROSS, DISC, RET, SHIP, COGS, FUL, PAY, MKT, MKTG, OPEX, REIMB = range(11)  # REIMB: reimbursements (a credit)
D0 = Decimal("0.00")
EPOCH_ORD = date(1970, 1, 1).toordinal()
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
PNL_HEADER = ["channel", "date", "gross_sales", "discounts", "returns", "net_sales",
              "shipping_income", "net_revenue", "cogs", "cm1", "fulfillment_costs", "payment_fees",
              "marketplace_fees", "reimbursements", "cm2", "marketing_spend", "cm3", "operating_costs",
              "contribution_after_opex"]
FEE_WEB_PCT, FEE_WEB_FIXED, FEE_POS_PCT = Decimal("0.029"), Decimal("0.30"), Decimal("0.027")


def month_of(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def money(v: Decimal) -> str:
    return f"{v:.2f}" if v else "0.00"


def _amz_sale_components(ip: Decimal, ship: Decimal, tax: Decimal, promo: Decimal, promo_id: str, sp: Decimal,
                         comm: Decimal, fba: Decimal) -> list[tuple[str, str, Decimal, dict]]:
    """A sold item's settlement lines, in the report's order: (amount type, description, amount, extras)."""
    lines = [("ItemPrice", "Principal", ip, {})]
    if ship:
        lines.append(("ItemPrice", "Shipping", ship, {}))
    lines.append(("ItemPrice", "Tax", tax, {}))
    if promo:
        lines.append(("Promotion", "Principal", -promo, {"promo_id": promo_id}))
    if sp:
        lines.append(("Promotion", "Shipping", -sp, {"promo_id": "Free Shipping"}))
    lines.append(("ItemFees", "Commission", -comm, {}))
    lines.append(("ItemFees", "FBAPerUnitFulfillmentFee", -fba, {}))
    return lines


@dataclass
class _ShopOrder:
    """One simulated Shopify order: what was drawn for it, before it is booked and written."""
    d: date
    ts: int
    seq: int
    name: str
    created: str
    local_day: str
    ch: str
    pos: bool
    cancelled: bool
    cidx: int  # customer index, -1 for a walk-in without email
    lines: list[tuple]  # (sku, qty, gross, line discount)
    units: int
    gross_total: Decimal
    disc_amount: Decimal
    code: str
    code_amt: Decimal
    subtotal: Decimal
    city: tuple
    ship: Decimal
    ship_method: str
    rate: Decimal
    taxes: Decimal
    total: Decimal
    refund: tuple[int, date, Decimal] | None  # (timestamp, date, amount)
    bad: bool  # messy runs: written with an impossible date, kept out of the truth
    ful_ts: int
    ful_date: date
    fulfilled: bool
    tpl_amt: Decimal
    tpl_fee: str


class _Sim:
    def __init__(self, home: Path, days: int, orders_per_day: int, seed: int, end: date,
                 messy: bool, progress: Callable[[str], None] | None, timezone: str = "America/New_York"):
        if days < 1 or orders_per_day < 1:
            raise ValueError("days and orders_per_day must be >= 1")
        self.home, self.days, self.opd, self.end, self.messy = home, days, orders_per_day, end, messy
        self.write_truth = True  # False: vendor files only (the benchmark; see generate)
        self.progress = progress or (lambda _msg: None)
        self.start = end - timedelta(days=days - 1)
        self.rng = random.Random(seed)
        self.seed = seed
        self.fs = orders_per_day / 60.0
        self.scale = Decimal(orders_per_day) / Decimal(60)
        self.landing = home / "landing"
        self.reg = W.Registry()
        self.timezone, self.tz = timezone, ZoneInfo(timezone)  # the business time zone: truth days are its days
        self.clock = W.LocalClock(self.tz)
        self.months: list[str] = []
        d = self.start.replace(day=1)
        while d <= end:
            self.months.append(month_of(d))
            d = (d + timedelta(days=32)).replace(day=1)
        self.periods = []
        while self.start + timedelta(days=14 * (len(self.periods) + 1)) <= end:
            k = len(self.periods)
            self.periods.append((self.start + timedelta(days=14 * k), self.start + timedelta(days=14 * (k + 1))))
        self.settled_until = self.start + timedelta(days=14 * len(self.periods))
        # truth
        self.pnl: dict[tuple[str, date], list[Decimal]] = {}
        self.kpi: dict[tuple[str, date], list[int]] = {}
        self.sessions: dict[tuple[str, date], int] = {}
        self.defects: list[tuple] = []
        self.fx: dict[date, dict[str, Decimal]] = {}
        self.cost_change: dict[int, tuple[date, Decimal]] = {}
        # customers: first non-cancelled order day (ordinal, 0 = none yet)
        self.first_day = array("I")
        self.wh_seen: dict[str, int] = {}
        # pending events by date
        self.pend_refund: dict[date, list] = {}
        self.pend_amz_refund: dict[date, list] = {}
        self.pend_3pl: dict[date, list] = {}
        self.pend_cn: dict[date, list] = {}
        self._payouts: dict[str, tuple[str, str, str]] = {}
        self.shop_seq = self.amz_seq = self.inv_seq = self.cn_seq = 0
        self.tpl_seq = self.lpn_seq = self.adj_seq = 0
        self.reimbursed: list[tuple] = []  # FBA units reimbursed: (channel, day, sku, units, unit cost, USD paid)
        # messy targets
        mid = self.start + timedelta(days=days // 2)
        self.bad_date_day = mid if messy else None
        self.amz_bad_day = (self.start + timedelta(days=max(0, days - 2))) if messy else None
        self.na_day = (self.start + timedelta(days=days // 3)) if messy else None
        self.gblank_day = (self.start + timedelta(days=min(2, days - 1))) if messy else None

    # ---- truth helpers -------------------------------------------------------------------------
    def add(self, ch: str, d: date, line: int, amount: Decimal) -> None:
        row = self.pnl.get((ch, d))
        if row is None:
            row = self.pnl[(ch, d)] = [D0] * 11
        row[line] += amount

    def kpi_add(self, ch: str, d: date, orders: int, units: int, new: int) -> None:
        row = self.kpi.get((ch, d))
        if row is None:
            row = self.kpi[(ch, d)] = [0, 0, 0]
        row[0] += orders
        row[1] += units
        row[2] += new

    def conv(self, amount: Decimal, cur: str, d: date) -> Decimal:
        if cur == "USD":
            return amount
        return q2(amount * self.fx[d][cur])

    def unit_cost(self, i: int, d: date) -> Decimal:
        ch = self.cost_change.get(i)
        if ch is not None and d >= ch[0]:
            return ch[1]
        return SKUS[i].cost

    def instant(self, d: date, secs: int) -> int:
        """Epoch seconds of second-of-day `secs` on the local day `d` (the shop's clock)."""
        h, rem = divmod(secs, 3600)
        return int(datetime.combine(d, time(h, rem // 60, rem % 60), self.tz).timestamp())

    def local_day(self, ts: int) -> date:
        """The local day of an instant (epoch seconds)."""
        return date.fromisoformat(self.clock.fmt(ts)[1])

    def count(self, expected: float) -> int:
        n = int(expected)
        return n + (1 if self.rng.random() < expected - n else 0)

    # ---- static / reference feeds --------------------------------------------------------------
    def write_reference(self) -> None:
        rng = random.Random(f"{self.seed}-fx")  # one stream for FX and the COGS changes, in that order
        self._write_fx_rates(rng)
        self._write_cogs(rng)
        self._write_operating_costs()
        self._write_channel_targets()
        self._write_feed_options()
        self._write_settings()

    def _write_fx_rates(self, rng: random.Random) -> None:
        feed = W.MonthlyFeed(self.reg, self.landing, "fx_rates")
        self.fx_feed = feed
        rates = dict(C.FX_START)
        d = self.start.replace(day=1)
        while d <= self.end:
            self.fx[d] = {}
            for cur in C.CURRENCIES:
                rates[cur] *= 1 + rng.gauss(0, 0.0035)
                text = f"{rates[cur]:.6f}"
                self.fx[d][cur] = Decimal(text)
                feed.get(month_of(d)).row([d.isoformat(), cur, text])
            d += timedelta(days=1)

    def _write_cogs(self, rng: random.Random) -> None:
        """An initial cost per SKU, and a change for every third SKU mid-window."""
        change_day = self.start + timedelta(days=self.days // 2)
        cogs = W.Sink(self.reg, "cogs", self.landing / "cogs" / "cogs.csv", W.COGS)
        for s in SKUS:
            cogs.row([s.sku, str(s.cost), "USD", C.COGS_INITIAL_FROM])
        for s in SKUS:
            if s.idx % 3 == 1:
                new = q2(s.cost * Decimal(str(round(1 + rng.uniform(-0.06, 0.12), 3))))
                if new == s.cost:
                    new += Decimal("0.25")
                self.cost_change[s.idx] = (change_day, new)
                cogs.row([s.sku, str(new), "USD", change_day.isoformat()])

    def _write_operating_costs(self) -> None:
        """A month's amount spread evenly over its days, the remainder on its last day."""
        opex = W.MonthlyFeed(self.reg, self.landing, "operating_costs")
        for m in self.months:
            y, mo = int(m[:4]), int(m[5:])
            dim = calendar.monthrange(y, mo)[1]
            first = date(y, mo, 1)
            for ch, cost_type, amount, cur in C.OPERATING_COSTS:
                amt = q2(Decimal(amount) * self.scale) * (dim if cur == "USD" else 1)
                opex.get(m).row([m, ch, cost_type, str(amt), cur])
                usd = self.conv(amt, cur, first)
                daily = q2(usd / dim)
                target = "unallocated" if ch == "shared" else ch
                for day in range(1, dim):
                    self.add(target, date(y, mo, day), OPEX, daily)
                self.add(target, date(y, mo, dim), OPEX, usd - daily * (dim - 1))

    def _write_channel_targets(self) -> None:
        tg = W.Sink(self.reg, "channel_targets", self.landing / "channel_targets" / "channel_targets.csv",
                    W.CHANNEL_TARGETS)
        plan = {"shopify_web": (0.55, 82, "0.0260", 420, "0.18"), "shopify_pos": (0.15, 70, "", 45, "0.30"),
                "amazon_us": (0.20, 58, "0.1100", 80, "0.12"), "amazon_ca": (0.07, 44, "0.1000", 28, "0.08"),
                "wholesale": (0.03, 1100, "", 0, "0.35")}
        for m in self.months:
            dim = calendar.monthrange(int(m[:4]), int(m[5:]))[1]
            for ch, (share, aov, cr, spend, margin) in plan.items():
                orders = round(self.opd * share * dim)
                tg.row([m, ch, f"{orders * aov * 1.05:.2f}", str(orders), cr,
                        f"{spend * self.fs * dim:.2f}", margin])
                self.kt.target(m, ch, f"{orders * aov * 1.05:.2f}", cr)

    def _write_feed_options(self) -> None:
        cfg = self.home / "config" / "feed_options.yml"
        cfg.parent.mkdir(parents=True, exist_ok=True)
        line = "pinterest_ads: {currency: USD}\n"
        note = ("# Pinterest exports carry no currency column: spend is in the ad account's currency,\n"
                "# declared here (written by the demo data generator).\n")
        if not cfg.exists():
            cfg.write_text(note + line)
        elif "pinterest_ads" not in cfg.read_text():
            with open(cfg, "a") as f:
                f.write(note + line)

    def _write_settings(self) -> None:
        """The business time zone of the demo shop, where cwh reads it (connectors.home.business_timezone)."""
        cfg = self.home / "config" / "settings.yml"
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text("# The business time zone: every event's reporting day is its local day here\n"
                       f"# (written by the demo data generator).\ntimezone: {self.timezone}\n")

    # ---- main ------------------------------------------------------------------------------------
    def clear_previous(self) -> None:
        """Remove files an earlier demo run wrote (other months, the planted duplicate)."""
        feeds = {"amazon_returns_US": "amazon_returns", "amazon_returns_CA": "amazon_returns",
                 "google_ads_ui": "google_ads", "google_ads_api": "google_ads", "amazon_ads_US": "amazon_ads",
                 "amazon_ads_CA": "amazon_ads"}
        targets = [(feeds.get(k, k), W.FEEDS[k][0].replace("{m}", "*")) for k in W.FEEDS]
        targets += [("amazon_settlements", "settlement_*.txt"), ("amazon_orders", "all_orders_*.csv"),
                    ("cogs", "cogs.csv"),
                    ("channel_targets", "channel_targets.csv")]
        for feed, pattern in targets:
            stem, _, suffix = pattern.rpartition(".")
            for pat in (pattern, f"{stem} (1).{suffix}"):
                for path in sorted((self.landing / feed).glob(pat)):
                    path.unlink()

    def run(self) -> dict:
        self.clear_previous()
        self.recon = ReconTruth(self)
        self.kt = KpiTruth(self)  # every KPI column's truth (kpi_truth.py)
        self.write_reference()
        L, reg, messy = self.landing, self.reg, self.messy
        self.f_orders = W.MonthlyFeed(reg, L, "shopify_orders", crlf=messy, bom=messy)
        self.f_pay = W.MonthlyFeed(reg, L, "shopify_payments")
        self.f_amz = W.MonthlyFeed(reg, L, "amazon_orders")
        self.f_ret = {"amazon_us": W.MonthlyFeed(reg, L, "amazon_returns_US", feed="amazon_returns"),
                      "amazon_ca": W.MonthlyFeed(reg, L, "amazon_returns_CA", feed="amazon_returns")}
        self.f_wh = W.MonthlyFeed(reg, L, "wholesale_invoices", crlf=messy, bom=messy)
        self.f_gui = W.MonthlyFeed(reg, L, "google_ads_ui", feed="google_ads", preamble=self._ga_preamble)
        self.f_gapi = W.MonthlyFeed(reg, L, "google_ads_api", feed="google_ads")
        self.f_meta = W.MonthlyFeed(reg, L, "meta_ads")
        if messy:
            self.f_meta.headers[self.months[min(1, len(self.months) - 1)]] = [
                "Reach (estimated)" if h == "Reach" else h for h in W.META]
        self.f_pin = W.MonthlyFeed(reg, L, "pinterest_ads")
        self.f_aads = {"amazon_us": W.MonthlyFeed(reg, L, "amazon_ads_US", feed="amazon_ads"),
                       "amazon_ca": W.MonthlyFeed(reg, L, "amazon_ads_CA", feed="amazon_ads")}
        self.f_3pl = W.MonthlyFeed(reg, L, "threepl_billing")
        self.f_sess = W.MonthlyFeed(reg, L, "sessions")
        self.f_inv = W.MonthlyFeed(reg, L, "inventory_snapshots")
        folder = L / "amazon_settlements"
        # each channel's marketplace as the sim writes it (seeds/amazon_marketplaces.csv maps it back)
        self.settle = {"amazon_us": W.SettlementStream(reg, folder, "Amazon.com", "USD", "v2",
                                                       self.periods, 12873456011, tz=self.tz),
                       "amazon_ca": W.SettlementStream(reg, folder, "Amazon.ca", "CAD", "legacy",
                                                       self.periods, 12873457522, tz=self.tz)}
        self.g_tot: dict[str, dict[str, list]] = {}
        self._init_inventory()
        self.invt = InventoryTruth(self)
        self.rbt = ReadbackTruth(self)  # seeded readback situations (readback_truth.py)
        self.demand = DemandTruth(self)  # demand structure: trend, level change, prices, elasticities
        self.accruals = AccrualTruth(self, MKT, FUL)  # fees accrued for unsettled items (accrual_truth.py)
        for i in range(self.days):
            d = self.start + timedelta(days=i)
            if i == 0 or d.day == 1:
                self.progress(f"demo data: simulating {month_of(d)}")
            self._day(d, i)
        self._google_totals()
        self.accruals.book()
        reg.close()
        for s in self.settle.values():
            s.finalize()
        if messy:
            self._messy_files()
            write_amazon_dialects(self)
            write_marketing_dialects(self)
        return self._write_truth() if self.write_truth else self._file_summary()

    def _day(self, d: date, i: int) -> None:
        rng, opd = self.rng, self.opd
        wf = WEEKDAY_FACTORS[d.weekday()]
        dem = self.demand.order_factor
        weekend = d.weekday() >= 5
        self.ordinal = d.toordinal()
        day_ts = self.instant(d, 0)  # local midnight
        self.sold = [[0] * len(SKUS) for _ in range(3)]  # 3PL, FBA US, FBA CA units today
        # Shopify (web + POS share one order-number sequence, in time order)
        n_web = self.count(opd * 0.55 * wf * dem("shopify_web", d)) * self.rbt.order_multiplier("shopify_web", d)
        n_pos = self.count(opd * 0.15 * (1.3 if weekend else 0.88) * dem("shopify_pos", d))
        events = [(rng.randrange(86400), 0) for _ in range(n_web)]
        events += [(14 * 3600 + rng.randrange(10 * 3600), 1) for _ in range(n_pos)]
        events.sort()
        for secs, pos in events:
            self._shop_order(d, self.instant(d, secs), bool(pos))  # local clock: late orders change UTC day
        for rts, name, amount, late in sorted(self.pend_refund.pop(d, ())):
            created, local_day = self.clock.fmt(rts)
            self._pay_row(created, local_day, "refund", name, -amount, D0, False, late=late)
        self.recon.chargebacks(d, day_ts)
        # Amazon
        web_orders = n_web
        for ch, share in (("amazon_us", 0.20), ("amazon_ca", 0.07)):
            n = self.count(opd * share * wf * dem(ch, d))
            visits = max(n * self.demand.visit_share(ch), 1)  # orders drawn beyond the visits are lost to price
            self.sessions[(ch, d)] = int(visits / rng.uniform(0.09, 0.125))
            for secs in sorted(rng.randrange(86400) for _ in range(n)):
                self._amz_order(ch, d, secs)
        for ev in self.pend_amz_refund.pop(d, ()):
            self._amz_refund(d, *ev)
        if d < self.settled_until:
            self._amz_account_fees(d, i)
        # wholesale
        for _ in range(self.count(0 if weekend else opd * 0.03 * 1.4)):
            self._invoice(d)
        for rows in self.pend_cn.pop(d, ()):
            self.cn_seq += 1  # credit notes are numbered in the order they are issued
            for r in rows:
                r[1] = f"CN-{d.year}-{self.cn_seq:05d}"
                self.f_wh.get(month_of(d)).row(r)
        self._threepl(d, i)
        self._ads(d)
        web_visits = max(web_orders * self.demand.visit_share("shopify_web"), 1)
        self.sessions[("shopify_web", d)] = int(web_visits / rng.uniform(0.022, 0.031))
        sess = self.f_sess.get(month_of(d))
        for ch in ("shopify_web", "amazon_us", "amazon_ca"):
            sess.row([d.isoformat(), ch, str(self.sessions[(ch, d)])])
        self._inventory(d, i)

    # ---- Shopify -----------------------------------------------------------------------------
    def _customer(self, pos: bool) -> int:
        rng, fd = self.rng, self.first_day
        r = rng.random()
        if pos and r < 0.40:
            return -1  # walk-in without email
        if fd and r < (0.65 if pos else 0.30):
            idx = rng.randrange(len(fd))
            if fd[idx] != self.ordinal:  # never a second channel on the customer's first day
                return idx
        fd.append(0)
        return len(fd) - 1

    def _shop_order(self, d: date, ts: int, pos: bool) -> None:
        """Draw one Shopify order (the draws' order is the seed's contract), book its truth, write its rows."""
        o = self._draw_shop_order(d, ts, pos)
        if o is None:
            return  # every line's demand was lost to its price: no order
        fee = q2(o.total * FEE_POS_PCT) if pos else q2(o.total * FEE_WEB_PCT + FEE_WEB_FIXED)
        if not o.cancelled and not o.bad:
            self._book_shop_order(o, fee)
        if not o.cancelled:  # the messy bad-date order still has its charge in the payments file
            self._pay_row(o.created, o.local_day, "charge", o.name, o.total, fee, pos, known=not o.bad)
        if o.bad and not o.cancelled:  # a payment row without its order: its fee stays visible, unallocated
            self.add("unallocated", d, PAY, fee)
        self._write_shop_rows(o)

    def _draw_shop_order(self, d: date, ts: int, pos: bool) -> _ShopOrder | None:
        rng = self.rng
        # the sim picks the channel and writes the Source the seed maps back: the truth must not read the seed
        ch = "shopify_pos" if pos else "shopify_web"
        lines = self._draw_shop_lines(ch, d, pos)
        if not lines:
            return None
        self.shop_seq += 1
        seq = self.shop_seq
        created, local_day = self.clock.fmt(ts)
        cancelled = rng.random() < 0.02
        cidx = self._customer(pos)
        gross_total = sum((ln[2] for ln in lines), D0)
        ldisc_total = sum((ln[3] for ln in lines), D0)
        code, code_amt = self._draw_discount_code(pos, gross_total - ldisc_total)
        disc_amount = code_amt + ldisc_total
        subtotal = gross_total - disc_amount
        city = C.CITIES[(cidx * 13) % len(C.CITIES)] if cidx >= 0 else C.CITIES[0]
        ship, ship_method, rate = self._draw_shipping(pos, subtotal, city)
        taxes = q2(subtotal * rate)
        total = subtotal + ship + taxes
        refund = None if pos or cancelled else self._draw_shop_refund(ts, total, lines, code_amt, rate)
        bad = self._take_bad_date(d, pos, len(lines), cancelled, refund)
        ful_ts = ts if pos else ts + rng.randrange(2 * 3600, 40 * 3600)
        ful_ts = self.kt.handling_time(ch, seq, ts, ful_ts)  # some exactly at the promise, some 1 s past
        ful_date = self.local_day(ful_ts)
        units = sum(ln[1] for ln in lines)
        # 3PL charge drawn for every web order, so messy and clean runs consume the same randomness
        # ShipBob bills charges as positive amounts; `transaction_fee` names the fee type
        tpl_amt = q2(Decimal("4.85") + Decimal("0.95") * (units - 1) + Decimal(rng.randrange(90)) / 100)
        tpl_fee = "Address Correction" if rng.random() < 0.05 else "Shipping"
        return _ShopOrder(
            d=d, ts=ts, seq=seq, name=f"#{1000 + seq}", created=created, local_day=local_day, ch=ch, pos=pos,
            cancelled=cancelled, cidx=cidx, lines=lines, units=units, gross_total=gross_total,
            disc_amount=disc_amount, code=code, code_amt=code_amt, subtotal=subtotal, city=city, ship=ship,
            ship_method=ship_method, rate=rate, taxes=taxes, total=total, refund=refund, bad=bad, ful_ts=ful_ts,
            ful_date=ful_date, fulfilled=not cancelled and not bad and ful_date <= self.end,
            tpl_amt=tpl_amt, tpl_fee=tpl_fee)

    def _draw_shop_lines(self, ch: str, d: date, pos: bool) -> list[tuple]:
        """(sku, qty, gross, line discount) per line: POS baskets are smaller than web ones."""
        rng = self.rng
        r = rng.random()
        n_lines = (1 if r < 0.6 else 2 if r < 0.9 else 3) if pos else \
            (1 if r < 0.55 else 2 if r < 0.83 else 3 if r < 0.95 else 4)
        lines = []
        for si in rng.sample(range(len(SKUS)), n_lines):
            q = rng.random()
            qty = 1 if q < 0.8 else 2 if q < 0.95 else 3
            s = SKUS[si]
            price = self.demand.price(ch, si, d, s.price)
            gross = price * qty
            ldisc = q2(gross * Decimal("0.15")) if rng.random() < 0.05 else D0
            ldisc = self.rbt.line_discount(ch, d, s.sku, gross, ldisc)
            if self.demand.accept(ch, si, d, price, s.price):  # drawn, then lost to its price or kept
                lines.append((s, qty, gross, ldisc))
        return lines

    def _draw_discount_code(self, pos: bool, base: Decimal) -> tuple[str, Decimal]:
        """A web order's discount code on its line-discounted gross; fixed-amount codes need 40 USD."""
        if pos or self.rng.random() >= 0.20:
            return "", D0
        c_name, kind, val = C.DISCOUNT_CODES[self.rng.randrange(3)]
        if kind == "pct":
            return c_name, q2(base * val)
        if base >= 40:
            return c_name, val
        return "", D0

    def _draw_shipping(self, pos: bool, subtotal: Decimal, city: tuple) -> tuple[Decimal, str, Decimal]:
        """Shipping charged, its method and the sales tax rate (POS: the store's; web: the city's)."""
        if pos:
            return D0, "", C.POS_TAX
        if self.rng.random() < 0.10:
            return Decimal("14.95"), "Expedited", city[5]
        if subtotal >= 75:
            return D0, "Free Shipping", city[5]
        return Decimal("6.95"), "Standard Shipping", city[5]

    def _draw_shop_refund(self, ts: int, total: Decimal, lines: list[tuple], code_amt: Decimal,
                          rate: Decimal) -> tuple[int, date, Decimal] | None:
        """A web order's refund, decided now and booked on its date: the whole order or one line."""
        rng = self.rng
        if rng.random() >= 0.08:
            return None
        rts = ts + rng.randint(1, 40) * 86400 + rng.randrange(6 * 3600)
        r_date = self.local_day(rts)
        if r_date > self.end:
            return None
        if rng.random() < 0.5:
            return rts, r_date, total
        j = rng.randrange(len(lines))
        alloc = self._allocate(code_amt, [ln[2] for ln in lines])
        net = lines[j][2] - lines[j][3] - alloc[j]
        return rts, r_date, net + q2(net * rate)

    def _take_bad_date(self, d: date, pos: bool, n_lines: int, cancelled: bool, refund: tuple | None) -> bool:
        """Messy runs: the first plain single-line web order from the planted day gets an impossible date."""
        bad = (self.bad_date_day is not None and d >= self.bad_date_day and not pos and n_lines == 1
               and not cancelled and refund is None)
        if bad:
            self.bad_date_day = None
        return bad

    def _book_shop_order(self, o: _ShopOrder, fee: Decimal) -> None:
        add, ch, d = self.add, o.ch, o.d
        add(ch, d, GROSS, o.gross_total)
        add(ch, d, DISC, o.disc_amount)
        add(ch, d, SHIP, o.ship)
        add(ch, d, COGS, sum((self.unit_cost(ln[0].idx, d) * ln[1] for ln in o.lines), D0))
        add(ch, d, PAY, fee)
        new = 0
        if o.cidx >= 0 and self.first_day[o.cidx] == 0:
            self.first_day[o.cidx] = self.ordinal
            new = 1
        self.kpi_add(ch, d, 1, o.units, new)
        self.kt.order(ch, d, o.name, o.units, o.gross_total, o.disc_amount, o.ship, o.ts,
                      o.ful_ts if o.fulfilled else None)
        allocations = self._allocate(o.code_amt, [ln[2] for ln in o.lines])  # one per line
        for (s, qty, gross, ldisc), alloc in zip(o.lines, allocations, strict=True):
            self.invt.sale(ch, d, s.idx, qty, gross - ldisc - alloc, o.name)
            self.rbt.line(ch, d, s.sku, qty, gross - ldisc - alloc, self.unit_cost(s.idx, d) * qty,
                          gross / qty, "USD", ldisc, gross)
        self.rbt.shipping(ch, d, o.ship)
        if o.refund is not None:
            self._book_shop_refund(o)
        elif not o.pos:
            self.recon.candidate(o.name)
        if o.fulfilled and not o.pos:
            sold = self.sold[0]
            for s, qty, _gross, _ldisc in o.lines:
                sold[s.idx] += qty
            self.pend_3pl.setdefault(o.ful_date, []).append(
                (o.name, o.tpl_amt, o.tpl_fee, o.ch, "Shipment", "Shipping"))

    def _book_shop_refund(self, o: _ShopOrder) -> None:
        """A refund's returns (tax excluded) and refunded shipping, on its date; its payments row waits."""
        rts, r_date, amount = o.refund
        if amount == o.total:
            r_ret, r_ship = o.subtotal, o.ship
        else:
            r_ret, r_ship = amount - q2(amount * o.taxes / (o.subtotal + o.taxes)), D0
        self.add(o.ch, r_date, RET, r_ret)
        restock = self._assumed_restock(o, r_ret)
        self.add(o.ch, r_date, COGS, -restock)
        self.kt.refund(o.ch, o.d, r_date, r_ret, None)  # Shopify refunds: amounts only, untimed
        if r_ship:
            self.add(o.ch, r_date, SHIP, -r_ship)
        late = self.recon.is_late(o.d, r_date, self.clock.fmt(rts)[1])
        if late:  # seeded: this refund arrives in a late file, after its month was published
            self.recon.mark_late(o.name, o.ch, r_date, r_ret, r_ship, restock)
        self.pend_refund.setdefault(r_date, []).append((rts, o.name, amount, late))

    def _assumed_restock(self, o: _ShopOrder, returns: Decimal) -> Decimal:
        """round(share × order COGS × returns ÷ subtotal, 2), half away from zero, exactly."""
        cogs = sum((self.unit_cost(ln[0].idx, o.d) * ln[1] for ln in o.lines), D0)
        # the export has no restock flag: the share configured in seeds/channels.csv (docs/metrics.md)
        num = int(refund_restock_shares()[o.ch] * 10000) * int(cogs * 100) * int(returns * 100)
        den = 10000 * int(o.subtotal * 100)
        if num <= 0 or den <= 0:
            return D0
        return Decimal((2 * num + den) // (2 * den)) / 100

    def _write_shop_rows(self, o: _ShopOrder) -> None:
        """The export's rows: order columns on the first line only, one row per line item."""
        row = self._shop_order_row(o)
        sink = self.f_orders.get(o.local_day[:7])
        lf = "fulfilled" if o.fulfilled else "pending"
        req = "false" if o.pos else "true"
        for k, (s, qty, gross, ldisc) in enumerate(o.lines):
            if k:
                row = [""] * len(W.SHOPIFY_ORDERS)
                row[0] = o.name
            row[16:24] = [str(qty), s.name, str(q2(gross / qty)), s.compare_at, s.sku, req, "true", lf]
            row[50] = C.BRAND
            row[59] = str(ldisc)
            line_no = sink.row(row)
            if o.bad and k == 0:
                self.defects.append(("shopify_orders", sink.path.name, line_no, "bad_date", "Created at"))

    def _shop_order_row(self, o: _ShopOrder) -> list[str]:
        row = [""] * len(W.SHOPIFY_ORDERS)
        seq, cidx, pos = o.seq, o.cidx, o.pos
        email = self._draw_email(cidx, pos)
        oid = 6123456000000 + seq * 37
        if o.cancelled:
            status = "voided"
        elif o.refund is not None:
            status = "refunded" if o.refund[2] == o.total else "partially_refunded"
        else:
            status = "paid"
        row[0:16] = [o.name, email, status, "" if o.cancelled else o.created,
                     "fulfilled" if o.fulfilled else "unfulfilled",
                     self.clock.fmt(o.ful_ts)[0] if o.fulfilled else "",
                     "yes" if seq % 3 == 0 else "no", "USD", str(o.subtotal), str(o.ship), str(o.taxes),
                     str(o.total), o.code, str(o.disc_amount), o.ship_method,
                     "2026-13-45 25:00:00 -0400" if o.bad else o.created]
        if cidx >= 0:
            self._fill_customer_address(row, cidx, o.city, pos)
        row[46] = self.clock.fmt(o.ts + 1800)[0] if o.cancelled else ""
        row[47] = "Shopify Payments"
        row[48] = row[75] = row[78] = f"c{oid}.1"
        if o.refund is not None:
            row[49] = str(o.refund[2])
        row[51] = "0.00"
        if pos:
            row[52], row[53], row[54] = C.POS_EMPLOYEES[seq % 3], C.POS_LOCATION, "pos-ipad-2"
            row[71] = f"R{seq:08d}"
        row[55] = str(oid)
        row[56] = "repeat" if cidx >= 0 and self.first_day[cidx] and self.first_day[cidx] < self.ordinal else ""
        row[57] = "Low"
        row[58] = "pos" if pos else ("web" if seq % 19 else ("iphone" if seq % 38 else "shopify_draft_order"))
        row[60], row[61] = f"Sales Tax {format((o.rate * 100).normalize(), 'f')}%", str(o.taxes)
        return row

    def _draw_email(self, cidx: int, pos: bool) -> str:
        if cidx < 0:
            return ""
        first_name, last_name = C.FIRST[cidx % 40], C.LAST[(cidx // 40 + cidx * 7) % 40]
        email = f"{first_name.lower()}.{last_name.lower()}{cidx}@{C.DOMAINS[cidx % 6]}"
        if pos and self.rng.random() < 0.5:  # typed at the till: case and spaces differ
            email = f" {email[0].upper()}{email[1:]} "
        return email

    @staticmethod
    def _fill_customer_address(row: list[str], cidx: int, city: tuple, pos: bool) -> None:
        """Billing address (and shipping, web only), phone and province of a known customer."""
        first_name, last_name = C.FIRST[cidx % 40], C.LAST[(cidx // 40 + cidx * 7) % 40]
        street = f"{10 + (cidx * 37) % 9000} {C.STREETS[cidx % 18]} {C.SUFFIX[cidx % 8]}"
        apt = f"Apt {cidx % 40 + 1}" if cidx % 5 == 0 else ""
        zipc = f"{city[3]}{cidx % 100:02d}"
        phone = f"+1 {city[4]}-555-{cidx % 10000:04d}"
        addr = [f"{first_name} {last_name}", street, street, apt, "", city[0], zipc, city[1], "US", phone]
        row[24:34] = addr
        if not pos:
            row[34:44] = addr
        row[70] = phone
        row[73] = city[2]
        row[74] = "" if pos else city[2]

    @staticmethod
    def _allocate(amount: Decimal, grosses: list[Decimal]) -> list[Decimal]:
        """Order-level discount to lines by gross; cents by largest remainder, ties to earlier line."""
        cents = int(amount * 100)
        total = sum(grosses)
        if not cents or not total:
            return [D0] * len(grosses)
        exact = [cents * g / total for g in grosses]
        base = [int(e) for e in exact]
        left = cents - sum(base)
        order = sorted(range(len(grosses)), key=lambda i: (-(exact[i] - base[i]), i))
        for i in order[:left]:
            base[i] += 1
        return [Decimal(b) / 100 for b in base]

    def _pay_row(self, created: str, local_day: str, kind: str, name: str, amount: Decimal,
                 fee: Decimal, pos: bool, *, known: bool = True, late: bool = False) -> None:
        hit = self._payouts.get(local_day)
        if hit is None:  # daily payouts, two days after the transaction's (store-local) date
            payout = date.fromisoformat(local_day) + timedelta(days=2)
            hit = self._payouts[local_day] = (payout.isoformat(), str(95000000 + payout.toordinal() % 100000),
                                              "paid" if payout <= self.end else "in_transit")
        self.recon.shopify(hit[1], hit[0], ("shopify_pos" if pos else "shopify_web") if known else "unallocated",
                           kind, amount, fee, known)
        (self.recon.late_file() if late else self.f_pay.get(local_day[:7])).row([
            created, kind, name, ("visa", "master", "american_express")[self.shop_seq % 3],
            "card_present" if pos else "online", hit[2], hit[0], hit[1], hit[0], str(amount), str(fee),
            str(amount - fee),
            "" if pos else f"{31000000000 + self.shop_seq}", "card", str(amount), "USD", "USD"])

    # ---- Amazon -----------------------------------------------------------------------------
    def _amz_order(self, ch: str, d: date, secs: int) -> None:
        rng = self.rng
        us = ch == "amazon_us"
        self.amz_seq += 1
        oid = f"{'113' if us else '702'}-{rng.randrange(10 ** 7):07d}-{self.amz_seq:07d}"
        n_items = 1 if rng.random() < 0.85 else 2
        cancelled = rng.random() < 0.02
        missing = not cancelled and d < self.settled_until and rng.random() < 0.03
        bad = (us and self.amz_bad_day is not None and d >= self.amz_bad_day and n_items == 1
               and not cancelled and not missing)
        if bad:
            self.amz_bad_day = None
        posted = d if missing else d + timedelta(days=rng.randint(0, 2))
        settled = not cancelled and not bad and posted < self.settled_until
        k = (posted - self.start).days // 14
        cur = "USD" if us else "CAD"
        taxrate = C.AMZ_TAX[ch]
        promo_ok = us or d >= self.start + timedelta(days=14)
        city = (C.AMZ_US_CITIES if us else C.AMZ_CA_CITIES)[self.amz_seq % (6 if us else 5)]
        purchase = W.iso_ts(d, secs, self.tz)
        level = "Expedited" if rng.random() < 0.1 else "Standard"
        post_secs = max(8 * 3600, secs + 3600) if posted == d else 8 * 3600 + rng.randrange(15 * 3600)
        post_secs = min(post_secs, 86399)
        stream = self.settle[ch]
        sold = self.sold[1 if us else 2]
        units_total = 0
        for si in rng.sample(range(len(SKUS)), n_items):
            s = SKUS[si]
            qty = 1 if rng.random() < 0.9 else 2
            base = s.price if us else s.price_cad
            listed = self.demand.price(ch, si, d, base)
            ip = self.rbt.list_price(ch, d, s.sku, listed) * qty
            tax = q2(ip * taxrate)
            r = rng.random()
            # free-shipping promotions only where promotions may appear (not in the old-layout CA file)
            ship, sp = (D0, D0) if r < 0.80 else (Decimal("5.99"), Decimal("5.99")) if r < 0.92 and promo_ok \
                else (Decimal("4.99"), D0)
            promo = q2(ip * Decimal("0.10")) if promo_ok and rng.random() < 0.07 else D0
            promo_id = f"PLM-{s.sku}-10OFF" if promo else ""
            promo, promo_id = self.rbt.amazon_promo(ch, d, s.sku, ip, promo, promo_id)
            item_code = str(rng.randrange(10 ** 13, 10 ** 14))
            refund_roll, refund_days = rng.random(), rng.randint(5, 30)
            kept = self.demand.accept(ch, si, d, listed, base)  # drawn for every item: messy runs draw alike
            bad = self._plant_amazon_defect(bad, kept, d)
            if not bad and (self.invt.unavailable(ch, si, d) or not kept):
                continue  # out of stock / listing suppressed / lost to its price: drawn like a sale, demand lost
            if not missing:
                line = self.f_amz.get(month_of(d)).row([
                    "" if bad else oid, "", purchase, W.iso_ts(d, min(secs + 7200, 86399), self.tz),
                    "Cancelled" if cancelled else "Shipped", "Amazon", "Amazon.com" if us else "Amazon.ca",
                    "", level, s.name, s.sku, s.asin, "Cancelled" if cancelled else "Shipped", str(qty), cur,
                    str(ip), str(tax), str(ship), "0.00", "0.00", "0.00", str(promo), str(sp), city[0],
                    city[1], city[2], "US" if us else "CA", promo_id, "false", "", ""])
                if bad:
                    self.defects.append(("amazon_orders", f"all_orders_{month_of(d)}.txt", line,
                                         "missing_key", "amazon-order-id"))
            if cancelled or bad:
                continue
            units_total += qty
            sold[si] += qty
            conv = self.conv
            # an item missing from the All Orders report is known from its settlement lines: its shipping
            # and shipping promotion are converted one by one there
            ship_usd = conv(ship, cur, d) + conv(-sp, cur, d) if missing else conv(ship - sp, cur, d)
            self.add(ch, d, GROSS, conv(ip, cur, d))
            self.add(ch, d, DISC, conv(promo, cur, d))
            self.add(ch, d, SHIP, ship_usd)
            self.add(ch, d, COGS, self.unit_cost(si, d) * qty)
            self.kt.order(ch, d, oid, qty, conv(ip, cur, d), conv(promo, cur, d), ship_usd)
            self.invt.sale(ch, d, si, qty, conv(ip, cur, d) - conv(promo, cur, d), oid)
            self.rbt.line(ch, d, s.sku, qty, conv(ip, cur, d) - conv(promo, cur, d), self.unit_cost(si, d) * qty,
                          ip / qty, cur, promo, ip)
            self.rbt.shipping(ch, d, ship_usd)
            self.recon.amazon_sale(ch, d, ip - promo + ship - sp + tax)
            comm = q2(ip * Decimal("0.15"))
            # refunds: whole item; CA refunds only on items without promotion (see report). The FBA
            # returns report shows a return as soon as it happens; its money waits for a settlement.
            if refund_roll < 0.05 and (us or not promo):
                r_date = posted + timedelta(days=refund_days)
                if r_date <= self.end:
                    self.pend_amz_refund.setdefault(r_date, []).append(
                        (ch, oid, item_code, si, qty, ip, ship, sp, tax, promo, promo_id, comm, d))
            fba = s.fba_fee * qty
            if not settled:
                self.accruals.unsettled(ch, oid, s.sku, d, posted, cur, qty, ip, comm, fba,
                                        split=self.messy and us and qty == 2)  # dialects_amazon.py splits it
                continue
            self.accruals.settled(ch, s.sku, posted, qty, ip, comm, fba)
            self.recon.amazon_settled_sale(ch, k, ip - promo + ship - sp + tax)
            ship_id = f"D{self.amz_seq:07d}"
            comp = dict(order_id=oid, shipment_id=ship_id, item_code=item_code, sku=s.sku, qty=str(qty))
            for amount_type, desc, amount, extra in _amz_sale_components(ip, ship, tax, promo, promo_id, sp,
                                                                         comm, fba):
                stream.add(k, "Order", amount_type, desc, amount, posted, post_secs, **extra, **comp)
            self.add(ch, posted, MKT, conv(comm, cur, posted))
            self.add(ch, posted, FUL, conv(fba, cur, posted))
        if not cancelled and not bad and units_total:
            self.kpi_add(ch, d, 1, units_total, 0)

    def _plant_amazon_defect(self, bad: bool, kept: bool, d: date) -> bool:
        """The planted missing-key item must be a sale: when its demand is lost to its price, the next
        eligible order takes the defect (clean and messy runs then lose the same item)."""
        if bad and not kept:
            self.amz_bad_day = d
            return False
        return bad

    def _amz_refund(self, rd: date, ch, oid, item_code, si, qty, ip, ship, sp, tax, promo, promo_id,
                    comm, order_day) -> None:
        rng, conv = self.rng, self.conv
        us = ch == "amazon_us"
        cur = "USD" if us else "CAD"
        s = SKUS[si]
        k = (rd - self.start).days // 14
        secs = 9 * 3600 + rng.randrange(14 * 3600)
        self.adj_seq += 1
        comp = dict(order_id=oid, adjustment_id=f"{50000000000 + self.adj_seq}", item_code=item_code,
                    sku=s.sku, qty=str(qty), adj_item_id=f"{90000000000000 + self.adj_seq}")
        if rd < self.settled_until:  # the refund's money is in a written settlement
            st = self.settle[ch]
            st.add(k, "Refund", "ItemPrice", "Principal", -ip, rd, secs, **comp)
            if ship:
                st.add(k, "Refund", "ItemPrice", "Shipping", -ship, rd, secs, **comp)
            st.add(k, "Refund", "ItemPrice", "Tax", -tax, rd, secs, **comp)
            if promo:
                st.add(k, "Refund", "Promotion", "Principal", promo, rd, secs, promo_id=promo_id, **comp)
            if sp:
                st.add(k, "Refund", "Promotion", "Shipping", sp, rd, secs, promo_id="Free Shipping", **comp)
            rc = q2(comm * Decimal("0.20"))
            st.add(k, "Refund", "ItemFees", "Commission", comm, rd, secs, **comp)
            st.add(k, "Refund", "ItemFees", "RefundCommission", -rc, rd, secs, **comp)
            self.add(ch, rd, RET, conv(ip, cur, rd) - conv(promo, cur, rd))
            # timed in the V2 layout only: FBA receipt and refund posted at the same instant (0 days)
            self.kt.refund(ch, order_day, rd, conv(ip, cur, rd) - conv(promo, cur, rd), qty, 0 if us else None)
            self.add(ch, rd, SHIP, -(conv(ship, cur, rd) - conv(sp, cur, rd)))
            self.add(ch, rd, MKT, conv(rc, cur, rd) - conv(comm, cur, rd))
        sink = self.f_ret[ch].get(month_of(rd))
        for _ in range(qty):
            self.lpn_seq += 1
            x = rng.randrange(100)
            disp = "SELLABLE" if x < 55 else "CUSTOMER_DAMAGED" if x < 75 else "DEFECTIVE" if x < 90 \
                else "CARRIER_DAMAGED"
            reason = C.RETURN_REASONS[rng.randrange(len(C.RETURN_REASONS))]
            sink.row([W.iso_ts(rd, secs, self.tz), oid, s.sku, s.asin, s.fnsku, s.name, "1",
                      ("PHX7", "ONT8", "MDW2")[self.lpn_seq % 3] if us else "YYZ4", disp, reason,
                      "Unit returned to inventory", f"LPN{8800000000 + self.lpn_seq}",
                      "" if rng.random() < 0.7 else "Colour not as pictured"])
            if disp == "SELLABLE":
                self.add(ch, rd, COGS, -self.unit_cost(si, order_day))

    def _amz_account_fees(self, d: date, i: int) -> None:
        k = (d - self.start).days // 14
        for ch, cur, sub in (("amazon_us", "USD", Decimal("39.99")), ("amazon_ca", "CAD", Decimal("29.99"))):
            st = self.settle[ch]
            if d.day == 1:
                st.add(k, "other-transaction", "other-transaction", "Subscription Fee", -sub, d, 9 * 3600)
                self.add(ch, d, MKT, self.conv(sub, cur, d))
            if d.day == 8:
                fee = q2(Decimal(str(round(self.rng.uniform(18, 60), 2))) * self.scale)
                st.add(k, "other-transaction", "other-transaction", "Storage Fee", -fee, d, 10 * 3600)
                self.add(ch, d, FUL, self.conv(fee, cur, d))
            for at, kind in ((self.days * 3 // 10, "REVERSAL_REIMBURSEMENT"),
                             (self.days * 7 // 10, "WAREHOUSE_DAMAGE")):
                if i == at:
                    s = SKUS[(i * 7) % len(SKUS)]
                    amt = s.price if ch == "amazon_us" else s.price_cad
                    self.adj_seq += 1
                    st.add(k, "other-transaction", "FBA Inventory Reimbursement", kind, amt, d, 11 * 3600,
                           adjustment_id=f"{50000000000 + self.adj_seq}", sku=s.sku, qty="1")
                    self.add(ch, d, REIMB, self.conv(amt, cur, d))  # its own line, never netted into FUL
                    self.reimbursed.append((ch, d, s.sku, 1, self.unit_cost(s.idx, d), self.conv(amt, cur, d)))

    # ---- wholesale -----------------------------------------------------------------------------
    def _invoice(self, d: date) -> None:
        rng = self.rng
        self.inv_seq += 1
        num = f"INV-{d.year}-{self.inv_seq:05d}"
        weights = [c[5] for c in C.WHOLESALE_CUSTOMERS]
        acct, cname, cur, terms, drate, _ = rng.choices(C.WHOLESALE_CUSTOMERS, weights)[0]
        ship = d + timedelta(days=rng.randint(0, 3))
        due = d + timedelta(days=30 if terms == "Net 30" else 60)
        # Sagebrush pays about five weeks late: the receivables ageing has overdue invoices
        paid = due + timedelta(days=rng.randint(-12, 6) + (38 if acct == "WH-1005" else 0))
        ship_s = ship.isoformat() if ship <= self.end else ""
        paid_s = paid.isoformat() if paid <= self.end else ""
        sink = self.f_wh.get(month_of(d))
        units_total = 0
        lines = []
        n_lines = 5 + int(25.999 * rng.random() ** 2.5)  # 5..30 lines, most invoices short
        for n, si in enumerate(rng.sample(range(len(SKUS)), n_lines), start=1):
            s = SKUS[si]
            units = (2, 3, 4, 6, 6, 12)[rng.randrange(6)]  # case packs
            up = s.wholesale[cur]
            gross = up * units
            disc = q2(gross * drate)
            sink.row(["invoice", num, str(n), "", acct, cname, terms, s.sku, str(units), str(up), str(disc),
                      cur, d.isoformat(), ship_s, due.isoformat(), paid_s, ""])
            self.add("wholesale", d, GROSS, self.conv(gross, cur, d))
            self.add("wholesale", d, DISC, self.conv(disc, cur, d))
            self.add("wholesale", d, COGS, self.unit_cost(si, d) * units)
            shipped_ts = (ship.toordinal() - EPOCH_ORD) * 86400 if ship_s else None
            self.kt.order("wholesale", d, num, units, self.conv(gross, cur, d), self.conv(disc, cur, d), D0,
                          (d.toordinal() - EPOCH_ORD) * 86400, shipped_ts)
            self.invt.sale("wholesale", d, si, units, self.conv(gross, cur, d) - self.conv(disc, cur, d), num)
            self.rbt.line("wholesale", d, s.sku, units, self.conv(gross, cur, d) - self.conv(disc, cur, d),
                          self.unit_cost(si, d) * units, up, cur, D0, gross)
            if not ship_s:
                self.invt.open_order(si, units)
            units_total += units
            lines.append((s, units, up))
            if ship_s:
                self.sold[0][si] += units
        self.recon.invoice(num, acct, cur, d, due, paid if paid_s else None, [up * u for _s, u, up in lines], drate)
        new = 0 if acct in self.wh_seen else 1
        self.wh_seen.setdefault(acct, self.ordinal)
        self.kpi_add("wholesale", d, 1, units_total, new)
        if ship_s:
            amt = q2(Decimal("18.00") + Decimal("0.22") * units_total + Decimal(rng.randrange(500)) / 100)
            self.pend_3pl.setdefault(ship, []).append((num, amt, "Shipping", "wholesale", "Shipment", "Shipping"))
        if rng.random() < 0.06:  # credit note: returned units, no discount on the note
            cd = d + timedelta(days=rng.randint(5, 40))
            if cd <= self.end:
                rows = []
                for n, (s, units, up) in enumerate(rng.sample(lines, rng.randint(1, 3)), start=1):
                    back = rng.randint(1, max(1, units // 2))
                    restock = rng.random() < 0.6
                    rows.append(["credit_note", "", str(n), num, acct, cname, terms, s.sku, str(back), str(up),
                                 "0.00", cur, cd.isoformat(), "", "", "", "yes" if restock else "no"])
                    self.add("wholesale", cd, RET, self.conv(up * back, cur, cd))
                    self.kt.refund("wholesale", d, cd, self.conv(up * back, cur, cd), back)
                    if restock:
                        self.add("wholesale", cd, COGS, -self.unit_cost(s.idx, d) * back)
                self.recon.credit(num, cd, sum((Decimal(r[9]) * int(r[8]) for r in rows), D0))
                self.pend_cn.setdefault(cd, []).append(rows)

    # ---- 3PL ---------------------------------------------------------------------------------------
    def _threepl(self, d: date, i: int) -> None:
        rng = self.rng
        items = self.pend_3pl.pop(d, [])
        if d.day == calendar.monthrange(d.year, d.month)[1]:
            amt = q2(Decimal("140") * self.scale + Decimal(rng.randrange(4000)) / 100)
            items.append(("", amt, "Warehousing Fee", "unallocated", "FC", "Storage"))
        if i % 19 == 7:
            amt = q2(Decimal("35") + Decimal(rng.randrange(6000)) / 100 * self.scale)
            ref = f"WRO-{410000 + i}" if i % 2 else ""
            items.append((ref, amt, "Receiving Fee", "unallocated", "FC", "Receiving"))
        if not items:
            return
        sink = self.f_3pl.get(month_of(d))
        monday = d - timedelta(days=d.weekday())
        inv_id, inv_date = str(8800000 + monday.toordinal() % 100000), (monday + timedelta(days=7)).isoformat()
        for ref, amt, fee, ch, rtype, itype in items:
            self.tpl_seq += 1
            na = self.na_day is not None and d >= self.na_day and ch == "shopify_web"
            line = sink.row([str(70000000 + self.tpl_seq), "N/A" if na else str(amt), "USD", d.isoformat(),
                             inv_id, inv_date, itype, str(fee), ref, rtype, "Reno (NV)"])
            if na:
                self.na_day = None
                self.defects.append(("threepl_billing", sink.path.name, line, "non_numeric", "amount"))
                continue
            self.add(ch, d, FUL, amt)

    # ---- marketing ---------------------------------------------------------------------------------
    def _ga_preamble(self, m: str) -> tuple[str, str]:
        y, mo = int(m[:4]), int(m[5:])
        d1 = max(date(y, mo, 1), self.start)
        d2 = min(date(y, mo, calendar.monthrange(y, mo)[1]), self.end)
        fmt = lambda x: f"{MONTHS[x.month - 1]} {x.day}, {x.year}"  # noqa: E731
        return ("Campaign report", f"{fmt(d1)} - {fmt(d2)}")

    def _spend(self, base: float, cur: str = "USD") -> Decimal:
        return Decimal(f"{base * self.fs * self.rng.uniform(0.7, 1.3):.2f}")

    def _ads(self, d: date) -> None:
        rng, ds, m = self.rng, d.isoformat(), month_of(d)
        ui = self.months.index(m) % 2 == 0
        for cid, name, ctype, base, cpc, ctr, cvr, aov in C.GOOGLE_CAMPAIGNS:
            spend = self._spend(base * (9 if d.day == 15 and ctype == "Performance Max" else 1))  # push day
            clicks = max(1, int(float(spend) / (cpc * rng.uniform(0.85, 1.15))))
            impr = max(clicks, int(clicks / (ctr * rng.uniform(0.8, 1.2))))
            conv = round(clicks * cvr * rng.uniform(0.6, 1.4), 2)
            value = round(conv * aov * rng.uniform(0.85, 1.15), 2)
            blank = False
            if ui:
                sink = self.f_gui.get(m)
                blank = self.gblank_day is not None and d >= self.gblank_day and cid == C.GOOGLE_CAMPAIGNS[0][0]
                line = sink.row([ctype, name, ds, "USD", "" if blank else W.thousands(spend), str(clicks),
                                 str(impr), f"{clicks / impr * 100:.2f}%", f"{float(spend) / clicks:.2f}",
                                 f"{conv:.2f}", f"{conv / clicks * 100:.2f}%", f"{value:,.2f}",
                                 f"{float(spend) / conv:.2f}" if conv else "0.00"])
                tot = self.g_tot.setdefault(m, {})
                for key in ("Account", ctype):
                    t = tot.setdefault(key, [D0, 0, 0, 0.0, 0.0])
                    t[0] += spend
                    t[1] += clicks
                    t[2] += impr
                    t[3] += conv
                    t[4] += value
                if blank:
                    self.gblank_day = None
                    self.defects.append(("google_ads", sink.path.name, line, "missing_amount", "Cost"))
            else:
                self.f_gapi.get(m).row([ds, str(cid), name, "USD", str(impr), str(clicks),
                                        str(int(spend * 1000000)), f"{conv:.2f}", f"{value:.2f}"])
            if not blank:
                self.add(campaign_channel("google_ads", name), d, MKTG, spend)
                self.kt.ad("google_ads", campaign_channel("google_ads", name), d, spend, f"{value:.2f}", impr, clicks,
                           f"{conv:.2f}")
        for camp, adsets, base in C.META_CAMPAIGNS:
            n_ads = sum(len(ads) for _, ads in adsets)
            for adset, ads in adsets:
                for ad in ads:
                    spend = self._spend(base / n_ads)
                    impr = int(float(spend) * rng.uniform(55, 90))
                    clicks = int(impr * rng.uniform(0.008, 0.016))
                    purchases = int(clicks * rng.uniform(0.01, 0.04) + rng.random())
                    self.f_meta.get(m).row(row := [ds, camp, adset, ad, str(spend), str(impr),
                                            str(int(impr * rng.uniform(0.6, 0.85))), str(clicks), str(purchases),
                                            f"{purchases * rng.uniform(60, 110):.2f}", ds, ds])
                    self.add(campaign_channel("meta_ads", camp), d, MKTG, spend)
                    self.kt.ad("meta_ads", campaign_channel("meta_ads", camp), d, spend, row[9], impr, clicks, row[8])
        for camp, groups, base in C.PINTEREST_CAMPAIGNS:
            for grp in groups:
                spend = self._spend(base / len(groups))
                impr = int(float(spend) * rng.uniform(120, 200))
                clicks = int(impr * rng.uniform(0.003, 0.008))
                conv = int(clicks * rng.uniform(0.005, 0.03) + rng.random())
                self.f_pin.get(m).row(row := [ds, camp, grp, str(spend), str(impr), str(int(impr * 0.7)), str(clicks),
                                       str(int(impr * 0.004)), str(int(impr * 0.012)), str(conv),
                                       f"{conv * rng.uniform(60, 100):.2f}"])
                self.add(campaign_channel("pinterest_ads", camp), d, MKTG, spend)
                self.kt.ad("pinterest_ads", campaign_channel("pinterest_ads", camp), d, spend, row[10], impr, clicks,
                           row[9])
        for cid, name, ch, budget, base in C.AMAZON_ADS_CAMPAIGNS:
            cur = "USD" if ch == "amazon_us" else "CAD"
            spend = self._spend(base)
            clicks = max(1, int(float(spend) / rng.uniform(0.7, 1.3)))
            impr = int(clicks / rng.uniform(0.003, 0.006))
            units = int(clicks * rng.uniform(0.06, 0.14) + rng.random())
            purchases = max(0, units - int(rng.random() * 2)) if units else 0
            self.f_aads[ch].get(m).row(row := [ds, str(cid), name, "ENABLED", budget, cur, str(impr), str(clicks),
                                        str(spend), str(purchases), f"{units * rng.uniform(30, 60):.2f}", str(units)])
            self.add(campaign_channel("amazon_ads", name), d, MKTG, self.conv(spend, cur, d))
            self.kt.ad("amazon_ads", campaign_channel("amazon_ads", name), d, self.conv(spend, cur, d),
                       self.conv(Decimal(row[10]), cur, d), impr, clicks, row[9])

    def _google_totals(self) -> None:
        for m, tot in self.g_tot.items():
            rows = []
            for key, (cost, clicks, impr, conv, value) in tot.items():
                rows.append([f"Total: {key}", "", "", "USD", W.thousands(cost), str(clicks), str(impr),
                             f"{clicks / impr * 100:.2f}%", f"{float(cost) / clicks:.2f}", f"{conv:.2f}",
                             f"{conv / clicks * 100:.2f}%", f"{value:,.2f}",
                             f"{float(cost) / conv:.2f}" if conv else "0.00"])
            self.f_gui.get(m).extra = rows

    # ---- inventory ---------------------------------------------------------------------------------
    def _init_inventory(self) -> None:
        n = len(SKUS)
        per_sku = [self.opd * x / n for x in (0.55 * 1.6 + 0.03 * 12 * 5.5, 0.20 * 1.2, 0.07 * 1.2)]
        self.inv = []  # [on_hand, inbound, arrival_day_index, reorder_point, lot] per (location, sku)
        for daily in per_sku:
            self.inv.append([[int(daily * 35) + 20, 0, -1, int(daily * 14) + 5, int(daily * 30) + 24]
                             for _ in range(n)])

    def _inventory(self, d: date, i: int) -> None:
        sink = self.f_inv.get(month_of(d))
        ds = d.isoformat()
        rows = {}
        self.invt.before_snapshot(i)
        for loc, name in ((0, "3PL - ShipBob Reno"), (1, "Amazon FBA US"), (2, "Amazon FBA CA")):
            for si, st in enumerate(self.inv[loc]):
                st[0] = max(0, st[0] - self.sold[loc][si])
                if st[2] == i:
                    st[0] += st[1]
                    self.invt.receive(loc, si, st[1])
                    st[1], st[2] = 0, -1
                if st[0] < st[3] and st[1] == 0:
                    st[1], st[2] = st[4], i + 6
                rows[(name, si)] = (st[0], st[0] - st[0] // 40, st[1])
        for name in C.INVENTORY_LOCATIONS:
            for si, s in enumerate(SKUS):
                if name == "Shopify - Main warehouse":  # Shopify mirrors the 3PL, with drift on two SKUs
                    on_hand, sellable, inbound = rows[("3PL - ShipBob Reno", si)]
                    drift = (2 if si == 5 else -3 if si == 17 else 0) if i > self.days // 4 else 0
                    on_hand, sellable = max(0, on_hand + drift), max(0, sellable + drift)
                    on_hand, sellable = self.invt.shopify_view(si, i, on_hand, sellable)
                else:
                    on_hand, sellable, inbound = rows[(name, si)]
                sink.row([ds, name, s.sku, str(on_hand), str(sellable), str(inbound), self.invt.snapshot_at(name, d)])
                self.invt.record(name, si, d, on_hand, sellable, inbound)
        self.invt.after_snapshot(d, i)

    # ---- messy post-processing -------------------------------------------------------------------
    def _messy_files(self) -> None:
        for feed in (self.f_orders, self.f_wh):
            for sink in feed.open.values():
                self.defects.append((feed.feed, sink.path.name, 0, "bom_crlf", "encoding"))
        meta_month = self.months[min(1, len(self.months) - 1)]
        if meta_month in self.f_meta.open:
            self.defects.append(("meta_ads", self.f_meta.open[meta_month].path.name, 0,
                                 "renamed_optional_column", "Reach"))
        src = next(iter(self.f_pay.open.values()))
        dup = src.path.with_name(src.path.stem + " (1)" + src.path.suffix)
        shutil.copyfile(src.path, dup)
        self.reg.copies.append(("shopify_payments", dup, src.rows))
        self.defects.append(("shopify_payments", dup.name, 0, "duplicate_file", "duplicate"))
        fx = list(self.fx_feed.open.values())[-1]
        with open(fx.path, "a", newline="") as f:
            f.write("\n\n")
        self.defects.append(("fx_rates", fx.path.name, 0, "trailing_blank", "blank"))

    # ---- truth -----------------------------------------------------------------------------------------
    def _write_truth(self) -> dict:
        tdir = self.home / "demo" / "truth"
        if tdir.exists():
            shutil.rmtree(tdir)
        tdir.mkdir(parents=True)
        order = {ch: n for n, ch in enumerate(C.CHANNELS)}
        with open(tdir / "pnl_daily.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(PNL_HEADER)
            for ch, d in sorted(self.pnl, key=lambda k: (order[k[0]], k[1])):
                g, disc, ret, ship, cogs, ful, pay, mkt, mktg, opex, reimb = self.pnl[(ch, d)]
                net_sales = g - disc - ret
                net_rev = net_sales + ship
                cm1 = net_rev - cogs
                cm2 = cm1 - ful - pay - mkt + reimb
                cm3 = cm2 - mktg
                vals = [g, disc, ret, net_sales, ship, net_rev, cogs, cm1, ful, pay, mkt, reimb, cm2, mktg, cm3,
                        opex, cm3 - opex]
                if any(vals):
                    w.writerow([ch, d.isoformat(), *map(money, vals)])
        with open(tdir / "kpis_daily.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["channel", "date", "orders", "units", "sessions", "new_customers"])
            keys = sorted(set(self.kpi) | set(self.sessions), key=lambda k: (order[k[0]], k[1]))
            for ch, d in keys:
                o, u, n = self.kpi.get((ch, d), (0, 0, 0))
                sess = self.sessions.get((ch, d))
                w.writerow([ch, d.isoformat(), o, u, "" if sess is None else sess,
                            "" if ch.startswith("amazon") else n])
        with open(tdir / "settlements.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["settlement_id", "marketplace", "layout", "start", "end", "currency", "total_amount",
                        "components"])
            for st in self.settle.values():
                w.writerows(st.summaries)
        with open(tdir / "inventory_write_offs.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["channel", "date", "sku", "units", "write_off_value", "reimbursement"])
            for ch, d, sku, units, cost, paid in self.reimbursed:  # costs are USD: the value needs no rate
                w.writerow([ch, d.isoformat(), sku, units, money(cost * units), money(paid)])
        with open(tdir / "settlement_components.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["settlement_id", "posted_month", "transaction_type", "amount_type", "amount_description",
                        "amount"])
            for st in self.settle.values():
                w.writerows(sorted([*key, f"{amount:.2f}"] for key, amount in st.components.items()))
        self.recon.write(tdir)
        self.invt.write(tdir)
        self.rbt.write(tdir)
        self.kt.write(tdir)
        self.accruals.write(tdir)
        self.demand.write(tdir)
        files = self.reg.files()
        with open(tdir / "files.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["feed", "file", "data_rows"])
            w.writerows(files)
        if self.messy:
            with open(tdir / "defects.csv", "w", newline="") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(["feed", "file", "line", "kind", "expected_reason_keyword"])
                w.writerows(sorted(self.defects))
        (tdir / "README.md").write_text(
            TRUTH_README.format(start=self.start, end=self.end, settled=self.settled_until, messy=self.messy,
                                timezone=self.timezone)
            + RECON_README + INVENTORY_README + READBACK_README + KPI_README + ACCRUAL_README + DEMAND_README)
        return {**self._file_summary(), "truth_dir": str(tdir)}

    def _file_summary(self) -> dict:
        """{feed: {files, rows}} of the vendor files written."""
        summary: dict = {}
        for feed, _name, rows in self.reg.files():
            s = summary.setdefault(feed, {"files": 0, "rows": 0})
            s["files"] += 1
            s["rows"] += rows
        self.progress(f"demo data: {sum(v['rows'] for v in summary.values())} rows "
                      f"in {sum(v['files'] for v in summary.values())} files")
        return summary


TRUTH_README = """# Demo ground truth

Computed by `orchestration/demo/generator.py` from the simulated events (never by reading the
landing files back), following `docs/metrics.md`. Window: {start} .. {end}. Every day here is a
local day of {timezone}, the demo's business time zone (config/settings.yml). Amazon
settled through {settled} (exclusive; later Amazon refunds are not settled yet and appear
nowhere; the fees of later-settling items are accrued on their order day: `fees_unsettled.csv`). Messy mode: {messy}.

- `pnl_daily.csv` — channel × day P&L in USD (2 decimals): every channel incl. `unallocated`, every
  day with a non-zero line. Operating costs are spread over every day of each month in the
  operating_costs files, so days of the first month before the window start carry them too.
- `kpis_daily.csv` — orders and units (cancelled excluded), sessions (empty where the channel
  reports none), new_customers (first non-cancelled order across all channels by
  lower(trim(email)) / wholesale customer_account; empty for Amazon, which has no identity).
- `inventory_write_offs.csv` — every FBA reimbursement (P&L line `reimbursements`): channel, posted
  day, SKU, units lost, their cost written off from inventory value (USD), the amount reimbursed (USD).
- `settlements.csv` — every written Amazon settlement: id, marketplace, layout (v2|legacy), period
  [start, end), currency, total_amount (= sum of its component rows), number of component rows.
- `settlement_components.csv` — every written settlement's component rows summed per month of their
  posted date × transaction type × amount type × description (the month parts of the finance journal).
- `files.csv` — every landing file with its count of real data rows (no header, title/date-range
  lines, Total rows, settlement summary row or blank lines).
- `defects.csv` (messy mode only) — each planted defect: feed, file, 1-based physical line (0 for
  file-level defects), kind, a keyword the quarantine reason should contain. The P&L excludes the
  events of defective rows. Messy mode also writes Amazon files in the dialects sellers download
  (orchestration/demo/dialects_amazon.py: the same sku twice in an order, legacy quantity rows,
  decimal commas, the All Orders report as quoted Windows-1252 CSV); the events and the truth are
  the same, `data_rows` counts each file's rows as rewritten (a legacy quantity row is not a data
  row: it lands merged into its item's components). It also writes the marketing and 3PL dialects
  (orchestration/demo/dialects_marketing.py: Google's UTF-16 tab Excel CSV, Ads console exports in
  USD and CAD, a Meta age × gender breakdown and 8-decimal spend, ShipBob's invoice download with
  4-decimal storage lines); the spend and costs per channel and day are the same.
"""


def generate(home: Path, *, days: int = 120, orders_per_day: int = 60, seed: int = 7,
             end: date = date(2026, 10, 31), messy: bool = False,
             progress: Callable[[str], None] | None = None, timezone: str = "America/New_York",
             truth: bool = True) -> dict:
    """Write the demo brand's vendor files to `home/landing/<feed>/` and the truth to
    `home/demo/truth/`, the shop in business time zone `timezone` (written to the home's
    config/settings.yml; its truth days are local days). Same arguments → byte-identical files.
    Returns {feed: {files, rows}} plus "truth_dir". `truth=False`: the same vendor files, no truth
    and no "truth_dir" (the benchmark compares with the files themselves; some oracles scan every
    period × day, minutes over two years)."""
    sim = _Sim(Path(home), days, orders_per_day, seed, end, messy, progress, timezone)
    sim.write_truth = truth
    if not truth:  # no truth folder of another run left to be mistaken for this one's
        shutil.rmtree(Path(home) / "demo" / "truth", ignore_errors=True)
    return sim.run()
