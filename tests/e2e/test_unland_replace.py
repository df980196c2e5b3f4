"""A wrong fact is undone end to end: a file landed with the wrong currency is re-landed with
`cwh ingest --replace`, and the next nightly run builds the same marts as a home that never had the
mistake; a file taken out with `cwh unland` leaves no row in staging or the marts after the next run.

Both homes are copies of one small demo (40 days, the smallest whose every gate passes: a night held
by a blocking gate does not build, and a 20-day demo's sparse Amazon returns fail their freshness);
runs are driven as `cwh run --date` does (`nightly_run`). The marts compared are the build database's.
"""

from __future__ import annotations

import csv
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from connectors.home import build_database
from connectors.lake import Home, file_sha256
from orchestration.cli import app
from orchestration.demo.generator import generate
from orchestration.launch import nightly_run

NOV_1 = date(2026, 11, 1)
runner = CliRunner()
# columns measuring when a file landed (the landing clock), which no two homes share
LANDING_CLOCK = {"inventory_sync_latency_daily": {"loaded_at", "sync_latency_hours"}}


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "home"
    generate(root, days=40, orders_per_day=10)
    return root


def copy_home(demo_root: Path, target: Path, monkeypatch) -> Home:
    shutil.copytree(demo_root, target)
    monkeypatch.setenv("CWH_HOME", str(target))
    return Home(target)


def run_night(home: Home, monkeypatch) -> None:
    monkeypatch.setenv("CWH_HOME", str(home.root))
    report = nightly_run(home, NOV_1)
    assert not report.failure, report.failure
    failed = [c for c in report.checks if c.feed == "warehouse" and c.status != "ok"]
    assert not failed, [c.detail for c in failed]


def cli(home: Home, monkeypatch, *args: str):
    monkeypatch.setenv("CWH_HOME", str(home.root))
    result = runner.invoke(app, list(args), terminal_width=400)
    assert result.exit_code == 0, result.output
    return result


def _comparable(row: tuple) -> tuple:
    # doubles (ratios) to 12 significant digits: their last bits follow DuckDB's thread order; money is
    # decimal and compared exactly
    return tuple(float(f"{v:.12g}") if isinstance(v, float) else v for v in row)


def marts(home: Home) -> dict[str, list[tuple]]:
    """Every mart, rows sorted, without lineage columns (`_…`) and the landing clock."""
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "and table_type in ('BASE TABLE', 'VIEW') order by 1").fetchall()]  # the facts are views
        out = {}
        for table in tables:
            columns = [c for (c,) in con.execute(
                "select column_name from information_schema.columns where table_schema = 'marts' "
                "and table_name = ? order by ordinal_position", [table]).fetchall()
                if not c.startswith("_") and c not in LANDING_CLOCK.get(table, ())]
            select_list = ", ".join(f'"{c}"' for c in columns)
            rows = con.execute(f"select {select_list} from marts.{table}").fetchall()
            out[table] = sorted((_comparable(r) for r in rows), key=repr)
    return out


def test_replace_a_wrong_currency_then_unland_a_file(demo_root, tmp_path, monkeypatch):
    monkeypatch.setenv("CWH_HASH_KEY", "one key for both homes")  # customer keys comparable across homes
    clean = copy_home(demo_root, tmp_path / "clean", monkeypatch)
    run_night(clean, monkeypatch)
    truth = marts(clean)

    home = copy_home(demo_root, tmp_path / "home", monkeypatch)
    pinterest = sorted(home.landing("pinterest_ads").glob("*.csv"))[0]  # one monthly export of several
    export = tmp_path / pinterest.name  # the user's download, landed by hand with the wrong currency
    shutil.move(pinterest, export)
    cli(home, monkeypatch, "ingest", "pinterest_ads", str(export), "--currency", "CAD")
    run_night(home, monkeypatch)
    wrong = marts(home)
    assert wrong["fct_marketing_spend"] != truth["fct_marketing_spend"], "the wrong currency changed nothing"

    replaced = cli(home, monkeypatch, "ingest", "pinterest_ads", str(export), "--replace", "--currency", "USD")
    assert "loaded" in replaced.output
    run_night(home, monkeypatch)
    fixed = marts(home)
    assert fixed.keys() == truth.keys()
    for table in truth:
        assert fixed[table] == truth[table], table

    # one Amazon Ads CA export (a month) is taken out: its campaign days leave staging and the marts,
    # nothing else moves (the other month's export of the same campaigns stays)
    export_ca = sorted(home.landing("amazon_ads").glob("*CA*.csv"))[-1]
    sha = file_sha256(export_ca)
    with export_ca.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    days = {(row["campaignId"], date.fromisoformat(row["date"])) for row in rows}
    file_spend = sum(Decimal(row["cost"]) for row in rows)
    spend = "select campaign_id, spend_date, spend from marts.fct_marketing_spend where platform = 'amazon_ads'"
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        before = [s for c, d, s in con.execute(spend).fetchall() if (c, d) in days]
    assert before and sum(before) == file_spend  # the truth: the vendor file's own cost

    cli(home, monkeypatch, "unland", "amazon_ads", export_ca.name, "--reason", "wrong marketplace")
    run_night(home, monkeypatch)
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        staged = con.execute("select count(*) from staging.stg_amazon_ads__campaign_daily "
                             "where _source_sha256 = ?", [sha]).fetchone()[0]
        after = [(c, d) for c, d, _ in con.execute(spend).fetchall() if (c, d) in days]
    assert staged == 0 and after == []
    unlanded = marts(home)["fct_marketing_spend"]
    index = list(truth_columns(clean, "fct_marketing_spend"))
    campaign, platform, day = index.index("campaign_id"), index.index("platform"), index.index("spend_date")
    assert unlanded == [r for r in truth["fct_marketing_spend"]
                        if not (r[platform] == "amazon_ads" and (r[campaign], r[day]) in days)]


def truth_columns(home: Home, table: str) -> list[str]:
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        return [c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema = 'marts' "
            "and table_name = ? order by ordinal_position", [table]).fetchall() if not c.startswith("_")]
