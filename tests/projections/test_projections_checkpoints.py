"""WAL checkpoints of a SQLite view file: by the store's thread, not by commits.

What the database file holds by itself (without its ``-wal``) is read from a
copy of the file alone: rows reach it only through a checkpoint.
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
from thinglog import INFRA_VIEWS, ThingLog, story

from projections import ProjectionsRunner, SQLiteViewStore


def rows_in_file_alone(path: Path, table: str, scratch: Path) -> int | None:
    """Rows of ``table`` in the database file without its WAL (``None`` while
    the copy catches a checkpoint half-written or the table is not there yet)."""
    shutil.copyfile(path, scratch)
    try:
        with closing(sqlite3.connect(scratch)) as connection:
            row = connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
            return int(row[0])
    except sqlite3.DatabaseError:
        return None
    finally:
        scratch.unlink()


def live_rows(store: SQLiteViewStore, table: str) -> int:
    with store.datastore.transaction(commit=False) as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        return int(cursor.fetchone()[0])


def autocheckpoint(store: SQLiteViewStore) -> int:
    with store.datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        return int(cursor.fetchone()[0])


def project_into(store: SQLiteViewStore, app: ThingLog) -> None:
    story(app, project="alb", n=4)
    runner = ProjectionsRunner(app, store, views=INFRA_VIEWS).start()
    try:
        runner.wait(timeout=20)
    finally:
        runner.stop()


def test_the_store_thread_checkpoints_what_the_views_commit(
    app: ThingLog, tmp_path: Path
) -> None:
    path = tmp_path / "views.db"
    store = SQLiteViewStore(str(path))
    try:
        assert autocheckpoint(store) == 0  # commits never checkpoint
        project_into(store, app)
        wanted = live_rows(store, "timeline_entries")
        assert wanted > 0
        deadline = time.monotonic() + 10
        while (
            found := rows_in_file_alone(path, "timeline_entries", tmp_path / "c.db")
        ) != wanted:
            assert time.monotonic() < deadline, f"file holds {found} of {wanted} rows"
            time.sleep(0.05)
    finally:
        store.close()


def test_with_checkpoints_in_the_commits_a_small_write_stays_in_the_wal(
    app: ThingLog, tmp_path: Path
) -> None:
    # The control: what the test above observes is the thread's doing.
    path = tmp_path / "views.db"
    store = SQLiteViewStore(str(path), checkpoints="commit")
    try:
        assert autocheckpoint(store) == 1000  # SQLite's default
        assert store.datastore.checkpointer is None
        project_into(store, app)
        assert live_rows(store, "timeline_entries") > 0
        time.sleep(0.3)  # six intervals of the checkpoint thread
        assert rows_in_file_alone(path, "timeline_entries", tmp_path / "c.db") in (
            0,
            None,
        )
    finally:
        store.close()


def test_closing_the_store_stops_its_checkpoint_thread(tmp_path: Path) -> None:
    store = SQLiteViewStore(str(tmp_path / "views.db"))
    checkpointer = store.datastore.checkpointer
    assert checkpointer is not None
    assert checkpointer._thread.is_alive()
    store.close()
    assert not checkpointer._thread.is_alive()
    assert checkpointer.error is None


def test_scratch_and_memory_stores_have_no_checkpoint_thread(tmp_path: Path) -> None:
    before = {t for t in threading.enumerate() if t.name == "views-wal-checkpoint"}
    for store in (
        SQLiteViewStore(":memory:"),
        SQLiteViewStore(str(tmp_path / "scratch.db"), durable=False),
    ):
        try:
            assert store.datastore.checkpointer is None
        finally:
            store.close()
    after = {t for t in threading.enumerate() if t.name == "views-wal-checkpoint"}
    assert after <= before


def test_an_unknown_checkpoint_mode_is_refused_before_the_file_is_made(
    tmp_path: Path,
) -> None:
    path = tmp_path / "views.db"
    with pytest.raises(ValueError, match=r"checkpoints must be one of .*'never'"):
        SQLiteViewStore(str(path), checkpoints="never")  # type: ignore[arg-type]
    assert not path.exists()


CRASH = """
import os, signal, sys
sys.path[:0] = {path!r}
import projections.checkpoints
projections.checkpoints.INTERVAL = 3600.0  # no checkpoint before the kill
from projections import ProjectionsRunner, SQLiteViewStore
from thinglog import INFRA_VIEWS, ThingLog, story
app = ThingLog()
story(app, project="alb", n=4)
store = SQLiteViewStore({db!r})
runner = ProjectionsRunner(app, store, views=INFRA_VIEWS).start()
runner.wait(timeout=20)
with store.datastore.transaction(commit=False) as cursor:
    cursor.execute("SELECT COUNT(*) FROM timeline_entries")
    print(cursor.fetchone()[0], flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_commits_not_yet_checkpointed_survive_a_kill(tmp_path: Path) -> None:
    path = tmp_path / "views.db"
    code = CRASH.format(path=sys.path, db=str(path))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    committed = int(done.stdout.split()[-1])
    assert committed > 0
    # Everything was in the WAL only, and is there after the kill.
    assert rows_in_file_alone(path, "timeline_entries", tmp_path / "c.db") in (0, None)
    store = SQLiteViewStore(str(path))
    try:
        assert live_rows(store, "timeline_entries") == committed
    finally:
        store.close()
