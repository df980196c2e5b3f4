"""Staging keeps the latest landed version of each row (macro latest_rows), run by dbt on a real staging
model built whole: a key landed in several files takes the row of the most recently landed file, then
the later line of it; a key landed once is kept as it is; rows whose key has a null rank as one key."""

import duckdb

from connectors.home import Home, build_database
from orchestration.pipeline.dbt import run_dbt


def _text(value: str | None) -> str:
    return f"'{value}'" if value is not None else "null"


def _land(home: Home, name: str, loaded_at: str, rows: list[tuple]) -> None:
    """A lake file of fx_rates: (date, currency, rate, line) rows with the lineage columns landing adds."""
    folder = home.raw("fx_rates")
    folder.mkdir(parents=True, exist_ok=True)
    values = ", ".join(
        f"(date '{day}', {_text(currency)}, 'USD', {rate}, '{name}.csv', '{name}', {line}, "
        f"'fx_rates_csv', timestamptz '{loaded_at}')" for day, currency, rate, line in rows)
    with duckdb.connect() as con:
        con.execute(f"""copy (select date, currency, quote_currency, cast(rate as decimal(18, 8)) as rate, _source_file,
                                     _source_sha256, cast(_source_line as bigint) as _source_line, _source_format,
                                     _loaded_at
                              from (values {values}) as t(date, currency, quote_currency, rate, _source_file,
                                                          _source_sha256, _source_line, _source_format, _loaded_at))
                        to '{folder / (name + ".parquet")}' (format parquet)""")


def test_a_whole_build_keeps_each_keys_latest_version(home):
    _land(home, "first", "2026-01-05 08:00:00+00", [
        ("2026-01-01", "EUR", 1.10, 2),
        ("2026-01-02", "EUR", 1.11, 3),  # landed once: kept as it is
        ("2026-01-01", "GBP", 1.30, 4),
        ("2026-01-03", None, 0.50, 5),   # a null in the key: these two are one key, the later line wins
        ("2026-01-03", None, 0.60, 6),
    ])
    _land(home, "revised", "2026-01-06 08:00:00+00", [
        ("2026-01-01", "EUR", 1.12, 2),  # a later file revises the key, and revises it again lower down
        ("2026-01-01", "EUR", 1.13, 3),
    ])
    result = run_dbt(home, "run", "--select", "stg_finance__fx_rates", "--full-refresh")
    assert result.success, result.exception
    with duckdb.connect(str(build_database(home)), read_only=True) as con:
        staged = con.execute("select date::varchar, currency, rate::double, _source_file, _source_line "
                             "from staging.stg_finance__fx_rates order by all").fetchall()
    assert staged == [
        ("2026-01-01", "EUR", 1.13, "revised.csv", 3),
        ("2026-01-01", "GBP", 1.30, "first.csv", 4),
        ("2026-01-02", "EUR", 1.11, "first.csv", 3),
        ("2026-01-03", None, 0.60, "first.csv", 6),
    ]
