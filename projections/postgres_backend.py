"""PostgreSQL view backend (production), on eventsourcing's PostgreSQL recorders.

Each view has its own tables in the store's schema, its own tracking table
``<view>_tracking`` (eventsourcing's single-row tracking) and a failures table.
Applying a batch locks the view's tracking row (``SELECT ... FOR UPDATE``; an
advisory lock of the view and source while there is no row yet), so two
runners started by mistake on the same view serialise and the second one skips
what the first applied. A batch's statements go out in psycopg's pipeline
mode, except for views that append in bulk
(:attr:`~projections.sql_view.ViewDefinition.appends_in_bulk`: the timeline
and the decision log), whose rows go out with ``COPY``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import Cursor, pq
from psycopg.rows import DictRow
from psycopg.sql import SQL
from psycopg.types.json import set_json_loads

from projections.dialects import PostgresDialect, decode_json
from projections.sql_view import SQLView


def copy_rows(
    cursor: Cursor[Any], target: str, columns: str, rows: Iterable[Sequence[Any]]
) -> None:
    """Send ``rows`` (values in the order of ``columns``, a comma-separated
    list) into the qualified table ``target`` with ``COPY ... FROM STDIN``."""
    with cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


class PostgresView(SQLView, PostgresTrackingRecorder):
    """Base of PostgreSQL views: eventsourcing's PostgreSQL tracking recorder.

    Constructible by eventsourcing's ``PostgresFactory.tracking_recorder(cls)``
    (which passes ``tracking_table_name``; the view names its tracking table
    after its namespace instead, ``<view>_tracking`` as the factory would).
    """

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        prefix: str = "",
        namespace: str | None = None,
        tracking_table_name: str | None = None,
        create_indexes: bool = True,
        **kwargs: Any,
    ) -> None:
        self.dialect = PostgresDialect(schema=datastore.schema)
        self._init_view(prefix, namespace)
        super().__init__(
            datastore, tracking_table_name=self.physical("tracking"), **kwargs
        )
        for statement in self.ddl(with_indexes=create_indexes):
            self.sql_create_statements.append(SQL(statement).format())
        self._relations = self.relation_names(with_indexes=create_indexes)
        self._lock_statement = self.sql(
            "SELECT notification_id FROM {tracking} "
            "WHERE application_name = :source FOR UPDATE"
        )
        self._advisory_statement = self.sql(
            "SELECT pg_advisory_xact_lock(hashtextextended(:key, 0)) AS locked"
        )

    def _existing_relations(self) -> set[str]:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = %s "
                "AND c.relname = ANY(%s)",
                (self.dialect.schema or "public", self._relations),
            )
            return {str(row["relname"]) for row in cursor.fetchall()}

    @contextmanager
    def _transaction(self, *, commit: bool) -> Iterator[Cursor[DictRow]]:
        """A transaction; one that writes runs in psycopg's pipeline mode,
        unless its view appends in bulk (``COPY``, :meth:`_insert_rows`).

        Applying a batch runs several statements per event, most of them writes
        whose results nobody reads: in pipeline mode they are sent without
        waiting for each reply (a read waits for what is before it), instead of
        one network round trip each. An error still fails the transaction, at
        the latest when the pipeline ends, before the commit.
        """
        with self.datastore.transaction(commit=commit) as cursor:
            set_json_loads(decode_json, cursor)
            if not commit or self.definition.appends_in_bulk:
                yield cursor
                return
            with cursor.connection.pipeline():
                yield cursor

    def _insert_rows(
        self,
        cursor: Cursor[DictRow],
        table: str,
        columns: tuple[str, ...],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """``COPY`` outside pipeline mode (PostgreSQL refuses it inside), where
        a row costs the client and the server about half what a pipelined
        ``INSERT`` does; ``executemany`` in pipeline mode."""
        if cursor.connection.pgconn.pipeline_status != pq.PipelineStatus.OFF:
            super()._insert_rows(cursor, table, columns, rows)
            return
        copy_rows(cursor, self._names[table], ", ".join(columns), rows)

    def _write_cursor(self, cursor: Cursor[DictRow]) -> Cursor[DictRow]:
        """A second cursor of the transaction's connection, for writes.

        In pipeline mode psycopg attaches each result to the cursor that sent
        its statement, when the result arrives. A write's result (an
        ``executemany``'s last ones, say) can arrive only after the same
        cursor sent its next statement: psycopg then takes it for the result
        of that statement, and reading it fails ("the last operation didn't
        produce records"), which failed the batch. Writes on a cursor of their
        own cannot be taken for a read's result.
        """
        return cursor.connection.cursor()

    def _lock_tracking(self, cursor: Cursor[DictRow], source: str) -> int | None:
        cursor.execute(self._lock_statement, {"source": source})
        found = cursor.fetchone()
        if found is None:
            # No row to lock yet (nothing applied from ``source``): two
            # runners would both read "nothing" and apply the same events.
            # They queue on an advisory lock of this view and source instead,
            # held to the end of the transaction, and read again: one that
            # waited sees the row the other committed.
            cursor.execute(
                self._advisory_statement, {"key": self._advisory_key(source)}
            )
            cursor.fetchone()
            cursor.execute(self._lock_statement, {"source": source})
            found = cursor.fetchone()
        return None if found is None else int(found["notification_id"])

    def _advisory_key(self, source: str) -> str:
        tracking = f"{self.dialect.schema}.{self.physical('tracking')}"
        return f"session-log view {tracking} {source}"

    def execute_script(self, statements: list[str]) -> None:
        """Run DDL statements in one transaction."""
        with self.datastore.transaction(commit=True) as cursor:
            for statement in statements:
                cursor.execute(statement)

    def drop(self) -> None:
        """Drop every table of this view."""
        self.execute_script(self._drop_statements())
