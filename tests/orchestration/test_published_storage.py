"""The published file is written in a storage format DuckDB 1.x reads (fast: a hand-made build; the
demo's marts, with dbt: tests/e2e/test_published_file.py). DuckDB 2 writes storage version 69 by
default, which every 1.x refuses ("can only read versions between 64 and 68")."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb

from connectors.home import PROJECT_DIR, published_database
from orchestration.pipeline.publish import publish
from tests.orchestration.test_publish import PASSING, make_build

DUCKDB1 = Path(os.environ.get("CWH_DUCKDB1", PROJECT_DIR / ".venv" / "duckdb1"))
READ = """
import duckdb, sys
con = duckdb.connect(sys.argv[1], read_only=True)
print(duckdb.__version__, *con.execute("select count(*), sum(x) from marts.fct_contribution").fetchone())
"""


def storage_version(home) -> str:
    with duckdb.connect() as con:
        con.execute(f"attach '{published_database(home)}' as published (read_only)")
        return con.execute("select tags from duckdb_databases() where database_name = 'published'").fetchone()[0][
            "storage_version"]


def test_the_published_file_is_in_the_duckdb_1_2_storage_format(home):
    make_build(home)
    assert publish(home, run_id="r1", logical_date=date(2026, 11, 1), watermarks={}, checks=PASSING).published
    assert storage_version(home).startswith("v1.2.0")
    make_build(home, scale=2)  # the next night starts from a copy of this file: its format is kept
    assert publish(home, run_id="r2", logical_date=date(2026, 11, 2), watermarks={}, checks=PASSING).changed == 2
    assert storage_version(home).startswith("v1.2.0")


def test_the_newest_duckdb_1x_client_reads_it(home):
    assert (DUCKDB1 / "duckdb").is_dir(), f"no DuckDB 1.x client in {DUCKDB1}: run `make install`"
    make_build(home)
    publish(home, run_id="r1", logical_date=date(2026, 11, 1), watermarks={}, checks=PASSING)
    make_build(home, scale=2)  # a night that replaces a table of a copy of the published file
    publish(home, run_id="r2", logical_date=date(2026, 11, 2), watermarks={}, checks=PASSING)
    result = subprocess.run([sys.executable, "-S", "-c", READ, str(published_database(home))], capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(DUCKDB1)}, timeout=60)
    assert result.returncode == 0, result.stderr[-1500:]
    version, rows, total = result.stdout.split()
    assert version.startswith("1.") and (int(rows), int(total)) == (100, 2 * sum(range(100)))
