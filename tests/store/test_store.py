"""session-log's own tests of the JetStream store, on a real nats-server."""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import (
    IntegrityError,
    OperationalError,
    StoredEvent,
    Tracking,
)

from session_log.embedded import EmbeddedNATS, free_port
from session_log.jetstream import (
    InvalidOriginatorIdError,
    JetStreamApplicationRecorder,
    JetStreamFactory,
    UnfitStreamError,
)
from session_log.jetstream._client import _Client
from session_log.jetstream.recorders import Tip
from session_log.jetstream.subscription import JetStreamSubscription

from .harness import fresh_stream_name, new_factory


def ev(oid: Any, version: int, state: bytes = b"{}", topic: str = "t") -> StoredEvent:
    return StoredEvent(
        originator_id=oid, originator_version=version, topic=topic, state=state
    )


def test_eight_threads_racing_on_one_aggregate(
    recorder: JetStreamApplicationRecorder,
) -> None:
    oid = f"album.session.{uuid4().hex}"
    recorder.insert_events([ev(oid, 1)])
    wins: list[tuple[int, int]] = []
    losses: list[tuple[int, int]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        barrier.wait()
        for _ in range(40):
            # Read the aggregate, decide, save the next version.
            current = recorder.select_events(oid, desc=True, limit=1)[0]
            version = current.originator_version + 1
            try:
                recorder.insert_events([ev(oid, version, f'{{"w":{n}}}'.encode())])
            except IntegrityError:
                with lock:
                    losses.append((n, version))
            else:
                with lock:
                    wins.append((n, version))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    stored = recorder.select_events(oid)
    versions = [e.originator_version for e in stored]
    # Every version written exactly once, contiguous, and by the thread that won it.
    assert versions == list(range(1, len(stored) + 1))
    assert sorted(v for _, v in wins) == versions[1:]
    winner = {v: n for n, v in wins}
    for e in stored[1:]:
        assert json.loads(e.state) == {"w": winner[e.originator_version]}
    assert losses, "8 racing threads must produce conflicts"
    assert len(wins) + len(losses) == 8 * 40


def test_multi_aggregate_save_with_one_conflict_stores_nothing(
    recorder: JetStreamApplicationRecorder,
) -> None:
    a, b, c = (f"album.take.{uuid4().hex}" for _ in range(3))
    recorder.insert_events([ev(b, 1)])
    before = recorder.max_notification_id()
    with pytest.raises(IntegrityError):
        recorder.insert_events([ev(a, 1), ev(a, 2), ev(b, 1), ev(c, 1)])
    assert recorder.select_events(a) == []
    assert recorder.select_events(c) == []
    assert len(recorder.select_events(b)) == 1
    assert recorder.max_notification_id() == before
    # The same save without the conflicting event goes through, atomically.
    ids = recorder.insert_events([ev(a, 1), ev(a, 2), ev(b, 2), ev(c, 1)])
    assert ids == [before + 1, before + 2, before + 3, before + 4]  # type: ignore[operator]


def test_conflict_detected_by_server_with_a_stale_cache(
    factory: JetStreamFactory,
) -> None:
    oid = f"album.mix.{uuid4().hex}"
    first = factory.application_recorder()
    # A second factory: its own connection and its own (empty) tip cache.
    other = JetStreamFactory(dict(factory.env))
    try:
        second = other.application_recorder()
        first.insert_events([ev(oid, 1)])
        assert second.select_events(oid)[0].originator_version == 1
        first.insert_events([ev(oid, 2)])
        # second still believes version 1 is the last: the server refuses.
        with pytest.raises(IntegrityError):
            second.insert_events([ev(oid, 2)])
        # A later version is accepted once the real tip is known.
        second.insert_events([ev(oid, 3)])
        assert [e.originator_version for e in first.select_events(oid)] == [1, 2, 3]
    finally:
        other.close()


def test_versions_in_one_save_must_increase(
    recorder: JetStreamApplicationRecorder,
) -> None:
    oid = uuid4()
    with pytest.raises(IntegrityError, match="must increase"):
        recorder.insert_events([ev(oid, 2), ev(oid, 1)])
    assert recorder.select_events(oid) == []


@pytest.mark.parametrize(
    "bad_id",
    [
        "",
        "a.b",
        "a.b.c.d",
        "a*b",
        "a>b",
        "a b",
        "tab\there",
        "album.session.",
        "_.session.x",
        "x" * 65,
        "ünïcode",
        "a.b>.c",
    ],
)
def test_ids_that_cannot_map_are_refused_before_publishing(
    recorder: JetStreamApplicationRecorder, bad_id: str
) -> None:
    before = recorder.max_notification_id()
    good = f"album.take.{uuid4().hex}"
    with pytest.raises(InvalidOriginatorIdError):
        recorder.insert_events([ev(good, 1), ev(bad_id, 1)])
    assert recorder.max_notification_id() == before
    assert recorder.select_events(good) == []


def test_uuid_and_str_ids_round_trip_through_notifications(
    recorder: JetStreamApplicationRecorder,
) -> None:
    ids: list[Any] = [uuid4(), "plain-token", "album-1.session.s-01"]
    for oid in ids:
        recorder.insert_events([ev(oid, 1)])
    got = [n.originator_id for n in recorder.select_notifications(None, 10)]
    assert got == ids
    assert isinstance(got[0], type(ids[0]))


def test_long_history_reads(recorder: JetStreamApplicationRecorder) -> None:
    oid = f"album.recording.{uuid4().hex}"
    noise = f"album.recording.{uuid4().hex}"
    n = 2500
    for start in range(1, n + 1, 500):
        recorder.insert_events(
            [ev(oid, v, b"%d" % v) for v in range(start, start + 500)]
        )
        recorder.insert_events([ev(noise, start // 500 + 1)])
    fresh = new_factory("fresh")  # no cache: reads go to the server only
    fresh.env["NATS_STREAM"] = recorder.stream.spec.name
    try:
        r = fresh.application_recorder()
        versions = list(range(1, n + 1))

        def vs(**kw: Any) -> list[int]:
            return [e.originator_version for e in r.select_events(oid, **kw)]

        assert vs() == versions
        assert vs(gt=1234) == versions[1234:]
        assert vs(gt=2000, lte=2100) == versions[2000:2100]
        assert vs(lte=10) == versions[:10]
        assert vs(gt=5, limit=3) == [6, 7, 8]
        assert vs(desc=True, limit=1) == [n]
        assert vs(desc=True, limit=5, lte=1500) == [1500, 1499, 1498, 1497, 1496]
        assert vs(desc=True, limit=3, gt=2498) == [2500, 2499]
        assert vs(desc=True) == versions[::-1]
        assert vs(gt=n) == []
        assert vs(desc=True, lte=0, limit=1) == []
        assert r.select_events(oid, lte=3)[2].state == b"3"
    finally:
        fresh.close()


def test_select_notifications_filters(recorder: JetStreamApplicationRecorder) -> None:
    oid = uuid4()
    recorder.insert_events([ev(oid, v, topic=f"t{v % 3}") for v in range(1, 31)])
    assert [n.id for n in recorder.select_notifications(5, 3)] == [5, 6, 7]
    assert [
        n.id for n in recorder.select_notifications(5, 3, inclusive_of_start=False)
    ] == [6, 7, 8]
    got = recorder.select_notifications(1, 100, stop=20, topics=["t0"])
    assert [n.originator_version for n in got] == [3, 6, 9, 12, 15, 18]
    assert recorder.select_notifications(31, 10) == []
    assert recorder.max_notification_id() == 30


def consumers(recorder: JetStreamApplicationRecorder) -> int:
    bridge = recorder.bridge
    name = recorder.stream.spec.name
    info = bridge.call(bridge.api, f"STREAM.INFO.{name}", operation="info")
    return int(info["state"]["consumer_count"])


def test_bulk_reader_gives_what_select_notifications_gives(
    recorder: JetStreamApplicationRecorder, factory: JetStreamFactory
) -> None:
    tracking = factory.tracking_recorder()
    for start in range(1, 2501, 500):
        recorder.insert_events(
            [
                ev(f"p.take.t{v % 7}", v // 7 + 1, b"%d" % v)
                for v in range(start, start + 500)
            ]
        )
        tracking.insert_tracking(Tracking("other", start))  # same stream, not events
    everything = recorder.select_notifications(1, 10_000)
    assert len(everything) == 2500
    pages = list(recorder.read_notifications(page=300))
    assert [len(p) for p in pages] == [300] * 8 + [100]
    assert [n for p in pages for n in p] == everything
    assert [n.id for p in recorder.read_notifications(1200, 1500) for n in p] == [
        n.id for n in everything if 1200 <= n.id <= 1500
    ]
    assert list(recorder.read_notifications(everything[-1].id + 1)) == []
    assert list(recorder.read_notifications(10, 5)) == []
    assert consumers(recorder) == 0  # each reader removed its consumer
    reader = recorder.read_notifications(page=100)
    assert len(next(reader)) == 100
    reader.close()  # stopped early: its consumer is removed too
    assert consumers(recorder) == 0


def test_a_selective_bulk_read_skips_other_aggregates_unparsed(
    recorder: JetStreamApplicationRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild worker reads the whole stream and applies its own projects'
    events: with ``select`` the reader makes only those notifications, skips
    the others before parsing their headers, and still says how far it read,
    also through pages that hold none of them and past a tail of others."""
    versions: dict[str, int] = {}
    events = []
    for v in range(600):  # one in three of "b", the last three of "a"
        oid = f"{'b' if v % 3 == 0 and v < 597 else 'a'}.take.t{v % 5}"
        versions[oid] = versions.get(oid, 0) + 1
        events.append(ev(oid, versions[oid], b"%d" % v))
    recorder.insert_events(events)
    everything = recorder.select_notifications(1, 10_000)
    first, last = everything[0].id, everything[-1].id
    wanted = [n for n in everything if str(n.originator_id).startswith("b.")]
    parsed: list[bytes] = []
    real_parse = _Client._parse_header_lines

    def counting(raw: bytes) -> dict[str, str]:
        parsed.append(raw)
        return real_parse(raw)

    monkeypatch.setattr(_Client, "_parse_header_lines", staticmethod(counting))

    def mine(originator_id: object) -> bool:
        return str(originator_id).startswith("b.")

    pages = list(recorder.read_notifications(page=50, select=mine))
    assert [n for p in pages for n in p] == wanted
    assert [p.read for p in pages] == [50] * 12
    assert [p.read_up_to for p in pages] == [first + 49 + 50 * i for i in range(12)]
    # headers parsed for the kept events only (and the reader's status replies)
    assert len(wanted) <= len(parsed) <= len(wanted) + 13

    # the stream's last 3 events are of "a": a read stopping there reaches it
    assert [str(n.originator_id)[0] for n in everything[-3:]] == ["a"] * 3
    tail = list(recorder.read_notifications(last - 2, last, page=50, select=mine))
    assert [(len(p), p.read, p.read_up_to) for p in tail] == [(0, 3, last)]
    # a page that reads past ``stop`` stops there
    cut = list(recorder.read_notifications(first, first + 59, page=50, select=mine))
    assert [p.read_up_to for p in cut] == [first + 49, first + 59]
    assert [n for p in cut for n in p] == [n for n in wanted if n.id <= first + 59]


def test_env_keys_honour_application_prefix(nats_url: str) -> None:
    class Studio(Application[Any]):
        pass

    wanted = fresh_stream_name("prefixed")
    app = Studio(
        env={
            "PERSISTENCE_MODULE": "session_log.jetstream",
            "NATS_URL": "nats://127.0.0.1:1",  # would fail if used
            "STUDIO_NATS_URL": nats_url,
            "NATS_STREAM": "unused",
            "STUDIO_NATS_STREAM": wanted,
        }
    )
    try:
        factory = app.factory
        assert isinstance(factory, JetStreamFactory)
        assert factory.stream_name == wanted
    finally:
        app.close()


def test_unreachable_server_fails_fast_with_a_clear_error() -> None:
    port = free_port()
    f = JetStreamFactory({"NATS_URL": f"nats://127.0.0.1:{port}", "NATS_STREAM": "x"})
    started = time.monotonic()
    with pytest.raises(OperationalError, match=rf"127\.0\.0\.1:{port}"):
        f.application_recorder()
    assert time.monotonic() - started < 10
    f.close()


def test_unfit_existing_stream_is_refused(nats_url: str) -> None:
    import asyncio

    import nats

    name = fresh_stream_name("unfit")

    async def make() -> None:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        await js.add_stream(name=name, subjects=[f"{name}.>"], max_age=3600)
        await nc.close()

    asyncio.run(make())
    f = JetStreamFactory({"NATS_URL": nats_url, "NATS_STREAM": name})
    try:
        with pytest.raises(UnfitStreamError) as info:
            f.application_recorder()
        message = str(info.value)
        for problem in ("max_age", "deny_delete", "deny_purge", "allow_atomic"):
            assert problem in message
    finally:
        f.close()


def test_missing_stream_without_create_table(nats_url: str) -> None:
    f = JetStreamFactory(
        {
            "NATS_URL": nats_url,
            "NATS_STREAM": fresh_stream_name("none"),
            "CREATE_TABLE": "no",
        }
    )
    try:
        with pytest.raises(OperationalError, match="does not exist"):
            f.application_recorder()
    finally:
        f.close()


def test_stream_config_cannot_lose_history(factory: JetStreamFactory) -> None:
    recorder = factory.application_recorder()
    assert isinstance(recorder, JetStreamApplicationRecorder)
    bridge = recorder.bridge
    name = recorder.stream.spec.name
    info = bridge.call(bridge.api, f"STREAM.INFO.{name}", None, operation="info")
    config = info["config"]
    assert config["deny_delete"] is True
    assert config["deny_purge"] is True
    assert config["max_age"] == 0
    assert config["max_msgs"] == -1
    assert config["allow_atomic"] is True
    assert config["duplicate_window"] == 120 * 10**9
    oid = uuid4()
    recorder.insert_events([ev(oid, 1)])
    # The server itself refuses to delete or purge.
    with pytest.raises(OperationalError):
        bridge.call(bridge.api, f"STREAM.PURGE.{name}", {}, operation="purge")
    with pytest.raises(OperationalError):
        bridge.call(
            bridge.api, f"STREAM.MSG.DELETE.{name}", {"seq": 1}, operation="delete"
        )
    assert len(recorder.select_events(oid)) == 1


class Song(Aggregate):
    @event("Titled")
    def __init__(self, title: str) -> None:
        self.title = title

    @event("Retitled")
    def retitle(self, title: str) -> None:
        self.title = title


class Catalogue(Application[Any]):
    pass


def test_close_leaves_no_threads(nats_url: str) -> None:
    before = {t.name for t in threading.enumerate()}
    app = Catalogue(
        env={
            "PERSISTENCE_MODULE": "session_log.jetstream",
            "NATS_URL": nats_url,
            "NATS_STREAM": fresh_stream_name("close"),
        }
    )
    song = Song("Intro")
    app.save(song)
    with app.recorder.subscribe(gt=None) as sub:
        for n in sub:
            assert n.originator_id == song.id
            break
    app.close()
    time.sleep(0.2)
    after = {t.name for t in threading.enumerate()}
    assert not {n for n in after - before if "nats" in n or "Thread" in n}


def test_subscription_survives_server_restart(tmp_path: Any) -> None:
    server = EmbeddedNATS(store_dir=tmp_path / "nats").start()
    f = JetStreamFactory({"NATS_URL": server.url, "NATS_STREAM": "restart"})
    writer = JetStreamFactory({"NATS_URL": server.url, "NATS_STREAM": "restart"})
    try:
        recorder = f.application_recorder()
        w = writer.application_recorder()
        oids = [uuid4() for _ in range(60)]
        w.insert_events([ev(oids[i], 1) for i in range(20)])
        received: list[int] = []
        with recorder.subscribe(gt=None) as sub:
            for n in sub:
                received.append(n.id)
                if len(received) == 10:
                    break
            server.kill()  # a crash, not a clean stop
            time.sleep(0.5)
            server.start()
            deadline = time.monotonic() + 15
            while True:
                try:
                    w.insert_events([ev(oids[i], 1) for i in range(20, 40)])
                    break
                except OperationalError:
                    assert time.monotonic() < deadline
                    time.sleep(0.2)
            for i in range(40, 60):
                w.insert_events([ev(oids[i], 1)])
            for n in sub:
                received.append(n.id)
                if len(received) == 60:
                    break
        assert received == list(range(1, 61))
    finally:
        f.close()
        writer.close()
        server.stop()


def test_lost_acknowledgement_is_resolved_without_duplicate(
    recorder: JetStreamApplicationRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The publish reaches the server but its ack is lost: no double store."""
    bridge = recorder.bridge
    real_call = bridge.call
    dropped: list[str] = []

    def lossy_call(fn: Any, *args: Any, operation: str, **kw: Any) -> Any:
        result = real_call(fn, *args, operation=operation, **kw)
        if fn.__name__ in ("publish", "publish_batch") and not dropped:
            dropped.append(operation)
            raise OperationalError(f"{operation}: timed out waiting for the server")
        return result

    monkeypatch.setattr(bridge, "call", lossy_call)
    a, b = uuid4(), uuid4()
    before = recorder.max_notification_id() or 0
    ids = recorder.insert_events([ev(a, 1), ev(a, 2), ev(b, 1)])
    assert dropped
    assert ids == [before + 1, before + 2, before + 3]
    assert recorder.max_notification_id() == before + 3
    ids = recorder.insert_events([ev(a, 3)])
    assert ids == [before + 4]


def test_disconnected_write_is_not_sent(tmp_path: Any) -> None:
    server = EmbeddedNATS(store_dir=tmp_path / "nats").start()
    f = JetStreamFactory(
        {"NATS_URL": server.url, "NATS_STREAM": "down", "NATS_TIMEOUT": "1"}
    )
    try:
        recorder = f.application_recorder()
        recorder.insert_events([ev(uuid4(), 1)])
        server.kill()
        time.sleep(0.3)
        started = time.monotonic()
        with pytest.raises(OperationalError):
            recorder.insert_events([ev(uuid4(), 1)])
        assert time.monotonic() - started < 8
        server.start()
    finally:
        f.close()
        server.stop()


def test_every_event_is_chained_to_its_predecessor(
    factory: JetStreamFactory,
) -> None:
    from session_log.jetstream import chain

    oid = f"album.comp.{uuid4().hex}"
    first = factory.application_recorder()
    assert isinstance(first, JetStreamApplicationRecorder)
    other = JetStreamFactory(dict(factory.env))
    try:
        second = other.application_recorder()
        first.insert_events([ev(oid, 1, b"a"), ev(oid, 2, b"b")])
        second.insert_events([ev(oid, 3, b"c")])  # no tip cached: retried
        first.insert_events([ev(oid, 4, b"d")])  # stale tip: retried
        subject = first.scheme.subject(oid)
        messages, _ = first.stream.batch(subject, 1, 100)
        assert len(messages) == 4
        prev = chain.GENESIS
        for msg in messages:
            version = int(msg.headers["SL-Version"])
            expected = chain.link(
                prev, subject, version, msg.headers["SL-Topic"], msg.data
            )
            assert msg.headers[chain.HEADER_HASH] == expected.hex()
            prev = expected
    finally:
        other.close()


def test_a_replica_behind_this_process_is_not_believed(
    recorder: JetStreamApplicationRecorder,
) -> None:
    """Reads are direct gets, which any replica may answer, and a follower may
    be behind. A read that does not reach what this process knows of the
    aggregate (its own writes, its earlier reads) is asked again, and gives up
    with an OperationalError rather than return a stale history."""
    oid = "album-1.take.t1"
    recorder.insert_events([ev(oid, 1), ev(oid, 2)])
    stream = recorder.stream
    subject = recorder.scheme.subject(oid)
    tip = stream.tip(subject)
    assert tip is not None
    assert tip.seq == 2
    # Pretend this process had seen the aggregate at a later sequence than any
    # replica has: every answer looks stale.
    stream.remember(subject, Tip(3, 99, "x", b""))
    with pytest.raises(OperationalError, match="behind stream sequence 99"):
        recorder.select_events(oid)
    # The tip of an aggregate is asked of the leader when a replica is behind.
    assert [
        e.originator_version for e in recorder.select_events(oid, desc=True, limit=1)
    ] == [2]


def test_after_an_unknown_outcome_the_tip_comes_from_the_leader(
    recorder: JetStreamApplicationRecorder,
) -> None:
    oid = "album-1.take.t3"
    recorder.insert_events([ev(oid, 1)])
    stream = recorder.stream
    subject = recorder.scheme.subject(oid)
    stream.forget(subject)  # as if the ack of that save had been lost
    stream.unsure.add(subject)
    assert [e.originator_version for e in recorder.select_events(oid)] == [1]
    assert subject not in stream.unsure
    tip = stream.tip(subject)
    assert tip is not None
    assert tip.version == 1


def test_max_notification_id_is_the_leaders(
    recorder: JetStreamApplicationRecorder,
) -> None:
    assert recorder.max_notification_id() is None
    recorder.insert_events([ev("album-1.take.t4", 1), ev("album-1.take.t5", 1)])
    assert recorder.max_notification_id() == 2


def test_a_signal_ahead_of_its_stored_message_is_not_lost(
    recorder: JetStreamApplicationRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The core-NATS signal of a new event can arrive before JetStream has
    stored it: the pull it triggers finds nothing. The subscription must look
    again, not wait for its next poll (made a minute long here)."""
    monkeypatch.setattr(JetStreamSubscription, "POLL_INTERVAL", 60.0)
    real = recorder.select_notifications
    hide_next = threading.Event()

    def select(*args: Any, **kwargs: Any) -> Any:
        if hide_next.is_set():
            hide_next.clear()
            return []  # as if the signal came before the message was stored
        return real(*args, **kwargs)

    monkeypatch.setattr(recorder, "select_notifications", select)
    received: list[Any] = []
    with recorder.subscribe(gt=0) as subscription:
        time.sleep(0.3)  # the first pull is done; the subscription waits
        hide_next.set()
        recorder.insert_events([ev("album-1.take.s1", 1)])
        reader = threading.Thread(target=lambda: received.append(next(subscription)))
        reader.start()
        reader.join(10)
    assert [n.originator_id for n in received] == ["album-1.take.s1"]
    assert not hide_next.is_set()  # the signalled pull did find nothing


def test_new_events_signal_the_subscription_without_decoding_them(
    recorder: JetStreamApplicationRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every stored event is also a signal message to each live subscription;
    those are handed to the subscription raw, as the parser meets them (no
    nats-py ``Msg``, no header parsing), and still wake it at once (the poll
    made a minute long here)."""
    monkeypatch.setattr(JetStreamSubscription, "POLL_INTERVAL", 60.0)
    signals: list[int] = []
    notify = JetStreamSubscription._notify

    def counting(self: JetStreamSubscription) -> None:
        signals.append(1)
        notify(self)

    monkeypatch.setattr(JetStreamSubscription, "_notify", counting)
    client = recorder.bridge._nc
    parsed: list[bytes] = []
    parse = client._parse_header_lines

    def counting_parse(raw: bytes) -> dict[str, str]:
        if b"SL-Topic" in raw:
            parsed.append(raw)
        return parse(raw)

    with recorder.subscribe(gt=0) as subscription:
        assert len(client._signals) == 1
        time.sleep(0.3)  # the first pull is done; the subscription waits
        monkeypatch.setattr(client, "_parse_header_lines", counting_parse)
        recorder.insert_events([ev("album-1.take.n1", 1), ev("album-1.take.n2", 1)])
        received = [next(subscription), next(subscription)]
    assert [n.originator_id for n in received] == ["album-1.take.n1", "album-1.take.n2"]
    assert len(signals) == 2
    # Headers were parsed for the two events read (a direct get adds the stream
    # sequence), never for the two signals (as published).
    assert len(parsed) == 2
    assert all(b"Nats-Sequence" in raw for raw in parsed)
    deadline = time.monotonic() + 5  # the unsubscription runs on the loop
    while client._signals and time.monotonic() < deadline:
        time.sleep(0.01)
    assert client._signals == {}
