"""The Dagster UI starts and shows what the code location defines and what ran: the asset graph's
nodes are exactly an asset's neighbours in the Definitions, the publish asset sits after every mart,
and the gates of a feed landed through Dagster beforehand show their recorded results (passed and
failed) and messages. Driven in Debian's headless Chromium (installed by `make test`). Screenshots
are saved in tests/ui/screenshots/."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.defs_state.base import set_defs_state_storage
from playwright.sync_api import sync_playwright

from orchestration.definitions import defs
from orchestration.defs.feeds import feed_asset_key, feed_gates, raw_feeds
from orchestration.defs.resources import LOGICAL_DATE_TAG, NightRun
from orchestration.demo import generate

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


LANDED_FEED = "shopify_orders"


def record_a_landing(dagster_home: Path, cwh_home: Path) -> dict[str, bool]:
    """Land the demo's Shopify orders through Dagster into the instance the UI will read, so the UI
    has a materialization and check results to show. Only one feed lands, so its channel_coverage
    gate fails (the other channels have no sales) while its other gates pass. → {check: passed}"""
    generate(cwh_home, days=20, orders_per_day=10)
    key = feed_asset_key(LANDED_FEED)
    selection = dg.AssetSelection.assets(key) | dg.AssetSelection.checks_for_assets(key)
    # no definitions-state storage left current by an earlier test's (collected) instance in this worker
    with set_defs_state_storage(None):
        result = dg.materialize([raw_feeds, feed_gates], selection=selection,
                                instance=dg.DagsterInstance.from_config(str(dagster_home)),
                                tags={LOGICAL_DATE_TAG: "2026-11-01"},
                                resources={"night_run": NightRun(root=str(cwh_home))}, raise_on_error=False)
    outcomes = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert outcomes["channel_coverage"] is False and outcomes["freshness"] is True, outcomes
    return outcomes


@pytest.fixture(scope="module")
def dagster_server(tmp_path_factory):
    assert Path(CHROMIUM).exists(), "Debian chromium is missing: `make test` installs it (apt-get install chromium)"
    port = free_port()
    dagster_home = tmp_path_factory.mktemp("dagster_home")
    cwh_home = tmp_path_factory.mktemp("cwh")
    outcomes = record_a_landing(dagster_home, cwh_home)
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "CWH_HOME": str(cwh_home)}
    log = (dagster_home / "dagster_dev.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "dev", "-w", "workspace.yaml",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/server_info", timeout=2)
            break
        except OSError as err:
            if process.poll() is not None:
                log_tail = (dagster_home / "dagster_dev.log").read_text()[-2000:]
                raise RuntimeError(f"dagster dev exited: {log_tail}") from err
            time.sleep(1)
    else:
        os.killpg(process.pid, signal.SIGKILL)
        raise TimeoutError("dagster dev did not answer within 180 s")
    yield url, outcomes
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    try:  # the code server's gRPC process can outlive `dagster dev`: end the whole group
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def dagster_url(dagster_server) -> str:
    return dagster_server[0]


@pytest.fixture(scope="module")
def landed(dagster_server) -> dict[str, bool]:
    """{check: passed} of the feed landed before the UI started."""
    return dagster_server[1]


GRAPH = defs.resolve_asset_graph()


def checks_of(key: dg.AssetKey) -> list[dg.AssetCheckKey]:
    return [check for check in GRAPH.asset_check_keys if check.asset_key == key]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


NODE_NAME = "[class*='AssetNode_assetName']"


def open_page(browser, url: str, shot: str, expected: list[str], nodes: int = 0) -> tuple[str, list[str]]:
    """The page's text once every `expected` text and at least `nodes` graph nodes show, and the names
    on the graph's nodes."""
    page = browser.new_page(viewport={"width": 1800, "height": 1100})
    page.goto(url, wait_until="networkidle", timeout=120_000)
    skip = page.get_by_role("button", name="Skip")  # first-visit newsletter dialog
    if skip.count():
        skip.click()
    for name in expected:
        page.get_by_text(name, exact=True).first.wait_for(timeout=60_000)
    if nodes:
        page.locator(NODE_NAME).nth(nodes - 1).wait_for(timeout=60_000)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / shot)
    text = page.inner_text("body")
    names = page.eval_on_selector_all(NODE_NAME, "nodes => nodes.map(n => n.innerText)")
    page.close()
    return text, names


def shown_as(label: str, name: str) -> bool:
    """Whether a node label is the name, or the name shortened as 'start…end'."""
    start, dots, end = label.partition("…")
    if not dots:
        return label == name
    return len(start) + len(end) < len(name) and name.startswith(start) and name.endswith(end)


def match_labels(labels: list[str], names: set[str]) -> bool:
    """Whether each label can stand for a different one of `names`, every name having one (a perfect
    matching: 'inventory_h…_daily' could be two names, 'inve…_rollup_daily' only one of them)."""
    owner: dict[str, int] = {}  # name -> index of the label standing for it

    def assign(index: int, tried: set[str]) -> bool:
        for name in names:
            if name not in tried and shown_as(labels[index], name):
                tried.add(name)
                if name not in owner or assign(owner[name], tried):
                    owner[name] = index
                    return True
        return False

    return len(labels) == len(names) and all(assign(i, set()) for i in range(len(labels)))


def node_summaries(text: str) -> dict[str, str]:
    """Graph node name -> its asset checks line ('7 / 8 Passed'), from the lineage page's text, where
    each node reads: name, 'Latest event', [when], 'Asset checks', summary."""
    lines = text.split("\n")
    found = {}
    for i, line in enumerate(lines[1:], start=1):
        if line == "Latest event":
            checks = lines.index("Asset checks", i)
            found[lines[i - 1]] = lines[checks + 1]
    return found


def test_asset_graph_shows_a_feed_its_dbt_models_and_their_checks(dagster_url, browser, landed):
    key = dg.AssetKey(["staging", "stg_shopify__order_lines"])
    node = GRAPH.get(key)
    neighbours = {key, *node.parent_keys, *node.child_keys}
    assert dg.AssetKey(["raw", LANDED_FEED]) in node.parent_keys
    feed_summary = f"{sum(landed.values())} / {len(landed)} Passed"
    text, _ = open_page(browser, f"{dagster_url}/assets/staging/stg_shopify__order_lines?view=lineage",
                        "lineage_feed_to_dbt.png", [*(k.path[-1] for k in neighbours), feed_summary],
                        nodes=len(neighbours))
    shown = node_summaries(text)
    assert set(shown) == {k.path[-1] for k in neighbours}  # exactly the model and its nearest neighbours
    # the landed feed shows the results its gates recorded; the models, not built, show none passed
    assert shown[LANDED_FEED] == feed_summary
    for child in node.child_keys:
        assert shown[child.path[-1]] == f"0 / {len(checks_of(child))} Passed", child


def test_asset_graph_shows_the_publish_asset_after_the_marts(dagster_url, browser):
    publish = GRAPH.get(dg.AssetKey(["publish", "published_warehouse"]))
    marts = {k.path[-1] for k in publish.parent_keys}
    lineage = f"{dagster_url}/assets/publish/published_warehouse?view=lineage&lineageScope=upstream"
    text, names = open_page(browser, lineage, "lineage_publish.png", ["published_warehouse"], nodes=len(marts) + 1)
    assert marts == {k.path[-1] for k in GRAPH.get_all_asset_keys() if k.path[0] == "marts"}
    # one node per mart (long names shortened on the node) and the publish asset, nothing else
    assert len(names) == len(marts) + 1, names
    assert match_labels(names, {*marts, "published_warehouse"}), names


def test_a_feed_lists_its_gates_with_their_results(dagster_url, browser, landed):
    text, _ = open_page(browser, f"{dagster_url}/assets/raw/{LANDED_FEED}?view=checks", "feed_checks.png",
                        ["Failed", "Latest execution"])
    assert {k.name for k in checks_of(dg.AssetKey(["raw", LANDED_FEED]))} == set(landed)
    for check, passed in landed.items():
        assert f"\n{check}\n{check}\n{'Succeeded' if passed else 'Failed'}\n" in text, check
    # the failed blocking gate opens first, with the message the gate wrote
    assert "This is a blocking asset check." in text
    assert "without any sales" in text and "amazon_us (from amazon_orders)" in text
