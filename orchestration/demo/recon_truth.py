"""Reconciliation ground truth of the demo: payouts, settlements, receivables, late data.

The generator calls these hooks as it simulates events (a payment transaction is written, an
Amazon item is sold or settled, an invoice is issued or paid…); the truth is computed from those
events, never by reading the landing files back, following docs/metrics.md "Reconciliation".

It also plants the two reconciliation situations of the demo:

- **chargeback fees outside the Fee column**: on one day, Shopify Payments deducts a 15.00
  chargeback fee (`adjustment` transaction, Amount −15.00, Fee 0, no order refund) for
  ceil(orders_per_day / 10) earlier web orders. They are payment fees of shopify_web on that day
  (P&L truth) and payment-fee facts of their payout (explained as `fees`): the payout reconciles.
- **a late refund into a closed month**: the first web refund of an order placed and refunded in
  the second-to-last month M is written not to M's payments export but to its own file
  `payment_transactions_export_<M>_late.csv`, which arrives after M was first published (a test
  lands it later). The P&L truth includes it (it is M's refund); `late_data.csv` says what it moves.

Writing these consumes no randomness: every other file is byte-identical to a run without them.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from . import writers as W

CHARGEBACK_FEE = Decimal("15.00")
PAY_LINE = 6  # generator.PAY: the truth P&L line of payment fees
TOLERANCE_PCT, TOLERANCE_MIN = Decimal("0.005"), Decimal("1.00")


def q2(v: Decimal) -> Decimal:
    return v.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def is_reconciled(unexplained_rc: Decimal, reported_rc: Decimal) -> bool:
    return abs(unexplained_rc) <= max(q2(abs(reported_rc) * TOLERANCE_PCT), TOLERANCE_MIN)


class ReconTruth:
    def __init__(self, sim):
        self.sim = sim
        self.start, self.end, self.periods = sim.start, sim.end, sim.periods
        # Shopify payouts: (payout_id, channel) -> [payout_date, reported, expected, unexplained, note]
        self.payouts: dict[tuple[str, str], list] = {}
        # Amazon: (channel, period) -> sales paid in that settlement / sales facts dated in its period
        self.settled_sales: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
        self.fact_sales: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
        # wholesale: invoice -> [account, currency, invoice_date, due, paid | None, amount, credited]
        self.invoices: dict[str, list] = {}
        self.as_of: date | None = None
        # seeded situations
        self.chargeback_day = sim.start + timedelta(days=sim.days * 2 // 3) if sim.days >= 10 else None
        self.candidates: list[str] = []  # recent web orders charged, not refunded
        self.late_month = sim.months[-2] if len(sim.months) >= 2 else None
        self.late_name: str | None = None  # order whose refund is late
        self.late_sink: W.Sink | None = None
        self.late_rows: list[list] = []

    # ---- Shopify Payments ----------------------------------------------------------------------
    def shopify(self, payout_id: str, payout_date: str, channel: str, kind: str, amount: Decimal,
                fee: Decimal, known: bool) -> None:
        """One payments transaction. `known`: its order is a sale in the facts (else every cent of it
        is money the facts cannot explain)."""
        p = self.payouts.get((payout_id, channel))
        if p is None:
            p = self.payouts[(payout_id, channel)] = [payout_date, Decimal(0), Decimal(0), Decimal(0), []]
        p[1] += amount - fee
        p[2] -= fee  # the fee of any transaction is a payment-fee fact (`unallocated` without its order)
        if kind not in ("charge", "refund"):  # a processor charge outside the Fee column: a payment fee
            p[2] += amount
        elif known:
            p[2] += amount
        else:
            p[3] += amount
            p[4].append(f"{kind} of an order the facts do not have")

    def candidate(self, name: str) -> None:
        self.candidates.append(name)
        del self.candidates[:-50]

    def chargebacks(self, d: date, day_ts: int) -> None:
        """On the chargeback day, Shopify deducts a chargeback fee per disputed earlier web order: a
        payment fee of the order's channel on that day (docs/metrics.md)."""
        if d != self.chargeback_day or not self.candidates:
            return
        n = max(1, -(-self.sim.opd // 10))
        for j, name in enumerate(self.candidates[-n:]):
            created, local_day = self.sim.clock.fmt(day_ts + 15 * 3600 + 600 * j)
            self.sim._pay_row(created, local_day, "adjustment", name, -CHARGEBACK_FEE, Decimal("0.00"), False)
            self.sim.add("shopify_web", d, PAY_LINE, CHARGEBACK_FEE)

    # ---- the late refund -----------------------------------------------------------------------------
    def is_late(self, order_day: date, refund_day: date, refund_local_day: str) -> bool:
        """The first web refund of an order placed and refunded (UTC and store-local) in the late month."""
        m = self.late_month
        if self.late_name is not None or m is None:
            return False
        return f"{order_day:%Y-%m}" == m and f"{refund_day:%Y-%m}" == m and refund_local_day[:7] == m

    def mark_late(self, name: str, channel: str, refund_day: date, returns: Decimal, shipping: Decimal,
                  restock: Decimal) -> None:
        self.late_name = name
        self.late_rows.append([name, channel, refund_day.isoformat(), f"{refund_day:%Y-%m}", str(returns),
                               str(-shipping), str(-restock)])

    def late_file(self) -> W.Sink:
        if self.late_sink is None:
            pattern = W.FEEDS["shopify_payments"][0].format(m=f"{self.late_month}_late")
            self.late_sink = W.Sink(self.sim.reg, "shopify_payments",
                                    self.sim.landing / "shopify_payments" / pattern, W.SHOPIFY_PAYMENTS)
        return self.late_sink

    # ---- Amazon ------------------------------------------------------------------------------------
    def _period(self, d: date) -> int | None:
        k = (d - self.start).days // 14
        return k if 0 <= k < len(self.periods) else None

    def amazon_sale(self, channel: str, order_day: date, value: Decimal) -> None:
        """A sale fact (non-cancelled order item): value = item price − promotion + shipping −
        shipping promotion + tax, in the marketplace currency, dated on the order day."""
        k = self._period(order_day)
        if k is not None:
            self.fact_sales[(channel, k)] += value

    def amazon_settled_sale(self, channel: str, k: int, value: Decimal) -> None:
        self.settled_sales[(channel, k)] += value

    # ---- wholesale ----------------------------------------------------------------------------------
    def _seen(self, d: date | None) -> None:
        if d is not None and (self.as_of is None or d > self.as_of):
            self.as_of = d

    def invoice(self, number: str, account: str, currency: str, d: date, due: date, paid: date | None,
                grosses: list[Decimal], discount_rate: Decimal) -> None:
        amount = sum((g - q2(g * discount_rate) for g in grosses), Decimal(0))
        self.invoices[number] = [account, currency, d, due, paid, amount, Decimal(0)]
        self._seen(d)
        self._seen(paid)

    def credit(self, number: str, d: date, amount: Decimal) -> None:
        self.invoices[number][6] += amount
        self._seen(d)

    # ---- output --------------------------------------------------------------------------------------
    def _rate(self, currency: str, d: date) -> Decimal:
        return Decimal(1) if currency == "USD" else self.sim.fx[d][currency]

    def write(self, tdir: Path) -> None:
        header = ["source", "channel", "payout_id", "currency", "period_end", "expected", "reported", "variance",
                  "unexplained", "expected_rc", "reported_rc", "unexplained_rc", "is_reconciled", "note"]
        rows = []
        for (payout_id, channel), payout in sorted(self.payouts.items()):
            _payout_date, reported, expected, unexplained, notes = payout
            rows.append(["shopify_payments", channel, payout_id, "USD", "", expected, reported, reported - expected,
                         unexplained, expected, reported, unexplained, is_reconciled(unexplained, reported),
                         "; ".join(notes)])
        for channel, stream in self.sim.settle.items():
            for k, summary in enumerate(stream.summaries):
                sid, currency, total = summary[0], summary[5], Decimal(summary[6])
                expected = total - self.settled_sales[(channel, k)] + self.fact_sales[(channel, k)]
                last_day = date.fromisoformat(summary[4]) - timedelta(days=1)
                rate = self._rate(currency, last_day)
                reported_rc, expected_rc = q2(total * rate), q2(expected * rate)
                rows.append(["amazon_settlement", channel, sid, currency, last_day.isoformat(), expected, total,
                             total - expected, Decimal("0.00"), expected_rc, reported_rc, Decimal("0.00"),
                             is_reconciled(Decimal(0), reported_rc),
                             "timing: orders of one settlement period paid in another"
                             if total != expected else ""])
        with open(tdir / "payouts.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows([[f"{v:.2f}" if isinstance(v, Decimal) else v for v in r] for r in rows])
        with open(tdir / "receivables.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["document_number", "customer_account", "currency", "invoice_date", "due_date", "paid_date",
                        "invoice_amount", "credited_amount", "open_amount", "open_amount_rc", "days_past_due",
                        "ageing_bucket", "as_of_date"])
            as_of = self.as_of
            for number, (acct, cur, d, due, paid, amount, credited) in sorted(self.invoices.items()):
                is_open = paid is None or paid > as_of
                open_amount = amount - credited if is_open else Decimal(0)
                days = (as_of - due).days
                bucket = ("paid" if not is_open else "current" if days <= 0 else "1-30" if days <= 30
                          else "31-60" if days <= 60 else "61-90" if days <= 90 else "90+")
                w.writerow([number, acct, cur, d.isoformat(), due.isoformat(), paid.isoformat() if paid else "",
                            f"{amount:.2f}", f"{credited:.2f}", f"{open_amount:.2f}",
                            f"{q2(open_amount * self._rate(cur, as_of)):.2f}", days if is_open else "", bucket,
                            as_of.isoformat()])
        with open(tdir / "late_data.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["feed", "file", "order", "channel", "refund_date", "month", "returns", "shipping_income",
                        "cogs"])
            for r in self.late_rows:
                w.writerow(["shopify_payments", self.late_sink.path.name if self.late_sink else "", *r])


TRUTH_README = """
- `payouts.csv` — one row per channel × payout (Shopify Payments, split by the channel of each
  transaction's order; `unallocated` for transactions of orders the facts do not have) and per Amazon
  settlement: expected (from the order, refund and fee facts), reported (Σ net of the payout's
  transactions; the settlement's total-amount), variance = reported − expected, the unexplained
  remainder, reporting-currency values (Amazon at the rate of the period's last day) and
  is_reconciled (|unexplained| ≤ max(0.5% of |reported|, 1.00) in the reporting currency).
  Amazon expected = the facts dated in the settlement period: its variance is timing (orders of one
  period settled in the next). The seeded Shopify chargeback fees (`adjustment` rows) are payment-fee
  facts (expected); the fee of a transaction whose order the facts do not have is a payment fee on
  `unallocated`, its charge or refund amount is unexplained.
- `receivables.csv` — every wholesale invoice: amount (Σ units × price − discount), credit notes
  against it, open amount at the as-of date (the latest invoice/credit/paid date), days past due and
  ageing bucket (current, 1-30, 31-60, 61-90, 90+; `paid` when settled), open amount at the as-of rate.
- `late_data.csv` — the late refund: its file (landed after its month was first published), order,
  channel, refund date, month, and what it moves in the P&L (returns, shipping_income, cogs: the
  assumed restock credit, docs/metrics.md "COGS").
"""
