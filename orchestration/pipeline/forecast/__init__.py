"""The forecast phase of the night: demand forecasts, their backtest and price elasticity.

The night builds the dbt project in two phases (pipeline/run.py):
  1. `dbt build --exclude source:forecasts+`: everything that does not read a forecast (the P&L,
     KPIs, readback, the inventory intermediates). The P&L never waits for forecasting.
  2. this phase (`run_forecast`) reads the phase-1 tables of the build database and writes the
     `forecasts` tables as Parquet files under $CWH_HOME/forecasts/<table>/, then
     `dbt build --select source:forecasts+` builds what reads them: demand_forecast_daily,
     forecast_accuracy, forecast_backtest_daily, price_elasticity, and the inventory marts that use
     the forecast (inventory_health_daily and everything downstream of it, allocation_recommendation).
So code run in this phase reads stockouts from intermediate.int_inventory_location_daily, never
marts.inventory_health_daily (built after it).

The forecasts are Parquet files, like the lake, rather than tables of the build database: the dbt
source `forecasts` reads them on DuckDB and on Spark alike (macros/portability.sql), and each table
has an `_empty.parquet` with its columns (`ensure_forecast_files`, run before every dbt call), so a
build without a forecast (a test, a first night, a failed forecast) still builds every model.

A failure here never holds the night: the failing part falls back (a channel's model to the seasonal
naive forecast, a failed elasticity to no rows) and the run carries a warning (`ForecastOutcome`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from connectors.home import Home

SOURCE = "forecasts"
DATA_FILE = "forecast.parquet"  # this night's rows; `_empty.parquet` beside it only gives the columns

# the columns of each table of source `forecasts` (dbt_project/models/marts/forecast/_forecasts__sources.yml)
TABLES: dict[str, pa.Schema] = {
    "demand_forecast": pa.schema([
        ("channel", pa.string()), ("sku", pa.string()), ("date", pa.date32()), ("origin_date", pa.date32()),
        ("horizon_days", pa.int64()), ("forecast_units", pa.float64()), ("forecast_lower_80", pa.float64()),
        ("forecast_upper_80", pa.float64()), ("method", pa.string()), ("is_fallback", pa.bool_()),
        ("sku_share", pa.float64()), ("history_days", pa.int64()), ("masked_days", pa.int64()),
        ("promo_days", pa.int64())]),
    "forecast_accuracy": pa.schema([
        ("channel", pa.string()), ("horizon_bucket", pa.string()), ("method", pa.string()),
        ("origins", pa.int64()), ("days_evaluated", pa.int64()), ("actual_units", pa.float64()),
        ("abs_error", pa.float64()), ("mase", pa.float64()), ("wape", pa.float64()),
        ("overall_mase", pa.float64()), ("baseline_mase", pa.float64()), ("beats_baseline", pa.bool_()),
        ("is_selected", pa.bool_()), ("note", pa.string())]),
    "forecast_backtest": pa.schema([
        ("channel", pa.string()), ("date", pa.date32()), ("method", pa.string()), ("origin_date", pa.date32()),
        ("horizon_days", pa.int64()), ("actual_units", pa.float64()), ("forecast_units", pa.float64())]),
    # written from orchestration.pipeline.forecast.elasticity.price_elasticity (its docstring: the contract)
    "price_elasticity": pa.schema([
        ("channel", pa.string()), ("level", pa.string()), ("subject", pa.string()), ("category", pa.string()),
        ("currency", pa.string()), ("status", pa.string()), ("elasticity", pa.float64()),
        ("std_error", pa.float64()), ("ci80_low", pa.float64()), ("ci80_high", pa.float64()),
        ("ci95_low", pa.float64()), ("ci95_high", pa.float64()), ("price_points", pa.int32()),
        ("observations", pa.int32()), ("units", pa.int64()), ("min_unit_price", pa.float64()),
        ("max_unit_price", pa.float64()), ("first_week", pa.date32()), ("last_week", pa.date32())]),
}


def forecast_folder(home: Home) -> Path:
    return home.root / SOURCE


def ensure_forecast_files(home: Home) -> None:
    """Every table of source `forecasts` readable: an `_empty.parquet` with its columns (Spark skips
    a name starting with `_`, DuckDB reads it as no rows)."""
    for name, schema in TABLES.items():
        folder = forecast_folder(home) / name
        empty = folder / "_empty.parquet"
        if not empty.exists() or pq.read_schema(empty) != schema:
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(schema.empty_table(), empty)


def write_table(home: Home, name: str, table: pa.Table | None) -> int:
    """Replace a forecasts table's rows (atomically: a reader sees the old file or the new one);
    None or no rows leaves it empty. Returns the rows written."""
    ensure_forecast_files(home)
    path = forecast_folder(home) / name / DATA_FILE
    if table is None or table.num_rows == 0:
        path.unlink(missing_ok=True)
        return 0
    table = table.select(TABLES[name].names).cast(TABLES[name])
    temporary = path.with_name(f".{DATA_FILE}.tmp")
    pq.write_table(table, temporary)
    os.replace(temporary, path)
    return table.num_rows


def clear_tables(home: Home) -> None:
    """No forecast rows at all (a stale forecast must not pass for tonight's)."""
    for name in TABLES:
        write_table(home, name, None)
