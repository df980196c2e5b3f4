"""A night's window (ops.build_window, written before dbt starts) as the models and tests read it
(macro build_var): once per dbt invocation, whatever the number of nodes and values that ask, and
each invocation its own table as it stands when it starts."""

import duckdb

from connectors.home import Home, build_database
from orchestration.pipeline.dbt import BUILD_WINDOW, DBT_LOG_LEVEL_ENV, run_dbt, snapshot_args

SHOWN = ("select '{{ build_var(\"min_date\") }}' as min_date, '{{ build_var(\"max_date\") }}' as max_date, "
         "'{{ build_var(\"landed_after\") }}' as landed_after, '{{ build_var(\"max_date\") }}' as again")


def _write_window(home: Home, **values: str) -> None:
    build_database(home).parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(build_database(home))) as con:  # closed before dbt opens the file
        con.execute("create schema if not exists ops")
        con.execute(f"create or replace table {BUILD_WINDOW} (name varchar primary key, value varchar)")
        con.executemany(f"insert into {BUILD_WINDOW} values (?, ?)", list(values.items()))


def _last_invocation_log(home: Home) -> str:
    log = (home.root / "dbt" / "logs" / "dbt.log").read_text(errors="replace")
    return log[log.rindex("Running with dbt"):]


def _shown(home: Home) -> tuple:
    result = run_dbt(home, "show", "--inline", SHOWN, *snapshot_args())
    assert result.success, result.exception
    return tuple(result.result.results[0].agate_table.rows[0])


def test_the_window_is_read_once_per_invocation_and_each_invocation_reads_its_own(home, monkeypatch):
    monkeypatch.setenv(DBT_LOG_LEVEL_ENV, "debug")  # the log file then holds every query dbt runs
    _write_window(home, min_date="2026-10-11", max_date="2026-11-01", landed_after="2026-11-01 02:00:00+00")
    assert _shown(home) == ("2026-10-11", "2026-11-01", "2026-11-01 02:00:00+00", "2026-11-01")
    # four values asked, one query (each cost dbt ~20 ms of its single-threaded Python, ~360 a night)
    assert _last_invocation_log(home).count(f"from {BUILD_WINDOW}") == 1

    _write_window(home, max_date="2026-11-02")  # the next night: one day, nothing landed (no landed_after)
    assert _shown(home) == ("None", "2026-11-02", "None", "2026-11-02")
