"""Running views against an application: catch-up, then live.

:class:`ViewRunner` keeps one view up to date: it catches up from the view's
tracked position in batches (one transaction per batch), then follows the
application's subscription (one transaction per event). It extends eventsourcing's
``BaseProjectionRunner`` (``run_forever``, ``is_interrupted``, ``stop``) but takes an
application *instance*, shared by all views, and decodes events itself so that an
undecodable event halts only the view that meets it, with the reason recorded.

:class:`ProjectionsRunner` runs every view of a store against one application:
lag per view, read-your-writes (:meth:`ProjectionsRunner.wait`), status and
failures, restart of a halted view, rebuild and time travel.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal, cast

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, Notification, WaitInterruptedError
from eventsourcing.projection import ApplicationSubscription, BaseProjectionRunner

from projections.catalog import view_names
from projections.errors import PoisonEventError, ViewHaltedError
from projections.failures import Failure
from projections.rebuild import RebuildReport, rebuild_view, rebuild_views
from projections.replay import Progress, decode, head, replay
from projections.sql_view import SQLView
from projections.stores import ViewStore
from projections.time_travel import view_as_of
from projections.views.cost_ledger import CostLedgerReads
from projections.views.credits import CreditsReads
from projections.views.decision_log import DecisionLogReads
from projections.views.progress import ProgressReads
from projections.views.timeline import TimelineReads

NUDGE_INTERVAL = 0.25
"""Seconds between checks that a lagging live view is making progress."""

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


class _TolerantMapper(Mapper[Any]):
    """The application's mapper, but undecodable events come out as stand-ins."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        super().__init__(mapper.transcoder, mapper.compressor, mapper.cipher)
        self._mapper = mapper

    def to_domain_event(self, stored_event: Any) -> Any:
        return decode(self._mapper, cast(Notification, stored_event))


class _Source:
    """What ``ApplicationSubscription`` needs of an application."""

    def __init__(self, app: Application[Any], name: str) -> None:
        self.name = name
        self.recorder = app.recorder
        self.mapper = _TolerantMapper(app.mapper)


class ViewRunner(BaseProjectionRunner[Application[Any]]):
    """Keeps one view up to date with one application (started on construction).

    The base class constructs its own application from a class; this runner is
    given an application instance (shared by every view, and the only way to
    follow an in-memory POPO application), so it sets up its own threads.
    """

    def __init__(
        self,
        *,
        app: Application[Any],
        view: SQLView,
        source: str | None = None,
        batch_size: int = 500,
    ) -> None:
        self.app = app
        self.app_name = source or app.name
        self.view = view
        self.batch_size = batch_size
        self._tracking_recorder = view
        self._is_interrupted = threading.Event()
        self._has_called_stop = False
        self._thread_error: BaseException | None = None
        self._subscription: ApplicationSubscription[Any] | None = None  # type: ignore[assignment]
        self._subscription_lock = threading.Lock()
        self.processing_lock = threading.RLock()
        """Held while applying events; a rebuild holds it to swap tables."""
        self._nudger: threading.Thread | None = None
        self.state: State = "starting"
        self.failure: Failure | None = None
        self.error: BaseException | None = None
        self._processing_thread = threading.Thread(
            target=self._run, name=f"view-{view.view_name}", daemon=True
        )
        self._processing_thread.start()

    def _run(self) -> None:
        try:
            self.state = "catching_up"
            replay(
                self.app,
                _LockedView(self),
                source=self.app_name,
                batch_size=self.batch_size,
                interrupt=self._is_interrupted,
            )
            with self._subscription_lock:
                if self._is_interrupted.is_set():
                    return
                self._subscription = ApplicationSubscription(
                    cast(Application[Any], _Source(self.app, self.app_name)),
                    gt=self.view.position(self.app_name),
                )
            self.state = "live"
            nudger = threading.Thread(
                target=self._nudge_while_running,
                name=f"view-{self.view.view_name}-nudge",
                daemon=True,
            )
            nudger.start()
            self._nudger = nudger
            with self._subscription as subscription:
                for first in subscription:
                    batch = [first]
                    while len(batch) < self.batch_size and _buffered(subscription):
                        batch.append(next(subscription))
                    with self.processing_lock:
                        self.view.apply_events(batch)
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

    def _nudge_while_running(self) -> None:
        """Wake the subscription's pull thread when the view lags without progress.

        eventsourcing's listen/notify subscriptions (POPO, PostgreSQL) register
        their listener after their first pull, so writes in between are noticed
        only at the next write. Nudging (a pull that finds nothing is harmless)
        bounds that latency for a quiet stream.
        """
        subscription = self._subscription
        inner = getattr(subscription, "subscription", None)
        notified = getattr(inner, "_has_been_notified", None)
        if not isinstance(notified, threading.Event):
            return
        notified.set()
        last = -1
        while not self._is_interrupted.wait(NUDGE_INTERVAL):
            try:
                position = self.view.position(self.app_name)
                if position == last and head(self.app) > position:
                    notified.set()
            except Exception:  # best effort: the processing thread reports errors
                continue
            last = position

    def stop(self) -> None:
        """Stop following the application (the view keeps its position)."""
        self._has_called_stop = True
        self._is_interrupted.set()
        with self._subscription_lock:
            if self._subscription is not None:
                self._subscription.stop()

    def join(self, timeout: float | None = None) -> None:
        self._processing_thread.join(timeout)
        if self._nudger is not None:
            self._nudger.join(timeout)

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


def _buffered(subscription: ApplicationSubscription[Any]) -> int:
    """Notifications the subscription already holds (taken without blocking).

    eventsourcing's listen/notify subscriptions pull pages of notifications; the
    live loop applies what is already pulled in one transaction, which keeps a
    burst of writes from becoming one transaction per event per view.
    """
    inner = subscription.subscription
    held = getattr(inner, "_notifications", None)
    index = getattr(inner, "_notifications_index", None)
    if isinstance(held, Sequence) and isinstance(index, int):
        return len(held) - index
    return 0


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

    # -- lifecycle --

    def start(self) -> ProjectionsRunner:
        for name in self.names:
            self.start_view(name)
        return self

    def start_view(self, name: str) -> ViewRunner:
        """(Re)start the runner of view ``name`` (e.g. after fixing a poison cause)."""
        old = self.runners.get(name)
        if old is not None:
            old.close()
        runner = ViewRunner(
            app=self.app,
            view=self.views[name],
            source=self.source,
            batch_size=self.batch_size,
        )
        self.runners[name] = runner
        return runner

    def stop(self) -> None:
        for runner in self.runners.values():
            runner.stop()
        for runner in self.runners.values():
            runner.join()

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
    ) -> list[RebuildReport]:
        """Rebuild several views (all by default) reading the stream once."""
        chosen = list(names) if names is not None else list(self.names)
        return rebuild_views(
            self.app,
            self.store,
            chosen,
            source=self.source,
            progress=progress,
            batch_size=batch_size,
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
