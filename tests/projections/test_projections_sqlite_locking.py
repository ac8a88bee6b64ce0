"""SQLite view files shared by several connections (processes, in production:
a runner, the API, the CLI): opening a new file at once, and write transactions
that read before they write."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest
from pgstores import open_every_view_at_once

from projections import SQLiteViewStore, view_names


def test_a_new_file_is_switched_to_wal_despite_a_committing_writer(
    tmp_path: Path,
) -> None:
    """Switching a file to WAL mode reads it, then takes an exclusive lock. If
    another connection is committing meanwhile (it holds the write lock and
    waits for readers to finish), SQLite refuses the switch at once with
    ``database is locked``, without a busy wait: it would deadlock. So did one
    in about a hundred concurrent first openings of a new file (the other
    connection there being another store switching the same file). Opening
    views tries again and finds the file as the other connection left it."""
    path = tmp_path / "views.db"
    with closing(
        sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    ) as other:
        other.execute("CREATE TABLE unrelated (x)")  # a file in rollback mode
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO unrelated VALUES (1)")
        commit = threading.Timer(0.3, other.execute, args=("COMMIT",))
        commit.start()
        store = SQLiteViewStore(str(path))
        try:
            store.view("timeline")
        finally:
            store.close()
            commit.join()
    with closing(sqlite3.connect(path)) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in check.execute("SELECT name FROM sqlite_master")}
        assert check.execute("SELECT x FROM unrelated").fetchall() == [(1,)]
    assert "timeline_entries" in tables


def test_a_switch_to_wal_that_never_gets_the_lock_says_so(tmp_path: Path) -> None:
    """When the file stays locked past the timeout, the error says what could
    not be done and why, and the file is left as it was."""
    from projections.sqlite_backend import _switch_to_wal

    path = tmp_path / "views.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("CREATE TABLE unrelated (x)")
        other.execute("BEGIN EXCLUSIVE")  # held for the whole attempt
        with (
            closing(sqlite3.connect(path, timeout=0.05)) as raw,
            pytest.raises(
                sqlite3.OperationalError,
                match="could not switch the database to WAL mode: database is locked",
            ),
        ):
            _switch_to_wal(raw, timeout=0.3)
        other.execute("COMMIT")
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_a_write_transaction_holds_the_write_lock_from_its_start(
    tmp_path: Path,
) -> None:
    """A deferred ``BEGIN`` reads under a snapshot and asks for the write lock at
    its first write; if another connection committed in between, SQLite refuses
    the write at once (``SQLITE_BUSY_SNAPSHOT``). A view's write transaction
    reads first (its tracking position, the schema when it creates tables), so
    it begins immediate: the other writer waits for it instead."""
    path = str(tmp_path / "views.db")
    mine, theirs = SQLiteViewStore(path), SQLiteViewStore(path)
    try:
        mine.view("timeline")
        other_done = threading.Event()
        errors: list[BaseException] = []

        def other_writer() -> None:
            try:
                with theirs.datastore.transaction(commit=True) as cursor:
                    cursor.execute("CREATE TABLE theirs (x)")
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)
            other_done.set()

        with mine.datastore.transaction(commit=True) as cursor:
            cursor.execute("SELECT COUNT(*) FROM timeline_entries")
            writer = threading.Thread(target=other_writer)
            writer.start()
            # Under a deferred BEGIN the other writer commits now, and the
            # write below fails with "database is locked".
            assert not other_done.wait(0.3)
            cursor.execute("CREATE TABLE mine (x)")
        writer.join(10)
        assert errors == []
        with closing(sqlite3.connect(path)) as check:
            names = {row[0] for row in check.execute("SELECT name FROM sqlite_master")}
        assert {"mine", "theirs"} <= names
    finally:
        mine.close()
        theirs.close()


@pytest.mark.slow
def test_four_stores_opening_a_new_file_at_once_all_succeed(tmp_path: Path) -> None:
    """The real race, unforced: four stores (as four processes would) open every
    view of a new file at the same moment, 300 times. Before the WAL switch was
    retried, one to three rounds in a hundred failed with ``database is locked``."""
    failures: list[str] = []
    for round_ in range(300):
        path = str(tmp_path / f"views-{round_}.db")
        stores = [SQLiteViewStore(path) for _ in range(4)]
        failures.extend(open_every_view_at_once(stores))
        for store in stores:
            store.close()
    assert failures == []


def test_opening_views_that_exist_waits_for_no_writer(tmp_path: Path) -> None:
    """A process opening views that another keeps (the API or the CLI beside a
    runner) reads the schema and creates nothing, so it needs no write lock:
    it opens every view at once while another connection holds the file's
    write lock (a runner's transaction), instead of waiting for it."""
    path = str(tmp_path / "views.db")
    first = SQLiteViewStore(path)
    try:
        for name in view_names():
            first.view(name)
    finally:
        first.close()
    with closing(
        sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    ) as writer:
        writer.execute("BEGIN IMMEDIATE")  # held until the views are open
        opened = threading.Event()

        def open_views() -> None:
            store = SQLiteViewStore(path)
            try:
                for name in view_names():
                    store.view(name).position("demo")
                opened.set()
            finally:
                store.close()

        opener = threading.Thread(target=open_views)
        opener.start()
        try:
            assert opened.wait(10), "opening the views waited for the writer"
        finally:
            writer.execute("COMMIT")
            opener.join()


def test_a_view_missing_a_table_is_completed_on_opening(tmp_path: Path) -> None:
    """Reading the schema first changes nothing when something is missing: a
    view whose index was dropped gets it back when it is opened."""
    path = str(tmp_path / "views.db")
    store = SQLiteViewStore(path)
    try:
        store.view("timeline")
    finally:
        store.close()
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        index = raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name = 'timeline_entries' ORDER BY name LIMIT 1"
        ).fetchone()[0]
        raw.execute(f'DROP INDEX "{index}"')
    store = SQLiteViewStore(path)
    try:
        store.view("timeline")
    finally:
        store.close()
    with closing(sqlite3.connect(path)) as check:
        names = {row[0] for row in check.execute("SELECT name FROM sqlite_master")}
    assert index in names
