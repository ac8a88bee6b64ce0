"""A request the server refuses for want of permission fails at once.

nats-server answers a publish to a subject the user may not publish to with an
asynchronous ``-ERR 'permissions violation for publish to "<subject>"'`` and
drops the message, so nothing would ever answer: the request used to wait for
``NATS_TIMEOUT`` and fail as a timeout (a rebuild then fell back to direct gets
only after it). The bridge now fails the requests published to that subject
with ``PermissionDeniedError``, naming the subject.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from eventsourcing.persistence import PersistenceError, ProgrammingError, StoredEvent

from projections.replay import _bulk_pages
from session_log.embedded import EmbeddedNATS
from session_log.jetstream import JetStreamFactory
from session_log.jetstream._client import NATSBridge
from session_log.jetstream.errors import NotPermittedError, PermissionDeniedError
from session_log.jetstream.recorders import JetStreamApplicationRecorder
from session_log.jetstream.subscription import JetStreamSubscription

CONFIG = """
authorization {
  users = [
    {user: "admin", password: "pw-admin"},
    {
      user: "reader", password: "pw-reader",
      permissions: {
        publish: {allow: [">"], deny: ["$JS.API.CONSUMER.CREATE.>", "fenced.q.>"]}
      }
    },
    {
      user: "blind", password: "pw-blind",
      permissions: {subscribe: {allow: [">"], deny: ["unsignalled.>"]}}
    }
  ]
}
"""


def ev(oid: str, version: int, state: bytes) -> StoredEvent:
    return StoredEvent(oid, version, "t", state)


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedNATS]:
    with EmbeddedNATS(config=CONFIG) as running:
        yield running


def recorder_as(
    server: EmbeddedNATS, user: str, stream: str
) -> tuple[JetStreamFactory, JetStreamApplicationRecorder]:
    factory = JetStreamFactory(
        {
            "NATS_URL": server.url,
            "NATS_USER": user,
            "NATS_PASSWORD": f"pw-{user}",
            "NATS_STREAM": stream,
            # A refusal must not wait for this: the test would fail on the type.
            "NATS_TIMEOUT": "30",
        }
    )
    recorder = factory.application_recorder()
    assert isinstance(recorder, JetStreamApplicationRecorder)
    return factory, recorder


def test_a_refused_consumer_creation_fails_at_once_naming_the_subject(
    server: EmbeddedNATS,
) -> None:
    admin, written = recorder_as(server, "admin", "Denied")
    written.insert_events([ev("p.take.t1", v, b"%d" % v) for v in range(1, 11)])
    reader_factory, reader = recorder_as(server, "reader", "Denied")
    try:
        with pytest.raises(PermissionDeniedError) as refused:
            next(reader.read_notifications())
        assert isinstance(refused.value, ProgrammingError)
        assert isinstance(refused.value, PersistenceError)
        assert "$JS.API.CONSUMER.CREATE.Denied" in str(refused.value)
        assert "permissions violation" in str(refused.value).lower()
        # a rebuild's bulk read falls back to page-by-page reads at once
        assert _bulk_pages(SimpleNamespace(recorder=reader), 0, None, 100) is None  # type: ignore[arg-type]
        # the connection stays up; what is allowed still works
        assert [n.id for n in reader.select_notifications(1, 100)] == list(range(1, 11))
    finally:
        reader_factory.close()
        admin.close()


def test_a_refused_write_fails_at_once_and_stores_nothing(
    server: EmbeddedNATS,
) -> None:
    """Project ``q`` of stream ``fenced`` is closed to this user, ``p`` open.
    Saves of several events sent together share batches (group commit): a
    batch holding a refused save is refused whole, nothing of it stored, and
    each of its saves is sent again alone: the refused one fails, the others
    are stored once."""
    admin, written = recorder_as(server, "admin", "fenced")
    written.insert_events([ev("q.take.t1", 1, b"1")])
    reader_factory, reader = recorder_as(server, "reader", "fenced")
    try:
        with pytest.raises(PermissionDeniedError, match=r"fenced\.q\.take\.t1"):
            reader.insert_events([ev("q.take.t1", 2, b"2")])
        assert [e.originator_version for e in written.select_events("q.take.t1")] == [1]

        outcomes: dict[str, str] = {}

        def save(oid: str) -> None:
            try:
                reader.insert_events([ev(oid, 1, b"x"), ev(oid, 2, b"y")])
                outcomes[oid] = "stored"
            except PermissionDeniedError:
                outcomes[oid] = "refused"

        oids = [f"p.take.g{i}" for i in range(8)] + ["q.take.g8"]
        threads = [threading.Thread(target=save, args=(oid,)) for oid in oids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert outcomes == {
            **dict.fromkeys(oids[:8], "stored"),
            "q.take.g8": "refused",
        }
        assert [len(written.select_events(oid)) for oid in oids] == [2] * 8 + [0]
    finally:
        reader_factory.close()
        admin.close()


def test_a_refusal_that_could_be_of_two_subjects_fails_neither() -> None:
    """nats-py lower-cases the server's words; NATS subjects are case-sensitive.
    A refusal matching two subjects waited on (differing only in case) fails
    neither: each waits for its own answer or its timeout, as before."""
    bridge = NATSBridge(["nats://127.0.0.1:1"])
    try:
        _, upper = bridge._new_request("fenced.P.take.t1")
        _, lower = bridge._new_request("fenced.p.take.t1")
        reason = 'permissions violation for publish to "fenced.p.take.t1"'
        bridge._refused("fenced.p.take.t1", reason)
        assert not upper.future.done()
        assert not lower.future.done()
        bridge._pending.clear()
        _, alone = bridge._new_request("fenced.p.take.t1", "fenced.p.take.t2")
        _, other = bridge._new_request("fenced.p.take.t3")
        bridge._refused("fenced.p.take.t2", reason)
        assert isinstance(alone.future.exception(), NotPermittedError)
        assert "subject fenced.p.take.t2" in str(alone.future.exception())
        assert not other.future.done()
    finally:
        bridge._pending.clear()
        bridge.close()


def test_a_refused_signal_subscription_polls_faster_and_says_so(
    server: EmbeddedNATS, caplog: pytest.LogCaptureFixture
) -> None:
    """A user that may not subscribe to the event subjects gets no signals of
    new events: the server refuses the subscription with an asynchronous error
    only. The subscription used to fall back on its one-second poll without a
    word; it now logs it, says so, and polls every 0.1 s."""
    admin, writer = recorder_as(server, "admin", "unsignalled")
    blind, reader = recorder_as(server, "blind", "unsignalled")
    try:
        writer.insert_events([ev("p.take.t1", 1, b"{}")])
        with reader.subscribe(gt=None) as subscription:
            assert isinstance(subscription, JetStreamSubscription)
            deadline = time.monotonic() + 10
            while not subscription.signals_refused and time.monotonic() < deadline:
                time.sleep(0.01)
            assert subscription.signals_refused
            assert subscription.poll_interval == 0.1
            writer.insert_events([ev("p.take.t1", 2, b"{}")])
            got = [next(subscription).originator_version for _ in range(2)]
            assert got == [1, 2]
        assert any(
            "not signalled" in r.getMessage() and "unsignalled.>" in r.getMessage()
            for r in caplog.records
        ), caplog.text
    finally:
        blind.close()
        admin.close()


def test_an_allowed_signal_subscription_is_not_taken_for_refused(
    server: EmbeddedNATS,
) -> None:
    admin, writer = recorder_as(server, "admin", "signalled")
    try:
        writer.insert_events([ev("p.take.t1", 1, b"{}")])
        with writer.subscribe(gt=None) as subscription:
            assert isinstance(subscription, JetStreamSubscription)
            assert next(subscription).originator_version == 1
            time.sleep(0.3)  # a refusal would have arrived by now
            assert not subscription.signals_refused
            assert subscription.poll_interval == 1.0
    finally:
        admin.close()
