"""Catch-up-then-live subscriptions to an application's notifications.

Reading is always by stream sequence through ``select_notifications``, so a
subscription can neither skip nor repeat a notification, whatever happens to
the connection: it remembers the last id it handed out and asks for what comes
after it. Live updates are signalled by a plain core-NATS subscription to the
stream's event subjects (every stored event is also delivered there); a missed
signal (during a reconnect, say) costs at most ``POLL_INTERVAL`` seconds,
because the subscription also polls. A signal can arrive before JetStream has
stored the message it announces (the messages of an atomic batch are announced
as they are sent, and stored at its commit), so after a signalled pull the
subscription looks again a few times over about 400 ms, until those looks find
nothing new, whether or not that pull found something: a pull that found the
events of earlier saves may have missed the one whose signal woke it. Server
errors (a restart, a lost connection) are retried with back-off until the
subscription is stopped.

A user without permission to subscribe to the event subjects gets no signals
(the server refuses the subscription with an asynchronous error): the
subscription then logs a warning once, says so in ``signals_refused``, and
polls every ``REFUSED_POLL_INTERVAL`` (0.1 s) instead of every second.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import ListenNotifySubscription, OperationalError

if TYPE_CHECKING:
    from .recorders import JetStreamApplicationRecorder

log = logging.getLogger(__name__)


class JetStreamSubscription(ListenNotifySubscription["JetStreamApplicationRecorder"]):
    POLL_INTERVAL = 1.0
    REFUSED_POLL_INTERVAL = 0.1
    """How often to poll when the server refused the signal subscription."""
    MAX_BACKOFF = 2.0
    RECHECK_DELAYS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
    """Re-pulls after a signalled pull (about 400 ms in all when they find
    nothing; each pull that finds something starts them again)."""

    def __init__(
        self,
        recorder: JetStreamApplicationRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        self._signal: Any = None
        self.signals_refused = False
        """Whether the server refused the signal subscription (no permission)."""
        self._bridge = recorder.bridge
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._select_limit = 1000
        try:
            self._signal = self._bridge.call(
                self._bridge.subscribe_signal,
                recorder.scheme.events_filter,
                self._notify,
                self._refused,
                operation="subscribe to new events",
            )
        except OperationalError:
            self._signal = None  # polling still delivers everything

    def _notify(self) -> None:
        # In the loop thread, once per stored event: setting an Event takes its
        # lock even when it is set already. (_pull clears it before it reads,
        # so a signal skipped here is one that read will find.)
        if not self._has_been_notified.is_set():
            self._has_been_notified.set()

    @property
    def poll_interval(self) -> float:
        """Seconds between polls when no signal comes."""
        if self.signals_refused:
            return self.REFUSED_POLL_INTERVAL
        return self.POLL_INTERVAL

    def _refused(self, reason: str) -> None:
        # In the loop thread, when the server refuses the signal subscription
        # (again after each reconnect).
        if not self.signals_refused:
            self.signals_refused = True
            log.warning(
                "new events are not signalled (%s): polling every %s s instead",
                reason,
                self.REFUSED_POLL_INTERVAL,
            )
        self._has_been_notified.set()  # take the shorter interval now

    def stop(self) -> None:
        super().stop()
        signal, self._signal = self._signal, None
        if signal is not None:
            bridge = self._bridge

            def unsubscribe() -> None:
                bridge._loop.create_task(bridge.unsubscribe(signal))

            with contextlib.suppress(Exception):
                bridge.call_soon(unsubscribe)

    def _loop_on_pull(self) -> None:
        backoff = 0.05
        rechecks = 0
        try:
            while not self._has_been_stopped:
                before = self._last_notification_id
                try:
                    self._pull()
                except OperationalError:
                    # Server restarting or connection lost: try again later.
                    self._has_been_notified.wait(backoff)
                    backoff = min(backoff * 2, self.MAX_BACKOFF)
                    continue
                backoff = 0.05
                if self._has_been_stopped:
                    break
                if self._last_notification_id != before:
                    rechecks = 0
                if rechecks < len(self.RECHECK_DELAYS):
                    # The core-NATS signal can arrive before JetStream has
                    # stored the message it announces, and the pull then misses
                    # it (finding nothing, or only earlier saves). Look again
                    # shortly rather than wait for the next signal or the poll;
                    # a new signal starts the looks again.
                    if self._has_been_notified.wait(self.RECHECK_DELAYS[rechecks]):
                        rechecks = 0
                    else:
                        rechecks += 1
                    continue
                if self._has_been_notified.wait(self.poll_interval):
                    rechecks = 0
        except BaseException as e:
            if self._thread_error is None:
                self._thread_error = e
            self.stop()
