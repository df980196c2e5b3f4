"""dbt's log file level: `info` unless CWH_DBT_LOG_LEVEL asks for more (or less); the terminal never
gets dbt's lines (a night reports its failures once, from the results)."""

import pytest

from orchestration.pipeline.dbt import DBT_LOG_LEVEL_ENV, quiet_flags


def test_the_log_file_is_at_info_unless_asked(monkeypatch):
    monkeypatch.delenv(DBT_LOG_LEVEL_ENV, raising=False)
    assert quiet_flags() == ("--log-level", "none", "--log-level-file", "info")
    monkeypatch.setenv(DBT_LOG_LEVEL_ENV, " DEBUG ")
    assert quiet_flags() == ("--log-level", "none", "--log-level-file", "debug")


def test_an_unknown_level_is_refused_naming_the_setting(monkeypatch):
    monkeypatch.setenv(DBT_LOG_LEVEL_ENV, "verbose")
    with pytest.raises(ValueError, match=f"{DBT_LOG_LEVEL_ENV}='verbose'.*debug, info"):
        quiet_flags()
