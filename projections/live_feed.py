"""One read of the stream for every live view of a runner.

:class:`LiveFeed` follows an application's notifications with one subscription
(one pull thread), decodes each notification once, makes its
:class:`~projections.records.DecisionRecord` once and hands the batch to the
:class:`Inbox` of every view that has joined it. What an inbox holds is
applied one transaction per take, by the view's own thread or, on a store whose
writes are serial (SQLite), by one thread taking every view's inbox in turn
(:mod:`projections.serial_applier`); either way a view a rebuild holds still
delays no other.

Joining is a hand-over without gaps: :meth:`LiveFeed.join` returns the position
after which the new inbox receives *every* event (the last position the feed
has handed out), and the view brings itself up to that position from its own
tracked one before it takes from the inbox. Events at or before a view's
position are ignored by the view (``SQLView.apply_events``), so a view ahead of
the feed (a rebuild swapped in) simply skips them.

An inbox holds at most ``max_pending`` events. When one is full (a burst: an
import, views restarting on a backlog), the feed waits for its view to take
from it, so every view keeps the one shared read and decode instead of each
reading the stream by itself; the slowest view sets the pace, the others run
at most ``max_pending`` events ahead of it. A view that takes nothing for
``stall_s`` seconds while its inbox is full (held still by a rebuild's swap,
say) is closed as *overflowed*: it leaves, catches up by itself from its
tracked position and joins again, instead of holding up the other views or
the feed holding an unbounded backlog for it.

The feed's subscription runs while at least one view has joined: the first
join starts it from that view's position, the last leave stops it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Subscription, Tracking

from projections.replay import head, records_of

NUDGE_INTERVAL = 0.25
"""Seconds between checks that the feed makes progress while the stream grows."""

STALL_S = 2.0
"""Seconds a view may take nothing from its full inbox before it is overflowed."""

Delivered = tuple[Any, Tracking]
"""A decoded event (its record when one could be made) with its position."""


class Inbox:
    """Decoded events waiting for one view, in stream order."""

    def __init__(self, limit: int, stall_s: float = STALL_S) -> None:
        self.limit = limit
        self.stall_s = stall_s
        self._changed = threading.Condition()
        self._events: deque[Delivered] = deque()
        self._ended = False
        self._taken_at = time.monotonic()
        self.overflowed = False
        """The view fell more than ``limit`` events behind and must catch up."""
        self.error: BaseException | None = None
        """Why the feed ended, if it failed."""
        self._listener: Callable[[], None] | None = None

    def put(self, batch: Sequence[Delivered]) -> bool:
        """Add ``batch``, waiting while the inbox is full and its view takes from
        it (False once the inbox has ended, or overflowed: its view took nothing
        for ``stall_s`` seconds while it was full)."""
        added = self._put(batch)
        self._tell()
        return added

    def _put(self, batch: Sequence[Delivered]) -> bool:
        with self._changed:
            while not self._ended and self._events:
                if len(self._events) + len(batch) <= self.limit:
                    break
                stalled = time.monotonic() - self._taken_at
                if stalled >= self.stall_s:
                    self.overflowed = True
                    self._ended = True
                    self._events.clear()
                    self._changed.notify_all()
                    return False
                self._changed.wait(self.stall_s - stalled)
            if self._ended:
                return False
            self._events.extend(batch)
            self._changed.notify_all()
            return True

    def listen(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (outside the inbox's lock) whenever events are
        added or the inbox ends: a :class:`~projections.serial_applier.SerialApplier`
        taking from it without waiting on it."""
        self._listener = callback
        callback()

    def _tell(self) -> None:
        listener = self._listener
        if listener is not None:
            listener()

    def end(self, error: BaseException | None = None) -> None:
        """No more events will come (the events already held are still taken)."""
        with self._changed:
            if not self._ended:
                self._ended = True
                self.error = error
            self._changed.notify_all()
        self._tell()

    def close(self) -> None:
        """End at once, dropping what is held (the view is stopping)."""
        with self._changed:
            self._ended = True
            self._events.clear()
            self._changed.notify_all()
        self._tell()

    def take(self, limit: int) -> list[Delivered] | None:
        """Up to ``limit`` events, waiting for at least one; ``None`` at the end."""
        with self._changed:
            while not self._events and not self._ended:
                self._changed.wait()
            if not self._events:
                return None
            count = min(limit, len(self._events))
            taken = [self._events.popleft() for _ in range(count)]
            self._taken_at = time.monotonic()
            self._changed.notify_all()  # room for a feed waiting to put
            return taken

    def take_nowait(self, limit: int) -> list[Delivered] | None:
        """Up to ``limit`` events without waiting (perhaps none); ``None`` at
        the end."""
        with self._changed:
            if not self._events:
                return None if self._ended else []
            count = min(limit, len(self._events))
            taken = [self._events.popleft() for _ in range(count)]
            self._taken_at = time.monotonic()
            self._changed.notify_all()  # room for a feed waiting to put
            return taken

    @property
    def ended(self) -> bool:
        """No more events will be added (some may still be held)."""
        return self._ended

    def __len__(self) -> int:
        return len(self._events)


class LiveFeed:
    """Reads ``app``'s new notifications once for every view that joins.

    ``source`` names the stream in the events' tracking (default: the
    application's name). ``batch_size`` caps the events decoded and handed out
    together; ``max_pending`` the events an inbox may hold (default: twenty
    batches, at least 10,000); ``stall_s`` how long a view may take nothing
    from its full inbox before it is overflowed.
    """

    def __init__(
        self,
        app: Application[Any],
        *,
        source: str | None = None,
        batch_size: int = 500,
        max_pending: int | None = None,
        stall_s: float = STALL_S,
    ) -> None:
        self.app = app
        self.source = source or app.name
        self.batch_size = batch_size
        self.max_pending = max_pending or max(20 * batch_size, 10_000)
        self.stall_s = stall_s
        self._lock = threading.Lock()
        self._current: _Run | None = None
        self._runs: list[_Run] = []

    @property
    def position(self) -> int | None:
        """The last position handed to the views (``None`` when not running)."""
        run = self._current
        return None if run is None else run.position

    @property
    def members(self) -> int:
        """How many inboxes the feed fills."""
        run = self._current
        return 0 if run is None else len(run.members)

    def join(self, position: int) -> tuple[Inbox, int]:
        """A new inbox, and the position after which it receives every event.

        ``position`` is the joining view's; the feed starts from there when it
        is not running. A view behind the returned position applies the events
        up to it itself before taking from the inbox.
        """
        with self._lock:
            return self._join_locked(position)

    def _join_locked(self, position: int) -> tuple[Inbox, int]:
        run = self._current
        if run is None:
            self._runs = [r for r in self._runs if r.is_alive()]
            run = self._current = _Run(self, gt=position)
            self._runs.append(run)
        inbox = Inbox(self.max_pending, self.stall_s)
        run.members.add(inbox)
        return inbox, run.position

    def join_together(self, positions: Sequence[int]) -> list[tuple[Inbox, int]]:
        """Inboxes for several views at once, each with the position after which
        it receives every event, as :meth:`join` gives.

        When the feed is not running, it starts from the lowest of
        ``positions`` and every inbox receives everything after it: views
        starting together (on a backlog, say) share one read of it instead of
        each catching up by itself. A view ahead of that position skips what it
        has; one behind it (the feed was running) reads the difference itself.
        """
        start = min(positions)
        with self._lock:
            return [self._join_locked(start) for _ in positions]

    def leave(self, inbox: Inbox) -> None:
        """Stop filling ``inbox``; the last view to leave stops the subscription."""
        with self._lock:
            run = self._current
            if run is None or inbox not in run.members:
                return
            run.members.discard(inbox)
            if not run.members:
                self._current = None
                run.stop()

    def stop(self, timeout: float | None = None) -> None:
        """Stop reading (views still joined see their inbox end) and wait."""
        with self._lock:
            run, self._current = self._current, None
            runs = list(self._runs)
            self._runs = []
        if run is not None:
            run.stop()
            run.end_members(None)
        for each in runs:
            each.join(timeout)

    # -- called by a run's thread --

    def _dispatch(self, run: _Run, batch: list[Delivered]) -> bool:
        with self._lock:
            if self._current is not run:
                return False
            for inbox in list(run.members):
                if not inbox.put(batch):
                    run.members.discard(inbox)
            run.position = batch[-1][1].notification_id
            if not run.members:  # every view fell behind: they rejoin later
                self._current = None
                run.stop()
                return False
            return True

    def _ended(self, run: _Run, error: BaseException | None) -> None:
        with self._lock:
            if self._current is run:
                self._current = None
        run.end_members(error)


class _Run:
    """One subscription of a feed, from its start to its stop, with its threads."""

    def __init__(self, feed: LiveFeed, *, gt: int) -> None:
        self.feed = feed
        self.position = gt
        self.members: set[Inbox] = set()
        self._stopping = threading.Event()
        self.subscription: Subscription[Any] = feed.app.recorder.subscribe(gt=gt)
        name = f"views-feed-{feed.source}"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._nudger = threading.Thread(
            target=self._nudge_while_running, name=f"{name}-nudge", daemon=True
        )
        self._thread.start()
        self._nudger.start()

    def stop(self) -> None:
        self._stopping.set()
        self.subscription.stop()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)
        self._nudger.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive() or self._nudger.is_alive()

    def end_members(self, error: BaseException | None) -> None:
        with self.feed._lock:
            members, self.members = self.members, set()
        for inbox in members:
            inbox.end(error)

    def _run(self) -> None:
        feed = self.feed
        mapper = feed.app.mapper
        source = feed.source
        limit = feed.batch_size
        error: BaseException | None = None
        try:
            with self.subscription as subscription:
                for first in subscription:
                    notifications = [first]
                    while len(notifications) < limit and buffered(subscription):
                        more = next(subscription, None)
                        if more is None:
                            break
                        notifications.append(more)
                    batch = records_of(mapper, notifications, source)
                    if not feed._dispatch(self, batch):
                        break
        except BaseException as caught:
            error = caught
        finally:
            self._stopping.set()
            feed._ended(self, error)

    def _nudge_while_running(self) -> None:
        """Wake the subscription's pull thread when the stream grows unread.

        eventsourcing's listen/notify subscriptions (POPO, PostgreSQL) register
        their listener after their first pull, so writes in between are noticed
        only at the next write. Nudging (a pull that finds nothing is harmless)
        bounds that latency for a quiet stream.
        """
        notified = getattr(self.subscription, "_has_been_notified", None)
        if not isinstance(notified, threading.Event):
            return
        notified.set()
        last = -1
        while not self._stopping.wait(NUDGE_INTERVAL):
            position = self.position
            try:
                if position == last and head(self.feed.app) > position:
                    notified.set()
            except Exception:  # best effort: the feed's thread reports errors
                continue
            last = position


def buffered(subscription: Subscription[Any]) -> int:
    """Notifications the subscription already holds (taken without blocking).

    eventsourcing's listen/notify subscriptions pull pages of notifications into
    a queue; the feed hands on what is already pulled together, which keeps a
    burst of writes from becoming one transaction per event per view.
    """
    held = getattr(subscription, "_notifications", None)
    index = getattr(subscription, "_notifications_index", None)
    if not isinstance(held, Sequence) or not isinstance(index, int):
        return 0
    remaining = len(held) - index
    if remaining > 0:
        return remaining
    pages = getattr(subscription, "_notifications_queue", None)
    qsize = getattr(pages, "qsize", None)
    return 1 if callable(qsize) and qsize() > 0 else 0
