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


def _planned_run(tmp_path, batch_size: str, monkeypatch):
    """A small job (two assets, one check) run on a home instance: its stored 'planned' events, and
    how many transactions stored them."""
    import dagster as dg

    from connectors.home import Home
    from orchestration.defs.instance import home_instance

    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", batch_size)

    @dg.asset
    def first():
        return 1

    @dg.asset
    def second(first):
        return first + 1

    @dg.asset_check(asset=second)
    def second_is_two(second):
        return dg.AssetCheckResult(passed=second == 2)

    # entered: this instance's state storage is the current one while the job is defined and run
    with home_instance(Home(tmp_path / batch_size)) as instance:
        storage = instance.event_log_storage
        transactions = []
        original = storage._connect

        def counted(shard):
            if storage._batch is None:
                transactions.append(shard)
            return original(shard)

        monkeypatch.setattr(storage, "_connect", counted)
        monkeypatch.setattr(storage, "store_event_batch", lambda events: transactions.append("batch")
                            or type(storage).store_event_batch(storage, events))
        result = dg.materialize([first, second, second_is_two], instance=instance)
        records = instance.get_records_for_run(result.run_id).records
    planned = sorted((r.event_log_entry.dagster_event_type.value, str(r.asset_key)) for r in records
                     if r.event_log_entry.is_dagster_event
                     and r.event_log_entry.dagster_event_type.value.endswith("PLANNED"))
    return planned, transactions


def test_a_runs_planned_events_are_stored_as_one_batch(tmp_path, monkeypatch):
    """The same planned events as one by one, in one batch (one transaction per database file)."""
    batched, with_batch = _planned_run(tmp_path, "1000", monkeypatch)
    one_by_one, without = _planned_run(tmp_path, "0", monkeypatch)
    assert batched == one_by_one and len(batched) == 3  # two assets and a check
    assert with_batch.count("batch") == 1 and "batch" not in without
    assert len(without) - len(with_batch) >= 2 * len(batched) - 1  # 2 writes each (run file, index) → 1 batch


def test_a_failing_batch_stores_none_of_its_events(tmp_path, monkeypatch):
    """All or nothing: Dagster then stores the events again one by one (no event twice)."""
    import pytest
    from dagster._core.events.log import EventLogEntry

    storage = PooledSqliteEventLogStorage(base_dir=str(tmp_path))
    try:
        entries = [EventLogEntry(error_info=None, level=20, user_message=f"event {n}", run_id="run1",
                                 timestamp=1_700_000_000.0 + n) for n in range(3)]
        original = SqliteEventLogStorage.store_event

        def third_fails(self, event):
            if event.user_message == "event 2":
                raise RuntimeError("disk full")
            original(self, event)

        monkeypatch.setattr(SqliteEventLogStorage, "store_event", third_fails)
        with pytest.raises(RuntimeError):
            storage.store_event_batch(entries)
        assert storage.get_logs_for_run("run1") == []
        monkeypatch.setattr(SqliteEventLogStorage, "store_event", original)
        storage.store_event_batch(entries)
        assert [e.user_message for e in storage.get_logs_for_run("run1")] == ["event 0", "event 1", "event 2"]
    finally:
        storage.dispose()
