"""The home instance's event log (orchestration/defs/storage.py): same answers as Dagster's own
SQLite event log, with what Dagster asks over and over answered once."""

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from orchestration.defs.storage import PooledSqliteEventLogStorage


def test_a_table_found_once_is_not_looked_up_again(tmp_path, monkeypatch):
    storage = PooledSqliteEventLogStorage(base_dir=str(tmp_path))
    asked = []
    original = SqliteEventLogStorage.has_table
    monkeypatch.setattr(SqliteEventLogStorage, "has_table",
                        lambda self, name: asked.append(name) or original(self, name))
    try:
        assert storage.supports_asset_checks and storage.supports_asset_checks
        assert asked == ["asset_check_executions"]
        # a table not there is asked again each time (a migration may add it meanwhile)
        assert not storage.has_table("no_such_table") and not storage.has_table("no_such_table")
        assert asked.count("no_such_table") == 2
    finally:
        storage.dispose()
