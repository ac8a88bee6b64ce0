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
    source = source or app.name
    started = monotonic()
    live = store.view(name)
    shadow = store.fresh_view(name, "rebuild")
    lock: AbstractContextManager[Any] = (
        live_lock if live_lock is not None else nullcontext()
    )
    try:
        events = replay(
            app, shadow, source=source, batch_size=batch_size, progress=progress
        )
        with lock:
            events += replay(app, shadow, source=source, batch_size=batch_size)
            position = shadow.position(source)
            store.swap(shadow, live)
    except BaseException:
        shadow.drop()
        raise
    seconds = monotonic() - started
    return RebuildReport(
        view=name,
        events=events,
        position=position,
        seconds=seconds,
        events_per_second=events / seconds if seconds > 0 else 0.0,
    )


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
    """
    source = source or app.name
    locks = live_locks or {}
    started = monotonic()
    target = head(app)
    lives = {name: store.view(name) for name in names}
    shadows = {name: store.fresh_view(name, "rebuild") for name in names}
    events = dict.fromkeys(names, 0)
    failed: dict[str, PoisonEventError] = {}
    try:
        for decoded in read_batches(app, source=source, after=0, batch_size=batch_size):
            batch = [_as_record(event, tracking) for event, tracking in decoded]
            for name, shadow in shadows.items():
                if name in failed:
                    continue
                try:
                    events[name] += shadow.apply_events(batch)
                except PoisonEventError as error:
                    failed[name] = error
            if progress is not None:
                progress(batch[-1][1].notification_id, target)
        reports = []
        for name in names:
            if name in failed:
                continue
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
            seconds = monotonic() - started
            reports.append(
                RebuildReport(
                    view=name,
                    events=events[name],
                    position=position,
                    seconds=seconds,
                    events_per_second=events[name] / seconds if seconds > 0 else 0.0,
                )
            )
    finally:
        for name in failed:
            shadows[name].drop()
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
