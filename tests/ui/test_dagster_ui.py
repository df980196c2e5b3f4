"""The Dagster UI starts and its asset graph renders the feed, dbt and publish assets with their
checks, driven in Debian's headless Chromium (installed by `make test`). Screenshots are saved in
tests/ui/screenshots/."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def dagster_url(tmp_path_factory):
    assert Path(CHROMIUM).exists(), "Debian chromium is missing: `make test` installs it (apt-get install chromium)"
    port = free_port()
    dagster_home = tmp_path_factory.mktemp("dagster_home")
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "CWH_HOME": str(tmp_path_factory.mktemp("cwh"))}
    log = (dagster_home / "dagster_dev.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/server_info", timeout=2)
            break
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"dagster dev exited: {(dagster_home / 'dagster_dev.log').read_text()[-2000:]}")
            time.sleep(1)
    else:
        os.killpg(process.pid, signal.SIGKILL)
        raise TimeoutError("dagster dev did not answer within 180 s")
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def open_page(browser, url: str, shot: str, expected: list[str]) -> str:
    page = browser.new_page(viewport={"width": 1800, "height": 1100})
    page.goto(url, wait_until="networkidle", timeout=120_000)
    skip = page.get_by_role("button", name="Skip")  # first-visit newsletter dialog
    if skip.count():
        skip.click()
    for name in expected:
        page.get_by_text(name, exact=True).first.wait_for(timeout=60_000)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / shot)
    text = page.inner_text("body")
    page.close()
    return text


def test_asset_graph_shows_a_feed_its_dbt_models_and_their_checks(dagster_url, browser):
    text = open_page(browser, f"{dagster_url}/assets/staging/stg_shopify__order_lines?view=lineage",
                     "lineage_feed_to_dbt.png", ["shopify_orders", "stg_shopify__order_lines", "int_order_lines"])
    assert "Asset checks" in text and "shopify" in text and "intermediate" in text


def test_asset_graph_shows_the_publish_asset_after_the_marts(dagster_url, browser):
    text = open_page(browser, f"{dagster_url}/assets/publish/published_warehouse?view=lineage&lineageScope=upstream",
                     "lineage_publish.png", ["published_warehouse"])
    assert "marts" in text


def test_a_feed_lists_its_blocking_gates(dagster_url, browser):
    text = open_page(browser, f"{dagster_url}/assets/raw/shopify_orders?view=checks", "feed_checks.png",
                     ["freshness", "landing"])
    for check in ("completeness", "volume", "schema_drift", "expectations", "channel_coverage"):
        assert check in text
