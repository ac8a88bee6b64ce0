"""Projection workers: who keeps which view, and hot standbys.

A view is kept (its runner writes its tables and tracking position) by one
process at a time. ``session-log project`` takes a **lease** on each view it is
asked to keep before starting that view's runner:

- PostgreSQL views: a session-level advisory lock per (stream, view), held on a
  dedicated connection for the worker's lifetime. A second worker asking for the
  same view waits as a hot standby and takes over within about a second of the
  first one's connection closing (a crash, ``kill -9``, a lost host: the server
  ends the session and frees the lock).
- SQLite views: the file lock of :attr:`session_log.runtime.Runtime.owns_views`
  (one process keeps all of a file's views).

A runner that stops mid-batch loses nothing: each batch commits its rows with
its tracking position in one transaction, so the next keeper resumes after the
last committed position (docs/projections.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from projections.stores import postgres_options

__all__ = ["ViewLease", "lease_key"]


def lease_key(stream: str, view: str) -> int:
    """The advisory-lock key of ``view`` of ``stream`` (a signed 64-bit int)."""
    digest = hashlib.sha256(f"session-log:{stream}:{view}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class ViewLease:
    """Advisory locks on PostgreSQL for the views one worker keeps."""

    def __init__(self, url: str, stream: str) -> None:
        import psycopg

        self.stream = stream
        options = postgres_options(url)
        del options["schema"]  # the locks are database-wide
        self.conn = psycopg.connect(
            autocommit=True,
            connect_timeout=5,
            application_name="session-log project",
            **options,
        )
        self.held: set[str] = set()

    def try_take(self, views: Iterable[str]) -> list[str]:
        """Take the leases that are free now; return the views newly taken."""
        taken = []
        for view in views:
            if view in self.held:
                continue
            row = self.conn.execute(
                "SELECT pg_try_advisory_lock(%s)", (lease_key(self.stream, view),)
            ).fetchone()
            if row is not None and row[0]:
                self.held.add(view)
                taken.append(view)
        return taken

    def alive(self) -> bool:
        """Whether the lease connection (and so every lease) still holds."""
        try:
            self.conn.execute("SELECT 1")
        except Exception:
            return False
        return True

    def close(self) -> None:
        """Release every lease (closing the session frees its locks)."""
        self.held.clear()
        self.conn.close()
