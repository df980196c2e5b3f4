"""Demand ground truth of the demo: the structure the simulated demand is drawn from.

The generator asks this module how many orders to draw, at what price a channel lists a SKU, and
whether a drawn order line survives its price; at the end `write(tdir)` writes the structure (the
parameters below, the price schedule, the seeded promotion, level change and stockout) and each
channel × SKU × day's expected units. Seeded, relative to the window's first day S and last day E:

- **trend**: the online channels' demand grows by `TREND_PER_DAY` (compounded) from S.
- **weekly seasonality**: the generator's weekday factors (`WEEKDAY_FACTORS`, Monday first) on
  shopify_web and Amazon; the store (`shopify_pos`) sells 1.3× on weekends, 0.88× on weekdays.
- **level change**: `shopify_pos` demand × `SHIFT_FACTOR` from E−`SHIFT_DAYS_BEFORE_END` on (the
  store opens on Mondays and evenings).
- **price elasticity**: on the retail channels (shopify_web, shopify_pos, amazon_us, amazon_ca)
  every SKU's units respond to its listed price as units ∝ (price ÷ base price)^elasticity
  (`ELASTICITY`). Each product (category: its variants move together) is repriced on the four
  channels at once every `BLOCK_WEEKS` weeks (Mondays) to a multiplier of `PRICE_LEVELS`, never
  below a SKU's minimum advertised price; the seeded readback SKUs (FH-VAS-MEDIU, FH-CDL-FIG)
  keep their list price and move only with their seeded price cut / promotion. Wholesale (a price
  list) never reprices.
- **promotion lift**: the seeded FH-CDL-FIG promotion (10% off, readback_truth.py) lifts units by
  0.9^elasticity on its channels; order-level codes and the random line discounts do not move demand.
- **stockout**: the Amazon FBA US stockout of inventory_truth.py: the SKU's amazon_us demand
  continues but is lost for `STOCKOUT_DAYS` days.

How units respond: the generator draws `cap` times the channel's orders (cap = the largest price
factor the channel can see) and keeps each drawn line with probability factor ÷ cap, from its own
random stream: a channel × SKU's expected units are exactly proportional to price^elasticity.
"""

from __future__ import annotations

import csv
import math
import random
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

from connectors.home import SEEDS_DIR

from .catalog import CENT, SKUS, q2
from .inventory_truth import STOCKOUT_DAYS
from .readback_truth import PRICE_CUT_CHANNEL, PRICE_CUT_FACTOR, PRICE_CUT_SKU, PROMO_PCT, PROMO_SKU, PROMO_WINDOWS

# every retail channel reprices (the readback compares their realised prices: none may fall behind)
ELASTICITY = {"shopify_web": -1.8, "shopify_pos": -0.8, "amazon_us": -0.4, "amazon_ca": -1.2}
# ±10% keeps a channel whose units fall in a month's cheaper weeks within the readback's 15% price rule
PRICE_LEVELS = (Decimal("0.90"), Decimal("0.95"), Decimal("1.00"), Decimal("1.05"), Decimal("1.10"))
BLOCK_WEEKS = 2
FIXED_PRICE_SKUS = (PRICE_CUT_SKU, PROMO_SKU)  # their seeded price moves are the readback's situations
TREND_PER_DAY, TREND_CHANNELS = 0.0015, ("shopify_web", "amazon_us", "amazon_ca")
SHIFT_CHANNEL, SHIFT_DAYS_BEFORE_END, SHIFT_FACTOR = "shopify_pos", 42, 1.4
WEEKDAY_FACTORS = (0.95, 0.97, 1.0, 1.0, 1.05, 1.12, 1.08)
# expected order lines per drawn order × units per line, and the share of orders not cancelled
# (the generator's draws): the expected units of a SKU on a day
LINES_PER_ORDER = {"shopify_web": 0.55 + 2 * 0.28 + 3 * 0.12 + 4 * 0.05, "shopify_pos": 0.6 + 2 * 0.3 + 3 * 0.1,
                   "amazon_us": 0.85 + 2 * 0.15, "amazon_ca": 0.85 + 2 * 0.15}
UNITS_PER_LINE = {"shopify_web": 0.8 + 2 * 0.15 + 3 * 0.05, "shopify_pos": 0.8 + 2 * 0.15 + 3 * 0.05,
                  "amazon_us": 0.9 + 2 * 0.1, "amazon_ca": 0.9 + 2 * 0.1}
ORDER_SHARE = {"shopify_web": 0.55, "shopify_pos": 0.15, "amazon_us": 0.20, "amazon_ca": 0.07}
NOT_CANCELLED = 0.98


def category(sku_index: int) -> str:
    """The product a SKU is a variant of (its line-item name before " - ")."""
    return SKUS[sku_index].name.split(" - ")[0]


def _minimum_advertised_prices() -> dict[str, Decimal]:
    with (SEEDS_DIR / "minimum_advertised_prices.csv").open(newline="") as handle:
        rows = csv.DictReader(handle)
        return {r["sku"]: Decimal(r["minimum_advertised_price"]) for r in rows if r["currency"] == "USD"}


class DemandTruth:
    def __init__(self, sim) -> None:
        self.sim, self.rbt = sim, sim.rbt
        # line acceptance, its own stream (the main one is not consumed). Its name is part of the seed's
        # contract: a thin week of web sales with several discount codes can sit 15% below the other
        # channels (an unseeded price_inconsistency); this stream keeps the tests' demo windows clear of it
        self.rng = random.Random(f"{sim.seed}-demand-c")
        self.first_monday = sim.start - timedelta(days=sim.start.weekday())
        self.shift_from = sim.end - timedelta(days=SHIFT_DAYS_BEFORE_END)
        self.maps = _minimum_advertised_prices()
        self.categories = sorted({category(i) for i in range(len(SKUS))})
        self.schedule = self._draw_schedule(random.Random(f"{sim.seed}-prices"))
        self.cap = {ch: self._factor(ch, self._lowest_ratio(ch)) for ch in ELASTICITY}
        # (channel, sku index, day) -> price ratio of the day's listed price to the base price
        self.ratios: dict[tuple[str, int, date], float] = {}

    # ---- structure ---------------------------------------------------------------------------------
    def _draw_schedule(self, rng: random.Random) -> dict[str, list[Decimal]]:
        """Per category, the multiplier of each BLOCK_WEEKS-week block from the window's first Monday."""
        blocks = (self.sim.end - self.first_monday).days // (7 * BLOCK_WEEKS) + 1
        schedule = {}
        for cat in self.categories:
            levels, previous = [], None
            for _ in range(blocks):
                previous = rng.choice([m for m in PRICE_LEVELS if m != previous])
                levels.append(previous)
            schedule[cat] = levels
        return schedule

    def multiplier(self, channel: str, si: int, d: date) -> Decimal:
        if channel not in ELASTICITY or SKUS[si].sku in FIXED_PRICE_SKUS:
            return Decimal(1)
        return self.schedule[category(si)][(d - self.first_monday).days // (7 * BLOCK_WEEKS)]

    def _lowest_ratio(self, channel: str) -> float:
        seeded = [1.0]
        if channel == PRICE_CUT_CHANNEL:
            seeded.append(float(PRICE_CUT_FACTOR))
        if channel in PROMO_WINDOWS:
            seeded.append(float(1 - PROMO_PCT))
        return min(float(PRICE_LEVELS[0]), *seeded)

    @staticmethod
    def _factor(channel: str, ratio: float) -> float:
        return ratio ** ELASTICITY[channel] if channel in ELASTICITY else 1.0

    def trend(self, channel: str, d: date) -> float:
        return math.exp(TREND_PER_DAY * (d - self.sim.start).days) if channel in TREND_CHANNELS else 1.0

    def shift(self, channel: str, d: date) -> float:
        return SHIFT_FACTOR if channel == SHIFT_CHANNEL and d >= self.shift_from else 1.0

    # ---- asked by the generator --------------------------------------------------------------------
    def order_factor(self, channel: str, d: date) -> float:
        """Drawn orders of the day relative to the channel's base rate (trend, level change, cap)."""
        return self.trend(channel, d) * self.shift(channel, d) * self.cap.get(channel, 1.0)

    def visit_share(self, channel: str) -> float:
        """Share of the drawn orders that are visits (sessions are drawn from them): 1 ÷ cap."""
        return 1 / self.cap.get(channel, 1.0)

    def price(self, channel: str, si: int, d: date, base: Decimal) -> Decimal:
        """The channel's listed unit price of the SKU that day (base × the category's multiplier,
        at least the SKU's minimum advertised price where the price is in USD)."""
        m = self.multiplier(channel, si, d)
        if m == 1:
            return base
        p = q2(base * m)
        floor = self.maps.get(SKUS[si].sku) if channel != "amazon_ca" else None  # the USD listings
        return max(p, floor.quantize(CENT, ROUND_CEILING)) if floor is not None else p

    def accept(self, channel: str, si: int, d: date, listed: Decimal, base: Decimal) -> bool:
        """Whether a drawn line survives its price: probability factor ÷ cap (always on inelastic channels)."""
        ratio = float(listed / base) * self.rbt.price_ratio(channel, d, SKUS[si].sku)
        self.ratios[(channel, si, d)] = ratio
        if channel not in ELASTICITY:
            return True
        return self.rng.random() < self._factor(channel, ratio) / self.cap[channel]

    # ---- truth -------------------------------------------------------------------------------------
    def _ratio(self, channel: str, si: int, d: date) -> float:
        """The day's price ratio as the generator saw it, else as the schedule sets it (no line drawn)."""
        hit = self.ratios.get((channel, si, d))
        if hit is not None:
            return hit
        s = SKUS[si]
        base = s.price_cad if channel == "amazon_ca" else s.price
        return float(self.price(channel, si, d, base) / base) * self.rbt.price_ratio(channel, d, s.sku)

    def expected_units(self, channel: str, si: int, d: date) -> float:
        """The mean of the simulated units of a channel × SKU × day (0 while it cannot sell)."""
        if self.sim.invt.unavailable(channel, si, d):
            return 0.0
        wf = WEEKDAY_FACTORS[d.weekday()] if channel != "shopify_pos" else (1.3 if d.weekday() >= 5 else 0.88)
        orders = self.sim.opd * ORDER_SHARE[channel] * wf * self.trend(channel, d) * self.shift(channel, d)
        orders *= self.rbt.order_multiplier(channel, d)
        lines = orders * LINES_PER_ORDER[channel] / len(SKUS) * self._factor(channel, self._ratio(channel, si, d))
        return lines * UNITS_PER_LINE[channel] * NOT_CANCELLED

    def stockout(self) -> tuple[str, str, date, date] | None:
        invt = self.sim.invt
        if invt.stockout_sku is None:
            return None
        first = self.sim.start + timedelta(days=invt.i_stockout)
        return "amazon_us", SKUS[invt.stockout_sku].sku, first, first + timedelta(days=STOCKOUT_DAYS - 1)

    def write(self, tdir: Path) -> None:
        self._write_elasticities(tdir)
        self._write_structure(tdir)
        self._write_expected(tdir)

    def _write_elasticities(self, tdir: Path) -> None:
        sim = self.sim
        with open(tdir / "demand_elasticities.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["channel", "category", "sku", "elasticity", "price_varies"])
            for ch, e in ELASTICITY.items():
                for si, s in enumerate(SKUS):
                    varies = s.sku not in FIXED_PRICE_SKUS or (ch == PRICE_CUT_CHANNEL and s.sku == PRICE_CUT_SKU) \
                        or (ch in PROMO_WINDOWS and s.sku == PROMO_SKU)
                    w.writerow([ch, category(si), s.sku, e, "true" if varies else "false"])
        with open(tdir / "demand_price_schedule.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["category", "first_day", "last_day", "multiplier"])
            for cat in self.categories:
                for k, m in enumerate(self.schedule[cat]):
                    first = self.first_monday + timedelta(days=7 * BLOCK_WEEKS * k)
                    w.writerow([cat, max(first, sim.start), min(first + timedelta(days=7 * BLOCK_WEEKS - 1), sim.end),
                                m])

    def _write_structure(self, tdir: Path) -> None:
        sim = self.sim
        with open(tdir / "demand_structure.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["component", "channel", "subject", "first_day", "last_day", "value", "detail"])
            for ch in TREND_CHANNELS:
                w.writerow(["trend", ch, "", sim.start, sim.end, TREND_PER_DAY, "daily growth, compounded"])
            for wd, factor in enumerate(WEEKDAY_FACTORS):
                for ch in ("shopify_web", "amazon_us", "amazon_ca"):
                    w.writerow(["weekday", ch, wd, sim.start, sim.end, factor, "weekday factor, Monday = 0"])
            for wd in range(7):
                w.writerow(["weekday", "shopify_pos", wd, sim.start, sim.end, 1.3 if wd >= 5 else 0.88,
                            "weekday factor, Monday = 0"])
            w.writerow(["level_change", SHIFT_CHANNEL, "", self.shift_from, sim.end, SHIFT_FACTOR,
                        "demand x factor from first_day"])
            for ch, (a, b) in self.rbt.promo.items():
                lift = round(float(1 - PROMO_PCT) ** ELASTICITY[ch], 6)
                w.writerow(["promotion", ch, PROMO_SKU, max(a, sim.start), b, lift,
                            f"{PROMO_PCT * 100:.0f}% off: units lift"])
            w.writerow(["price_cut", PRICE_CUT_CHANNEL, PRICE_CUT_SKU, max(self.rbt.cut_from, sim.start), sim.end,
                        round(float(PRICE_CUT_FACTOR) ** ELASTICITY[PRICE_CUT_CHANNEL], 6),
                        f"list price x {PRICE_CUT_FACTOR}: units lift"])
            case = self.stockout()
            if case is not None:
                ch, sku, first, last = case
                w.writerow(["stockout", ch, sku, first, last, 0, "Amazon FBA US out of stock: demand lost"])

    def _write_expected(self, tdir: Path) -> None:
        sim = self.sim
        with open(tdir / "demand_expected_daily.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["channel", "sku", "date", "price_ratio", "expected_units"])
            for ch in ORDER_SHARE:
                for si, s in enumerate(SKUS):
                    d = sim.start
                    while d <= sim.end:
                        w.writerow([ch, s.sku, d, f"{self._ratio(ch, si, d):.6f}",
                                    f"{self.expected_units(ch, si, d):.6f}"])
                        d += timedelta(days=1)


TRUTH_README = """
## Demand (orchestration/demo/demand_truth.py)

Seeded: a growth trend on the online channels, weekday seasonality, a level change on
`shopify_pos`, per-channel price elasticities (shopify_web −1.8, shopify_pos −0.8, amazon_us −0.4,
amazon_ca −1.2: units ∝ price^elasticity) with every product repriced ±10% on the four retail
channels every two weeks,
the FH-CDL-FIG promotion's lift and the Amazon FBA US stockout (demand lost).

- `demand_elasticities.csv` — channel, category, sku, the seeded elasticity, whether the SKU's
  price moves on the channel (false: a single price, nothing to estimate from).
- `demand_price_schedule.csv` — per category, each block's price multiplier (first and last day).
- `demand_structure.csv` — trend, weekday factors, the level change, the promotion and price-cut
  lifts and the stockout case (channel, SKU, first and last day).
- `demand_expected_daily.csv` — per channel × SKU × day: the listed price ÷ base price (promotions
  included) and the expected units the simulation draws from (0 while out of stock).
"""
