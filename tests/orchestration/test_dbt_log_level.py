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


class _Seen:
    """A dbt callback recording the events it gets; marked as reading info and above, or not."""

    def __init__(self, marked: bool) -> None:
        self.names: list[str] = []
        if marked:
            self.reads_debug_events = False

    def __call__(self, msg) -> None:
        self.names.append(msg.info.msg)


@pytest.mark.parametrize(("file_level", "marked", "debug_built"), [
    ("info", True, False),  # the night's setting: no one reads the debug event, it is never built
    ("debug", True, True),  # CWH_DBT_LOG_LEVEL=debug: written, so built
    ("info", False, True),  # a callback that did not say it reads info and above gets everything
])
def test_a_debug_event_no_one_reads_is_dropped_before_its_message_is_built(
        tmp_path, monkeypatch, file_level, marked, debug_built):
    from dbt_common.events import event_manager as dbt_event_manager
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.types import Note, PrintEvent

    from orchestration.pipeline.dbt import skip_debug_events_no_one_reads

    assert skip_debug_events_no_one_reads(), "dbt_common's EventManager no longer has fire_event"
    assert skip_debug_events_no_one_reads()  # a second call does not wrap it twice
    manager, _config = _file_log(tmp_path, file_level)
    seen = _Seen(marked)
    manager.add_callback(seen)
    built = []
    original = dbt_event_manager.msg_from_base_event
    monkeypatch.setattr(dbt_event_manager, "msg_from_base_event",
                        lambda event, level=None: built.append(event.message()) or original(event, level=level))
    manager.fire_event(Note(msg="a query's SQL"), level=EventLevel.DEBUG)
    manager.fire_event(Note(msg="a node's result"), level=EventLevel.INFO)
    manager.fire_event(PrintEvent(msg="printed whatever the level"), level=EventLevel.DEBUG)
    manager.flush()
    always = ["a node's result", "printed whatever the level"]
    assert built == (["a query's SQL", *always] if debug_built else always)
    assert seen.names == built
    assert "printed whatever the level" in (tmp_path / "dbt.log").read_text()


def test_a_night_s_callbacks_read_info_and_above():
    """The night's callbacks are marked (else no debug event is skipped), and what they read is fired at
    info or above: dbt's result events (pipeline.dbt.skip_debug_events_no_one_reads)."""
    from orchestration.pipeline.dbt import node_progress

    assert node_progress(print).reads_debug_events is False


def test_with_dbt_s_own_logging_set_up_as_a_night_asks_no_debug_event_is_built(tmp_path, monkeypatch):
    """dbt's setup of an invocation (its file logger at info, no terminal, its own callback added to ours)
    leaves the debug events unread: none is built."""
    from types import SimpleNamespace

    from dbt.events.logging import setup_event_logger
    from dbt_common.events import event_manager as dbt_event_manager
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.functions import fire_event, get_event_manager
    from dbt_common.events.types import Note

    from orchestration.pipeline.dbt import node_progress, skip_debug_events_no_one_reads

    skip_debug_events_no_one_reads()
    flags = SimpleNamespace(LOG_PATH=str(tmp_path), LOG_LEVEL="none", LOG_LEVEL_FILE="info", LOG_FORMAT_FILE="default",
                            USE_COLORS_FILE=False, LOG_FILE_MAX_BYTES=10_000_000, DEBUG=False)
    built = []
    original = dbt_event_manager.msg_from_base_event
    monkeypatch.setattr(dbt_event_manager, "msg_from_base_event",
                        lambda event, level=None: built.append(event.message()) or original(event, level=level))
    setup_event_logger(flags, [node_progress(print)])
    try:
        assert len(get_event_manager().callbacks) == 2  # ours and dbt's behaviour-change tracker
        fire_event(Note(msg="a query's SQL"), level=EventLevel.DEBUG)
        fire_event(Note(msg="a node's result"), level=EventLevel.INFO)
        assert built == ["a node's result"]
    finally:
        from dbt.events.logging import cleanup_event_logger

        cleanup_event_logger()


def test_an_event_is_filled_when_read_and_reads_as_dbt_made_it(tmp_path, monkeypatch):
    """dbt's events keep their arguments until something reads them (pipeline.dbt.build_event_data_when_read):
    a debug event no one reads is never filled; one that is read has dbt's own data and message."""
    from dbt.adapters.events.types import SQLQuery
    from dbt_common.events import base_types
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.types import Note

    from orchestration.pipeline.dbt import build_event_data_when_read, skip_debug_events_no_one_reads

    build_event_data_when_read()
    assert not build_event_data_when_read()  # a second call does not wrap it twice
    skip_debug_events_no_one_reads()
    fills = []
    parse = base_types.ParseDict
    monkeypatch.setattr(base_types, "ParseDict",
                        lambda values, message: fills.append(dict(values)) or parse(values, message))
    query = SQLQuery(conn_name="model.x", sql="select 1", node_info={"unique_id": "model.x"})
    assert fills == []  # made, not filled
    manager, _config = _file_log(tmp_path, "info")
    manager.fire_event(query, level=EventLevel.DEBUG)  # unread at info: dropped unfilled
    assert fills == []
    assert query.message() == "On model.x: select 1"
    assert query.to_dict()["node_info"]["unique_id"] == "model.x"
    assert len(fills) == 1  # filled once, on first read
    query.sql = "select 2"  # dbt sets fields on an event after making it
    assert query.message() == "On model.x: select 2" and len(fills) == 1
    manager.fire_event(Note(msg="a node's result"), level=EventLevel.INFO)
    manager.flush()
    assert "a node's result" in (tmp_path / "dbt.log").read_text()
