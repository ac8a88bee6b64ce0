"""WAL checkpoints of a SQLite view file, off the views' commit path.

In WAL mode SQLite appends each commit's pages to the ``-wal`` file and, by
default, the commit that takes the WAL past 1,000 pages copies them back into
the database file there and then (a *checkpoint*, with two fsyncs under
``synchronous=NORMAL``). Live views write about a dozen pages per event, so at
1,000 events/s every few commits paid for a checkpoint while holding the
file's write lock: the other views waited for it.

:class:`Checkpointer` turns that off for the store's connections
(``wal_autocheckpoint=0``) and runs ``PRAGMA wal_checkpoint(PASSIVE)`` from a
thread of its own, on a connection of its own, every :data:`INTERVAL` seconds.
A passive checkpoint never blocks a writer or a reader and releases Python's
GIL while it copies pages, so it runs on another core while the views apply
their next batch. Durability is unchanged: a commit is in the WAL before it
returns, and a checkpoint only moves pages already there; a crash between
checkpoints leaves a longer WAL, which SQLite replays on the next open.

The WAL file is truncated back to :data:`WAL_LIMIT_BYTES` when a checkpoint has
copied all of it and a writer starts it over (``journal_size_limit``).
"""

from __future__ import annotations

import sqlite3
import threading

INTERVAL = 0.05
"""Seconds between checkpoints (a checkpoint of an idle file costs microseconds)."""

WAL_LIMIT_BYTES = 64 * 1024 * 1024
"""Size the WAL file is cut back to once checkpointed (``journal_size_limit``)."""


CONNECTION_SETTINGS = (
    "PRAGMA wal_autocheckpoint=0",
    f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}",
)
"""Statements for every connection of a store checkpointed by a thread."""


class Checkpointer:
    """Checkpoints ``db_name`` (a file in WAL mode) from its own thread until
    :meth:`stop`."""

    def __init__(self, db_name: str, *, interval: float | None = None) -> None:
        self.db_name = db_name
        self.interval = INTERVAL if interval is None else interval
        self.error: BaseException | None = None
        """The last error a checkpoint met (it is tried again next interval)."""
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="views-wal-checkpoint", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while not self._stopping.wait(self.interval):
                try:
                    if connection is None:
                        connection = sqlite3.connect(
                            self.db_name,
                            uri=True,
                            isolation_level=None,
                            check_same_thread=False,
                            timeout=1,
                        )
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as error:
                    self.error = error  # e.g. the file is being replaced
        finally:
            if connection is not None:
                connection.close()

    def stop(self) -> None:
        """Stop checkpointing (what is in the WAL stays valid) and wait."""
        self._stopping.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
