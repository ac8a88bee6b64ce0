"""Rebuild: a view from the start into fresh tables, swapped in when caught up.

1. Fresh shadow tables ``<view>__rebuild_*`` are filled from the start of the
   stream in batches, reporting progress; the live view keeps serving and
   following the stream meanwhile.
2. Holding the live runner's processing lock (so the live view stands still), the
   shadow is brought up to the stream's head and then, in one transaction, the
   live tables are dropped and the shadow's renamed to the live names (with their
   tracking and failures tables). Readers see the old view or the new one, never
   a mixture; the live runner resumes from the rebuilt view's position and skips
   what the rebuild already applied.

If the rebuild meets a poison event, the shadow is dropped, the live view is left
untouched and :class:`~projections.errors.PoisonEventError` is raised.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from time import monotonic
from typing import Any

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import Tracking

from projections.errors import PoisonEventError
from projections.records import to_record
from projections.replay import Progress, head, read_batches, replay
from projections.stores import ViewStore


class RebuildReport(msgspec.Struct, frozen=True, kw_only=True):
    view: str
    events: int
    position: int
    seconds: float
    events_per_second: float


def rebuild_view(
    app: Application[Any],
    store: ViewStore,
    name: str,
    *,
    source: str | None = None,
    progress: Progress | None = None,
    batch_size: int = 1000,
    live_lock: threading.RLock | None = None,
) -> RebuildReport:
    """Rebuild view ``name`` of ``store`` from ``app``'s stream and swap it in.

    ``live_lock`` is the live runner's processing lock, if one is running.
    """
    return rebuild_views(
        app,
        store,
        [name],
        source=source,
        progress=progress,
        batch_size=batch_size,
        live_locks={name: live_lock} if live_lock is not None else None,
    )[0]


def rebuild_views(
    app: Application[Any],
    store: ViewStore,
    names: list[str],
    *,
    source: str | None = None,
    progress: Progress | None = None,
    batch_size: int = 1000,
    live_locks: dict[str, threading.RLock] | None = None,
) -> list[RebuildReport]:
    """Rebuild several views reading (and decoding) the stream once.

    Each view is swapped in as in :func:`rebuild_view`. A view that meets a poison
    event is left as it was (its shadow dropped) while the others are rebuilt;
    its :class:`~projections.errors.PoisonEventError` is raised at the end.

    When the store stages rebuilds (PostgreSQL: :meth:`ViewStore.staging`), the
    stream is applied to shadows in a scratch SQLite file and each finished
    shadow is copied into the store in one transaction (``COPY``, with its
    tracking position) before it catches up and is swapped in.
    """
    source = source or app.name
    locks = live_locks or {}
    started = monotonic()
    target = head(app)
    lives = {name: store.view(name) for name in names}
    events = dict.fromkeys(names, 0)
    failed: dict[str, PoisonEventError] = {}
    reports: list[RebuildReport] = []
    with store.staging() as staging:
        fill = staging if staging is not None else store
        shadows = {name: fill.fresh_view(name, "rebuild") for name in names}
        swapped: set[str] = set()
        try:
            for batch in read_batches(
                app,
                source=source,
                after=0,
                batch_size=batch_size,
                prefetch=True,
                prepare=_as_record,
            ):
                for name, shadow in shadows.items():
                    if name in failed:
                        continue
                    try:
                        events[name] += shadow.apply_events(batch)
                    except PoisonEventError as error:
                        failed[name] = error
                if progress is not None:
                    progress(batch[-1][1].notification_id, target)
            for name in names:
                if name in failed:
                    continue
                if staging is not None:
                    staged = shadows[name]
                    shadows[name] = store.fresh_view(name, "rebuild")
                    store.load(shadows[name], staged)
                    staged.drop()
                lock: AbstractContextManager[Any] = locks.get(name) or nullcontext()
                with lock:
                    try:
                        events[name] += replay(
                            app, shadows[name], source=source, batch_size=batch_size
                        )
                    except PoisonEventError as error:
                        failed[name] = error
                        continue
                    position = shadows[name].position(source)
                    store.swap(shadows[name], lives[name])
                    swapped.add(name)
                seconds = monotonic() - started
                reports.append(
                    RebuildReport(
                        view=name,
                        events=events[name],
                        position=position,
                        seconds=seconds,
                        events_per_second=(
                            events[name] / seconds if seconds > 0 else 0.0
                        ),
                    )
                )
        finally:
            for name, shadow in shadows.items():
                if name not in swapped:
                    shadow.drop()
    if failed:
        raise next(iter(failed.values()))
    return reports


def _as_record(event: Any, tracking: Tracking) -> tuple[Any, Tracking]:
    """The event's record, made once for every view (the event itself if it
    cannot be made: each view then halts on it and records why)."""
    try:
        record = to_record(event, tracking.application_name, tracking.notification_id)
    except Exception:
        return event, tracking
    return record, tracking
