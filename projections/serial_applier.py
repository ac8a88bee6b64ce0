"""One thread applying the live batches of every view of a store, in turn.

On SQLite the views of a file take turns on its one write lock, so a thread per
view gains no parallel writing; it costs thread switches instead (each batch a
hand-over of the write lock and of Python's GIL between threads). Applying the
same 20-event batches to the five views in one thread took 0.62-0.94 times the
CPU time of a thread per view in three alternating rounds, the medians 0.78
(``benchmarks/bench_view_batches.py --threads-vs-one``; docs/performance.md
has the live runner's figures). :class:`SerialApplier` is that one thread for a
:class:`~projections.runner.ProjectionsRunner`'s live views on a store whose
writes are serial (:attr:`~projections.stores.ViewStore.serial_writes`).

Each :class:`~projections.runner.ViewRunner` still catches up by itself, in its
own thread, and joins the feed; then it hands its inbox here
(:meth:`SerialApplier.follow`) and waits. The applier takes each inbox in turn
(what it holds, up to the view's batch size) and applies it in one
transaction, under the view runner's processing lock, as the view's own thread
would. A view whose processing lock is held (a rebuild swapping its tables) is
passed over until the lock is free: it holds up no other view. When an inbox
ends (the view stops, or fell too far behind the feed) or applying fails (a
poison event), the view's :meth:`~SerialApplier.follow` returns or raises that
error in the view's own thread, which halts or restarts the view as before.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from projections.live_feed import Inbox
    from projections.runner import ViewRunner

HELD_RETRY_S = 0.005
"""How soon a view passed over for its held processing lock is tried again."""


class _Member:
    """A view following the feed through the applier."""

    def __init__(self, runner: ViewRunner, inbox: Inbox) -> None:
        self.runner = runner
        self.inbox = inbox
        self.done = threading.Event()
        self.error: BaseException | None = None


class SerialApplier:
    """Applies the inboxes of its views in turn, in one thread (started when the
    first view follows, ended by :meth:`stop`)."""

    def __init__(self, name: str = "views-applier") -> None:
        self.name = name
        self._changed = threading.Condition()
        self._members: list[_Member] = []
        self._pending = False
        self._stopped = False
        self._thread: threading.Thread | None = None

    def follow(self, runner: ViewRunner, inbox: Inbox) -> None:
        """Apply ``inbox`` to ``runner``'s view until it ends; raises the error
        applying it met (in the calling thread, the view's own)."""
        member = _Member(runner, inbox)
        with self._changed:
            if self._stopped:
                return
            self._members.append(member)
            self._pending = True
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=self.name, daemon=True
                )
                self._thread.start()
            self._changed.notify_all()
        inbox.listen(self._nudge)
        member.done.wait()
        if member.error is not None:
            raise member.error

    def stop(self) -> None:
        """End the thread. Views still following return from :meth:`follow` as
        if their inbox had ended (a runner stops its views before this)."""
        with self._changed:
            self._stopped = True
            members, self._members = self._members, []
            self._changed.notify_all()
            thread = self._thread
        for member in members:
            member.done.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _nudge(self) -> None:
        # From the feed's thread (an inbox filled or ended) or a stopping view.
        with self._changed:
            self._pending = True
            self._changed.notify_all()

    def _run(self) -> None:
        retry = False
        while True:
            with self._changed:
                while not self._pending and not self._stopped:
                    if not self._changed.wait(HELD_RETRY_S if retry else None):
                        break  # a held view's turn again
                if self._stopped:
                    return
                self._pending = False
                members = list(self._members)
            retry = False
            for member in members:
                outcome = self._serve(member)
                if outcome == "held":
                    retry = True
                elif outcome == "more":
                    self._nudge()

    def _serve(self, member: _Member) -> str:
        """One turn of ``member``: ``"held"`` (its view is held still), ``"more"``
        (its inbox holds more), ``"idle"``, or ``"ended"``."""
        runner = member.runner
        if not runner.processing_lock.acquire(blocking=False):
            return "held"
        try:
            events = member.inbox.take_nowait(runner.batch_size)
            if events is None:
                self._end(member, None)
                return "ended"
            if events:
                runner.view.apply_events(events)
        except BaseException as error:  # the view's thread raises it
            self._end(member, error)
            return "ended"
        finally:
            runner.processing_lock.release()
        # An inbox that ended while holding events (the feed failed before its
        # view followed) is ended here at its next turn: no nudge comes again.
        return "more" if len(member.inbox) or member.inbox.ended else "idle"

    def _end(self, member: _Member, error: BaseException | None) -> None:
        member.error = error
        with self._changed:
            if member in self._members:
                self._members.remove(member)
        member.done.set()
