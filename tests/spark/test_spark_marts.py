"""The same dbt project on Apache Spark (dbt-spark, session mode) builds every mart equal to the
DuckDB build of the same lake, row for row.

One demo home is landed; `dbt build` runs on DuckDB and then on Spark (every model, unit test and
data test must pass on both), and each table of models/marts is read back from both engines and
compared: the same columns, the same rows (in any order), money and counts exactly (Decimals to the
cent), doubles within a relative 1e-6 (Spark keeps the average or quotient of decimals to 6 decimal
places where DuckDB computes it in double), timestamps as UTC instants.

The forecast marts and those that read the forecast (`source:forecasts+`) are compared too: the
DuckDB build is the night's order (everything else, the forecast phase on the DuckDB build writing
the `forecasts` Parquet files, then `source:forecasts+`), and Spark builds the whole project over
those same files (statsmodels runs once, in Python: the forecast is an input of both builds, like
the lake).

Run by `make test-spark` (`pytest -m spark tests/spark`): it needs pyspark and dbt-spark from
requirements-spark.lock and Java 17; the plain `make test` deselects it (pyproject.toml).
"""

from __future__ import annotations

import math
import time
from datetime import date, datetime, timezone

import duckdb
import pytest

from connectors.home import build_database
from connectors.lake import Home, land_all
from orchestration.demo import generate
from orchestration.pipeline.dbt import failures, run_dbt
from orchestration.pipeline.dbt_sources import DBT_DIR
from orchestration.pipeline.forecast.phase import run_forecast
from orchestration.pipeline.run import FORECAST_MODELS

pytestmark = pytest.mark.spark

END = date(2026, 10, 31)  # the demo's last day (generate's default end)
MARTS = sorted(path.stem for path in (DBT_DIR / "models" / "marts").rglob("*.sql"))
REL_TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    home = Home(tmp_path_factory.mktemp("spark"))
    generate(home.root, days=60, orders_per_day=40)
    land_all(home)
    return home


def build(home: Home, target: str, *selection: str) -> None:
    started = time.monotonic()
    result = run_dbt(home, "build", *selection, target=target)
    problems = failures(result)
    print(f"dbt build on {target}: {time.monotonic() - started:.0f} s", *problems, sep="\n")
    assert result.success, problems


@pytest.fixture(scope="module")
def duckdb_marts(home) -> dict[str, tuple[list[str], list[tuple]]]:
    build(home, "duckdb", "--exclude", FORECAST_MODELS)
    outcome = run_forecast(home, END)
    assert outcome.ok, outcome.warnings
    build(home, "duckdb", "--select", FORECAST_MODELS)
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        return {name: _rows(con.sql(f"select * from marts.{name}").to_arrow_table()) for name in MARTS}


@pytest.fixture(scope="module")
def spark_marts(home, duckdb_marts) -> dict[str, tuple[list[str], list[tuple]]]:  # after the forecast
    from pyspark.sql import SparkSession

    build(home, "spark")
    spark = SparkSession.builder.getOrCreate()  # the session dbt-spark ran in, in this process
    return {name: _rows(spark.table(f"marts.{name}").toArrow()) for name in MARTS}


def _rows(table) -> tuple[list[str], list[tuple]]:
    columns = table.column_names
    return columns, [tuple(row[c] for c in columns) for row in table.to_pylist()]


def _utc(value):
    # both engines hand out aware instants (Spark in its session time zone, UTC here)
    return value.astimezone(timezone.utc) if isinstance(value, datetime) else value


def _sort_key(row: tuple) -> tuple:
    # doubles last and coarsely, so a last-digit difference cannot reorder otherwise equal rows
    exact = tuple((v is None, str(_utc(v))) for v in row if not isinstance(v, float))
    rough = tuple((v is None, round(v, 6) if isinstance(v, float) else 0) for v in row)
    return exact + rough


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and _utc(a) == _utc(b)  # Decimals exactly, to the cent


def test_the_demo_fills_every_mart(duckdb_marts):
    empty = [name for name, (_, rows) in duckdb_marts.items() if not rows]
    assert len(duckdb_marts) > 20 and not empty, f"an empty mart proves nothing: {empty}"


@pytest.mark.parametrize("mart", MARTS)
def test_spark_mart_equals_duckdb_mart(mart, duckdb_marts, spark_marts):
    duck_columns, duck_rows = duckdb_marts[mart]
    spark_columns, spark_rows = spark_marts[mart]
    assert spark_columns == duck_columns
    assert len(spark_rows) == len(duck_rows)
    differences = []
    for duck_row, spark_row in zip(sorted(duck_rows, key=_sort_key), sorted(spark_rows, key=_sort_key), strict=True):
        differences += [(column, d, s) for column, d, s in zip(duck_columns, duck_row, spark_row, strict=True)
                        if not _same(d, s)]
    assert not differences, f"{mart}: {len(differences)} values differ, e.g. (column, duckdb, spark) {differences[:10]}"
