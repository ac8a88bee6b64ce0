"""View stores for tests: SQLite files and PostgreSQL schemas of their own.

PostgreSQL tests use a fresh schema each (dropped afterwards) and skip, with the
reason shown, only when the server (``PROJECTIONS_PG_*``, default 127.0.0.1:5432,
database ``test``) cannot be reached; with ``SESSION_LOG_REQUIRE_POSTGRES`` set
(as CI does) they fail instead.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest

from projections import PostgresViewStore, SQLiteViewStore, ViewStore, view_names

PG = {
    "host": os.environ.get("PROJECTIONS_PG_HOST", "127.0.0.1"),
    "port": int(os.environ.get("PROJECTIONS_PG_PORT", "5432")),
    "dbname": os.environ.get("PROJECTIONS_PG_DBNAME", "test"),
    "user": os.environ.get("PROJECTIONS_PG_USER", "postgres"),
    "password": os.environ.get("PROJECTIONS_PG_PASSWORD", ""),
}

_pg_reason: list[str] = []


def postgres_unreachable() -> str | None:
    """Why PostgreSQL cannot be used (None when it can), checked once."""
    if not _pg_reason:
        try:
            import psycopg
            import psycopg_pool  # noqa: F401  (eventsourcing.postgres needs it)

            with psycopg.connect(connect_timeout=3, **PG) as conn:  # type: ignore[arg-type]
                conn.execute("SELECT 1")
            _pg_reason.append("")
        except Exception as error:
            _pg_reason.append(
                f"PostgreSQL at {PG['host']}:{PG['port']}/{PG['dbname']} "
                f"unreachable: {type(error).__name__}: {error}"
            )
    return _pg_reason[0] or None


def make_store(backend: str, tmp_path: Path) -> ViewStore:
    if backend == "sqlite":
        return SQLiteViewStore(str(tmp_path / f"views-{uuid.uuid4().hex[:8]}.db"))
    reason = postgres_unreachable()
    if reason:
        if os.environ.get("SESSION_LOG_REQUIRE_POSTGRES"):
            pytest.fail(f"SESSION_LOG_REQUIRE_POSTGRES is set but {reason}")
        pytest.skip(reason)
    return PostgresViewStore(schema=f"pt_{uuid.uuid4().hex[:12]}", **PG)


def dispose(store: ViewStore) -> None:
    if isinstance(store, PostgresViewStore):
        store.drop_schema()
    store.close()


def open_every_view_at_once(stores: Sequence[ViewStore]) -> list[str]:
    """Each store (as a process of its own would) opens every view, all
    starting at the same moment, one thread each; the errors met."""
    failures: list[str] = []
    start = threading.Barrier(len(stores))

    def open_all(store: ViewStore) -> None:
        start.wait()
        for name in view_names():
            try:
                store.view(name)
            except Exception as error:
                failures.append(f"{name}: {error}")

    threads = [threading.Thread(target=open_all, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return failures
