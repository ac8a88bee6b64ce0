"""SQLite view backend (the embedded default), on eventsourcing's SQLite recorders.

All views of a store share one database file and one connection pool; each view
has its own tables, its own tracking table ``<view>_tracking`` and its own failures
table. The file runs in WAL mode (readers never block the writer) with
``synchronous=NORMAL``: a power loss may forget the last commits of a view, but
never separates a view's rows from its tracking position, so the view resumes
consistently and catches up again. The WAL is checkpointed by a thread of the
store (:mod:`projections.checkpoints`), not by the views' commits. Each
connection has a 16 MiB page cache
(SQLite's default is 2 MiB): applying events reads back the rows it updates. A
rebuild into PostgreSQL stages its views in a scratch file of its own
(``durable=False``: ``synchronous=OFF``, 64 MiB cache), deleted afterwards.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from time import monotonic, sleep
from typing import Any, Literal, get_args

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.sqlite import (
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteTrackingRecorder,
    SQLiteTransaction,
)

from projections.checkpoints import CONNECTION_SETTINGS, Checkpointer
from projections.dialects import SQLiteDialect
from projections.sql_view import SQLView


def _switch_to_wal(raw: sqlite3.Connection, timeout: float) -> bool:
    """Put the database file in WAL mode unless it is; whether this changed it.

    Switching reads the file, then takes an exclusive lock. If another
    connection is committing meanwhile (holding the write lock, waiting for
    readers to finish), SQLite refuses the switch at once with ``database is
    locked``: waiting would deadlock. Several processes opening a new file at
    the same moment meet this (about one set of four in a hundred): a refusal
    (or a look at the mode that met a lock) is retried, finding the file as
    the other left it, until ``timeout`` seconds have passed.
    """
    deadline = monotonic() + timeout
    while True:
        try:
            if str(raw.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return False
            now = str(raw.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        except sqlite3.OperationalError as error:  # the look or the switch
            if "locked" not in str(error):
                raise
            now = str(error)
        if now.lower() == "wal":
            return True
        if monotonic() > deadline:
            msg = f"could not switch the database to WAL mode: {now}"
            raise sqlite3.OperationalError(msg)
        sleep(0.01)


class _ImmediateTransaction(SQLiteTransaction):
    """A write transaction that takes SQLite's write lock when it begins.

    A deferred ``BEGIN`` (eventsourcing's) reads under a snapshot and asks for
    the write lock at its first write: if another connection (another process:
    a runner while the CLI rebuilds or opens views) committed in between,
    SQLite refuses that write at once with ``database is locked``
    (``SQLITE_BUSY_SNAPSHOT``), without waiting for the lock timeout. Views
    read before they write (their tracking position; the schema when creating
    tables; a rebuild's copy and swap). ``BEGIN IMMEDIATE`` waits for the write
    lock (up to the lock timeout) before reading anything.
    """

    def __enter__(self) -> SQLiteCursor:
        cursor = self.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:  # the lock timeout passed
            cursor.sqlite_cursor.close()
            raise OperationalError(error) from error
        except sqlite3.Error as error:  # a closed connection, say
            cursor.sqlite_cursor.close()
            raise InterfaceError(error) from error
        return cursor


class _ViewConnection(SQLiteConnection):
    """A pooled connection whose write transactions begin immediate."""

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[SQLiteCursor]:
        begin = _ImmediateTransaction if commit else SQLiteTransaction
        with begin(self, commit=commit) as cursor, cursor:
            yield cursor


class _ViewConnectionPool(SQLiteConnectionPool):
    durable = True
    checkpointed = False
    """The WAL is checkpointed by the store's :class:`Checkpointer` thread."""

    def _create_connection(self) -> SQLiteConnection:
        # As eventsourcing's pool does, with a statement cache (STATEMENT_CACHE).
        try:
            raw = sqlite3.connect(
                database=self.db_name,
                uri=True,
                check_same_thread=False,
                isolation_level=None,
                cached_statements=STATEMENT_CACHE,
                timeout=self.lock_timeout or 5,
            )
        except (sqlite3.Error, TypeError) as error:
            raise InterfaceError(error) from error
        if not self.is_sqlite_memory_mode and not self.is_journal_mode_wal:
            try:
                if _switch_to_wal(raw, self.lock_timeout or 5):
                    self.journal_mode_was_changed_to_wal = True
            except sqlite3.Error as error:
                raw.close()
                raise OperationalError(error) from error
            self.is_journal_mode_wal = True
        raw.row_factory = sqlite3.Row
        connection = _ViewConnection(sqlite_conn=raw, max_age=self.max_age)
        cursor = connection.cursor()
        if self.durable:
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            if self.checkpointed:
                for statement in CONNECTION_SETTINGS:
                    cursor.execute(statement)
        else:
            # A scratch database (a rebuild's staging file): nothing to lose.
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute(f"PRAGMA cache_size=-{SCRATCH_CACHE_KIB}")
        cursor.execute("PRAGMA foreign_keys=OFF")
        return connection


Checkpoints = Literal["thread", "commit"]
CHECKPOINTS: tuple[str, ...] = get_args(Checkpoints)
"""Who checkpoints a durable view file's WAL (see :class:`ViewsSQLiteDatastore`)."""

STATEMENT_CACHE = 1024
"""Prepared statements kept per connection. eventsourcing opens its connections
with ``cached_statements=True``, a cache of one statement; the five views of a
store run about a hundred distinct statements, each re-prepared on every call
without a bigger cache."""


CACHE_KIB = 16 * 1024
"""Page cache per connection (SQLite's default is 2 MiB): a view applying events
reads back the rows it updates, and a rebuild fills tables of millions of rows.
A connection's cache grows only as it is used; readers use little of it."""

SCRATCH_CACHE_KIB = 64 * 1024
"""Page cache of a scratch database's connections (one rebuild writes at a time)."""


class ViewsSQLiteDatastore(SQLiteDatastore):
    """An eventsourcing SQLite datastore tuned for views (see module docs).

    ``durable=False`` is for scratch files only (``synchronous=OFF``, a bigger page
    cache): a rebuild stages its views in one, and a crashed rebuild is simply
    started again.

    ``checkpoints``: ``"thread"`` (the default for a durable file) checkpoints the
    WAL from a thread of its own (:mod:`projections.checkpoints`); ``"commit"``
    leaves it to SQLite, in the commit that takes the WAL past 1,000 pages.
    """

    def __init__(
        self,
        db_name: str,
        *,
        pool_size: int = 5,
        lock_timeout: int = 30,
        durable: bool = True,
        checkpoints: Checkpoints = "thread",
    ):
        self.checkpointer: Checkpointer | None = None
        if checkpoints not in CHECKPOINTS:
            msg = f"checkpoints must be one of {CHECKPOINTS}, not {checkpoints!r}"
            raise ValueError(msg)
        super().__init__(db_name, pool_size=pool_size, lock_timeout=lock_timeout)
        self.pool.close()
        self.pool = _ViewConnectionPool(
            db_name=db_name,
            pool_size=pool_size,
            max_overflow=10,
            lock_timeout=lock_timeout,
        )
        self.pool.durable = durable
        if durable and checkpoints == "thread" and not self.pool.is_sqlite_memory_mode:
            self.pool.checkpointed = True
            self.checkpointer = Checkpointer(db_name)

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        if hasattr(self, "pool"):  # not when the constructor refused its arguments
            super().close()


class SQLiteView(SQLView, SQLiteTrackingRecorder):
    """Base of SQLite views: eventsourcing's SQLite tracking recorder, per view.

    Constructible by eventsourcing's ``SQLiteFactory.tracking_recorder(cls)``, so
    the library's own ``ProjectionRunner`` can drive it too.
    """

    def __init__(
        self,
        datastore: SQLiteDatastore,
        *,
        prefix: str = "",
        namespace: str | None = None,
        create_indexes: bool = True,
        **kwargs: Any,
    ) -> None:
        self.dialect = SQLiteDialect()
        self._create_indexes = create_indexes
        self._init_view(prefix, namespace)
        self._relations = self.relation_names(with_indexes=create_indexes)
        if not datastore.single_row_tracking:  # pragma: no cover
            raise ValueError("views need single-row tracking")
        super().__init__(datastore, **kwargs)
        tracking = self.sql("{tracking}")
        self.insert_tracking_statement = (
            f"INSERT INTO {tracking} "
            "VALUES (:application_name, :notification_id) "
            "ON CONFLICT (application_name) DO UPDATE "
            "SET notification_id = :notification_id "
            f"WHERE {tracking}.notification_id < :notification_id "
            "RETURNING notification_id"
        )
        self.select_max_tracking_id_statement = (
            f"SELECT MAX(notification_id) FROM {tracking} WHERE application_name=?"
        )

    def construct_create_table_statements(self) -> list[str]:
        statements = self.ddl(with_indexes=self._create_indexes)
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.sql('{tracking}')} ("
            "application_name TEXT, notification_id INTEGER, "
            "PRIMARY KEY (application_name)) WITHOUT ROWID"
        )
        return statements

    def _existing_relations(self) -> set[str]:
        marks = ", ".join("?" * len(self._relations))
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT name FROM sqlite_master WHERE name IN ({marks})",
                self._relations,
            )
            return {str(row["name"]) for row in cursor.fetchall()}

    def _transaction(self, *, commit: bool) -> Any:
        return self.datastore.transaction(commit=commit)

    def _lock_tracking(self, cursor: SQLiteCursor, source: str) -> int | None:
        # The pool issues one writer connection at a time, which serialises views
        # of this process; other processes are excluded by SQLite's write lock.
        return self._max_tracking_id(source, cursor)

    @contextmanager
    def _raw(self) -> Iterator[SQLiteCursor]:
        with self.datastore.transaction(commit=True) as cursor:
            yield cursor

    def execute_script(self, statements: list[str]) -> None:
        """Run DDL statements in one transaction."""
        with self._raw() as cursor:
            for statement in statements:
                cursor.execute(statement)

    def drop(self) -> None:
        """Drop every table of this view."""
        self.execute_script(self._drop_statements())

    def close(self) -> None:
        """Views share their store's datastore; the store closes it."""
