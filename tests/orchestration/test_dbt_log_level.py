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


def _file_log(tmp_path, level: str):
    """dbt's own log file logger (as `dbt build` sets it up), with the night's filter, on a fresh manager."""
    from dbt.events import logging as dbt_logging
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.event_manager import EventManager
    from dbt_common.events.logger import LineFormat

    from orchestration.pipeline.dbt import drop_file_lines_below_their_level

    assert drop_file_lines_below_their_level(), "dbt no longer builds its file logger in _get_logfile_config"
    assert drop_file_lines_below_their_level()  # a second call does not wrap the filter twice
    manager = EventManager()
    config = dbt_logging._get_logfile_config(str(tmp_path / "dbt.log"), False, LineFormat.DebugText,
                                             EventLevel(level), 10_000_000)
    manager.add_logger(config)
    return manager, config


@pytest.mark.parametrize("level", ["info", "debug"])
def test_the_log_file_gets_the_lines_of_its_level_and_above_and_formats_no_other(tmp_path, monkeypatch, level):
    from dbt_common.events import logger as dbt_logger
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.types import Note, PrintEvent

    manager, config = _file_log(tmp_path, level)
    formatted = []
    original = dbt_logger._TextLogger.create_line
    monkeypatch.setattr(dbt_logger._TextLogger, "create_line",
                        lambda self, msg: formatted.append(msg.info.msg) or original(self, msg))
    manager.fire_event(Note(msg="a query's SQL"), level=EventLevel.DEBUG)
    manager.fire_event(Note(msg="a node's result"), level=EventLevel.INFO)
    manager.fire_event(Note(msg="a failure"), level=EventLevel.ERROR)
    manager.fire_event(PrintEvent(msg="printed whatever the level"), level=EventLevel.DEBUG)
    manager.flush()
    written = (tmp_path / "dbt.log").read_text()
    expected = ["a node's result", "a failure", "printed whatever the level"]
    if level == "debug":
        expected.insert(0, "a query's SQL")
    assert formatted == expected
    assert [line for line in expected if line in written] == expected
    assert ("a query's SQL" in written) == (level == "debug")
    assert config.filter.func.__name__ == "_at_or_above"
