"""Reading the application's stream in batches, decoding tolerantly.

Used by the runner's catch-up, by rebuilds and by time travel. Decoding errors do
not stop the read: the event is handed on as an :class:`UndecodableEvent`, so the
view that meets it halts just before it and records why.
"""

from __future__ import annotations

import gc
from collections.abc import (
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from threading import Event
from typing import Any, Protocol

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, Notification, PersistenceError, Tracking

from projections.errors import PoisonEventError
from projections.records import UndecodableEvent, as_record, record_of_parts

GC_THRESHOLD = 50_000
"""Allocations between young-generation collections during a long read (Python's
default is 700): a rebuild allocates millions of short-lived objects and keeps
few, and each collection also walks the long-lived ones (about 10% of a
rebuild's time with the default)."""


class Replayable(Protocol):
    """What replay needs of a view."""

    def position(self, source: str) -> int: ...

    def apply_events(self, events: Sequence[tuple[Any, Tracking]]) -> int: ...


Progress = Callable[[int, int], None]
"""Called with (position reached, target position)."""


def decode(mapper: Mapper[Any], notification: Notification) -> Any:
    """The domain event of ``notification``, or an :class:`UndecodableEvent`."""
    try:
        return mapper.to_domain_event(notification)
    except Exception as error:
        return UndecodableEvent(notification, error)


def records_of(
    mapper: Mapper[Any], notifications: Iterable[Notification], source: str
) -> list[tuple[Any, Tracking]]:
    """Each notification's record with its tracking: :func:`as_record` of
    :func:`decode`, made straight from the stored state where the mapper can
    decode its parts without the domain event (``event_parts``: session-log's
    mapper, on its typed path; about 5 us an event less), else that way."""
    event_parts = getattr(mapper, "event_parts", None)
    made: list[tuple[Any, Tracking]] = []
    for notification in notifications:
        tracking = Tracking(source, notification.id)
        if event_parts is not None:
            try:
                parts = event_parts(notification)
                if parts is not None:
                    made.append(
                        (record_of_parts(parts, source, notification.id), tracking)
                    )
                    continue
            except Exception:  # the slow path below tells what is wrong
                pass
        made.append(as_record(decode(mapper, notification), tracking))
    return made


def head(app: Application[Any]) -> int:
    """The application's last notification id (0 for an empty stream)."""
    return app.recorder.max_notification_id() or 0


def read_batches(
    app: Application[Any],
    *,
    source: str,
    after: int,
    stop: int | None = None,
    batch_size: int = 500,
    interrupt: Event | None = None,
    prefetch: bool = False,
    records: bool = False,
    bulk: bool = False,
) -> Iterator[list[tuple[Any, Tracking]]]:
    """Decoded events after ``after`` (up to ``stop``), in stream order, in batches.

    With ``records``, each event is given as its record (:func:`records_of`)
    instead of the domain event. With ``prefetch``, the next batch is read
    from the store and decoded by a helper thread while the caller
    processes this one: for long reads (rebuilds), the helper works while the
    caller waits on its database. With ``bulk`` (a
    long read: rebuilds) and a store that offers ``read_notifications`` (the
    JetStream store's reader), the pages come from that reader instead of
    ``select_notifications``, falling back to it if the reader cannot be opened.
    """
    pages = notification_pages(
        app, after=after, stop=stop, batch_size=batch_size, bulk=bulk
    )

    def fetch() -> list[tuple[Any, Tracking]] | None:
        """The next page, decoded (``None`` at the end)."""
        found = next(pages, None)
        if found is None:
            return None
        notifications = found[1]
        if records:
            return records_of(app.mapper, notifications, source)
        return [(decode(app.mapper, n), Tracking(source, n.id)) for n in notifications]

    pool = ThreadPoolExecutor(1, thread_name_prefix="views-read") if prefetch else None
    pending: Future[list[tuple[Any, Tracking]] | None] | None = None
    try:
        while interrupt is None or not interrupt.is_set():
            batch = pending.result() if pending is not None else fetch()
            pending = None
            if batch is None:
                return
            if pool is not None:
                pending = pool.submit(fetch)
            if batch:
                yield batch
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        pages.close()


def notification_pages(
    app: Application[Any],
    *,
    after: int,
    stop: int | None = None,
    batch_size: int,
    bulk: bool = True,
) -> Generator[tuple[int, Sequence[Notification]], None, None]:
    """The stream's notifications after ``after`` (up to ``stop``), undecoded,
    in pages, each with the position the read reached: with ``bulk``, from the
    store's bulk reader where it has one, else page by page
    (``select_notifications``). The read can end short of ``stop`` (a stream
    replica that is behind answered it)."""
    position = after
    pages = _bulk_pages(app, after, stop, batch_size) if bulk else None
    if pages is not None:
        try:
            for page in pages:
                position = getattr(page, "read_up_to", 0) or (
                    page[-1].id if page else position
                )
                yield position, page
        finally:
            pages.close()
        return
    while stop is None or position < stop:
        page = app.recorder.select_notifications(
            start=position, limit=batch_size, stop=stop, inclusive_of_start=False
        )
        if not page:
            return
        position = page[-1].id
        yield position, page
        if len(page) < batch_size:
            return


def _bulk_pages(
    app: Application[Any], after: int, stop: int | None, batch_size: int
) -> Generator[Sequence[Notification], None, None] | None:
    reader = getattr(app.recorder, "read_notifications", None)
    if reader is None:
        return None
    pages: Generator[Sequence[Notification], None, None] = reader(
        start=after + 1, stop=stop, page=batch_size
    )
    try:
        first = next(pages, None)
    except PersistenceError:
        return None  # e.g. not allowed to create consumers: read page by page

    def chained() -> Generator[Sequence[Notification], None, None]:
        try:
            if first is not None:
                yield first
                yield from pages
        finally:
            pages.close()

    return chained()


def apply_to_each(
    views: Mapping[str, Replayable],
    batch: Sequence[tuple[Any, Tracking]],
    events: dict[str, int],
    failed: dict[str, PoisonEventError],
) -> None:
    """Apply ``batch`` to every view not in ``failed``, counting in ``events``;
    a view that meets a poison event goes into ``failed`` and is left alone."""
    for name, view in views.items():
        if name in failed:
            continue
        try:
            events[name] += view.apply_events(batch)
        except PoisonEventError as error:
            failed[name] = error


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Young-generation collections every :data:`GC_THRESHOLD` allocations."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], GC_THRESHOLD), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def occurred_at(domain_event: Any) -> datetime | None:
    meta = getattr(domain_event, "meta", None)
    moment = getattr(meta, "occurred_at", None)
    return moment if isinstance(moment, datetime) else None


def cut_at(
    batch: Sequence[tuple[Any, Tracking]], until: datetime
) -> tuple[list[tuple[Any, Tracking]], bool]:
    """The events of ``batch`` before the first that occurred after ``until``."""
    for index, (domain_event, _) in enumerate(batch):
        moment = occurred_at(domain_event)
        if moment is not None and moment > until:
            return list(batch[:index]), True
    return list(batch), False


def replay(
    app: Application[Any],
    view: Replayable,
    *,
    source: str | None = None,
    stop: int | None = None,
    until: datetime | None = None,
    batch_size: int = 500,
    progress: Progress | None = None,
    interrupt: Event | None = None,
) -> int:
    """Bring ``view`` forward from its tracked position; returns events applied.

    ``stop`` caps the position, ``until`` stops before the first decision that
    occurred after that moment (the stream prefix up to ``until``).
    """
    name = source or app.name
    target = stop if stop is not None else head(app)
    applied = 0
    for batch in read_batches(
        app,
        source=name,
        after=view.position(name),
        stop=stop,
        batch_size=batch_size,
        interrupt=interrupt,
    ):
        events, done = (batch, False) if until is None else cut_at(batch, until)
        applied += view.apply_events(events)
        if progress is not None and events:
            progress(events[-1][1].notification_id, max(target, 0))
        if done:
            break
    return applied
