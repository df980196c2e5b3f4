"""`to_reporting` (dbt_project/macros/money.sql) as dbt compiles it for DuckDB: amount × rate rounded to
cents half away from zero, exactly, on both of its ways (64-bit for whole cents under 10 million, else
widened), against Python's decimal arithmetic."""

from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest

from orchestration.pipeline.dbt import run_dbt

AMOUNTS = ["0", "0.01", "-0.01", "0.005", "-0.005", "0.125", "12.34", "-12.35", "99999.99", "1234567.89",
           "-9999999.99", "9999999.995", "123456789.99", "-250000000.01", "9876543210.55", "17.1234",
           "0.0049", "-3.33335", "123456.7890123456"]
RATES = ["1", "0.5", "0.00670000", "1.27340000", "150.12345678", "3.25", "0.123456789", "1.00000001"]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory, monkeypatch_module) -> str:
    from connectors.home import Home

    home = Home(tmp_path_factory.mktemp("to_reporting"))
    monkeypatch_module.setenv("CWH_HOME", str(home.root))
    result = run_dbt(home, "compile", "--inline", "select {{ to_reporting('a', 'r') }} as v from amounts")
    assert result.success, result.exception
    return result.result.results[0].node.compiled_code


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _expected(amount: str, rate: str) -> Decimal:
    return (Decimal(amount) * Decimal(rate)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_duckdb_compiles_both_ways(compiled):
    assert "decimal(18, 2)) * cast(r as decimal(18, 8))" in compiled  # the 64-bit way is there
    assert "decimal(38, 10)) * r" in compiled  # and the widened one


@pytest.mark.parametrize("amount_type", ["decimal(18, 2)", "decimal(18, 4)", "decimal(38, 10)"])
@pytest.mark.parametrize("rate_type", ["decimal(18, 8)", "decimal(18, 9)"])
def test_every_amount_converts_to_the_exact_cent(compiled, amount_type, rate_type):
    """Each amount and rate as the column type holds it (extra decimals rounded by the cast, amounts out of
    its range left out), converted by the compiled macro and by Python."""
    con = duckdb.connect()
    con.execute(f"create table amounts (a {amount_type}, r {rate_type})")
    con.executemany(f"insert into amounts select try_cast(? as {amount_type}), cast(? as {rate_type})",
                    [(amount, rate) for amount in AMOUNTS for rate in RATES])
    con.execute("delete from amounts where a is null")
    rows = con.execute(compiled.replace("as v from amounts", "as v, a, r from amounts")).fetchall()
    assert len(rows) >= len(RATES) * (len(AMOUNTS) - 2)
    wrong = [(a, r, v) for v, a, r in rows if v != _expected(str(a), str(r))]
    assert not wrong


def test_nulls_stay_null(compiled):
    con = duckdb.connect()
    con.execute("create table amounts (a decimal(18, 2), r decimal(18, 8))")
    con.execute("insert into amounts values (null, 1), (5, null)")
    assert con.execute(compiled).fetchall() == [(None,), (None,)]
