"""Group commit: concurrent saves on one stream share one atomic batch.

A JetStream atomic batch costs the server about as much with three messages as
with thirty (a few milliseconds on a file stream), and the server stores one
batch of a stream at a time, so saves of several events, each its own batch,
queue behind each other whatever the number of threads. ``GroupCommit`` lets
them share: the first save to arrive is sent at once, by its own thread (no
added wait when the store is quiet); saves that arrive while a batch is in
flight queue, and when it is acknowledged the next queued save's thread sends
the queued saves as one batch.

- Saves in one batch touch disjoint subjects (JetStream accepts an expectation
  only on the first message of a subject in a batch), and there are at most
  ``limit`` messages; what does not fit waits for the next batch, in order.
- Each save's messages stay together, in order, so each save still occupies
  consecutive stream sequences; the batch's acknowledgement gives the last
  sequence, and each save's last sequence is counted back from it.
- The batch is all or nothing. If the server refuses a batch of several saves
  (one save's expectation was wrong, say), nothing is stored and each save is
  sent again by itself (:class:`SendAlone`), so that each learns its own
  outcome: a conflict fails only the save that lost its race. If the outcome
  is unknown (a timeout, a lost connection), every save gets that error and
  resolves it on its own, as it would have alone: the batch was stored whole
  or not at all.
- A save whose thread stops waiting (KeyboardInterrupt) leaves the queue; if it
  was chosen to send the next batch, the batch goes to the next save in it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence

from eventsourcing.persistence import IntegrityError, OperationalError

from ._client import Headers
from .errors import JetStreamAPIError, PermissionDeniedError

Message = tuple[str, bytes, Headers]


class SendAlone(Exception):
    """The shared batch was refused as a whole: send this save by itself."""


class _Entry:
    """One save waiting to be committed."""

    __slots__ = (
        "done",
        "error",
        "group",
        "last_seq",
        "messages",
        "sending",
        "subjects",
    )

    def __init__(self, messages: Sequence[Message]) -> None:
        self.messages = messages
        self.subjects = {subject for subject, _, _ in messages}
        self.done = threading.Event()
        self.last_seq = 0
        self.error: BaseException | None = None
        # Set (under the lock) when this entry's thread is to send a batch.
        self.group: list[_Entry] | None = None
        self.sending = False

    def outcome(self) -> int:
        if self.error is not None:
            raise self.error
        return self.last_seq


class GroupCommit:
    """Commits the saves of many threads on one stream, several per batch.

    ``send`` stores one atomic batch and returns the stream sequence of its
    last message, raising eventsourcing's errors as the store's bridge does.
    """

    def __init__(self, send: Callable[[list[Message]], int], limit: int) -> None:
        self._send = send
        self._limit = limit
        self._lock = threading.Lock()
        self._queue: deque[_Entry] = deque()
        self._busy = False
        self.batches = 0
        """Batches sent (for benchmarks and tests)."""
        self.shared = 0
        """Saves that were sent in a batch together with other saves."""

    def commit(self, messages: Sequence[Message]) -> int:
        """Store ``messages`` (one save) atomically; the last one's sequence.

        Raises :class:`SendAlone` if a batch shared with other saves was
        refused: nothing of this save is stored, and it should be sent alone.
        """
        entry = _Entry(messages)
        with self._lock:
            if self._busy:
                self._queue.append(entry)
            else:
                self._busy = True
                entry.group = [entry]
        try:
            if entry.group is None:
                entry.done.wait()
            group = entry.group
            if group is not None:
                try:
                    entry.sending = True
                    self._send_group(group)
                finally:
                    self._hand_over()
        except BaseException:
            # Interrupted (KeyboardInterrupt, say) before sending: this save
            # leaves the queue, or the batch it was to send goes to another.
            if not entry.sending:
                self._abandon(entry)
            raise
        return entry.outcome()

    def _send_group(self, group: list[_Entry]) -> None:
        messages = [message for entry in group for message in entry.messages]
        try:
            last = self._send(messages)
        except (IntegrityError, OperationalError, PermissionDeniedError) as error:
            refused = isinstance(
                error, IntegrityError | PermissionDeniedError
            ) or isinstance(error.__cause__, JetStreamAPIError)
            for entry in group:
                # Refused: nothing stored, and whose fault it was is unknown.
                # Otherwise (no acknowledgement): each save finds out itself.
                entry.error = SendAlone() if refused and len(group) > 1 else error
        except BaseException as error:
            interrupted = OperationalError(
                f"the thread sending a shared batch was interrupted ({error!r}) "
                "before its acknowledgement"
            )
            for entry in group[1:]:
                entry.error = interrupted
            raise
        else:
            self.batches += 1
            if len(group) > 1:
                self.shared += len(group)
            for entry in reversed(group):
                entry.last_seq = last
                last -= len(entry.messages)
        finally:
            for entry in group[1:]:
                entry.done.set()

    def _hand_over(self) -> None:
        """Give the queued saves that fit one batch to the first one's thread."""
        with self._lock:
            first = self._next_group()
        if first is not None:
            first.done.set()

    def _next_group(self) -> _Entry | None:
        """(Under the lock.) Take the next batch's saves from the queue and make
        the first one its sender; None, and not busy, when nothing waits."""
        if not self._queue:
            self._busy = False
            return None
        group: list[_Entry] = []
        taken: set[str] = set()
        passed: set[str] = set()
        size = 0
        left: deque[_Entry] = deque()
        for entry in self._queue:
            fits = size + len(entry.messages) <= self._limit
            if fits and not (entry.subjects & taken or entry.subjects & passed):
                group.append(entry)
                taken |= entry.subjects
                size += len(entry.messages)
            else:
                # Later saves of these subjects wait too, to keep their order.
                passed |= entry.subjects
                left.append(entry)
        self._queue = left
        group[0].group = group
        return group[0]

    def _abandon(self, entry: _Entry) -> None:
        """A save whose thread stopped waiting: out of the queue, or, if it was
        to send a batch, that batch handed to the next save in it (or the
        queue's next batch started), so that no other save waits forever."""
        with self._lock:
            if entry in self._queue:
                self._queue.remove(entry)
                return
            group = entry.group
            if group is None:
                return  # in a batch another thread sends
            rest = [other for other in group if other is not entry]
            if rest:
                rest[0].group = rest
                first: _Entry | None = rest[0]
            else:
                first = self._next_group()
        if first is not None:
            first.done.set()


__all__ = ["GroupCommit", "SendAlone"]
