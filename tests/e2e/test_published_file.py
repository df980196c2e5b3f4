"""The published warehouse opens in the SQL tools people already have, with the generator's numbers.

A demo is generated, landed, built by dbt and published. Then:
- the newest DuckDB 1.x Python client (installed by `make install` into .venv/duckdb1, its own
  folder: DuckDB 2 is the venv's) opens the published file and reads the monthly channel P&L, which
  must equal the generator's truth to the cent: DuckDB 2 writes storage version 69 by default,
  which every 1.x refuses, so this fails unless publishing writes a 1.x-readable storage version;
- `cwh sql -c` reads the same mart from the same file and refuses to change it;
- `cwh export --marts` writes every mart as a Parquet file a file-reading tool (pyarrow here) reads;
- `cwh docs` writes one self-contained HTML page (manifest and catalog inside) that opens from
  file://, with the project overview and the exposures (report, digest, exports) in it.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from connectors.home import PROJECT_DIR, published_database
from connectors.lake import Home, land_all
from orchestration.cli import app
from orchestration.demo import generate
from orchestration.pipeline.dbt import failures, run_dbt
from orchestration.pipeline.publish import publish

DUCKDB1 = Path(os.environ.get("CWH_DUCKDB1", PROJECT_DIR / ".venv" / "duckdb1"))
LINES = ("net_revenue", "cm3", "contribution_after_opex")
ZERO = Decimal("0.00")
runner = CliRunner()

# run by the DuckDB 1.x client: the monthly P&L as JSON (numbers as text, exact)
READ_PNL = """
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
rows = con.execute(
    "select strftime(month, '%Y-%m'), channel, {columns} from marts.channel_pnl_monthly order by 1, 2"
).fetchall()
print(json.dumps({{"version": duckdb.__version__, "rows": rows}}))
""".format(columns=", ".join(f"cast({line} as varchar)" for line in LINES))


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("published"))
    generate(home.root, days=60, orders_per_day=40)
    land_all(home)
    result = run_dbt(home, "build")
    assert result.success, failures(result)
    outcome = publish(home, run_id="e2e-published-file", logical_date=date(2026, 11, 1), watermarks={}, checks=[])
    assert outcome.published
    return home


def truth_monthly(home: Home) -> dict[tuple[str, str], dict[str, Decimal]]:
    """The generator's own daily P&L (demo/truth/pnl_daily.csv) summed per month and channel."""
    table: dict = defaultdict(lambda: dict.fromkeys(LINES, ZERO))
    with (home.root / "demo" / "truth" / "pnl_daily.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            sums = table[(row["date"][:7], row["channel"])]
            for line in LINES:
                sums[line] += Decimal(row[line])
    return dict(table)


def assert_equals_truth(home: Home, rows) -> None:
    """rows of (YYYY-MM, channel, *LINES) equal the truth; a channel-month missing on one side is zero."""
    warehouse = {(month, channel): dict(zip(LINES, map(Decimal, values), strict=True))
                 for month, channel, *values in rows}
    truth = truth_monthly(home)
    assert len(truth) > 4
    for key in warehouse.keys() | truth.keys():
        expected = truth.get(key, dict.fromkeys(LINES, ZERO))
        got = warehouse.get(key, dict.fromkeys(LINES, ZERO))
        assert got == expected, f"{key}: warehouse {got} != truth {expected}"


def test_the_newest_duckdb_1x_client_reads_the_published_file(published):
    assert (DUCKDB1 / "duckdb").is_dir(), f"no DuckDB 1.x client in {DUCKDB1}: run `make install`"
    # -S: no site-packages, so the venv's DuckDB 2 cannot stand in for the 1.x client
    result = subprocess.run([sys.executable, "-S", "-c", READ_PNL, str(published_database(published))],
                            env={**os.environ, "PYTHONPATH": str(DUCKDB1)}, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout)
    assert answer["version"].startswith("1."), answer["version"]
    assert_equals_truth(published, answer["rows"])


def cwh(home: Home, *args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), env={"CWH_HOME": str(home.root)}, input=stdin)


def test_cwh_sql_reads_a_mart_of_the_published_file(published):
    query = (f"select strftime(month, '%Y-%m') as month, channel, {', '.join(LINES)} "
             "from channel_pnl_monthly order by 1, 2")  # unqualified: marts is on the search path
    result = cwh(published, "sql", "--csv", "-c", query)
    assert result.exit_code == 0, result.output
    header, *rows = list(csv.reader(result.output.splitlines()))
    assert header == ["month", "channel", *LINES]
    assert_equals_truth(published, rows)
    piped = cwh(published, "sql", stdin=query + ";")  # statements from standard input, tab-separated
    assert piped.exit_code == 0 and [line.split("\t") for line in piped.output.splitlines()][1:] == rows


def test_cwh_sql_cannot_change_the_published_file(published):
    before = published_database(published).stat()
    result = cwh(published, "sql", "-c", "delete from marts.channel_pnl_monthly")
    assert result.exit_code == 1
    assert "read-only" in result.output and "Traceback" not in result.output
    after = published_database(published).stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)
    with duckdb.connect(str(published_database(published)), read_only=True) as con:
        rows = con.execute("select count(*) from marts.channel_pnl_monthly").fetchone()[0]
    count = cwh(published, "sql", "-c", "select count(*) as n from marts.channel_pnl_monthly")
    assert count.output.splitlines() == ["n", str(rows)] and rows > 0


def test_cwh_export_marts_writes_every_mart_as_parquet(published, tmp_path):
    import pyarrow.parquet as pq

    result = cwh(published, "export", "--marts", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(published_database(published)), read_only=True) as con:
        marts = {name for (name,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()}
    assert {p.stem for p in (tmp_path / "marts").glob("*.parquet")} == marts
    table = pq.read_table(tmp_path / "marts" / "channel_pnl_monthly.parquet")
    metadata = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
    assert {"run_id": "e2e-published-file", "logical_date": "2026-11-01",
            "source": "marts.channel_pnl_monthly"}.items() <= metadata.items()
    assert str(table.schema.field("net_revenue").type) == "decimal128(18, 2)"
    rows = [(r["month"].strftime("%Y-%m"), r["channel"], *(str(r[line]) for line in LINES)) for r in table.to_pylist()]
    assert_equals_truth(published, rows)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
OUTPUT_MODULES = re.compile(r"\bmarts\.([a-z_]+)")


@pytest.fixture(scope="module")
def docs_page(published):
    result = cwh(published, "docs")
    assert result.exit_code == 0, result.output
    page = published.root / "outputs" / "docs" / "index.html"
    assert str(page) in " ".join(result.output.split())
    return page


def test_cwh_docs_page_holds_the_manifest_and_catalog(docs_page):
    text = docs_page.read_text()
    for inside in ("schemas.getdbt.com/dbt/manifest/", "schemas.getdbt.com/dbt/catalog/",  # both embedded
                   '"exposure.channel_contribution.finance_exports"', "Channel contribution warehouse",
                   '"model.channel_contribution.channel_pnl_monthly"'):
        assert inside in text, inside


def test_cwh_docs_page_opens_from_disk_with_no_request(docs_page):
    """From file://, in Chromium with every request but the page itself refused: the overview shows,
    and a mart's page lists its columns with their types (from the catalog)."""
    from playwright.sync_api import sync_playwright

    requests, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.route("**/*", lambda route: (requests.append(route.request.url), route.continue_()
                                              if route.request.url == docs_page.as_uri() else route.abort()))
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(docs_page.as_uri(), wait_until="load")
            page.get_by_text("Where to start").wait_for(timeout=30000)
            page.goto(docs_page.as_uri() + "#!/model/model.channel_contribution.channel_pnl_monthly")
            page.get_by_text("contribution_after_opex").first.wait_for(timeout=30000)
            body = page.inner_text("body")
            assert "DECIMAL(18,2)" in body.upper()  # the column's type: from the catalog
        finally:
            browser.close()
    folder = docs_page.parent.as_uri() + "/"
    assert requests[0] == docs_page.as_uri() and not errors, (requests, errors)
    # nothing leaves the machine (dbt's usage tracker is off: dbt_project.yml flags) and neither
    # manifest.json nor catalog.json is fetched; dbt's page also asks for a favicon it never had
    assert all(url.startswith(folder) and "favicon" in url for url in requests[1:]), requests


def test_every_mart_an_output_reads_is_in_its_exposure(published, docs_page):
    manifest = json.loads((published.root / "dbt" / "target" / "manifest.json").read_text())
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert set(exposures) == {"channel_readback_report", "weekly_digest", "finance_exports", "finance_journal_export"}
    for name, exposure in exposures.items():
        listed = {node.rsplit(".", 1)[1] for node in exposure["depends_on"]["nodes"]}
        read = {mart for path in exposure["meta"]["code"]
                for mart in OUTPUT_MODULES.findall((PROJECT_DIR / path).read_text())}
        assert read and read <= listed, f"{name}: reads {sorted(read - listed)} not in its depends_on"
        assert exposure["owner"]["email"] and exposure["description"]
