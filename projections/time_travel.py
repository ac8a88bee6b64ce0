"""Time travel: any view as of a stream position or a moment.

The view is replayed from the start of the stream into a private in-memory SQLite
store, up to the cut, and queried with the same methods as the live view; the live
view is never touched. "As of a moment" is the longest prefix of the stream whose
decisions all occurred at or before that moment (``meta.occurred_at``): the
replay stops before the first decision that occurred later, so the result is
always the view at some stream position.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from eventsourcing.application import Application

from projections.replay import replay
from projections.sql_view import SQLView
from projections.stores import SQLiteViewStore


@contextmanager
def view_as_of(
    app: Application[Any],
    name: str,
    *,
    position: int | None = None,
    at: datetime | None = None,
    source: str | None = None,
    batch_size: int = 1000,
) -> Iterator[SQLView]:
    """View ``name`` of ``app`` as of ``position`` and/or ``at`` (both: the earlier).

    With neither, the view as of now. The view lives only inside the ``with``.
    """
    store = SQLiteViewStore(":memory:")
    try:
        view = store.view(name)
        replay(
            app,
            view,
            source=source or app.name,
            stop=position,
            until=at,
            batch_size=batch_size,
        )
        yield view
    finally:
        store.close()
