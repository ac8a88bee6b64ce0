"""Fault tests on a 3-node cluster (R3 stream, sync_interval: always).

Each test prints a FIGURES line (also shown in pytest's terminal summary):
acknowledged, present, lost, duplicated, unexpected events, and the
unavailability windows (the longest time without any acknowledgement around
each fault).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import nats
import pytest
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent

from session_log.cluster import LoopbackCluster
from session_log.jetstream import JetStreamApplicationRecorder, JetStreamFactory

from .faults import (
    FIGURES,
    STREAM,
    USER,
    Ledger,
    check,
    check_replicas_agree,
    followers,
    leader,
    longest_pause,
    read_all,
    run_writers,
    store_env,
    wait_for_acks,
    wait_replicas_current,
)

pytestmark = pytest.mark.slow

WRITERS = 4


def recorder_of(factory: JetStreamFactory) -> JetStreamApplicationRecorder:
    recorder = factory.application_recorder()
    assert isinstance(recorder, JetStreamApplicationRecorder)
    return recorder


def wait_first_ack_after(ledger: Ledger, moment: float, limit_s: float = 60) -> None:
    deadline = moment + limit_s
    while ledger.first_ack_after(moment) is None:
        assert time.monotonic() < deadline, f"no write succeeded for {limit_s}s"
        time.sleep(0.05)


def test_stream_leader_killed_twice_during_5000_appends(
    cluster: LoopbackCluster,
) -> None:
    ledger = Ledger()
    factory = JetStreamFactory(store_env(cluster))
    recorder = recorder_of(factory)
    faults: list[tuple[str, float, float]] = []  # (node, killed at, restarted at)

    def during() -> None:
        for target in (1000, 3000):
            wait_for_acks(ledger, target)
            # (the second kill comes at 3,000 acks or as soon as the first
            # victim is back and current, whichever is later)
            victim = leader(cluster)
            killed = time.monotonic()
            cluster.node(victim).kill()  # kill -9
            wait_first_ack_after(ledger, killed)
            time.sleep(1.0)  # keep writing on two nodes for a while
            cluster.node(victim).start()
            faults.append((victim, killed, time.monotonic()))
            cluster.wait_ready(60)
            wait_replicas_current(cluster, same_last=False)

    try:
        elapsed = run_writers(
            recorder, ledger, writers=WRITERS, events_each=1250, during=during
        )
    finally:
        factory.close()
    windows = [longest_pause(ledger, k - 1.0, r) for _, k, r in faults]
    figures = check(
        "stream-leader-killed-twice",
        cluster,
        ledger,
        elapsed=elapsed,
        windows=windows,
        projects=[f"w{n}" for n in range(WRITERS)],
        extra={"killed": ",".join(n for n, _, _ in faults)},
    )
    assert len(faults) == 2
    assert figures.acknowledged >= 4990
    assert max(windows) < 30, windows


def test_follower_killed_repeatedly_under_load(cluster: LoopbackCluster) -> None:
    rng = random.Random(6)
    ledger = Ledger()
    factory = JetStreamFactory(store_env(cluster))
    recorder = recorder_of(factory)
    faults: list[tuple[str, float, float]] = []

    def during() -> None:
        for target in (400, 1200, 2000):
            wait_for_acks(ledger, target)
            victim = rng.choice(sorted(followers(cluster)))
            killed = time.monotonic()
            cluster.node(victim).kill()
            time.sleep(rng.uniform(0.5, 2.0))
            cluster.node(victim).start()
            faults.append((victim, killed, time.monotonic()))
            cluster.wait_ready(60)
            wait_replicas_current(cluster, same_last=False)

    try:
        elapsed = run_writers(
            recorder, ledger, writers=WRITERS, events_each=750, during=during
        )
    finally:
        factory.close()
    windows = [longest_pause(ledger, k - 1.0, r) for _, k, r in faults]
    figures = check(
        "follower-killed-3x",
        cluster,
        ledger,
        elapsed=elapsed,
        windows=windows,
        projects=[f"w{n}" for n in range(WRITERS)],
        extra={"killed": ",".join(n for n, _, _ in faults)},
    )
    assert len(faults) == 3
    assert figures.acknowledged >= 2990
    assert max(windows) < 30, windows


# ------------------------------------------------------------- quorum loss
class Take(Aggregate):
    """A command's aggregate, with an id derived from the command (so a retry
    of the same command addresses the same aggregate)."""

    @staticmethod
    def create_id(name: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"session-log-test/take/{name}")

    @event("Logged")
    def __init__(self, name: str) -> None:
        self.name = name


class SpuriousConflictError(Exception):
    """The store reported a conflict for a save that is not stored."""


def log_take(app: Application, name: str) -> None:
    """The command, retried by its caller: log take ``name`` (once)."""
    try:
        app.save(Take(name))
    except IntegrityError as e:
        # Already there: an earlier attempt of this command was stored?
        try:
            app.repository.get(Take.create_id(name))
        except AggregateNotFoundError:
            raise SpuriousConflictError(str(e)) from e


def test_quorum_loss_fails_commands_clearly_and_service_resumes(
    cluster: LoopbackCluster,
) -> None:
    timeout = 3.0
    app = Application(
        env={
            "PERSISTENCE_MODULE": "session_log.jetstream",
            **store_env(cluster, NATS_TIMEOUT=str(timeout)),
        }
    )
    names = [f"t{i}" for i in range(10)]
    acknowledged: list[str] = []
    failures: list[tuple[str, float, BaseException]] = []
    try:
        for name in names[:4]:
            log_take(app, name)
            acknowledged.append(name)
        lead = leader(cluster)
        other = sorted(followers(cluster))[0]
        killed = time.monotonic()
        cluster.node(lead).kill()
        cluster.node(other).kill()
        # While the client reconnects, saves fail at once (NotSentError); the
        # case that matters is a client connected to the surviving node.
        recorder = app.recorder
        assert isinstance(recorder, JetStreamApplicationRecorder)
        deadline = time.monotonic() + 15
        while not recorder.bridge.is_connected:
            assert time.monotonic() < deadline, "no reconnection to the survivor"
            time.sleep(0.05)
        # Quorum lost: every command fails, fast, and nothing is acknowledged.
        for name in names[4:8]:
            started = time.monotonic()
            try:
                app.save(Take(name))
            except Exception as e:  # checked below
                failures.append((name, time.monotonic() - started, e))
            else:
                acknowledged.append(name)
        false_acks = [n for n in acknowledged if n in names[4:8]]
        assert not false_acks, f"acknowledged without a quorum: {false_acks}"
        slowest = max(d for _, d, _ in failures)
        assert slowest < 5 * timeout + 5, [(n, round(d, 1)) for n, d, _ in failures]
        # Quorum returns: the same commands, retried, go through.
        restarted = time.monotonic()
        cluster.node(other).start()
        resumed: float | None = None
        for name in names[4:]:
            deadline = time.monotonic() + 60
            while True:
                try:
                    log_take(app, name)
                except (OperationalError, SpuriousConflictError):
                    assert time.monotonic() < deadline, f"{name}: no service"
                    time.sleep(0.2)
                    continue
                if resumed is None:
                    resumed = time.monotonic()
                acknowledged.append(name)
                break
        assert resumed is not None
    finally:
        app.close()
    cluster.node(lead).start()
    cluster.wait_ready(60)
    wait_replicas_current(cluster)
    factory = JetStreamFactory(store_env(cluster))
    try:
        present = Counter(n.originator_id for n in read_all(recorder_of(factory)))
    finally:
        factory.close()
    wanted = {Take.create_id(n) for n in names}
    line = (
        f"FIGURES quorum-loss: acknowledged={len(acknowledged)} "
        f"present={sum(present.values())} "
        f"lost={len(wanted - set(present))} "
        f"duplicated={sum(c - 1 for c in present.values())} "
        f"unexpected={len(set(present) - wanted)} "
        f"failed={len(failures)} slowest-failure={slowest:.1f}s "
        f"errors={dict(Counter(type(e).__name__ for _, _, e in failures))} "
        f"unavailability=[{resumed - killed:.1f}s] "
        f"resumed-after-quorum={resumed - restarted:.1f}s"
    )
    FIGURES.append(line)
    print(line)
    assert set(present) == wanted
    assert all(c == 1 for c in present.values())
    check_replicas_agree(cluster)
    # A clear error names the operation and the server it could not complete on.
    unclear = [
        str(e)
        for _, _, e in failures
        if isinstance(e, OperationalError) and "nats://127.0.0.1:" not in str(e)
    ]
    assert not unclear, unclear
    wrong = [
        (n, type(e).__name__, str(e)[:200])
        for n, _, e in failures
        if not isinstance(e, OperationalError)
    ]
    assert not wrong, f"not a retryable OperationalError: {wrong}"


# -------------------------------------------------------- lost acknowledgements
def test_publish_retried_after_lost_ack_and_leader_kill_is_not_stored_twice(
    cluster: LoopbackCluster,
) -> None:
    """At the cluster level: publishes whose acks are lost (sent with a reply
    subject nobody listens to), the leader that stored them killed, then the
    same messages (same Nats-Msg-Id) published again to the new leader."""
    factory = JetStreamFactory(store_env(cluster))
    try:
        recorder_of(factory)  # creates the R3 stream
    finally:
        factory.close()
    user, password = cluster.credentials(USER)
    count = 20

    async def scenario() -> tuple[list[Any], float]:
        nc = await nats.connect(cluster.urls, user=user, password=password)
        try:
            for i in range(count):
                await nc.publish(
                    f"{STREAM}.lostack.take.m{i}",
                    json.dumps({"i": i}).encode(),
                    reply=f"_INBOX.nobody-listens.{i}",
                    headers={"Nats-Msg-Id": f"lost-ack-{i}"},
                )
            await nc.flush()
            deadline = time.monotonic() + 10
            while stored_last_seq(cluster) < count:
                assert time.monotonic() < deadline, "the publishes were not stored"
                await asyncio.sleep(0.05)
            victim = leader(cluster)
            killed = time.monotonic()
            cluster.node(victim).kill()
            js = nc.jetstream(timeout=2)
            acks = []
            first_ack: float | None = None
            for i in range(count):
                deadline = time.monotonic() + 60
                while True:
                    try:
                        ack = await js.publish(
                            f"{STREAM}.lostack.take.m{i}",
                            json.dumps({"i": i}).encode(),
                            headers={"Nats-Msg-Id": f"lost-ack-{i}"},
                        )
                    except Exception:
                        assert time.monotonic() < deadline, "no new leader"
                        await asyncio.sleep(0.1)
                        continue
                    first_ack = first_ack or time.monotonic()
                    acks.append(ack)
                    break
            assert first_ack is not None
            cluster.node(victim).start()
            return acks, first_ack - killed
        finally:
            await nc.close()

    acks, window = asyncio.run(scenario())
    cluster.wait_ready(60)
    wait_replicas_current(cluster)
    states = {
        n.name: (n.stream_detail("LABEL_A", STREAM) or {}).get("state", {})
        for n in cluster.nodes
    }
    present = states[cluster.nodes[0].name].get("messages")
    duplicates = sum(1 for a in acks if a.duplicate)
    line = (
        f"FIGURES lost-ack-retry-after-leader-kill: acknowledged={len(acks)} "
        f"present={present} lost={count - int(present or 0)} "
        f"duplicated={int(present or 0) - count} acked-as-duplicate={duplicates} "
        f"unavailability=[{window:.1f}s]"
    )
    FIGURES.append(line)
    print(line)
    assert [a.seq for a in acks] == list(range(1, count + 1))
    assert all(a.duplicate for a in acks)
    assert all(s.get("messages") == count for s in states.values()), states
    check_replicas_agree(cluster)


def stored_last_seq(cluster: LoopbackCluster) -> int:
    lead = leader(cluster)
    detail = cluster.node(lead).stream_detail("LABEL_A", STREAM) or {}
    return int(detail.get("state", {}).get("last_seq", 0))


def test_store_resolves_a_lost_ack_across_a_leader_kill(
    cluster: LoopbackCluster,
) -> None:
    """Through the store: the first acknowledgement of a save is dropped and
    the stream leader killed before the recorder hears anything; the recorder
    must find its save stored (by its message id) and report it once."""
    factory = JetStreamFactory(store_env(cluster))
    try:
        recorder = recorder_of(factory)
        recorder.insert_events([StoredEvent("album-9.take.a", 1, "t", b"{}")])
        bridge = recorder.bridge
        original = bridge.publish
        dropped: list[str] = []

        async def publish_and_lose_the_ack(
            subject: str, payload: bytes, headers: dict[str, str]
        ) -> Any:
            if dropped:
                return await original(subject, payload, headers)
            nc = bridge._nc
            assert nc is not None
            await nc.publish(
                subject, payload, reply="_INBOX.nobody-listens", headers=headers
            )
            await nc.flush()
            dropped.append(subject)
            await asyncio.sleep(0.5)  # stored and replicated by now
            cluster.node(leader(cluster)).kill()
            raise TimeoutError

        bridge.publish = publish_and_lose_the_ack  # type: ignore[method-assign]
        started = time.monotonic()
        ids = recorder.insert_events(
            [StoredEvent("album-9.take.a", 2, "t", b'{"n":2}')]
        )
        took = time.monotonic() - started
        stored = recorder.select_events("album-9.take.a")
    finally:
        factory.close()
    line = (
        f"FIGURES store-lost-ack-leader-kill: acknowledged=1 "
        f"present={len(stored) - 1} lost={0 if len(stored) == 2 else 1} "
        f"duplicated={max(0, len(stored) - 2)} resolved-in={took:.1f}s"
    )
    FIGURES.append(line)
    print(line)
    assert dropped == ["SessionLog.album-9.take.a"]
    assert ids == [2]
    assert [e.originator_version for e in stored] == [1, 2]
    for node in cluster.nodes:
        node.start()
    cluster.wait_ready(60)
    wait_replicas_current(cluster)
    check_replicas_agree(cluster)


def test_a_node_whose_disk_is_lost_rejoins_empty_and_catches_up(
    cluster: LoopbackCluster,
) -> None:
    """The procedure of docs/operations.md: with the two other nodes healthy and
    current, start the node on an empty data directory under its own name."""
    ledger = Ledger()
    factory = JetStreamFactory(store_env(cluster))
    recorder = recorder_of(factory)
    faults: list[tuple[str, float, float]] = []

    def during() -> None:
        wait_for_acks(ledger, 500)
        victim = sorted(followers(cluster))[0]
        killed = time.monotonic()
        cluster.node(victim).kill()
        cluster.node(victim).wipe()  # the disk is lost
        wait_for_acks(ledger, 1000)
        # Only once the survivors are current may the empty node vote again.
        wait_replicas_current(cluster, same_last=False)
        cluster.node(victim).start()
        faults.append((victim, killed, time.monotonic()))
        cluster.wait_ready(60)

    try:
        elapsed = run_writers(
            recorder, ledger, writers=2, events_each=1000, during=during
        )
    finally:
        factory.close()
    windows = [longest_pause(ledger, k - 1.0, r) for _, k, r in faults]
    check(
        "disk-lost-node-rejoins",
        cluster,
        ledger,
        elapsed=elapsed,
        windows=windows,
        projects=["w0", "w1"],
        extra={"wiped": ",".join(n for n, _, _ in faults)},
    )
    assert len(faults) == 1
