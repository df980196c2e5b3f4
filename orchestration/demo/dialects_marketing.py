"""The marketing and 3PL dialects real sellers download, written into the messy demo (`cwh demo --messy`).

The simulation writes every ad and 3PL file in one tidy shape; here, once the files are closed, some
of them are rewritten the way the vendors' UIs deliver them. Each rewrite keeps the money, the dates
and the campaigns of every event, so the truth the simulation booked still holds (marketing spend
and fulfilment costs per channel and day, to the cent); only the files' bookkeeping (`data_rows`)
follows along, and a planted defect keeps its meaning at its (re-numbered) line.

- **Google Ads "Excel CSV"**: the first API-shaped month (else the first UI month) becomes the UI
  campaign report as the "Excel CSV" download: UTF-16LE with BOM, tab-separated, a title and a
  date-range line, `Total:` rows (same spend: cost micros / 10^6 are the cents written; a planted
  blank cost stays blank on its line);
- **Amazon Ads console**: the first month of each marketplace becomes the console's "Sponsored
  Products Campaign report" (BOM, every field quoted, `Oct 1, 2026`, `$1,234.50`, `7 Day Total
  Sales ` with its trailing space, empty `Last Year …` columns, no campaign id) — in USD for
  Amazon.com and in CAD (a `Currency` column) for Amazon.ca;
- **Meta breakdown**: the first Meta month is broken down by age × gender: each ad-day row becomes
  2–4 rows whose spend, impressions, reach, clicks, purchases and value add up to the original
  exactly (cents split, never rounded);
- **Meta floating-point spend**: the last Meta month writes spend with 8 decimals, 1e-8 away from the
  cents (`12.34000001`, `12.33999999`): the connector rounds it to 6 decimals, the P&L to cents;
- **ShipBob invoice download**: the first 3PL month becomes the Billing page's
  invoice download saved as CSV: `$ 6.01` amounts, `m/d/yyyy` dates, each storage charge as a bin
  and a pallet line with 4 decimals (`$ 84.2212` + `$ 56.1488`, which round to the original cents),
  a `Total:` row and footnotes.
"""

from __future__ import annotations

import csv
import random
from datetime import date
from decimal import Decimal
from pathlib import Path

from . import catalog as C
from . import writers as W

CENT = Decimal("0.01")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
GOOGLE_EXCEL = ["Campaign status", "Campaign", "Budget", "Budget type", "Campaign type", "Day", "Currency code",
                "Impr.", "Clicks", "CTR", "Avg. CPC", "Cost", "Conversions", "Conv. value"]
AMAZON_CONSOLE = ["Date", "Start Date", "End Date", "Portfolio name", "Currency", "Campaign Type", "Campaign Name",
                  "Status", "Budget", "Targeting Type", "Bidding strategy", "Impressions", "Last Year Impressions",
                  "Clicks", "Last Year Clicks", "Click-Thru Rate (CTR)", "Spend", "Last Year Spend",
                  "Cost Per Click (CPC)", "Last Year Cost Per Click (CPC)", "7 Day Total Orders (#)",
                  "Total Advertising Cost of Sales (ACoS) ", "Total Return on Advertising Spend (RoAS)",
                  "7 Day Total Sales ", "7 Day Total Units (#)"]
SHIPBOB_DOWNLOAD = ["Invoice Number", "Invoice Date", "Invoice Type", "Charge Date", "Fee Type", "Reference ID",
                    "Reference Type", "Fulfillment Center", "Amount"]
AGE_GENDER = [("18-24", "female"), ("25-34", "female"), ("25-34", "male"), ("35-44", "female"),
              ("35-44", "male"), ("45-54", "unknown")]


def write_messy_dialects(sim) -> None:
    """Rewrite some of the simulation's ad and 3PL files into real dialects (module docstring)."""
    rng = random.Random(sim.seed * 7919 + 11)
    google = list(sim.f_gapi.open.values()) or list(sim.f_gui.open.values())
    if google:
        _google_excel_csv(sim, google[0])
    for ch, feed in sim.f_aads.items():
        if feed.open:
            _amazon_console(next(iter(feed.open.values())), "USD" if ch == "amazon_us" else "CAD")
    meta = list(sim.f_meta.open.values())
    if meta:
        _meta_breakdown(meta[0], rng)
        _meta_float_spend(meta[-1])
    if sim.f_3pl.open:
        _shipbob_download(sim, next(iter(sim.f_3pl.open.values())))


# ---- helpers -----------------------------------------------------------------------------------

def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [r for r in csv.reader(handle) if r]


def _write(path: Path, rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",",
           quoting: int = csv.QUOTE_MINIMAL, preamble: tuple[str, ...] = (), footer: tuple[str, ...] = ()) -> None:
    with path.open("w", newline="", encoding=encoding) as handle:
        if encoding == "utf-16-le":
            handle.write("\ufeff")  # the BOM Google's Excel CSV starts with
        for line in preamble:
            handle.write(line + "\r\n")
        csv.writer(handle, delimiter=delimiter, quoting=quoting, lineterminator="\r\n").writerows(rows)
        for line in footer:
            handle.write(line + "\r\n")


def _spelled(day: str) -> str:
    d = date.fromisoformat(day)
    return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"


def _split_cents(total: Decimal, parts: int, rng: random.Random) -> list[Decimal]:
    """`total` in `parts` amounts of whole cents that add up to it exactly."""
    cents = int((total / CENT).to_integral_value())
    return [Decimal(c) * CENT for c in _split_int(cents, parts, rng)]


def _split_int(total: int, parts: int, rng: random.Random) -> list[int]:
    cuts = sorted(rng.randint(0, abs(total)) for _ in range(parts - 1))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, abs(total)], strict=True)]
    return [s if total >= 0 else -s for s in sizes]


# ---- Google Ads: the UI report as "Excel CSV" (UTF-16LE, tab) -----------------------------------

def _google_rows(sink) -> list[tuple]:
    """(day, campaign, type, currency, cost text, clicks, impressions, conversions, value) per data row
    of an API-shaped or UI file, in file order."""
    with sink.path.open(newline="", encoding="utf-8-sig") as handle:
        rows = [r for r in csv.reader(handle) if r]
    if rows[0][0] == "segments.date":
        kinds = {str(cid): ctype for cid, _, ctype, *_ in C.GOOGLE_CAMPAIGNS}
        col = {h: i for i, h in enumerate(rows[0])}
        return [(r[col["segments.date"]], r[col["campaign.name"]], kinds.get(r[col["campaign.id"]], "Search"),
                 r[col["customer.currency_code"]], f"{Decimal(r[col['metrics.cost_micros']]) / 1000000:.2f}",
                 r[col["metrics.clicks"]], r[col["metrics.impressions"]], r[col["metrics.conversions"]],
                 r[col["metrics.conversions_value"]]) for r in rows[1:]]
    col = {h: i for i, h in enumerate(rows[2])}  # title, date range, header
    return [(r[col["Day"]], r[col["Campaign"]], r[col["Campaign type"]], r[col["Currency code"]],
             r[col["Cost"]].replace(",", ""), r[col["Clicks"]], r[col["Impr."]], r[col["Conversions"]],
             r[col["Conv. value"]].replace(",", "")) for r in rows[3:] if not r[0].startswith("Total:")]


def _google_excel_csv(sim, sink) -> None:
    out, totals = [GOOGLE_EXCEL], {}
    for day, name, kind, currency, cost_text, clicks_text, impr_text, conv_text, value_text in _google_rows(sink):
        clicks, impr = int(clicks_text), int(impr_text)
        cost, conv, value = Decimal(cost_text or "0"), Decimal(conv_text), Decimal(value_text)
        out.append(["Enabled", name, "100.00", "Daily", kind, day, currency, f"{impr:,}", str(clicks),
                    f"{clicks / impr * 100:.2f}%" if impr else "--", f"{cost / clicks:.2f}" if clicks else "--",
                    f"{cost:,.2f}" if cost_text else "", f"{conv:.2f}", f"{value:,.2f}"])
        for key in ("Account", kind):
            t = totals.setdefault(key, [Decimal(0), 0, 0, Decimal(0), Decimal(0)])
            t[0], t[1], t[2], t[3], t[4] = t[0] + cost, t[1] + clicks, t[2] + impr, t[3] + conv, t[4] + value
    for key, (cost, clicks, impr, conv, value) in totals.items():
        out.append([f"Total: {key}", "--", "--", "--", "--", "--", "USD", f"{impr:,}", str(clicks),
                    f"{clicks / impr * 100:.2f}%" if impr else "--", f"{cost / clicks:.2f}" if clicks else "--",
                    f"{cost:,.2f}", f"{conv:.2f}", f"{value:,.2f}"])
    month = sink.path.stem.rsplit("_", 1)[-1]
    target = sink.path.with_name(W.FEEDS["google_ads_ui"][0].format(m=month))
    sink.path.unlink()
    title, span = sim._ga_preamble(month)
    _write(target, out, encoding="utf-16-le", delimiter="\t", preamble=(title, span))
    sink.path = target  # same lines as a UI file: a planted blank cost keeps its line


# ---- Amazon Ads: the console's Sponsored Products Campaign report --------------------------------

def _amazon_console(sink, currency: str) -> None:
    rows = _read(sink.path)
    col = {h: i for i, h in enumerate(rows[0])}
    out = [AMAZON_CONSOLE]
    for r in rows[1:]:
        day = _spelled(r[col["date"]])
        spend, sales = Decimal(r[col["cost"]]), Decimal(r[col["sales7d"]])
        impr, clicks = int(r[col["impressions"]]), int(r[col["clicks"]])
        out.append([day, day, day, "No Portfolio", currency, "Sponsored Products", r[col["campaignName"]],
                    r[col["campaignStatus"]], f"${Decimal(r[col['campaignBudgetAmount']]):,.2f}", "Manual",
                    "Dynamic bids - down only", f"{impr:,}", "", f"{clicks:,}", "",
                    f"{clicks / impr * 100:.4f}%" if impr else "0.0000%", f"${spend:,.2f}", "",
                    f"${spend / clicks:,.2f}" if clicks else "$0.00", "", r[col["purchases7d"]],
                    f"{spend / sales * 100:.2f}%" if sales else "", f"{sales / spend:.2f}" if spend else "0.00",
                    f"${sales:,.2f}", r[col["unitsSoldClicks7d"]]])
    with sink.path.open("w", newline="", encoding="utf-8-sig") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(out)


# ---- Meta: age × gender breakdown, floating-point spend ------------------------------------------

def _meta_breakdown(sink, rng: random.Random) -> None:
    rows = _read(sink.path)
    header = rows[0]
    col = {h: i for i, h in enumerate(header)}
    at = col["Ad name"] + 1
    out = [header[:at] + ["Age", "Gender"] + header[at:]]
    money = [i for i, h in enumerate(header) if h.startswith("Amount spent") or h == "Purchases conversion value"]
    counts = [i for i, h in enumerate(header) if h in ("Impressions", "Reach", "Reach (estimated)", "Link clicks",
                                                        "Purchases")]
    for r in rows[1:]:
        segments = rng.sample(AGE_GENDER, rng.randint(2, 4))
        parts = [list(r) for _ in segments]
        for i in money:
            for part, value in zip(parts, _split_cents(Decimal(r[i] or "0"), len(parts), rng), strict=True):
                part[i] = f"{value:.2f}" if r[i] else ""
        for i in counts:
            for part, value in zip(parts, _split_int(int(r[i] or 0), len(parts), rng), strict=True):
                part[i] = str(value) if r[i] else ""
        out += [p[:at] + [age, gender] + p[at:] for p, (age, gender) in zip(parts, segments, strict=True)]
    _write(sink.path, out)
    sink.rows = len(out) - 1


def _meta_float_spend(sink) -> None:
    rows = _read(sink.path)
    spend = next(i for i, h in enumerate(rows[0]) if h.startswith("Amount spent"))
    for n, r in enumerate(rows[1:]):
        value = Decimal(r[spend])
        if value > 0:  # 1e-8 above or below the cents, as Meta's floating point prints them
            r[spend] = f"{value + Decimal('0.00000001') if n % 2 == 0 else value - Decimal('0.00000001'):.8f}"
    _write(sink.path, rows)


# ---- ShipBob: the Billing page's invoice download -------------------------------------------------

def _us_date(day: str) -> str:
    d = date.fromisoformat(day)
    return f"{d.month}/{d.day}/{d.year}"


def _shipbob_download(sim, sink) -> None:
    rows = _read(sink.path)
    col = {h: i for i, h in enumerate(rows[0])}
    out, total, moved = [SHIPBOB_DOWNLOAD], Decimal(0), {}
    for line, r in enumerate(rows[1:], start=2):
        moved[line] = len(out) + 1
        text = r[col["amount"]]
        amount = Decimal(text) if text != "N/A" else None  # a planted unrated charge stays `N/A`
        base = [r[col["invoice_id"]], _us_date(r[col["invoice_date"]]),
                "WarehouseStorage" if r[col["invoice_type"]] == "Storage" else r[col["invoice_type"]],
                _us_date(r[col["charge_date"]]), r[col["transaction_fee"]]]
        place = [r[col["reference_type"]], r[col["fulfillment_center"]]]
        if amount is not None and r[col["invoice_type"]] == "Storage":
            # bin and pallet lines at 4 decimals: .xx12 rounds down, the rest (.xx88) up, to the cents
            bins = (amount * Decimal("0.6")).quantize(CENT) + Decimal("0.0012")
            for ref, value in (("FC-Reno-Bin", bins), ("FC-Reno-Pallet", amount - bins)):
                out.append(base + [ref, *place, f"$ {value:,.4f}"])
        else:
            out.append(base + [r[col["reference_id"]], *place, text if amount is None else f"$ {amount:,.2f}"])
        total += amount or 0
    footer = ("Total:,,,,,,,,\"$ {:,.2f}\"".format(total),
              "* Storage is billed at month end for the bins and pallets used during the month.",
              "** Amounts in USD.")
    _write(sink.path, out, footer=footer)
    sink.rows = len(out) - 1
    name = sink.path.name
    sim.defects[:] = [(f, n, moved.get(line, line) if (f, n) == ("threepl_billing", name) else line, *rest)
                      for f, n, line, *rest in sim.defects]
