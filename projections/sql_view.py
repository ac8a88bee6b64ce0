"""The logic every view shares, whatever its backend.

A view is a :class:`ViewDefinition` (its tables and what one decision changes in them)
materialised by a backend recorder (:class:`SQLView` mixed into eventsourcing's
SQLite or PostgreSQL ``TrackingRecorder``). Each batch of decisions is applied
together with the view's tracking position in one transaction, so a view is always
exactly the image of a prefix of the stream: nothing applied twice, nothing skipped.
"""

from __future__ import annotations

import threading
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from time import monotonic
from typing import TYPE_CHECKING, Any, ClassVar

from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    Tracking,
    TrackingRecorder,
    WaitInterruptedError,
)

from projections.dialects import Dialect
from projections.errors import PoisonEventError
from projections.failures import Failure
from projections.records import DecisionRecord, event_id_of, to_record
from projections.schema import Table, check_prefix, col

FAILURES = Table(
    "failures",
    (
        col("stream"),
        col("position", "int"),
        col("event_id"),
        col("kind"),
        col("error_type"),
        col("error"),
        col("traceback"),
        col("first_failed_at", "timestamp"),
        col("last_failed_at", "timestamp"),
        col("attempts", "int"),
    ),
    primary_key=("stream", "position"),
    doc="Why the view halted: the event it could not process (see Failure).",
)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
"""Errors of the view database itself: not the event's fault, so not poison."""


class Db:
    """A cursor inside one view transaction, speaking the view's SQL.

    Statements whose results nobody reads (:meth:`execute`, :meth:`executemany`,
    :meth:`insert_many`) run on the backend's cursor for writes
    (:meth:`SQLView._write_cursor`), reads on the transaction's own cursor: on
    PostgreSQL, in pipeline mode, a write's result can arrive after the next
    statement was sent, and psycopg then takes it for the result of that
    statement when both ran on one cursor.
    """

    def __init__(self, cursor: Any, view: SQLView) -> None:
        self._cursor = cursor
        self._view = view
        self._dialect = view.dialect
        self._writer: Any = None
        self.scratch: dict[str, Any] = {}
        """Per-transaction working state of a view definition (e.g. what to
        recompute at the end of a batch)."""

    @property
    def _writes(self) -> Any:
        if self._writer is None:
            self._writer = self._view._write_cursor(self._cursor)
        return self._writer

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement whose result is not read (see :meth:`rows`)."""
        self._writes.execute(
            self._view.sql(sql), self._dialect.adapt_params(params or {})
        )

    def executemany(self, sql: str, params: Sequence[Mapping[str, Any]]) -> None:
        if params:
            self._writes.executemany(
                self._view.sql(sql), [self._dialect.adapt_params(p) for p in params]
            )

    def _read(self, sql: str, params: Mapping[str, Any] | None) -> None:
        self._cursor.execute(
            self._view.sql(sql), self._dialect.adapt_params(params or {})
        )

    def insert_many(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert ``rows`` (values in the order of ``columns``) into ``table``:
        one statement for the batch, no per-row dictionaries (the bulk path)."""
        if rows:
            self._view._insert_rows(self._writes, table, tuple(columns), rows)

    def in_list(self, name: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
        """``IN (...)`` (or its backend's equivalent) for ``values``, and its
        parameters: ``column {condition}`` in a statement."""
        return self._dialect.in_list(name, values)

    def json_append(self, column: str, name: str) -> str:
        """SQL for JSON array ``column`` with text parameter ``name`` appended."""
        return self._dialect.json_append(column, name)

    def rows(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        self._read(sql, params)
        return [self._dialect.normalize(dict(r)) for r in self._cursor.fetchall()]

    def row(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        self._read(sql, params)
        found = self._cursor.fetchone()
        return None if found is None else self._dialect.normalize(dict(found))

    def raw_rows(
        self, sql: str, params: Mapping[str, Any] | None = None, *, size: int = 5000
    ) -> Iterator[list[tuple[Any, ...]]]:
        """The rows as the backend stores them (not normalised), in chunks."""
        # eventsourcing's SQLite cursor wrapper has no fetchmany; its cursor has
        # (and gives plain tuples without the row factory).
        sqlite_cursor = getattr(self._cursor, "sqlite_cursor", None)
        if sqlite_cursor is not None:
            cursor = sqlite_cursor.connection.cursor()  # same transaction
            cursor.row_factory = None
            cursor.execute(
                self._view.sql(sql), self._dialect.adapt_params(params or {})
            )
        else:
            cursor = self._cursor
            self._read(sql, params)
        while chunk := cursor.fetchmany(size):
            yield [tuple(row) for row in chunk]

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        found = self.row(sql, params)
        return None if found is None else next(iter(found.values()))


class ViewDefinition(ABC):
    """What a view holds and how one decision changes it.

    ``apply`` runs inside the view's transaction; it must be deterministic (same
    records in, same rows out) and must not depend on the wall clock.
    """

    name: ClassVar[str]
    tables: ClassVar[tuple[Table, ...]]
    doc: ClassVar[str] = ""
    apply_indexes: ClassVar[Mapping[str, tuple[tuple[str, ...], ...]] | None] = None
    """The indexes (per table, by columns) that ``apply`` itself queries; ``None``
    for all. A view being rebuilt gets only these while it is filled, the others
    are built once, when it is swapped in (see :mod:`projections.rebuild`)."""
    appends_in_bulk: ClassVar[bool] = False
    """Whether applying a batch writes mostly new rows through
    :meth:`Db.insert_many` and reads nothing: on PostgreSQL such a view's
    transactions then run outside pipeline mode and send those rows with
    ``COPY``, about half the CPU (client and server) of pipelined inserts
    (docs/performance.md); on SQLite nothing changes."""

    @abstractmethod
    def apply(self, db: Db, record: DecisionRecord) -> None:
        """Write what ``record`` changes."""

    def apply_many(self, db: Db, records: Sequence[DecisionRecord]) -> None:
        """Write a batch (override to write in bulk); same result as one by one."""
        for record in records:
            self.apply(db, record)


class SQLView(TrackingRecorder):
    """Shared behaviour of view recorders (mixed into a backend recorder).

    Subclasses set ``definition``; backends set ``dialect`` and provide
    ``_transaction``, ``_lock_tracking``, ``_insert_tracking``.
    """

    definition: ClassVar[ViewDefinition]
    dialect: Dialect
    namespace: str
    _internal_tables: ClassVar[tuple[Table, ...]] = (FAILURES,)

    def _init_view(self, prefix: str, namespace: str | None) -> None:
        check_prefix(prefix)
        self.prefix = prefix
        self.namespace = namespace or f"{prefix}{self.definition.name}"
        self._sql_cache: dict[str, str] = {}
        self._row_adapters: dict[
            tuple[str, tuple[str, ...]],
            Callable[[Sequence[Any]], Sequence[Any]] | None,
        ] = {}
        self._names = {
            t.name: self.dialect.qualify(self.physical(t.name)) for t in self.all_tables
        }
        self._names["tracking"] = self.dialect.qualify(self.physical("tracking"))
        self._changed = threading.Condition()

    # -- names and SQL --------------------------------------------------------------

    @property
    def view_name(self) -> str:
        return self.definition.name

    @property
    def all_tables(self) -> tuple[Table, ...]:
        return (*self.definition.tables, *self._internal_tables)

    def physical(self, table: str) -> str:
        """The physical name of logical table ``table`` of this view."""
        return f"{self.namespace}_{table}"

    def table_names(self) -> dict[str, str]:
        """Logical -> physical names of this view's tables (tracking included)."""
        names = {t.name: self.physical(t.name) for t in self.all_tables}
        names["tracking"] = self.physical("tracking")
        return names

    def sql(self, text: str) -> str:
        """``text`` with ``{table}`` names and parameters rendered (cached)."""
        rendered = self._sql_cache.get(text)
        if rendered is None:
            rendered = self.dialect.render(text.format_map(self._names))
            self._sql_cache[text] = rendered
        return rendered

    def row_adapter(
        self, table: str, columns: tuple[str, ...]
    ) -> Callable[[Sequence[Any]], Sequence[Any]] | None:
        """How rows of ``columns`` of logical ``table`` are adapted for the
        backend (``None``: as they are), by the columns' types (cached)."""
        key = (table, columns)
        try:
            return self._row_adapters[key]
        except KeyError:
            pass
        types = {
            c.name: c.type
            for t in self.all_tables
            for c in t.columns
            if t.name == table
        }
        adapter = self.dialect.row_adapter([types.get(name, "") for name in columns])
        self._row_adapters[key] = adapter
        return adapter

    def insert_sql(self, table: str, columns: tuple[str, ...]) -> str:
        """``INSERT INTO`` logical ``table`` with positional parameters (cached)."""
        key = f"\0insert {table} {columns}"
        rendered = self._sql_cache.get(key)
        if rendered is None:
            marks = ", ".join([self.dialect.placeholder] * len(columns))
            rendered = (
                f"INSERT INTO {self._names[table]} ({', '.join(columns)}) "
                f"VALUES ({marks})"
            )
            self._sql_cache[key] = rendered
        return rendered

    def ddl(self, *, with_indexes: bool = True) -> list[str]:
        """Create the tables with their indexes (``with_indexes=False``: only the
        indexes applying events needs, :attr:`ViewDefinition.apply_indexes`)."""
        statements: list[str] = []
        for table in self.all_tables:
            physical = self.physical(table.name)
            statements.append(self.dialect.create_table(table, physical))
            only = None if with_indexes else self._apply_indexes(table)
            statements.extend(self.dialect.create_indexes(table, physical, only))
        return statements

    def relation_names(self, *, with_indexes: bool = True) -> list[str]:
        """The physical names of what :meth:`ddl` creates (tracking included)."""
        names = list(self.table_names().values())
        for table in self.all_tables:
            only = None if with_indexes else self._apply_indexes(table)
            physical = self.physical(table.name)
            names.extend(n for n, _ in self.dialect.indexes(table, physical, only))
        return names

    def index_ddl(self) -> list[str]:
        """Create every index of the view (those missing)."""
        return [
            statement
            for table in self.all_tables
            for statement in self.dialect.create_indexes(
                table, self.physical(table.name)
            )
        ]

    def _apply_indexes(self, table: Table) -> tuple[tuple[str, ...], ...] | None:
        wanted = self.definition.apply_indexes
        if wanted is None or table not in self.definition.tables:
            return None
        return wanted.get(table.name, ())

    # -- backend hooks --

    def _transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _lock_tracking(self, cursor: Any, source: str) -> int | None:
        raise NotImplementedError

    def _insert_rows(
        self,
        cursor: Any,
        table: str,
        columns: tuple[str, ...],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """Insert ``rows`` of ``columns`` into logical ``table`` (for
        :meth:`Db.insert_many`): one ``executemany`` (a backend may do better)."""
        adapt = self.row_adapter(table, columns)
        cursor.executemany(
            self.insert_sql(table, columns),
            rows if adapt is None else [adapt(r) for r in rows],
        )

    def _write_cursor(self, cursor: Any) -> Any:
        """The cursor :class:`Db` runs writes on in the transaction of ``cursor``
        (by default ``cursor`` itself)."""
        return cursor

    if TYPE_CHECKING:

        def _insert_tracking(self, c: Any, tracking: Tracking) -> None: ...

    _relations: list[str]
    """What :meth:`ddl` creates for this view (set by each backend's view)."""

    def create_table(self) -> None:
        """Create what is missing of the view's tables and indexes.

        Creating, even ``IF NOT EXISTS``, takes locks: on SQLite the file's
        write lock (a process opening views that another keeps, the API or
        the CLI beside a runner, would wait for the runner's transaction); on
        PostgreSQL each table's (run while another process applies events to
        the view, locking the same tables in another order, it can deadlock).
        So the catalogue is read first, which takes no lock, and nothing is
        run when everything exists (the usual case)."""
        if self._existing_relations() >= set(self._relations):
            return
        super().create_table()  # type: ignore[misc]  # the backend's recorder

    def _existing_relations(self) -> set[str]:
        """Which of :attr:`_relations` the database holds."""
        raise NotImplementedError

    def execute_script(self, statements: list[str]) -> None:
        """Run DDL statements in one transaction."""
        raise NotImplementedError

    def insert_tracking_in(self, cursor: Any, tracking: Tracking) -> None:
        """Record ``tracking`` in the transaction of ``cursor`` (a bulk load)."""
        self._insert_tracking(cursor, tracking)

    def drop(self) -> None:
        """Drop every table of this view."""
        raise NotImplementedError

    def _drop_statements(self) -> list[str]:
        return [
            f"DROP TABLE IF EXISTS {self.dialect.qualify(name)}"
            for name in self.table_names().values()
        ]

    # -- reading --

    @contextmanager
    def reading(self) -> Iterator[Db]:
        """A read transaction on the view (one consistent snapshot)."""
        with self._transaction(commit=False) as cursor:
            yield Db(cursor, self)

    def rows(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        with self.reading() as db:
            return db.rows(sql, params)

    def position(self, source: str) -> int:
        """The last position of ``source`` this view includes (0 for none)."""
        return self.max_tracking_id(source) or 0

    def positions(self) -> dict[str, int]:
        """Tracked position per source."""
        return {
            r["application_name"]: r["notification_id"]
            for r in self.rows(
                "SELECT application_name, notification_id FROM {tracking} "
                "WHERE application_name <> '__migration__'"
            )
        }

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of every table (tracking included), sorted by primary key.

        Two views are equal when their dumps are equal; used to check that a
        rebuild equals the live view, that time travel equals a replay cut and that
        both backends agree.
        """
        out: dict[str, list[dict[str, Any]]] = {}
        with self.reading() as db:
            for table in self.all_tables:
                order = ", ".join(table.primary_key)
                out[table.name] = db.rows(
                    f"SELECT * FROM {{{table.name}}} ORDER BY {order}"
                )
            out["tracking"] = db.rows(
                "SELECT application_name, notification_id FROM {tracking} "
                "WHERE application_name <> '__migration__' ORDER BY application_name"
            )
        return out

    def failure(self, source: str | None = None) -> Failure | None:
        """The recorded poison failure (the earliest one), if the view halted."""
        query = "SELECT * FROM {failures}"
        params: dict[str, Any] = {}
        if source is not None:
            query += " WHERE stream = :stream"
            params["stream"] = source
        rows = self.rows(query + " ORDER BY position LIMIT 1", params)
        if not rows:
            return None
        return Failure(view=self.view_name, **rows[0])

    # -- writing --

    def apply_events(self, events: Sequence[tuple[Any, Tracking]]) -> int:
        """Apply decoded events with their tracking in one transaction.

        An event may also be given as its :class:`DecisionRecord` already (made
        once for several views).

        Events at or before the view's tracked position are ignored (duplicate
        delivery changes nothing). Returns how many were applied. On a poison event
        the view keeps everything before it, records a :class:`Failure` and raises
        :class:`PoisonEventError`.
        """
        if not events:
            return 0
        try:
            applied = self._apply_in_transaction(events)
        except TRANSIENT_ERRORS:
            raise
        except Exception:
            applied = self._apply_halves(events)
        self._notify_changed()
        return applied

    def _apply_halves(self, events: Sequence[tuple[Any, Tracking]]) -> int:
        """Find the poison in a batch that failed: apply its first half, then
        its second, each split again when it fails, down to the one event that
        fails by itself (recorded, and raised as :class:`PoisonEventError`).
        Everything before that event is applied, nothing after it; a batch of
        n events costs about 2 log2(n) transactions, not n."""
        if len(events) == 1:
            return self._fail(events[0])  # raises, unless it applies this time
        middle = len(events) // 2
        applied = 0
        for half in (events[:middle], events[middle:]):
            try:
                applied += self._apply_in_transaction(half)
            except TRANSIENT_ERRORS:
                raise
            except Exception:
                applied += self._apply_halves(half)
        return applied

    def _apply_in_transaction(self, events: Sequence[tuple[Any, Tracking]]) -> int:
        with self._transaction(commit=True) as cursor:
            db = Db(cursor, self)
            current: dict[str, int | None] = {}
            records: list[DecisionRecord] = []
            for domain_event, tracking in events:
                source = tracking.application_name
                if source not in current:
                    current[source] = self._lock_tracking(cursor, source)
                known = current[source]
                if known is not None and tracking.notification_id <= known:
                    continue
                if isinstance(domain_event, DecisionRecord):
                    records.append(domain_event)
                else:
                    records.append(
                        to_record(domain_event, source, tracking.notification_id)
                    )
                current[source] = tracking.notification_id
            if not records:
                return 0
            self.definition.apply_many(db, records)
            last: dict[str, int] = {}
            for record in records:
                last[record.stream] = record.position
            for source, position in last.items():
                self._insert_tracking(cursor, Tracking(source, position))
                db.execute(
                    "DELETE FROM {failures} WHERE stream = :stream "
                    "AND position <= :position",
                    {"stream": source, "position": position},
                )
            return len(records)

    def _fail(self, event: tuple[Any, Tracking]) -> int:
        """Apply ``event`` alone; when it fails, record why and raise
        :class:`PoisonEventError`."""
        domain_event, tracking = event
        try:
            return self._apply_in_transaction([event])
        except TRANSIENT_ERRORS:
            raise
        except Exception as error:
            failure = self.record_failure(domain_event, tracking, error)
            raise PoisonEventError(failure) from error

    def record_failure(
        self, domain_event: Any, tracking: Tracking, error: BaseException
    ) -> Failure:
        """Persist why the view cannot process the event at ``tracking``."""
        now = datetime.now(tz=UTC)
        if isinstance(domain_event, DecisionRecord):
            event_id, kind = domain_event.event_id, domain_event.kind
        else:
            event_id = event_id_of(
                getattr(domain_event, "originator_id", "?"),
                getattr(domain_event, "originator_version", 0),
            )
            topic = getattr(domain_event, "topic", None)
            kind = (
                str(topic).rsplit(":", 1)[-1].rsplit(".", 1)[-1]
                if topic
                else type(domain_event).__name__
            )
        params = {
            "stream": tracking.application_name,
            "position": tracking.notification_id,
            "event_id": event_id,
            "kind": kind,
            "error_type": type(error).__name__,
            "error": str(error),
            "traceback": "".join(traceback.format_exception(error)),
            "first_failed_at": now,
            "last_failed_at": now,
            "attempts": 1,
        }
        with self._transaction(commit=True) as cursor:
            db = Db(cursor, self)
            db.execute(
                "INSERT INTO {failures} (stream, position, event_id, kind, "
                "error_type, error, traceback, first_failed_at, last_failed_at, "
                "attempts) VALUES (:stream, :position, :event_id, :kind, "
                ":error_type, :error, :traceback, :first_failed_at, "
                ":last_failed_at, :attempts) "
                "ON CONFLICT (stream, position) DO UPDATE SET "
                "error_type = excluded.error_type, error = excluded.error, "
                "traceback = excluded.traceback, "
                "last_failed_at = excluded.last_failed_at, "
                "attempts = {failures}.attempts + 1",
                params,
            )
            found = db.row(
                "SELECT * FROM {failures} WHERE stream = :stream "
                "AND position = :position",
                params,
            )
        assert found is not None
        return Failure(view=self.view_name, **found)

    # -- waiting --

    def _notify_changed(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def wait(
        self,
        application_name: str,
        notification_id: int | None,
        timeout: float = 1.0,
        interrupt: threading.Event | None = None,
    ) -> None:
        """Block until the view includes ``notification_id`` of ``application_name``.

        Woken at once by commits in this process; polls every 50 ms for commits
        made by other processes. Raises ``TimeoutError`` or, when ``interrupt`` is
        set first, ``WaitInterruptedError``.
        """
        if notification_id is None or notification_id <= 0:
            return
        deadline = monotonic() + timeout
        while not self.has_tracking_id(application_name, notification_id):
            if interrupt is not None and interrupt.is_set():
                raise WaitInterruptedError
            remaining = deadline - monotonic()
            if remaining <= 0:
                msg = (
                    f"Timed out waiting for notification {notification_id} "
                    f"from application '{application_name}' in view "
                    f"{self.view_name!r}"
                )
                raise TimeoutError(msg)
            with self._changed:
                self._changed.wait(timeout=min(remaining, 0.05))
