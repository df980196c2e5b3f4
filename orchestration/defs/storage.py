"""The home instance's event log: Dagster's SQLite event log, with one engine kept per database file.

Dagster's own SQLite event log opens (and closes, checkpointing the WAL) a new engine and connection
for every event; a night stores ~2,600 events (a materialization per model, a result per dbt test
and gate), which cost ~25 s that way against ~2 s here. Same schema and files, so the UI and the
daemon read it as usual (they load this class from the instance's dagster.yaml). WAL with
synchronous=NORMAL: a power cut can lose the last events of a run's history, never corrupt it, and
the warehouse's own records (ledger, publish log) do not depend on it.

Dagster also asks, before storing each asset-check event (twice per dbt test), whether the
asset-check table exists, through a new engine each time (~1.3 ms, ~1 s a night): a table found
once is remembered (migrations add tables, never drop them).

A run starts by storing a 'planned' event per asset and check it will run (~550 a night, 0.6 s one
transaction each): sent as a batch (DAGSTER_EVENT_BATCH_SIZE, set when this storage is made), they are
stored in one transaction per database file (0.36 s).
"""

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as db
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)

BATCH_SIZE_ENV = "DAGSTER_EVENT_BATCH_SIZE"


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(self, *args, **kwargs):
        # Dagster sends a run's 'planned' events as one batch only when this is set (store_event_batch)
        os.environ.setdefault(BATCH_SIZE_ENV, "1000")
        self._engines: dict[str, db.Engine] = {}  # before super().__init__, which connects
        self._tables_found: set[str] = set()
        self._batch: dict[str, db.Connection] | None = None  # shard → the open batch's connection
        self._batch_thread: int | None = None
        super().__init__(*args, **kwargs)

    @classmethod
    def from_config_value(cls, inst_data, config_value):  # the parent builds its own class
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> db.Engine:
        engine = self._engines.get(shard)
        if engine is None:
            engine = db.create_engine(
                self.conn_string_for_shard(shard), pool_size=1, max_overflow=4,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
            db.event.listen(engine, "connect", _relaxed_sync)
            self._engines[shard] = engine
        return engine

    def has_table(self, table_name: str) -> bool:
        if table_name in self._tables_found:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_found.add(table_name)
        return found

    @contextmanager
    def _connect(self, shard: str) -> Iterator[db.Connection]:
        if self._batch is not None and self._batch_thread == threading.get_ident():
            yield self._batch_connection(shard)
            return
        with self._db_lock, self._ready_engine(shard).connect() as conn, conn.begin():
            yield conn

    def store_event_batch(self, events) -> None:
        """A batch of events (Dagster sends the ~550 'planned' events of a night's run as one, when
        DAGSTER_EVENT_BATCH_SIZE is set) stored in one transaction per database file, not one each:
        all or nothing (on an error Dagster stores them again one by one)."""
        with self._db_lock:
            self._batch, self._batch_thread = {}, threading.get_ident()
            try:
                for event in events:
                    self.store_event(event)
                for conn in self._batch.values():
                    conn.commit()
            finally:
                for conn in self._batch.values():
                    conn.close()  # rolls back what was not committed
                self._batch = self._batch_thread = None

    def _batch_connection(self, shard: str) -> db.Connection:
        conn = self._batch.get(shard)
        if conn is None:
            conn = self._batch[shard] = self._ready_engine(shard).connect()
            conn.begin()
        return conn

    def _ready_engine(self, shard: str) -> db.Engine:
        """The shard's engine, its database created or migrated on first use (under `_db_lock`)."""
        engine = self._engine(shard)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        return engine

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        super().dispose()


def _relaxed_sync(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
