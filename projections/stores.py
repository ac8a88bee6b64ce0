"""Where views live: a SQLite file (default) or a PostgreSQL schema.

A store constructs view recorders by view name, creates their tables, and swaps a
rebuilt view in for the live one in one transaction. Every table name starts with
the store's ``prefix`` (empty by default), then the view name.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlparse

from eventsourcing.persistence import (
    IntegrityError,
    OperationalError,
    ProgrammingError,
    Tracking,
)

from projections.catalog import view_type
from projections.schema import check_name, check_prefix
from projections.sql_view import SQLView
from projections.sqlite_backend import Checkpoints, SQLiteView, ViewsSQLiteDatastore

if TYPE_CHECKING:
    from projections.postgres_backend import PostgresView


_LOST_RACE_STATES = frozenset(
    {
        "23505",  # unique_violation: waited for the winner's catalogue row
        "42P06",  # duplicate_schema
        "42P07",  # duplicate_table: a table or index created since the check
        "42710",  # duplicate_object: 'type "<table>" already exists'
        "40P01",  # deadlock_detected
    }
)


def _lost_race(error: Exception) -> bool:
    """Whether ``error`` says another process created the same thing first (or
    deadlocked with it): by the PostgreSQL SQLSTATE behind eventsourcing's error."""
    if isinstance(error, IntegrityError):
        return True
    return getattr(error.__cause__, "sqlstate", None) in _LOST_RACE_STATES


def _despite_races(create: Callable[[], None], attempts: int = 5) -> None:
    """Run ``create`` (``CREATE ... IF NOT EXISTS`` of a schema or of a view's
    tables), again when it lost a race. Two processes starting at once (workers,
    API replicas) may race, and PostgreSQL's ``IF NOT EXISTS`` does not hold
    them apart: the loser fails with a unique violation on its catalogue (it
    waited for the winner's row), or with ``type "<table>" already exists`` (the
    winner committed between the loser's existence check and its insert), or
    the creation deadlocks with another process's writes. The server rolls the
    loser back, and trying again finds what the winner created. Any other error
    is raised at once."""
    for attempt in range(attempts):
        try:
            create()
        except (IntegrityError, OperationalError, ProgrammingError) as error:
            if not _lost_race(error) or attempt + 1 == attempts:
                raise
            time.sleep(0.05 * (attempt + 1))
        else:
            return


class ViewStore(ABC):
    """A database holding views."""

    backend: str

    serial_writes = False
    """Whether the views' write transactions take turns on one lock (SQLite's
    file), so that one thread applying every view's live batches in turn loses
    nothing (:mod:`projections.serial_applier`)."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = check_prefix(prefix)
        self._views: dict[str, SQLView] = {}

    def view(self, name: str) -> SQLView:
        """The live view ``name`` (tables created when missing)."""
        namespace = f"{self.prefix}{name}"
        found = self._views.get(namespace)
        if found is None:
            found = self._construct(name, namespace, with_indexes=True)
            _despite_races(found.create_table)
            self._views[namespace] = found
        return found

    def fresh_view(self, name: str, suffix: str) -> SQLView:
        """An empty copy of view ``name`` in tables named ``<view>__<suffix>_*``."""
        check_name(suffix, "suffix")
        namespace = f"{self.prefix}{name}__{suffix}"
        shadow = self._construct(name, namespace, with_indexes=self._shadow_indexes)
        shadow.drop()
        shadow.create_table()
        return shadow

    def swap(self, shadow: SQLView, live: SQLView) -> None:
        """Replace ``live``'s tables by ``shadow``'s in one transaction."""
        if shadow.view_name != live.view_name:
            raise ValueError("can only swap copies of the same view")
        self._swap(shadow, live)

    def drop(self, name: str) -> None:
        """Drop view ``name`` entirely (its tables, tracking and failures)."""
        self.view(name).drop()
        self._views.pop(f"{self.prefix}{name}", None)

    _shadow_indexes = False
    """A shadow is filled with only the indexes applying needs (see
    :attr:`~projections.sql_view.ViewDefinition.apply_indexes`); the others are
    built once, before the swap (maintaining them row by row costs more)."""

    stage_rebuilds = True

    @contextmanager
    def staging(self) -> Iterator[SQLiteViewStore | None]:
        """Where a rebuild fills its shadow views before :meth:`load_files` copies
        them here in bulk: a scratch SQLite file (``synchronous=OFF``, deleted
        afterwards) when ``stage_rebuilds``, else ``None`` (fill here directly).

        Applying a view statement by statement costs a round trip per statement
        on PostgreSQL and a durable write path on SQLite; in a scratch file it
        costs a few microseconds. The views are the same definitions on both
        backends with identical results, so a rebuild applies the stream there and
        copies the finished tables here (``COPY``; ``INSERT ... SELECT``).
        """
        if not self.stage_rebuilds:
            yield None
            return
        with tempfile.TemporaryDirectory(prefix="views-rebuild-") as folder:
            staging = SQLiteViewStore(
                os.path.join(folder, "staging.db"),
                prefix=self.prefix,
                pool_size=1,
                durable=False,
            )
            try:
                yield staging
            finally:
                staging.close()

    @abstractmethod
    def load_files(
        self,
        shadow: SQLView,
        paths: list[str],
        namespace: str,
        trackings: Sequence[Tracking],
    ) -> None:
        """Copy the rows of the copies of ``shadow``'s view in the SQLite files
        ``paths`` (tables ``<namespace>_*``) into the empty ``shadow`` and record
        ``trackings`` as its positions, in one transaction."""

    @abstractmethod
    def _construct(self, name: str, namespace: str, *, with_indexes: bool) -> SQLView:
        """A view recorder (tables not created)."""

    @abstractmethod
    def _swap(self, shadow: SQLView, live: SQLView) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> ViewStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rename_tables(shadow: SQLView, live: SQLView) -> list[str]:
    statements = [f"DROP TABLE IF EXISTS {q}" for q in _qualified(live).values()]
    for table, physical in live.table_names().items():
        source = shadow.dialect.qualify(shadow.physical(table))
        statements.append(f'ALTER TABLE {source} RENAME TO "{physical}"')
    return statements


def _qualified(view: SQLView) -> dict[str, str]:
    return {t: view.dialect.qualify(p) for t, p in view.table_names().items()}


def copy_statement(
    columns: Sequence[str],
    target: tuple[str, str],
    source: tuple[str, str],
    *,
    whole: bool,
) -> str:
    """``INSERT ... SELECT`` of every row of ``source`` into ``target`` (each a
    SQLite database alias and table). ``whole`` (the target empty, both tables
    made by the same definition) copies with ``SELECT *``: SQLite's transfer
    optimisation then copies the stored records and index entries as they are,
    without decoding and encoding each row again; another statement shape
    disables it."""
    into = f'{target[0]}."{target[1]}"'
    origin = f'{source[0]}."{source[1]}"'
    if whole:
        return f"INSERT INTO {into} SELECT * FROM {origin}"
    names = ", ".join(columns)
    return f"INSERT INTO {into} ({names}) SELECT {names} FROM {origin}"


def _same_columns(cursor: Any, *tables: tuple[str, str]) -> bool:
    """Whether the tables have the same columns in the same order, of the same
    declared types and constraints (``SELECT *`` copies by position)."""
    shapes = []
    for database, table in tables:
        cursor.execute(f'PRAGMA {database}.table_info("{table}")')
        shapes.append([tuple(row) for row in cursor.fetchall()])
    return bool(shapes[0]) and all(shape == shapes[0] for shape in shapes)


class SQLiteViewStore(ViewStore):
    """Views in one SQLite database file (``":memory:"`` for a private one)."""

    backend = "sqlite"
    serial_writes = True

    def __init__(
        self,
        path: str,
        *,
        prefix: str = "",
        pool_size: int = 5,
        durable: bool = True,
        checkpoints: Checkpoints = "thread",
    ) -> None:
        super().__init__(prefix)
        if path == ":memory:":
            path = f"file:views-{uuid.uuid4().hex}?mode=memory&cache=shared"
        self.path = path
        self.datastore = ViewsSQLiteDatastore(
            path, pool_size=pool_size, durable=durable, checkpoints=checkpoints
        )

    def _construct(self, name: str, namespace: str, *, with_indexes: bool) -> SQLView:
        cls: type[SQLiteView] = view_type(name).sqlite
        return cls(self.datastore, namespace=namespace, create_indexes=with_indexes)

    def _swap(self, shadow: SQLView, live: SQLView) -> None:
        # SQLite cannot rename an index: the shadow's indexes (named after the
        # shadow) are dropped and built again under the live names, in the swap
        # transaction (readers keep seeing the old view until it commits).
        statements = _rename_tables(shadow, live)
        tables = [shadow.physical(t.name) for t in shadow.all_tables]
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT "
                f"NULL AND tbl_name IN ({', '.join('?' * len(tables))})",
                tables,
            )
            indexes = [row["name"] for row in cursor.fetchall()]
        statements.extend(f'DROP INDEX IF EXISTS "{name}"' for name in indexes)
        for table in live.all_tables:
            statements.extend(
                live.dialect.create_indexes(table, live.physical(table.name))
            )
        assert isinstance(live, SQLiteView)
        live.execute_script(statements)

    def load_files(
        self,
        shadow: SQLView,
        paths: list[str],
        namespace: str,
        trackings: Sequence[Tracking],
    ) -> None:
        with self.datastore.get_connection(commit=True) as connection:
            for number, path in enumerate(paths):
                # ATTACH is refused inside a transaction: attach, copy, detach.
                alias = f"part{number}"
                connection.cursor().execute(f"ATTACH DATABASE ? AS {alias}", (path,))
            try:
                with connection.transaction(commit=True) as cursor:
                    for table in shadow.all_tables:
                        physical = shadow.physical(table.name)
                        source = f"{namespace}_{table.name}"
                        for number in range(len(paths)):
                            whole = number == 0 and _same_columns(
                                cursor, ("main", physical), (f"part{number}", source)
                            )
                            cursor.execute(
                                copy_statement(
                                    table.column_names,
                                    ("main", physical),
                                    (f"part{number}", source),
                                    whole=whole,
                                )
                            )
                    for tracking in trackings:
                        shadow.insert_tracking_in(cursor, tracking)
            finally:
                for number in range(len(paths)):
                    connection.cursor().execute(f"DETACH DATABASE part{number}")

    def close(self) -> None:
        self.datastore.close()


class PostgresViewStore(ViewStore):
    """Views in a PostgreSQL schema (created when missing)."""

    backend = "postgres"

    def __init__(
        self,
        *,
        dbname: str = "postgres",
        host: str = "127.0.0.1",
        port: int | str = 5432,
        user: str = "postgres",
        password: str = "",
        schema: str = "public",
        prefix: str = "",
        pool_size: int = 4,
        max_overflow: int = 8,
        connect_timeout: float = 5.0,
        stage_rebuilds: bool = True,
    ) -> None:
        from eventsourcing.postgres import PostgresDatastore

        super().__init__(prefix)
        self.stage_rebuilds = stage_rebuilds
        check_name(schema, "schema")
        self.schema = schema
        self.datastore = PostgresDatastore(
            dbname=dbname,
            host=host,
            port=port,
            user=user,
            password=password,
            schema=schema,
            pool_size=pool_size,
            max_overflow=max_overflow,
            connect_timeout=connect_timeout,
            idle_in_transaction_session_timeout=30,
        )
        _despite_races(self._create_schema)

    def _create_schema(self) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')

    def _construct(self, name: str, namespace: str, *, with_indexes: bool) -> SQLView:
        cls: type[PostgresView] = view_type(name).postgres
        return cls(self.datastore, namespace=namespace, create_indexes=with_indexes)

    def _swap(self, shadow: SQLView, live: SQLView) -> None:
        renamed = list(live.table_names().values())
        with self.datastore.transaction(commit=True) as cursor:
            for statement in shadow.index_ddl():  # those still missing
                cursor.execute(statement)
            for statement in _rename_tables(shadow, live):
                cursor.execute(statement)
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s "
                "AND tablename = ANY(%s)",
                (self.schema, renamed),
            )
            for row in cursor.fetchall():
                old = str(row["indexname"])
                if old.startswith(shadow.namespace + "_"):
                    new = live.namespace + old[len(shadow.namespace) :]
                    cursor.execute(
                        f'ALTER INDEX "{self.schema}"."{old}" RENAME TO "{new}"'
                    )

    def load_files(
        self,
        shadow: SQLView,
        paths: list[str],
        namespace: str,
        trackings: Sequence[Tracking],
    ) -> None:
        from projections.postgres_backend import copy_rows

        with self.datastore.transaction(commit=True) as cursor:
            for path in paths:
                with closing(sqlite3.connect(path)) as source:
                    for table in shadow.all_tables:
                        names = ", ".join(c.name for c in table.columns)
                        rows = source.execute(
                            f'SELECT {names} FROM "{namespace}_{table.name}"'
                        )
                        target = shadow.dialect.qualify(shadow.physical(table.name))
                        copy_rows(cursor, target, names, rows)
            for tracking in trackings:
                shadow.insert_tracking_in(cursor, tracking)
            for statement in shadow.index_ddl():  # after the rows: faster
                cursor.execute(statement)

    def drop_schema(self) -> None:
        """Drop the whole schema (tests use one schema each)."""
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')

    def close(self) -> None:
        self.datastore.close()


def postgres_options(url: str) -> dict[str, Any]:
    """Connection options and ``schema`` from
    ``postgresql://user:password@host:port/db?schema=s``."""
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    return {
        "dbname": (parsed.path or "/postgres").lstrip("/") or "postgres",
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": unquote(parsed.username or "postgres"),
        "password": unquote(parsed.password or ""),
        "schema": query.get("schema", ["public"])[0],
    }


def open_store(url: str, *, prefix: str = "") -> ViewStore:
    """A store from a URL: ``sqlite:///path/views.db``, a plain file path,
    ``sqlite::memory:`` or ``postgresql://user:password@host:port/db?schema=s``.
    """
    if url.startswith(("postgresql://", "postgres://")):
        options = postgres_options(url)
        return PostgresViewStore(prefix=prefix, **options)
    if url in ("sqlite::memory:", ":memory:"):
        return SQLiteViewStore(":memory:", prefix=prefix)
    if url.startswith("sqlite://"):
        url = url[len("sqlite://") :]
    elif url.startswith("sqlite:"):
        url = url[len("sqlite:") :]
    return SQLiteViewStore(url, prefix=prefix)
