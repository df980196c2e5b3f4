"""The readback report written by a publish renders offline in headless Chromium: no console
errors, every chart drawn with data, the flags table with next actions, no request leaves the file.
It reads well: the reporting currency named on the page and the money axes, one colour per channel
in every panel, the ranking of contribution after opex (the `unallocated` channel and a total row,
equal to the demo generator's truth), the month's period status with the truth's accrued fees,
evidence numbers formatted, and a file well under the 4.9 MB
it was when plotly.js went in uncompressed. A screenshot is saved in tests/ui/screenshots/report.png."""

from __future__ import annotations

import csv
import re
import shutil
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import sync_playwright

from connectors.home import Home
from orchestration.demo import generate
from orchestration.launch import nightly_run
from orchestration.outputs.digest import render_digest
from orchestration.outputs.snapshot import reporting_currency

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
NOV_1 = date(2026, 11, 1)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("report") / "home")
    generate(home.root, days=60, orders_per_day=40)  # the anomaly history starts scoring on Oct 14
    report = nightly_run(home, NOV_1)
    assert report.published, [c.detail for c in report.blocking_failures]
    return home


def test_publish_writes_the_report_and_the_digest(published):
    outputs = published.root / "outputs"
    dated, latest = outputs / "readback_2026-11-01.html", outputs / "readback_latest.html"
    assert dated.exists() and latest.read_bytes() == dated.read_bytes()
    digests = sorted(outputs.glob("digest_*.md"))
    assert [p.name for p in digests] == ["digest_2026-10-19.md"]  # the last complete week (Oct 26 - Nov 1 is not)
    text = digests[0].read_text()
    for owner in ("E-commerce lead", "Retail manager", "Marketplace lead", "Wholesale lead"):
        assert f"## {owner}" in text
    assert "`retire_candidate` (October)" in text and "`price_inconsistency` (this week)" in text
    assert "**Next action:** Review Amazon CA:" in text and "Keep the course on Wholesale / B2B" in text
    week, again = render_digest(published.root / "warehouse" / "published.duckdb", date(2026, 10, 21))
    assert week == date(2026, 10, 19) and again == text


def test_report_html_is_self_contained(published):
    text = (published.root / "outputs" / "readback_latest.html").read_text()
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "<script></script>", text, flags=re.S | re.I)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", markup, re.I)
    assert not re.search(r"<script[^>]+src=", text, re.I) and not re.search(r"<link[^>]+href=", text, re.I)
    assert "@import" not in text and "fonts.googleapis" not in text and "cdn.plot.ly" not in markup
    assert text.count("plotly.js v") <= 2  # the library is inlined once
    assert "Channel readback — October 2026" in text


def test_report_renders_offline_in_chromium(published):
    path = published.root / "outputs" / "readback_latest.html"
    SCREENSHOTS.mkdir(exist_ok=True)
    blocked, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                       else (blocked.append(route.request.url), route.abort()))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 4", timeout=30000)
            traces = page.evaluate("""() => Object.fromEntries(['waterfall', 'shares', 'trends', 'monthly'].map(
                id => [id, (document.getElementById(id).data || []).length]))""")
            assert all(n > 0 for n in traces.values()), traces
            points = page.evaluate("document.getElementById('waterfall').data[0].y.length")
            assert points == 11 + pnl_has_reimbursements(published)  # the lines, then the total
            anomalies = page.evaluate("""() => document.getElementById('trends').data
                .filter(t => t.name === 'anomaly').reduce((n, t) => n + t.x.length, 0)""")
            assert anomalies >= 2  # the flash-sale day and the push day of October
            actions = page.locator("#next-actions tbody tr")
            assert actions.count() == 5
            assert "Review Amazon CA" in page.locator("#next-actions").inner_text()
            assert page.locator("#flags tbody tr").count() >= 3
            page.screenshot(path=str(SCREENSHOTS / "report.png"), full_page=True)
        finally:
            browser.close()
    assert not errors, errors
    assert not blocked, blocked
    assert (SCREENSHOTS / "report.png").stat().st_size > 10_000


def pnl_has_reimbursements(home: Home) -> bool:
    """The waterfall draws the reimbursements line when the published P&L has it (docs/metrics.md)."""
    with duckdb.connect(str(home.root / "warehouse" / "published.duckdb"), read_only=True) as con:
        return "reimbursements" in [r[0] for r in con.execute("describe marts.channel_pnl_monthly").fetchall()]


def october_truth(home: Home) -> dict[str, tuple[Decimal, Decimal]]:
    """{channel: (net revenue, contribution after opex)} of October 2026 from the generator's truth."""
    sums = defaultdict(lambda: [Decimal(0), Decimal(0)])
    with (home.root / "demo" / "truth" / "pnl_daily.csv").open(newline="") as handle:
        for r in csv.DictReader(handle):
            if r["date"].startswith("2026-10"):
                sums[r["channel"]][0] += Decimal(r["net_revenue"])
                sums[r["channel"]][1] += Decimal(r["contribution_after_opex"])
    return {channel: (net, contribution) for channel, (net, contribution) in sums.items()}


def october_accruals(home: Home) -> Decimal:
    """The fees the warehouse accrues for October's unsettled Amazon items, from the generator's truth."""
    with (home.root / "demo" / "truth" / "fees_unsettled.csv").open(newline="") as handle:
        return sum((Decimal(r["accrued_marketplace_fees_usd"]) + Decimal(r["accrued_fulfillment_costs_usd"])
                    for r in csv.DictReader(handle) if r["order_date"].startswith("2026-10")), Decimal(0))


def amount(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def test_report_reads_well_in_chromium(published):
    path = published.root / "outputs" / "readback_latest.html"
    assert path.stat().st_size < 2_500_000  # 4.9 MB with plotly.js inlined uncompressed
    currency = reporting_currency()
    truth = october_truth(published)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 4", timeout=30000)
            assert page.locator("#currency").inner_text() == currency == "USD"
            axes = page.evaluate("""() => ({
                waterfall: document.getElementById('waterfall').layout.yaxis.title.text,
                trends: [document.getElementById('trends').layout.yaxis.title.text,
                         document.getElementById('trends').layout.yaxis2.title.text],
                monthly: [document.getElementById('monthly').layout.yaxis.title.text,
                          document.getElementById('monthly').layout.xaxis.title.text]})""")
            assert axes == {"waterfall": currency, "trends": [currency, currency], "monthly": [currency, "month"]}
            assert page.locator("#waterfall .ytitle").text_content() == currency  # drawn, not only configured

            # the ranking: every channel of October's P&L, best first, then the total row
            ranking = page.locator("#contribution-ranking")
            assert f"contribution after opex ({currency})" in ranking.locator("thead").inner_text()
            rows = ranking.locator("tbody tr")
            channels = [rows.nth(i).get_attribute("data-channel") for i in range(rows.count())]
            assert channels == sorted(truth, key=lambda ch: -truth[ch][1]) and "unallocated" in channels
            cells = [[c.strip() for c in rows.nth(i).locator("td").all_inner_texts()] for i in range(rows.count())]
            assert [(amount(c[2]), amount(c[4])) for c in cells] == [truth[ch] for ch in channels]
            total = [c.strip() for c in ranking.locator("tfoot td").all_inner_texts()]
            assert total[1] == "Total"
            assert amount(total[4]) == sum(c for _, c in truth.values())
            assert amount(total[2]) == sum(n for n, _ in truth.values())
            assert re.fullmatch(r"-?\d{1,3}(,\d{3})*\.\d\d", total[4])  # thousands separated, to the cent

            # one colour per channel, the same in the ranking, the shares, the trends and the monthly panel
            colours = page.evaluate("""() => {
                const seen = {};
                const add = (panel, channel, colour) => { (seen[channel] = seen[channel] || {})[panel] = colour; };
                for (const row of document.querySelectorAll('#contribution-ranking tbody tr'))
                    add('ranking', row.dataset.channel, getComputedStyle(row.querySelector('.swatch')).backgroundColor);
                const toRgb = c => { const d = document.createElement('i'); d.style.color = c;
                    document.body.appendChild(d); const rgb = getComputedStyle(d).color; d.remove(); return rgb; };
                for (const t of document.getElementById('shares').data)
                    add('shares', t.legendgroup, toRgb(t.marker.color));
                for (const t of document.getElementById('trends').data)
                    if (t.name !== 'anomaly') add('trends', t.legendgroup, toRgb(t.line.color));
                for (const t of document.getElementById('monthly').data)
                    add('monthly', t.legendgroup, toRgb(t.line.color));
                return seen;}""")
            assert set(colours) == set(truth)
            for channel, panels in colours.items():
                assert len(set(panels.values())) == 1, (channel, panels)
                expected_panels = {"ranking", "shares"} | ({"trends", "monthly"} if channel != "unallocated" else set())
                assert expected_panels <= set(panels), (channel, panels)
            assert len({next(iter(panels.values())) for panels in colours.values()}) == len(colours)

            # the month is not final and says so: the Amazon channels await their settlements, with the
            # truth's accrued fees (issue 15: status and accrued share shown plainly)
            note = page.locator("#period-status").inner_text()
            assert note.startswith("Not final:")
            assert "amazon_us provisional" in note and "amazon_ca provisional" in note
            assert "wholesale" not in note  # closed: nothing to wait for
            accrued = october_accruals(published)
            assert accrued > 0 and f"{accrued:,.2f} {currency}" in note

            # evidence numbers as a person reads them
            evidence = page.locator("#flags").inner_text()
            thousands = r"\d{1,3},\d{3}\.\d\d"
            assert re.search(rf"revenue spike on 2026-10-14: {thousands} vs a usual {thousands}", evidence)
            assert re.search(r"orders spike on 2026-10-14: \d+ vs a usual \d+(\.\d+)? ", evidence)
            page.screenshot(path=str(SCREENSHOTS / "report.png"), full_page=True)
        finally:
            browser.close()
