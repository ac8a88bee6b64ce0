"""Group commit: concurrent saves sharing atomic batches, on a real nats-server.

The batches are made deterministic by holding the first one at a gate until
the other saves have queued behind it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent

from session_log.jetstream import JetStreamApplicationRecorder, JetStreamFactory
from session_log.jetstream.group_commit import GroupCommit, Message

from .harness import new_factory


def ev(oid: Any, version: int, state: bytes = b"{}") -> StoredEvent:
    return StoredEvent(
        originator_id=oid, originator_version=version, topic="t", state=state
    )


def new_id() -> str:
    return f"album.take.{uuid4().hex}"


class Gate:
    """Wraps a stream's batch sender: holds the first batch until opened and
    records the subjects of every batch sent (refused ones too)."""

    def __init__(self, recorder: JetStreamApplicationRecorder) -> None:
        stream = recorder.stream
        assert stream.group is not None
        self.group: GroupCommit = stream.group
        self.real: Callable[[list[Message]], int] = stream.send_batch
        self.open = threading.Event()
        self.batches: list[list[str]] = []
        self.lock = threading.Lock()
        self.after: Callable[[int, list[Message]], None] | None = None
        # Shared batches and saves sent alone both go through the gate.
        self.group._send = self.send  # type: ignore[method-assign]
        stream.send_batch = self.send  # type: ignore[method-assign]

    def send(self, messages: list[Message]) -> int:
        with self.lock:
            self.batches.append([subject for subject, _, _ in messages])
            first = len(self.batches) == 1
        if first:
            assert self.open.wait(10)
        last = self.real(messages)
        if self.after is not None:
            self.after(last, messages)
        return last

    def run(
        self,
        recorder: JetStreamApplicationRecorder,
        saves: dict[str, list[StoredEvent]],
    ) -> dict[str, Any]:
        """Each save in a thread of its own: the first one's batch held at the
        gate, the others queued behind it one by one (in order), then the gate
        opened. Returns each save's notification ids, or its error."""
        results: dict[str, Any] = {}

        def save(name: str, events: list[StoredEvent]) -> None:
            try:
                results[name] = recorder.insert_events(events)
            except Exception as error:
                results[name] = error

        threads = [threading.Thread(target=save, args=item) for item in saves.items()]
        threads[0].start()
        self.wait_for(lambda: len(self.batches) == 1)
        for queued, thread in enumerate(threads[1:], start=1):
            thread.start()
            self.wait_for(lambda n=queued: len(self.group._queue) == n)
        self.open.set()
        for thread in threads:
            thread.join()
        return results

    def wait_for(self, what: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 10
        while not what():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.005)


def stored_at(
    recorder: JetStreamApplicationRecorder, ids: Any
) -> list[tuple[Any, int]]:
    notes = recorder.select_notifications(start=ids[0], limit=len(ids))
    assert [n.id for n in notes] == list(ids)
    return [(str(n.originator_id), n.originator_version) for n in notes]


def test_saves_arriving_during_a_batch_share_the_next_one(
    recorder: JetStreamApplicationRecorder,
) -> None:
    gate = Gate(recorder)
    group = gate.group
    oids = {name: new_id() for name in "abcd"}
    saves = {name: [ev(oid, 1), ev(oid, 2)] for name, oid in oids.items()}
    results = gate.run(recorder, saves)

    # One batch for a, then b, c and d together (6 messages, 3 saves).
    assert [len(batch) for batch in gate.batches] == [2, 6]
    assert (group.batches, group.shared) == (2, 3)
    for name, oid in oids.items():
        ids = results[name]
        assert ids[1] == ids[0] + 1, "a save occupies consecutive sequences"
        assert stored_at(recorder, ids) == [(oid, 1), (oid, 2)]
    everything = sorted(i for ids in results.values() for i in ids)
    assert everything == list(range(everything[0], everything[0] + 8))
    # The tips learnt from the shared batch are right: next saves expect them.
    assert recorder.insert_events([ev(oids["c"], 3), ev(oids["d"], 3)])


def test_saves_of_the_same_aggregate_never_share_a_batch(
    recorder: JetStreamApplicationRecorder,
) -> None:
    gate = Gate(recorder)
    shared, b, c, d = (new_id() for _ in range(4))
    saves = {
        "a": [ev(new_id(), 1), ev(new_id(), 1)],
        "b": [ev(b, 1), ev(shared, 1)],
        "c": [ev(c, 1), ev(shared, 1)],  # races b for version 1 of `shared`
        "d": [ev(d, 1), ev(d, 2)],
    }
    results = gate.run(recorder, saves)

    # b and d went together; c waited for the next batch and lost its race.
    subjects = [sorted(batch) for batch in gate.batches]
    scheme = recorder.scheme
    assert subjects[1] == sorted(scheme.subject(x) for x in (b, shared, d, d)), (
        "b and d share a batch"
    )
    assert subjects[2] == sorted(scheme.subject(x) for x in (c, shared))
    assert isinstance(results["c"], IntegrityError)
    assert recorder.select_events(c) == []
    assert [e.originator_version for e in recorder.select_events(shared)] == [1]
    assert len(recorder.select_events(d)) == 2


def test_a_conflict_in_a_shared_batch_fails_only_its_own_save(
    factory: JetStreamFactory, recorder: JetStreamApplicationRecorder
) -> None:
    # `old` exists, written through another connection: this recorder's tip
    # cache does not know it, so its save expects a new aggregate.
    old = new_id()
    other = JetStreamFactory(dict(factory.env))
    try:
        other.application_recorder().insert_events([ev(old, 1), ev(old, 2)])
    finally:
        other.close()
    gate = Gate(recorder)
    b, d = new_id(), new_id()
    saves = {
        "a": [ev(new_id(), 1), ev(new_id(), 1)],
        "b": [ev(b, 1), ev(b, 2)],
        "c": [ev(old, 1), ev(new_id(), 1)],
        "d": [ev(d, 1), ev(d, 2)],
    }
    before = recorder.max_notification_id() or 0
    results = gate.run(recorder, saves)

    # a; then b+c+d refused as a whole; then each of the three alone.
    assert [len(batch) for batch in gate.batches] == [2, 6, 2, 2, 2]
    assert isinstance(results["c"], IntegrityError)
    assert "already has version 2" in str(results["c"])
    assert [e.originator_version for e in recorder.select_events(old)] == [1, 2]
    assert stored_at(recorder, results["b"]) == [(b, 1), (b, 2)]
    assert stored_at(recorder, results["d"]) == [(d, 1), (d, 2)]
    # Exactly a, b and d are stored: nothing of the refused batch twice.
    assert recorder.max_notification_id() == before + 6


def test_a_shared_batch_whose_ack_is_lost_is_resolved_by_each_save(
    recorder: JetStreamApplicationRecorder,
) -> None:
    gate = Gate(recorder)
    lost: list[int] = []

    def lose_the_shared_ack(last: int, messages: list[Message]) -> None:
        if len(messages) > 2 and not lost:
            lost.append(last)
            msg = "atomic batch: timed out waiting for the server"
            raise OperationalError(msg)

    gate.after = lose_the_shared_ack
    oids = {name: new_id() for name in "abc"}
    saves = {name: [ev(oid, 1), ev(oid, 2)] for name, oid in oids.items()}
    before = recorder.max_notification_id() or 0
    results = gate.run(recorder, saves)

    assert lost == [before + 6], "the shared batch was stored, its ack dropped"
    assert len(gate.batches) == 2, "nothing was sent again"
    for name, oid in oids.items():
        assert stored_at(recorder, results[name]) == [(oid, 1), (oid, 2)]
    assert sorted(results["b"] + results["c"]) == list(range(before + 3, before + 7))
    assert recorder.max_notification_id() == before + 6


def test_many_threads_store_every_save_once_and_whole(
    recorder: JetStreamApplicationRecorder,
) -> None:
    """16 threads x 25 saves of three events, two threads per aggregate family,
    racing: every acknowledged save is stored once, whole, consecutively."""
    group = recorder.stream.group
    assert group is not None
    shared = [new_id() for _ in range(4)]
    acknowledged: list[tuple[list[str], list[int]]] = []
    conflicts: list[IntegrityError] = []
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def writer(n: int) -> None:
        barrier.wait()
        for _ in range(25):
            mine = new_id()
            hot = shared[n % 4]
            top = recorder.select_events(hot, desc=True, limit=1)
            version = top[0].originator_version + 1 if top else 1
            events = [ev(mine, 1), ev(mine, 2), ev(hot, version)]
            try:
                ids = recorder.insert_events(events)
            except IntegrityError as error:
                with lock:
                    conflicts.append(error)
            else:
                with lock:
                    acknowledged.append(([mine, mine, hot], list(ids or [])))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(acknowledged) + len(conflicts) == 16 * 25
    total = recorder.max_notification_id() or 0
    everything = recorder.select_notifications(start=1, limit=total + 1)
    assert len(everything) == total == 3 * len(acknowledged)
    by_id = {n.id: str(n.originator_id) for n in everything}
    for oids, ids in acknowledged:
        assert ids == list(range(ids[0], ids[0] + 3))
        assert [by_id[i] for i in ids] == oids
    for hot in shared:
        versions = [e.originator_version for e in recorder.select_events(hot)]
        assert versions == list(range(1, len(versions) + 1))
    assert group.batches <= len(acknowledged) + len(conflicts)


def test_group_commit_can_be_turned_off() -> None:
    factory = new_factory("nogroup", NATS_GROUP_COMMIT="false")
    try:
        recorder = factory.application_recorder()
        assert isinstance(recorder, JetStreamApplicationRecorder)
        assert recorder.stream.group is None
        oid = new_id()
        assert recorder.insert_events([ev(oid, 1), ev(oid, 2)]) == [1, 2]
    finally:
        factory.close()


class Interrupted(Exception):
    """Raised in the main thread by a timer signal, as Ctrl-C would be."""


def test_a_save_interrupted_while_queued_leaves_the_queue() -> None:
    """Without a server: a save interrupted while it waits for the batch in
    flight (KeyboardInterrupt in a CLI, say) leaves the queue, and later saves
    are not left waiting for it."""
    import signal

    gate = threading.Event()
    sent: list[list[str]] = []

    def send(messages: list[Message]) -> int:
        sent.append([subject for subject, _, _ in messages])
        if len(sent) == 1:
            assert gate.wait(10)
        return 100 + len(sent)

    group = GroupCommit(send, 1000)
    first: list[int] = []
    leader = threading.Thread(
        target=lambda: first.append(group.commit([("s.a", b"", {}), ("s.b", b"", {})]))
    )
    leader.start()
    deadline = time.monotonic() + 10
    while not sent:
        assert time.monotonic() < deadline
        time.sleep(0.005)

    def interrupt(_signum: int, _frame: Any) -> None:
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(Interrupted):
            group.commit([("s.c", b"", {}), ("s.d", b"", {})])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert list(group._queue) == []
    gate.set()
    leader.join(10)
    assert first == [101]
    # Nothing waits for the interrupted save: the next one is sent at once.
    assert group.commit([("s.e", b"", {}), ("s.f", b"", {})]) == 102
    assert sent == [["s.a", "s.b"], ["s.e", "s.f"]]


def test_a_sender_interrupted_before_sending_hands_its_batch_on() -> None:
    """The save chosen to send the next batch stops waiting before it sends:
    the batch goes to the next save in it, or the queue's next batch starts."""
    from session_log.jetstream.group_commit import _Entry

    group = GroupCommit(lambda messages: 0, 1000)
    b, c, d = (_Entry([(f"s.{n}", b"", {}), (f"s.{n}2", b"", {})]) for n in "bcd")
    group._busy = True
    group._queue.extend([b, c])
    with group._lock:
        assert group._next_group() is b
    assert b.group == [b, c]
    group._abandon(b)
    assert c.group == [c], "c sends its own save now"
    assert c.done.is_set()
    # A sender alone in its batch: the queue's next batch starts.
    group._queue.append(d)
    group._abandon(c)
    assert d.group == [d]
    assert d.done.is_set()
    # And with nothing queued, the store is no longer busy.
    group._abandon(d)
    assert not group._busy
