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

With ``workers`` above one (and a stream other processes can read), step 1 runs
in that many processes, each applying the decisions of a slice of the projects
(:mod:`projections.parallel`); their shadows are merged before step 2.
"""

from __future__ import annotations

import tempfile
import threading
from contextlib import AbstractContextManager, nullcontext
from time import monotonic
from typing import Any

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import Tracking

from projections.errors import PoisonEventError
from projections.parallel import can_split, fill_parts
from projections.replay import (
    Progress,
    apply_to_each,
    fewer_collections,
    head,
    read_batches,
    replay,
)
from projections.sql_view import SQLView
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
    workers: int = 1,
) -> list[RebuildReport]:
    """Rebuild several views reading (and decoding) the stream once.

    Each view is swapped in as in :func:`rebuild_view`. A view that meets a poison
    event is left as it was (its shadow dropped) while the others are rebuilt;
    its :class:`~projections.errors.PoisonEventError` is raised at the end.

    When the store stages rebuilds (PostgreSQL: :meth:`ViewStore.staging`), the
    stream is applied to shadows in a scratch SQLite file and each finished
    shadow is copied into the store in one transaction (``COPY``, with its
    tracking position) before it catches up and is swapped in.

    ``workers`` above one fills the shadows in that many processes (see
    :mod:`projections.parallel`) when the application's stream can be read by
    another process; otherwise, and for in-memory applications, in this one.
    """
    source = source or app.name
    locks = live_locks or {}
    started = monotonic()
    target = head(app)
    lives = {name: store.view(name) for name in names}
    events = dict.fromkeys(names, 0)
    failed: dict[str, PoisonEventError] = {}
    reports: list[RebuildReport] = []
    parallel = workers > 1 and target > 0 and can_split(app)
    staging_area = nullcontext(None) if parallel else store.staging()
    with staging_area as staging, fewer_collections():
        fill = staging if staging is not None else store
        shadows = {name: fill.fresh_view(name, "rebuild") for name in names}
        swapped: set[str] = set()
        try:
            if parallel:
                _fill_in_parallel(
                    app,
                    store,
                    shadows,
                    source=source,
                    target=target,
                    workers=workers,
                    batch_size=batch_size,
                    progress=progress,
                    events=events,
                    failed=failed,
                )
            else:
                _fill(
                    app,
                    shadows,
                    source=source,
                    batch_size=batch_size,
                    progress=progress,
                    target=target,
                    events=events,
                    failed=failed,
                )
            for name in names:
                if name in failed:
                    continue
                if staging is not None:
                    staged = shadows[name]
                    shadows[name] = store.fresh_view(name, "rebuild")
                    store.load_files(
                        shadows[name],
                        [staging.path],
                        staged.namespace,
                        [Tracking(s, p) for s, p in staged.positions().items()],
                    )
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


def _fill(
    app: Application[Any],
    shadows: dict[str, SQLView],
    *,
    source: str,
    batch_size: int,
    progress: Progress | None,
    target: int,
    events: dict[str, int],
    failed: dict[str, PoisonEventError],
) -> None:
    """Step 1 in this process: the stream read and decoded once for every view."""
    for batch in read_batches(
        app,
        source=source,
        after=0,
        batch_size=batch_size,
        prefetch=True,
        records=True,
        bulk=True,
    ):
        apply_to_each(shadows, batch, events, failed)
        if progress is not None:
            progress(batch[-1][1].notification_id, target)


def _fill_in_parallel(
    app: Application[Any],
    store: ViewStore,
    shadows: dict[str, SQLView],
    *,
    source: str,
    target: int,
    workers: int,
    batch_size: int,
    progress: Progress | None,
    events: dict[str, int],
    failed: dict[str, PoisonEventError],
) -> None:
    """Step 1 in ``workers`` processes, up to ``target``, merged into ``shadows``."""
    names = list(shadows)
    with tempfile.TemporaryDirectory(prefix="views-parts-") as folder:
        parts = fill_parts(
            app,
            names,
            source=source,
            target=target,
            folder=folder,
            workers=workers,
            prefix=store.prefix,
            batch_size=batch_size,
            progress=progress,
        )
        for part in parts:
            for name, count in part.events.items():
                events[name] += count
            for name, failure in part.failures.items():
                known = failed.get(name)
                if known is None or failure.position < known.failure.position:
                    failed[name] = PoisonEventError(failure)
        for name, shadow in shadows.items():
            if name not in failed:
                store.load_files(
                    shadow,
                    [part.path for part in parts],
                    f"{store.prefix}{name}__part",
                    [Tracking(source, target)],
                )
