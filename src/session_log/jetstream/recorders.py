"""eventsourcing recorders on NATS JetStream.

Write path (``insert_events``): every event becomes one message on its
aggregate's subject (:mod:`.subjects`) with headers ``SL-Topic`` (event topic),
``SL-Version`` (originator version) and ``Nats-Msg-Id``. The first message of
each aggregate carries ``Nats-Expected-Last-Subject-Sequence``: the stream
sequence of the aggregate's last stored event, or 0 for a new aggregate, so the
server refuses a save that lost a race (err_code 10071 -> ``IntegrityError``).
One event is a plain publish; several events, of one or several aggregates,
are one atomic batch (stored whole or not at all); saves made at the same time
by several threads share batches (:mod:`.group_commit`). Notification ids are
stream sequences; a save occupies consecutive sequences.

The recorder remembers, per aggregate, the version and sequence of the last
event it saw (an LRU "tip" cache, filled by saves and reads). A save with no
tip expects a new aggregate; if the server says otherwise, the recorder asks
for the real tip: a stored version >= the first new version is a conflict
(``IntegrityError``), anything else is retried with the right expectation.

A write whose acknowledgement is lost (timeout, reconnect) is resolved, not
guessed: the recorder reads the aggregate's last message back; if it carries
this save's ``Nats-Msg-Id`` the save is reported as stored, otherwise the save
is sent again (the expectation makes a double store impossible). If the server
cannot be asked, ``OutcomeUnknownError`` says so.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    IntegrityError,
    Notification,
    OperationalError,
    PersistenceError,
    ProcessRecorder,
    StoredEvent,
    Subscription,
    Tracking,
    TrackingRecorder,
)

from . import chain
from ._client import (
    BATCH_HEADER_BYTES,
    Headers,
    NATSBridge,
    RawMessage,
    message_from_api,
    message_size,
)
from .errors import (
    NO_MESSAGE,
    STREAM_NOT_FOUND,
    EventTooLargeError,
    InvalidOriginatorIdError,
    JetStreamAPIError,
    NotSentError,
    OutcomeUnknownError,
    translate,
)
from .group_commit import GroupCommit, SendAlone
from .stream_config import StreamSpec
from .subjects import SubjectScheme

GENESIS = chain.GENESIS

HEADER_TOPIC = "SL-Topic"
HEADER_VERSION = "SL-Version"
HEADER_TRACKING_ID = "SL-Notification-Id"
HEADER_MSG_ID = "Nats-Msg-Id"
HEADER_EXPECTED = "Nats-Expected-Last-Subject-Sequence"

MAX_ATTEMPTS = 5
# Pause before reading again from a replica found behind this process's writes.
STALE_RETRY_S = 0.02
# Least time spent finding out whether an unacknowledged save was stored.
RESOLVE_MIN_S = 6.0
# Back-off between attempts after an OperationalError: 0.25 s, 0.5 s, 1 s, 2 s.
RETRY_BACKOFF_S = 0.25
RETRY_BACKOFF_MAX_S = 2.0
READ_BATCH = 1000

MAX_BATCH = 1000  # JetStream refuses atomic batches of more than 1,000 messages
TIP_CACHE_SIZE = 50_000
SCAN_BEFORE_SEARCH = 64
READER_IDLE_NS = 30 * 1_000_000_000
"""A bulk reader's consumer is removed by the server after 30 s unused (if the
reader could not remove it itself)."""


class Tip:
    """The last stored message of one subject."""

    __slots__ = ("hash", "msg_id", "seq", "version")

    def __init__(
        self, version: int, seq: int, msg_id: str = "", hash: bytes = GENESIS
    ) -> None:
        self.version = version
        self.seq = seq
        self.msg_id = msg_id
        self.hash = hash

    @classmethod
    def of(cls, msg: RawMessage) -> Tip:
        headers = msg.headers
        return cls(
            int(headers.get(HEADER_VERSION, "0")),
            msg.seq,
            headers.get(HEADER_MSG_ID, ""),
            chain.parse(headers.get(chain.HEADER_HASH)),
        )


class JetStreamStream:
    """One stream: its spec, subject scheme, and a cache of aggregate tips."""

    def __init__(
        self,
        bridge: NATSBridge,
        spec: StreamSpec,
        scheme: SubjectScheme,
        *,
        group_commit: bool = True,
    ) -> None:
        self.bridge = bridge
        self.spec = spec
        self.scheme = scheme
        # Concurrent saves of several events share atomic batches (see
        # .group_commit); None sends every save as its own batch.
        self.group: GroupCommit | None = (
            GroupCommit(self.send_batch, MAX_BATCH) if group_commit else None
        )
        self._tips: OrderedDict[str, Tip] = OrderedDict()
        self._tips_lock = threading.Lock()
        # Subjects written by a save whose outcome is unknown: their tip is
        # asked of the stream leader before they are read again.
        self.unsure: set[str] = set()

    # ------------------------------------------------------------- set-up
    def ensure(self, create: bool) -> None:
        """Create the stream if missing (when ``create``), else verify it."""
        bridge = self.bridge
        name = self.spec.name
        try:
            info = bridge.call(
                bridge.api, f"STREAM.INFO.{name}", None, operation=f"stream info {name}"
            )
        except OperationalError as e:
            cause = e.__cause__
            if not (
                isinstance(cause, JetStreamAPIError)
                and cause.err_code == STREAM_NOT_FOUND
            ):
                raise
            if not create:
                msg = (
                    f"stream {name!r} does not exist on {bridge.server} and "
                    "CREATE_TABLE is off: create it (see docs/event-store.md) or "
                    "set CREATE_TABLE=true"
                )
                raise OperationalError(msg) from None
            bridge.call(
                bridge.api,
                f"STREAM.CREATE.{name}",
                self.spec.create_config(),
                operation=f"create stream {name}",
            )
            return
        self.spec.check(info.get("config", {}))

    # -------------------------------------------------------------- write
    def send_batch(self, messages: list[tuple[str, bytes, Headers]]) -> int:
        """Store ``messages`` as one atomic batch; the last one's sequence."""
        bridge = self.bridge
        ack = bridge.call(
            bridge.publish_batch,
            messages,
            uuid4().hex,
            operation=f"atomic batch of {len(messages)} to {self.spec.name}",
        )
        return ack.seq

    # --------------------------------------------------------------- tips
    def tip(self, subject: str) -> Tip | None:
        with self._tips_lock:
            tip = self._tips.get(subject)
            if tip is not None:
                self._tips.move_to_end(subject)
            return tip

    def leader_last(self, subject: str) -> RawMessage | None:
        """The last message of ``subject`` as the stream leader has it.

        Direct gets may be answered by any replica, and a follower may be
        behind; the message-get API is answered by the leader only. (The
        ``min_last_seq`` of direct gets announced for nats-server 2.12 is not
        in the servers this was tested on: 2.15.1 ignores it.)
        """
        bridge = self.bridge
        try:
            reply = bridge.call(
                bridge.api,
                f"STREAM.MSG.GET.{self.spec.name}",
                {"last_by_subj": subject},
                operation=f"read last message of {subject} (leader)",
            )
        except OperationalError as e:
            cause = e.__cause__
            if isinstance(cause, JetStreamAPIError) and cause.err_code == NO_MESSAGE:
                return None
            raise
        return message_from_api(reply.get("message") or {})

    def fresh(self, subject: str, last_seq: int) -> bool:
        """Whether a read that reached ``last_seq`` includes everything this
        process knows ``subject`` holds (its writes, its earlier reads)."""
        known = self.tip(subject)
        return known is None or last_seq >= known.seq

    def remember(self, subject: str, tip: Tip) -> None:
        with self._tips_lock:
            old = self._tips.get(subject)
            if old is not None and old.seq > tip.seq:
                return
            self._tips[subject] = tip
            self._tips.move_to_end(subject)
            if len(self._tips) > TIP_CACHE_SIZE:
                self._tips.popitem(last=False)

    def forget(self, subject: str) -> None:
        with self._tips_lock:
            self._tips.pop(subject, None)

    # -------------------------------------------------------------- reads
    def last(self, subject: str) -> RawMessage | None:
        bridge = self.bridge
        return bridge.call(
            bridge.direct_get,
            self.spec.name,
            {"last_by_subj": subject},
            operation=f"read last message of {subject}",
        )

    def next_from(self, subject: str, seq: int) -> RawMessage | None:
        bridge = self.bridge
        return bridge.call(
            bridge.direct_get,
            self.spec.name,
            {"seq": seq, "next_by_subj": subject},
            operation=f"read {subject} from {seq}",
        )

    def batch(self, subject: str, seq: int, count: int) -> tuple[list[RawMessage], int]:
        bridge = self.bridge
        return bridge.call(
            bridge.direct_get_batch,
            self.spec.name,
            {"seq": seq, "batch": count, "next_by_subj": subject},
            operation=f"read {subject} from {seq}",
        )

    def fetch_tip(self, subject: str) -> Tip | None:
        """Ask the stream leader for a subject's last message, and remember it."""
        msg = self.leader_last(subject)
        self.unsure.discard(subject)
        if msg is None:
            self.forget(subject)
            return None
        tip = Tip.of(msg)
        self.remember(subject, tip)
        return tip


class _Save:
    """One call of insert_events, prepared for (re)sending."""

    def __init__(self, scheme: SubjectScheme, stored_events: Sequence[StoredEvent]):
        self.save_id = uuid4().hex
        self.events = stored_events
        self.subjects: list[str] = []
        self.hashes: list[bytes] = []
        self.first_version: dict[str, int] = {}
        self.last_index: dict[str, int] = {}
        last_version: dict[str, int] = {}
        for index, event in enumerate(stored_events):
            subject = scheme.subject(event.originator_id)
            version = event.originator_version
            if not isinstance(version, int) or isinstance(version, bool):
                msg = f"originator version {version!r} is not an int"
                raise InvalidOriginatorIdError(msg)
            if "\r" in event.topic or "\n" in event.topic or not event.topic:
                msg = f"topic {event.topic!r} cannot be sent as a header"
                raise InvalidOriginatorIdError(msg)
            previous = last_version.get(subject)
            if previous is None:
                self.first_version[subject] = version
            elif version <= previous:
                msg = (
                    f"versions of {event.originator_id!r} in one save must increase:"
                    f" {version} after {previous}"
                )
                raise IntegrityError(msg)
            last_version[subject] = version
            self.last_index[subject] = index
            self.subjects.append(subject)

    def msg_id(self, index: int) -> str:
        return f"{self.save_id}-{index}"

    def messages(
        self, expected: dict[str, Tip | None]
    ) -> list[tuple[str, bytes, Headers]]:
        """The messages of this save, chained onto the ``expected`` tips."""
        out: list[tuple[str, bytes, Headers]] = []
        heads: dict[str, bytes] = {}
        self.hashes = []
        for index, (subject, event) in enumerate(
            zip(self.subjects, self.events, strict=True)
        ):
            version = event.originator_version
            headers: Headers = {
                HEADER_TOPIC: event.topic,
                HEADER_VERSION: str(version),
                HEADER_MSG_ID: self.msg_id(index),
            }
            prev = heads.get(subject)
            if prev is None:
                tip = expected[subject]
                headers[HEADER_EXPECTED] = "0" if tip is None else str(tip.seq)
                prev = chain.GENESIS if tip is None else tip.hash
            digest = chain.link(prev, subject, version, event.topic, event.state)
            heads[subject] = digest
            self.hashes.append(digest)
            headers[chain.HEADER_HASH] = digest.hex()
            out.append((subject, event.state, headers))
        return out


class JetStreamAggregateRecorder(AggregateRecorder):
    """Stores and reads aggregate events (or snapshots) on a JetStream stream."""

    def __init__(
        self,
        stream: JetStreamStream,
        *,
        create_stream: bool = True,
    ) -> None:
        self.stream = stream
        self.bridge = stream.bridge
        self.scheme = stream.scheme
        stream.ensure(create_stream)

    # --------------------------------------------------------------- write
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        self._insert(stored_events, kwargs.get("tracking"))
        return None

    def _insert(
        self, stored_events: Sequence[StoredEvent], tracking: Tracking | None
    ) -> list[int]:
        if not stored_events and tracking is None:
            return []
        save = _Save(self.scheme, stored_events)
        extra = 1 if tracking is not None else 0
        if len(stored_events) + extra > MAX_BATCH:
            msg = (
                f"a save of {len(stored_events)} events is over JetStream's atomic "
                f"batch limit of {MAX_BATCH} messages"
            )
            raise OperationalError(msg)
        refresh = False
        # A send whose acknowledgement did not come back may still be applied
        # by the server later (JetStream de-duplicates our retries by Msg-Id).
        # Once that has happened, giving up must say "outcome unknown".
        unknown: OperationalError | None = None
        started = time.monotonic()
        for attempt in range(MAX_ATTEMPTS):
            expected = self._expectations(save, refresh)
            messages = save.messages(expected)
            if tracking is not None:
                messages.append(self._tracking_message(tracking, save))
            self._check_sizes(save, messages)
            try:
                last_seq = self._send(messages, save)
            except IntegrityError:
                refresh = True
                done = self._already_stored(save, len(messages))
                if done is not None:
                    return done[: len(stored_events)]
                continue
            except NotSentError as e:
                if unknown is not None:
                    raise self._outcome_unknown(save, unknown, e) from e
                raise
            except OperationalError as e:
                unknown = e
                done = self._resolve_unknown(save, len(messages), e)
                if done is not None:
                    return done[: len(stored_events)]
                refresh = True
                spent = time.monotonic() - started
                if spent >= self.bridge.timeout or attempt + 1 == MAX_ATTEMPTS:
                    raise self._outcome_unknown(save, e, None) from e
                time.sleep(min(RETRY_BACKOFF_S * 2**attempt, RETRY_BACKOFF_MAX_S))
                continue
            seqs = list(range(last_seq - len(messages) + 1, last_seq + 1))
            for subject, index in save.last_index.items():
                version = stored_events[index].originator_version
                self.stream.remember(
                    subject,
                    Tip(version, seqs[index], save.msg_id(index), save.hashes[index]),
                )
            return seqs[: len(stored_events)]
        if unknown is not None:
            raise self._outcome_unknown(save, unknown, None)
        msg = (
            f"save abandoned after {MAX_ATTEMPTS} attempts: the aggregates keep moving"
        )
        raise IntegrityError(msg)

    def _check_sizes(
        self, save: _Save, messages: list[tuple[str, bytes, Headers]]
    ) -> None:
        """Refuse the save, before anything is sent, if one of its messages is
        larger than the server takes (its headers and the batch's included)."""
        limit = self.bridge.max_payload
        if limit is None:
            return
        for index, (_subject, payload, headers) in enumerate(messages):
            size = message_size(payload, headers) + BATCH_HEADER_BYTES
            if size <= limit:
                continue
            if index < len(save.events):
                event = save.events[index]
                what = (
                    f"event {index + 1} of {len(save.events)} "
                    f"({event.originator_id!r} version {event.originator_version}, "
                    f"{event.topic})"
                )
            else:
                what = "the tracking record"
            msg = (
                f"{what} is {size:,} bytes as a NATS message ({len(payload):,} "
                f"bytes of state, the rest headers); the server at "
                f"{self.bridge.server} takes at most {limit:,} (its max_payload): "
                f"nothing of the save was sent"
            )
            raise EventTooLargeError(msg)

    def _outcome_unknown(
        self, save: _Save, error: OperationalError, last: OperationalError | None
    ) -> OutcomeUnknownError:
        self.stream.unsure.update(save.first_version)
        then = f"; then {last}" if last is not None else ""
        msg = (
            f"{error}{then}; the save (id {save.save_id}) was not acknowledged and "
            f"may or may not be stored: read before deciding to retry, or retry "
            f"the same command (a retry of a stored save is refused, not doubled)"
        )
        return OutcomeUnknownError(msg)

    def _expectations(self, save: _Save, refresh: bool) -> dict[str, Tip | None]:
        expected: dict[str, Tip | None] = {}
        for subject, first in save.first_version.items():
            tip = (
                self.stream.fetch_tip(subject) if refresh else self.stream.tip(subject)
            )
            if tip is None:
                expected[subject] = None
                continue
            if tip.version >= first:
                oid = self.scheme.originator_id(subject)
                msg = (
                    f"conflict: {oid!r} already has version {tip.version} "
                    f"(stream sequence {tip.seq}); cannot store version {first}"
                )
                raise IntegrityError(msg)
            expected[subject] = tip
        return expected

    def _send(self, messages: list[tuple[str, bytes, Headers]], save: _Save) -> int:
        """Store one save's messages; the stream sequence of the last one.

        A retried message the server already holds is acknowledged as a
        duplicate with its sequence: it is this save's own.
        """
        bridge = self.bridge
        if len(messages) == 1:
            subject, payload, headers = messages[0]
            ack = bridge.call(
                bridge.publish,
                subject,
                payload,
                headers,
                operation=f"publish to {subject}",
            )
            return ack.seq
        group = self.stream.group
        if group is not None:
            try:
                return group.commit(messages)
            except SendAlone:
                pass
        return self.stream.send_batch(messages)

    def _already_stored(self, save: _Save, count: int) -> list[int] | None:
        """If this save is already stored (a lost ack), its sequences."""
        last_subject = save.subjects[-1] if save.subjects else None
        if last_subject is None:
            return None
        # Any replica's "yes, it is there" is reliable (replicas apply only
        # what the stream has committed), and one may answer while the stream
        # elects a new leader; only "no" must come from the leader.
        try:
            found = self.stream.last(last_subject)
        except OperationalError:  # e.g. the request went to a node just killed
            found = None
        tip = Tip.of(found) if found is not None else None
        if tip is None or not tip.msg_id.startswith(save.save_id):
            tip = self.stream.fetch_tip(last_subject)
        else:
            self.stream.remember(last_subject, tip)
        if tip is None or not tip.msg_id.startswith(save.save_id):
            return None
        index = int(tip.msg_id.rsplit("-", 1)[1])
        if index != len(save.subjects) - 1:
            return None
        extra = count - len(save.subjects)
        first = tip.seq - len(save.subjects) + 1
        return list(range(first, first + len(save.subjects) + extra))

    def _resolve_unknown(
        self, save: _Save, count: int, error: OperationalError
    ) -> list[int] | None:
        # Long enough for a stream to elect a new leader (a few seconds) and
        # for more than one read to be tried.
        deadline = time.monotonic() + max(2 * self.bridge.timeout, RESOLVE_MIN_S)
        while True:
            try:
                return self._already_stored(save, count)
            except OperationalError:
                if time.monotonic() > deadline:
                    msg = (
                        f"{error}; and the outcome could not be checked: the save "
                        f"(id {save.save_id}) may or may not be stored"
                    )
                    raise OutcomeUnknownError(msg) from error
                time.sleep(0.1)

    def _tracking_message(
        self, tracking: Tracking, save: _Save
    ) -> tuple[str, bytes, Headers]:
        raise NotImplementedError  # pragma: no cover - process recorder only

    # ---------------------------------------------------------------- read
    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        subject = self.scheme.subject(originator_id)
        if limit is not None and limit <= 0:
            return []
        if subject in self.stream.unsure:
            self.stream.fetch_tip(subject)
        if desc and lte is None and limit == 1:
            tip_msg = self._fresh_last(subject)
            if tip_msg is None:
                return []
            event = _stored(originator_id, tip_msg)
            self.stream.remember(subject, Tip.of(tip_msg))
            if gt is not None and event.originator_version <= gt:
                return []
            return [event]
        if desc and limit is not None:
            return self._select_last(originator_id, subject, gt, lte, limit)
        start = 1 if gt is None else self._seq_after(subject, gt)
        if start is None:
            return []
        events = self._scan(
            originator_id, subject, start, gt, lte, None if desc else limit
        )
        if desc:
            events.reverse()
        return events

    def _fresh_last(self, subject: str) -> RawMessage | None:
        """The subject's last message, from a replica that is not behind what
        this process knows of the subject (else from the leader)."""
        msg = self.stream.last(subject)
        if not self.stream.fresh(subject, 0 if msg is None else msg.seq):
            msg = self.stream.leader_last(subject)
        return msg

    def _fresh_tip(self, subject: str) -> Tip | None:
        msg = self._fresh_last(subject)
        if msg is None:
            return None
        tip = Tip.of(msg)
        self.stream.remember(subject, tip)
        return tip

    def _select_last(
        self,
        originator_id: UUID | str,
        subject: str,
        gt: int | None,
        lte: int | None,
        limit: int,
    ) -> list[StoredEvent]:
        """The last ``limit`` events with gt < version <= lte, newest first."""
        tip = self._fresh_tip(subject)
        if tip is None:
            return []
        upper = tip.version if lte is None else min(lte, tip.version)
        floor = gt if gt is not None else -1
        after = max(upper - limit, floor)
        while True:
            start = self._seq_after(subject, after)
            events = (
                []
                if start is None
                else self._scan(originator_id, subject, start, after, lte, None)
            )
            if len(events) >= limit or after <= floor:
                break
            after = max(floor, after - max(limit, 2 * (upper - after)))
        events.reverse()
        return events[:limit]

    def _seq_after(self, subject: str, version: int) -> int | None:
        """A stream sequence at or before the first event with a version above
        ``version`` (binary search over the subject), or None if there is none.
        """
        cached = self.stream.tip(subject)
        if cached is not None and cached.version <= version:
            # Everything up to the cached tip has a version <= ``version``.
            return cached.seq + 1
        first = self.stream.next_from(subject, 1)
        if first is None:
            return None
        first_version = int(first.headers.get(HEADER_VERSION, "0"))
        if first_version > version or version - first_version < SCAN_BEFORE_SEARCH:
            return first.seq
        tip = self._fresh_tip(subject)
        if tip is None or tip.version <= version:
            return None
        lo, hi = first.seq, tip.seq  # hi holds a version > version
        while lo < hi:
            mid = (lo + hi) // 2
            msg = self.stream.next_from(subject, mid)
            if msg is None:  # pragma: no cover - history is never deleted
                return lo
            if int(msg.headers.get(HEADER_VERSION, "0")) > version:
                hi = mid
            else:
                lo = msg.seq + 1
        return hi

    def _scan(
        self,
        originator_id: UUID | str,
        subject: str,
        start: int,
        gt: int | None,
        lte: int | None,
        limit: int | None,
    ) -> list[StoredEvent]:
        events: list[StoredEvent] = []
        seq = start
        deadline: float | None = None
        while True:
            want = READ_BATCH if limit is None else min(READ_BATCH, limit - len(events))
            messages, left = self.stream.batch(subject, seq, want)
            if (not messages or left == 0) and limit is None and lte is None:
                reached = messages[-1].seq if messages else seq - 1
                if not self.stream.fresh(subject, reached):
                    # Answered by a replica that is behind this process's own
                    # writes or reads: ask again (another replica, or this one
                    # caught up) rather than return a stale history.
                    deadline = deadline or time.monotonic() + self.bridge.timeout
                    if time.monotonic() > deadline:
                        known = self.stream.tip(subject)
                        text = (
                            f"read {subject}: the replicas that answered are "
                            f"behind stream sequence {known and known.seq}"
                        )
                        raise OperationalError(text)
                    time.sleep(STALE_RETRY_S)
                    continue
            for msg in messages:
                event = _stored(originator_id, msg)
                version = event.originator_version
                if gt is not None and version <= gt:
                    continue
                if lte is not None and version > lte:
                    return events
                events.append(event)
                if limit is not None and len(events) >= limit:
                    return events
            if not messages or left == 0:
                if messages and lte is None and gt is None and limit is None:
                    self.stream.remember(subject, Tip.of(messages[-1]))
                return events
            seq = messages[-1].seq + 1


def _stored(originator_id: UUID | str, msg: RawMessage) -> StoredEvent:
    headers = msg.headers
    return StoredEvent(
        originator_id=originator_id,
        originator_version=int(headers[HEADER_VERSION]),
        topic=headers[HEADER_TOPIC],
        state=msg.data,
    )


SELECTED_SUBJECTS = 100_000
"""Subjects whose fate a selective ``read_notifications`` remembers (its
``select`` is asked once per aggregate, not once per event)."""


class NotificationPage(list[Notification]):
    """A page of :meth:`JetStreamApplicationRecorder.read_notifications`: its
    notifications, with ``read`` (how many the read went through, skipped ones
    included) and ``read_up_to`` (the position it reached)."""

    read: int = 0
    read_up_to: int = 0


class JetStreamApplicationRecorder(JetStreamAggregateRecorder, ApplicationRecorder):
    """Aggregate events plus the application sequence (= stream sequence)."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return self._insert(stored_events, None)

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        first = 1 if start is None else (start if inclusive_of_start else start + 1)
        first = max(first, 1)
        if limit <= 0 or (stop is not None and stop < first):
            return []
        wanted = set(topics)
        originator_id = self.scheme.originator_id
        notifications: list[Notification] = []
        seq = first
        while True:
            want = limit - len(notifications)
            if stop is not None:
                want = min(want, stop - seq + 1)
            if wanted:
                want = READ_BATCH
            want = max(1, min(want, READ_BATCH * 4))
            messages, left = self.stream.batch(self.scheme.events_filter, seq, want)
            for msg in messages:
                if stop is not None and msg.seq > stop:
                    return notifications
                headers = msg.headers
                topic = headers[HEADER_TOPIC]
                if wanted and topic not in wanted:
                    continue
                notifications.append(
                    Notification(
                        id=msg.seq,
                        originator_id=originator_id(msg.subject),
                        originator_version=int(headers[HEADER_VERSION]),
                        topic=topic,
                        state=msg.data,
                    )
                )
                if len(notifications) >= limit:
                    return notifications
            if not messages or left == 0:
                return notifications
            seq = messages[-1].seq + 1

    def read_notifications(
        self,
        start: int = 1,
        stop: int | None = None,
        page: int = READ_BATCH * 4,
        select: Callable[[UUID | str], bool] | None = None,
    ) -> Iterator[NotificationPage]:
        """Every notification from ``start`` (up to ``stop``), in stream order, in
        pages, for reading a long stretch of the stream (a rebuild).

        Reads through an ephemeral pull consumer (in memory, no acks, removed at
        the end or after 30 s unused), which costs the server about a quarter of
        what batched direct gets cost per message. Like
        :meth:`select_notifications`, it gives what the server that answers
        holds: a replica that is behind ends the read early, never out of order.

        With ``select``, only the notifications of the aggregates it accepts
        (called with the originator id) are made; the others are skipped as
        they arrive, before their headers are parsed, and a page may then hold
        none. Each page's ``read_up_to`` is the position the read has reached,
        skipped notifications included, and ``read`` how many it read.
        """
        first = max(start, 1)
        if stop is not None and stop < first:
            return
        bridge = self.bridge
        name = self.stream.spec.name
        created = bridge.call(
            bridge.api,
            f"CONSUMER.CREATE.{name}",
            {
                "stream_name": name,
                "config": {
                    "deliver_policy": "by_start_sequence",
                    "opt_start_seq": first,
                    "ack_policy": "none",
                    "replay_policy": "instant",
                    "filter_subject": self.scheme.events_filter,
                    "mem_storage": True,
                    "num_replicas": 1,
                    "inactive_threshold": READER_IDLE_NS,
                },
            },
            operation=f"open a reader of {name} from {first}",
        )
        consumer = str(created["name"])
        originator_id = self.scheme.originator_id
        keep: Callable[[bytes], bool] | None = None
        if select is not None:
            chosen = select
            known: dict[bytes, bool] = {}  # an aggregate's events share a subject

            def keep(subject: bytes) -> bool:
                kept = known.get(subject)
                if kept is None:
                    if len(known) >= SELECTED_SUBJECTS:
                        known.clear()
                    kept = known[subject] = chosen(originator_id(subject.decode()))
                return kept

        try:
            while True:
                pulled = bridge.call(
                    bridge.pull_page,
                    name,
                    consumer,
                    page,
                    keep,
                    operation=f"read {name} with {consumer}",
                )
                past_stop = stop is not None and pulled.last > stop
                notifications = NotificationPage(
                    Notification(
                        id=msg.seq,
                        originator_id=originator_id(msg.subject),
                        originator_version=int(msg.headers[HEADER_VERSION]),
                        topic=msg.headers[HEADER_TOPIC],
                        state=msg.data,
                    )
                    for msg in pulled.messages
                    if stop is None or msg.seq <= stop
                )
                notifications.read = pulled.delivered
                notifications.read_up_to = (
                    min(pulled.last, stop) if stop is not None else pulled.last
                )
                if notifications or (keep is not None and pulled.delivered):
                    yield notifications
                if pulled.drained or past_stop:
                    return
        finally:
            with contextlib.suppress(PersistenceError):
                bridge.call(
                    bridge.api,
                    f"CONSUMER.DELETE.{name}.{consumer}",
                    operation=f"remove reader {consumer}",
                )

    def max_notification_id(self) -> int | None:
        # Asked of the leader: a follower that is behind would give a head
        # below this process's own writes (and break read-your-writes waits).
        msg = self.stream.leader_last(self.scheme.events_filter)
        return None if msg is None else msg.seq

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        from .subscription import JetStreamSubscription

        return JetStreamSubscription(self, gt=gt, topics=topics)


class JetStreamTrackingRecorder(TrackingRecorder):
    """Tracking records on a stream's ``<prefix>_tracking.<application>`` subjects.

    ``insert_tracking`` refuses (``IntegrityError``) a notification id at or
    below the application's last recorded one; the server enforces it under
    concurrency with the expected-last-subject-sequence header.
    """

    def __init__(self, stream: JetStreamStream, *, create_stream: bool = True) -> None:
        self.stream = stream
        self.bridge = stream.bridge
        self.scheme = stream.scheme
        stream.ensure(create_stream)

    def _tracking_tip(self, application_name: str) -> tuple[int, int] | None:
        msg = self.stream.leader_last(self.scheme.tracking_subject(application_name))
        if msg is None:
            return None
        return int(msg.headers[HEADER_TRACKING_ID]), msg.seq

    def _tracking_headers(self, tracking: Tracking) -> tuple[str, Headers]:
        tip = self._tracking_tip(tracking.application_name)
        if tip is not None and tip[0] >= tracking.notification_id:
            msg = (
                f"tracking {tracking.application_name!r} is at {tip[0]}; cannot "
                f"record {tracking.notification_id}"
            )
            raise IntegrityError(msg)
        headers: Headers = {
            HEADER_TRACKING_ID: str(tracking.notification_id),
            HEADER_EXPECTED: str(0 if tip is None else tip[1]),
        }
        return self.scheme.tracking_subject(tracking.application_name), headers

    def insert_tracking(self, tracking: Tracking) -> None:
        subject, headers = self._tracking_headers(tracking)
        bridge = self.bridge
        try:
            bridge.call(
                bridge.publish,
                subject,
                tracking.application_name.encode(),
                headers,
                operation=f"record tracking on {subject}",
            )
        except IntegrityError:
            tip = self._tracking_tip(tracking.application_name)
            if tip is None or tip[0] != tracking.notification_id:
                raise
            # Our own earlier attempt landed; nothing more to do.

    def max_tracking_id(self, application_name: str) -> int | None:
        tip = self._tracking_tip(application_name)
        return None if tip is None else tip[0]


class JetStreamProcessRecorder(
    JetStreamApplicationRecorder, JetStreamTrackingRecorder, ProcessRecorder
):
    """Events and the tracking record of what caused them, in one atomic batch.

    The tracking record is a message on the same stream (subject
    ``<prefix>_tracking.<application>``), so notification ids of a process
    application's stream increase but skip the tracking messages.
    """

    def __init__(self, stream: JetStreamStream, *, create_stream: bool = True) -> None:
        JetStreamAggregateRecorder.__init__(self, stream, create_stream=create_stream)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return self._insert(stored_events, kwargs.get("tracking"))

    def _tracking_message(
        self, tracking: Tracking, save: _Save
    ) -> tuple[str, bytes, Headers]:
        subject, headers = self._tracking_headers(tracking)
        headers[HEADER_MSG_ID] = f"{save.save_id}-t"
        return subject, tracking.application_name.encode(), headers


__all__ = [
    "JetStreamAggregateRecorder",
    "JetStreamApplicationRecorder",
    "JetStreamProcessRecorder",
    "JetStreamStream",
    "JetStreamTrackingRecorder",
    "translate",
]
