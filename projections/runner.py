"""Running views against an application: catch-up, then live.

:class:`ViewRunner` keeps one view up to date: it catches up from the view's
tracked position in batches (one transaction per batch), then joins the
runner's :class:`~projections.live_feed.LiveFeed` and applies what the feed
hands it (one transaction for whatever has arrived since the last one; on
SQLite the runner's one applying thread does that part for every view,
:mod:`projections.serial_applier`). It
extends eventsourcing's ``BaseProjectionRunner`` (``run_forever``,
``is_interrupted``, ``stop``) but takes an application *instance*, shared by all
views, and decodes events tolerantly so that an undecodable event halts only
the view that meets it, with the reason recorded.

:class:`ProjectionsRunner` runs every view of a store against one application
with one live feed: each new notification is read, decoded and made into a
record once for all views. Lag per view, read-your-writes
(:meth:`ProjectionsRunner.wait`), status and failures, restart of a halted view,
rebuild and time travel.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal, cast

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import WaitInterruptedError
from eventsourcing.projection import BaseProjectionRunner

from projections.catalog import view_names
from projections.errors import PoisonEventError, ViewHaltedError
from projections.failures import Failure
from projections.live_feed import NUDGE_INTERVAL, Inbox, LiveFeed
from projections.rebuild import RebuildReport, rebuild_view, rebuild_views
from projections.replay import Progress, head, replay
from projections.serial_applier import SerialApplier
from projections.sql_view import SQLView
from projections.stores import ViewStore
from projections.time_travel import view_as_of
from projections.views.cost_ledger import CostLedgerReads
from projections.views.credits import CreditsReads
from projections.views.decision_log import DecisionLogReads
from projections.views.progress import ProgressReads
from projections.views.timeline import TimelineReads

__all__ = ["NUDGE_INTERVAL", "ProjectionsRunner", "ViewRunner", "ViewStatus"]

GAP_RETRY_S = 0.05
"""Pause before reading again when a view's catch-up to the feed ended short."""

State = Literal["starting", "catching_up", "live", "halted", "error", "stopped"]


class ViewStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Health of one view: where it is, how far behind, why it halted."""

    view: str
    state: str
    position: int
    head: int
    lag: int
    failure: Failure | None = None
    error: str | None = None


class ViewRunner(BaseProjectionRunner[Application[Any]]):
    """Keeps one view up to date with one application (started on construction).

    The base class constructs its own application from a class; this runner is
    given an application instance (shared by every view, and the only way to
    follow an in-memory POPO application), so it sets up its own threads.
    ``feed`` is the live feed shared with the other views of the application
    (by default the runner has one of its own).
    """

    def __init__(
        self,
        *,
        app: Application[Any],
        view: SQLView,
        source: str | None = None,
        batch_size: int = 500,
        feed: LiveFeed | None = None,
        joined: tuple[Inbox, int] | None = None,
        applier: SerialApplier | None = None,
    ) -> None:
        self.app = app
        self.app_name = source or app.name
        self.view = view
        self.batch_size = batch_size
        if feed is not None and feed.source != self.app_name:
            msg = f"feed of {feed.source!r} given to a runner of {self.app_name!r}"
            raise ValueError(msg)
        self._own_feed = feed is None
        self.feed = feed or LiveFeed(app, source=self.app_name, batch_size=batch_size)
        self._tracking_recorder = view
        self._is_interrupted = threading.Event()
        self._has_called_stop = False
        self._thread_error: BaseException | None = None
        self._inbox: Inbox | None = None
        self._joined = joined
        """An inbox of ``feed`` joined for this view (:meth:`LiveFeed.join_together`):
        the view starts from the feed instead of catching up by itself."""
        self._applier = applier
        """Applies the live batches of this view (and others) in its thread; by
        default this view's own thread does (:mod:`projections.serial_applier`)."""
        self._inbox_lock = threading.Lock()
        self.processing_lock = threading.RLock()
        """Held while applying events; a rebuild holds it to swap tables."""
        self.state: State = "starting"
        self.failure: Failure | None = None
        self.error: BaseException | None = None
        self._processing_thread = threading.Thread(
            target=self._run, name=f"view-{view.view_name}", daemon=True
        )
        self._processing_thread.start()

    def _run(self) -> None:
        try:
            while self._follow():
                pass  # fell too far behind the feed: catch up again, rejoin
        except PoisonEventError as error:
            self.failure = error.failure
            self.state = "halted"
            self._thread_error = error
        except BaseException as error:
            self.error = error
            self.state = "error"
            self._thread_error = error
        finally:
            if self.state not in ("halted", "error"):
                self.state = "stopped"
            self._is_interrupted.set()
            if self._own_feed:
                self.feed.stop()

    def _follow(self) -> bool:
        """Catch up, then apply what the feed hands on; True to start over."""
        locked = _LockedView(self)
        joined, self._joined = self._joined, None
        if joined is None:
            self.state = "catching_up"
            self._catch_up(locked, stop=None)
        with self._inbox_lock:
            if self._is_interrupted.is_set():
                if joined is not None:
                    self.feed.leave(joined[0])
                return False
            self.state = "live"  # caught up with the head: following from here
            inbox, after = joined or self.feed.join(self.view.position(self.app_name))
            self._inbox = inbox
        try:
            # The feed hands on what comes after ``after``; what this view
            # lacks up to there (written while it caught up), it reads itself,
            # to the end: a read a stream replica that is behind answers can
            # end short, and taking from the inbox then would skip events.
            while self.view.position(self.app_name) < after:
                if self._is_interrupted.is_set():
                    return False
                if not self._catch_up(locked, stop=after):
                    self._is_interrupted.wait(GAP_RETRY_S)  # read again shortly
            if self._applier is not None:
                self._applier.follow(self, inbox)
            else:
                while (events := inbox.take(self.batch_size)) is not None:
                    with self.processing_lock:
                        self.view.apply_events(events)
            if inbox.error is not None:
                raise inbox.error
            return inbox.overflowed and not self._is_interrupted.is_set()
        finally:
            inbox.close()  # a feed waiting for room in it goes on at once
            self.feed.leave(inbox)
            with self._inbox_lock:
                self._inbox = None

    def _catch_up(self, locked: _LockedView, *, stop: int | None) -> int:
        """Apply what the stream holds after the view's position (up to
        ``stop``); how many events that was."""
        return replay(
            self.app,
            locked,
            source=self.app_name,
            stop=stop,
            batch_size=self.batch_size,
            interrupt=self._is_interrupted,
        )

    def stop(self) -> None:
        """Stop following the application (the view keeps its position)."""
        self._has_called_stop = True
        self._is_interrupted.set()
        with self._inbox_lock:
            if self._inbox is not None:
                self._inbox.close()

    def join(self, timeout: float | None = None) -> None:
        self._processing_thread.join(timeout)

    def close(self) -> None:
        self.stop()
        self.join()

    def __enter__(self) -> ViewRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        return

    def wait(self, notification_id: int | None, timeout: float = 1.0) -> None:
        """Block until the view includes ``notification_id``.

        Raises :class:`PoisonEventError` at once if the view halted before it,
        :class:`ViewHaltedError` if the runner stopped, ``TimeoutError``.
        """
        try:
            self.view.wait(
                self.app_name, notification_id, timeout, interrupt=self._is_interrupted
            )
        except WaitInterruptedError:
            if self.view.has_tracking_id(self.app_name, notification_id):
                return
            if self.failure is not None:
                raise PoisonEventError(self.failure) from None
            if self.error is not None:
                msg = f"view {self.view.view_name!r} stopped: {self.error!r}"
                raise ViewHaltedError(msg) from self.error
            msg = f"view {self.view.view_name!r} is not running"
            raise ViewHaltedError(msg) from None

    def status(self) -> ViewStatus:
        position = self.view.position(self.app_name)
        last = head(self.app)
        failure = self.failure or self.view.failure(self.app_name)
        return ViewStatus(
            view=self.view.view_name,
            state=self.state,
            position=position,
            head=last,
            lag=max(last - position, 0),
            failure=failure,
            error=None if self.error is None else repr(self.error),
        )


class _LockedView:
    """The runner's view, applying each batch under the runner's processing lock."""

    def __init__(self, runner: ViewRunner) -> None:
        self._runner = runner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runner.view, name)

    def apply_events(self, events: Any) -> int:
        with self._runner.processing_lock:
            return self._runner.view.apply_events(events)


class ProjectionsRunner:
    """Runs views of ``store`` against ``app`` (all views unless ``views`` given).

    ``source`` names the stream in tracking and rows (default: the application's
    name); runners of several applications with distinct sources can share a store.

    On a store whose writes are serial (SQLite: :attr:`ViewStore.serial_writes`)
    one thread applies the live batches of every view in turn
    (:mod:`projections.serial_applier`); on PostgreSQL each view's own thread
    does, so that the views' round trips overlap.
    """

    def __init__(
        self,
        app: Application[Any],
        store: ViewStore,
        *,
        views: Iterable[str] | None = None,
        source: str | None = None,
        batch_size: int = 500,
    ) -> None:
        self.app = app
        self.store = store
        self.source = source or app.name
        self.batch_size = batch_size
        self.names = list(views) if views is not None else view_names()
        self.views: dict[str, SQLView] = {name: store.view(name) for name in self.names}
        self.runners: dict[str, ViewRunner] = {}
        self.feed = LiveFeed(app, source=self.source, batch_size=batch_size)
        """Reads the stream once for every live view (:mod:`projections.live_feed`)."""
        self._applier: SerialApplier | None = None

    # -- lifecycle --

    def start(self) -> ProjectionsRunner:
        self.start_views(self.names)
        return self

    def start_views(self, names: Iterable[str]) -> list[ViewRunner]:
        """(Re)start the runners of views ``names`` together.

        When the feed is not running and the views stand within
        ``feed.max_pending`` events of each other, they join it at once, from
        the lowest of their positions, instead of each catching up by itself:
        a backlog (a restart after downtime) is read and decoded once for all.
        Views further apart (one rebuilt, one new) catch up each by itself
        first, so that none waits for another's long catch-up.
        """
        chosen = list(names)
        for name in chosen:
            old = self.runners.pop(name, None)
            if old is not None:
                old.close()
        positions = [self.views[name].position(self.source) for name in chosen]
        if (
            self.feed.position is not None
            or len(chosen) < 2
            or max(positions) - min(positions) > self.feed.max_pending
        ):
            return [self.start_view(name) for name in chosen]
        joined = self.feed.join_together(positions)
        return [
            self.start_view(name, joined=inbox)
            for name, inbox in zip(chosen, joined, strict=True)
        ]

    def start_view(
        self, name: str, *, joined: tuple[Inbox, int] | None = None
    ) -> ViewRunner:
        """(Re)start the runner of view ``name`` (e.g. after fixing a poison cause)."""
        old = self.runners.get(name)
        if old is not None:
            old.close()
        if self._applier is None and self.store.serial_writes:
            self._applier = SerialApplier(f"views-applier-{self.source}")
        runner = ViewRunner(
            app=self.app,
            view=self.views[name],
            source=self.source,
            batch_size=self.batch_size,
            feed=self.feed,
            joined=joined,
            applier=self._applier,
        )
        self.runners[name] = runner
        return runner

    def stop(self) -> None:
        for runner in self.runners.values():
            runner.stop()
        for runner in self.runners.values():
            runner.join()
        applier, self._applier = self._applier, None
        if applier is not None:
            applier.stop()
        self.feed.stop()

    def __enter__(self) -> ProjectionsRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the views --

    def view(self, name: str) -> SQLView:
        return self.views[name]

    @property
    def timeline(self) -> TimelineReads:
        return cast(TimelineReads, self.views["timeline"])

    @property
    def decision_log(self) -> DecisionLogReads:
        return cast(DecisionLogReads, self.views["decision_log"])

    @property
    def cost_ledger(self) -> CostLedgerReads:
        return cast(CostLedgerReads, self.views["cost_ledger"])

    @property
    def progress(self) -> ProgressReads:
        return cast(ProgressReads, self.views["progress"])

    @property
    def credits(self) -> CreditsReads:
        return cast(CreditsReads, self.views["credits"])

    # -- health --

    def wait(
        self,
        notification_id: int | None = None,
        *,
        timeout: float = 5.0,
        views: Iterable[str] | None = None,
    ) -> None:
        """Read-your-writes: block until the views include ``notification_id``.

        Default: the application's last notification id now, i.e. everything
        written before this call.
        """
        target = head(self.app) if notification_id is None else notification_id
        for name in views if views is not None else self.names:
            runner = self.runners.get(name)
            if runner is None:
                self.views[name].wait(self.source, target, timeout)
            else:
                runner.wait(target, timeout)

    def lag(self) -> dict[str, int]:
        """Per view: the last notification id minus the view's position."""
        last = head(self.app)
        return {
            name: max(last - view.position(self.source), 0)
            for name, view in self.views.items()
        }

    def status(self) -> dict[str, ViewStatus]:
        out: dict[str, ViewStatus] = {}
        last = head(self.app)
        for name, view in self.views.items():
            runner = self.runners.get(name)
            if runner is not None:
                out[name] = runner.status()
                continue
            position = view.position(self.source)
            out[name] = ViewStatus(
                view=name,
                state="stopped",
                position=position,
                head=last,
                lag=max(last - position, 0),
                failure=view.failure(self.source),
            )
        return out

    def failures(self) -> dict[str, Failure]:
        """Views halted on a poison event, with why."""
        return {
            name: s.failure
            for name, s in self.status().items()
            if s.failure is not None
        }

    # -- rebuild and time travel --

    def rebuild(
        self, name: str, *, progress: Progress | None = None, batch_size: int = 1000
    ) -> RebuildReport:
        """Rebuild view ``name`` from the start into fresh tables and swap it in.

        The live view serves (and keeps following the stream) until the swap.
        """
        return rebuild_view(
            self.app,
            self.store,
            name,
            source=self.source,
            progress=progress,
            batch_size=batch_size,
            live_lock=(
                self.runners[name].processing_lock if name in self.runners else None
            ),
        )

    def rebuild_all(
        self,
        names: Iterable[str] | None = None,
        *,
        progress: Progress | None = None,
        batch_size: int = 1000,
        workers: int = 1,
    ) -> list[RebuildReport]:
        """Rebuild several views (all by default) reading the stream once
        (``workers`` processes: see :func:`~projections.rebuild.rebuild_views`)."""
        chosen = list(names) if names is not None else list(self.names)
        return rebuild_views(
            self.app,
            self.store,
            chosen,
            source=self.source,
            progress=progress,
            batch_size=batch_size,
            workers=workers,
            live_locks={
                name: self.runners[name].processing_lock
                for name in chosen
                if name in self.runners
            },
        )

    @contextmanager
    def as_of(
        self, name: str, *, position: int | None = None, at: datetime | None = None
    ) -> Iterator[SQLView]:
        """View ``name`` as of a stream position or a moment, in a temporary store."""
        with view_as_of(
            self.app, name, position=position, at=at, source=self.source
        ) as view:
            yield view
