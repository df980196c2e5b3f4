"""The readback report written by a publish renders offline in headless Chromium: no console
errors, every chart drawn with data, the flags table with next actions, no request leaves the file.
A screenshot is saved in tests/ui/screenshots/report.png."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from connectors.home import Home
from orchestration.demo import generate
from orchestration.launch import nightly_run
from orchestration.outputs.digest import render_digest

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
            assert points == 11
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
