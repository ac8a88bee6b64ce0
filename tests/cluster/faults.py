"""Fault-test harness: writers that keep a ledger, and the checks on the result.

A writer saves events through the store's application recorder and records,
per event, whether it was *acknowledged* (insert_events returned its
notification id) or only *attempted* (an OperationalError: the write may or
may not be stored; the writer retries the same events). After the faults, the
whole stream is read back and compared with the ledger:

- every acknowledged event is present exactly once, at the notification id
  the store returned for it (so no acknowledgement was false);
- every present event was attempted (nothing unexpected appears);
- no event is present twice, and each aggregate's versions run 1..n;
- each project's hash chains verify (session_log.tamper);
- every replica holds the same messages (per-node state from /jsz, and a
  digest of every message read from each node).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import (
    IntegrityError,
    OperationalError,
    StoredEvent,
)

from session_log.cluster import LoopbackCluster
from session_log.jetstream import JetStreamApplicationRecorder, JetStreamFactory
from session_log.tamper import read_project, verify_messages

ACCOUNT = "LABEL_A"
USER = "label-a-service"
STREAM = "SessionLog"
TOPIC = "tests.cluster:Take.Logged"
# How long one writer keeps retrying one save through faults before giving up.
SAVE_DEADLINE_S = 60.0
# How long a writer may run in all.
WRITERS_LIMIT_S = 180.0

Key = tuple[str, int]  # (originator id, version)

FIGURES: list[str] = []  # printed again in the terminal summary (conftest.py)


def store_env(cluster: LoopbackCluster, **extra: str) -> dict[str, str]:
    """The store's environment on the cluster: R3 streams, all three URLs."""
    settings = {"NATS_STREAM": STREAM, "NATS_REPLICAS": "3", "NATS_TIMEOUT": "3"}
    return cluster.env(USER, **{**settings, **extra})


def payload(originator_id: str, version: int) -> bytes:
    return json.dumps({"oid": originator_id, "v": version}).encode()


@dataclass
class Ledger:
    """What the writers were told, shared by all writer threads."""

    acked: dict[Key, int] = field(default_factory=dict)  # -> notification id
    attempted: set[Key] = field(default_factory=set)
    resolved_by_read: int = 0  # conflicts because an earlier try had landed
    errors: Counter[str] = field(default_factory=Counter)
    ack_times: list[float] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def acks(self) -> int:
        return len(self.acked)

    def first_ack_after(self, moment: float) -> float | None:
        with self.lock:
            later = [t for t in self.ack_times if t > moment]
        return min(later) if later else None


class Writer(threading.Thread):
    """Writes at least ``count`` events to aggregates of its own project, and
    goes on until ``stop`` is set (the faults are over), so that every fault
    happens under load however fast the machine is.

    Saves alternate between one event and an atomic batch of two. On an
    OperationalError the same events are sent again; an IntegrityError means
    an earlier attempt was stored (a lost acknowledgement), which the writer
    confirms by reading the aggregate back.
    """

    def __init__(
        self,
        recorder: JetStreamApplicationRecorder,
        ledger: Ledger,
        number: int,
        count: int,
        *,
        aggregates: int = 8,
        stop: threading.Event | None = None,
    ) -> None:
        super().__init__(name=f"writer-{number}", daemon=True)
        self.recorder = recorder
        self.ledger = ledger
        self.project = f"w{number}"
        self.count = count
        self.ids = [f"w{number}.take.a{i}" for i in range(aggregates)]
        self.stop_event = stop or threading.Event()
        self.error: BaseException | None = None
        self.written = 0

    def run(self) -> None:
        try:
            self._run()
        except BaseException as e:  # reported by the test, not by pytest's hook
            self.error = e

    def _run(self) -> None:
        versions = dict.fromkeys(self.ids, 0)
        turn = 0
        deadline = time.monotonic() + WRITERS_LIMIT_S
        # At least ``count`` events, and on until the faults are over.
        while self.written < self.count or not self.stop_event.is_set():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: still writing after the limit")
            oid = self.ids[turn % len(self.ids)]
            size = 2 if turn % 3 == 2 else 1
            turn += 1
            first = versions[oid] + 1
            events = [
                StoredEvent(oid, v, TOPIC, payload(oid, v))
                for v in range(first, first + size)
            ]
            self._save(events)
            versions[oid] += size
            self.written += size

    def _save(self, events: list[StoredEvent]) -> None:
        ledger = self.ledger
        keys = [(str(e.originator_id), e.originator_version) for e in events]
        deadline = time.monotonic() + SAVE_DEADLINE_S
        while True:
            with ledger.lock:
                ledger.attempted.update(keys)
            try:
                ids = self.recorder.insert_events(events)
            except IntegrityError as e:
                # Only this writer writes these aggregates: a conflict means an
                # earlier attempt of this save was stored (a lost
                # acknowledgement), or the store misreported another failure
                # as a conflict (counted, then retried).
                found = self._stored(events)
                if found:
                    with ledger.lock:
                        ledger.resolved_by_read += 1
                    return
                with ledger.lock:
                    ledger.errors[error_kind(e)] += 1
                if found is None:
                    with ledger.lock:
                        ledger.anomalies.append(f"{e} and other events are stored")
                    return
            except OperationalError as e:
                with ledger.lock:
                    ledger.errors[error_kind(e)] += 1
            else:
                now = time.monotonic()
                assert ids is not None
                with ledger.lock:
                    for key, seq in zip(keys, ids, strict=True):
                        ledger.acked[key] = seq
                    ledger.ack_times.append(now)
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no save for {SAVE_DEADLINE_S}s")
            time.sleep(0.05)

    def _stored(self, events: list[StoredEvent], wait_s: float = 2.0) -> bool | None:
        """True if these very events are stored, False if none of their
        versions is, None if other events hold those versions. Reads for up to
        ``wait_s`` (a lagging replica may answer a read)."""
        oid = events[0].originator_id
        first = events[0].originator_version
        last = events[-1].originator_version
        deadline = time.monotonic() + wait_s
        while True:
            try:
                stored = self.recorder.select_events(oid, gt=first - 1, lte=last)
            except OperationalError:
                stored = None
            if stored is not None:
                if [s.state for s in stored] == [e.state for e in events]:
                    return True
                if stored:
                    return None
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)


def error_kind(error: Exception) -> str:
    """A short name for the figures: the class, and why for a conflict."""
    name = type(error).__name__
    if isinstance(error, IntegrityError) and "abandoned" in str(error):
        return f"{name}(abandoned, not stored)"
    if isinstance(error, IntegrityError):
        return f"{name}(not stored)"
    return name


def run_writers(
    recorder: JetStreamApplicationRecorder,
    ledger: Ledger,
    *,
    writers: int,
    events_each: int,
    during: Callable[[], None],
    limit_s: float = 200.0,
) -> float:
    """Run the writers while ``during()`` injects faults; return the elapsed s.

    Each writer writes at least ``events_each`` events and keeps writing until
    ``during()`` has returned.
    """
    stop = threading.Event()
    threads = [
        Writer(recorder, ledger, n, events_each, stop=stop) for n in range(writers)
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    try:
        during()
    finally:
        stop.set()
        deadline = started + limit_s
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
    elapsed = time.monotonic() - started
    for t in threads:
        assert not t.is_alive(), f"{t.name} did not finish within {limit_s}s"
        if t.error is not None:
            raise AssertionError(f"{t.name} failed: {t.error!r}") from t.error
        assert t.written >= t.count, f"{t.name} stopped at {t.written}/{t.count}"
    return elapsed


def wait_for_acks(ledger: Ledger, count: int, limit_s: float = 120.0) -> None:
    deadline = time.monotonic() + limit_s
    while ledger.acks < count:
        assert time.monotonic() < deadline, f"only {ledger.acks} acks, {count} wanted"
        time.sleep(0.02)


def wait_replicas_current(
    cluster: LoopbackCluster,
    limit_s: float = 60.0,
    *,
    same_last: bool = True,
    account: str = ACCOUNT,
) -> None:
    """Until the stream leader sees every other running node as current and
    (``same_last``, when no one is writing) every running node holds the same
    last sequence."""
    deadline = time.monotonic() + limit_s
    state: Any = None
    while time.monotonic() < deadline:
        running = [n for n in cluster.nodes if n.running]
        details = {n.name: n.stream_detail(account, STREAM) for n in running}
        leader = None
        for d in details.values():
            leader = ((d or {}).get("cluster") or {}).get("leader") or leader
        if leader in details and all(details.values()):
            replicas = (details[leader] or {}).get("cluster", {}).get("replicas") or []
            current = {r["name"] for r in replicas if r.get("current")}
            lasts = {
                (d or {}).get("state", {}).get("last_seq") for d in details.values()
            }
            if all(n.name in current for n in running if n.name != leader) and (
                len(lasts) == 1 or not same_last
            ):
                return
            state = (leader, current, lasts)
        time.sleep(0.2)
    raise AssertionError(f"replicas not current after {limit_s}s: {state}")


# ------------------------------------------------------------------ checks
@dataclass
class Figures:
    name: str
    acknowledged: int
    present: int
    lost: int
    duplicated: int
    unexpected: int
    unacknowledged_present: int
    resolved_by_read: int
    errors: dict[str, int]
    windows: list[float]
    elapsed: float
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        windows = ", ".join(f"{w:.1f}s" for w in self.windows) or "-"
        extra = "".join(f" {k}={v}" for k, v in self.extra.items())
        return (
            f"FIGURES {self.name}: acknowledged={self.acknowledged} "
            f"present={self.present} lost={self.lost} "
            f"duplicated={self.duplicated} unexpected={self.unexpected} "
            f"unacknowledged-present={self.unacknowledged_present} "
            f"retries-found-stored={self.resolved_by_read} "
            f"errors={dict(sorted(self.errors.items()))} "
            f"unavailability=[{windows}] elapsed={self.elapsed:.1f}s{extra}"
        )


def read_all(recorder: JetStreamApplicationRecorder) -> list[Any]:
    notifications = []
    start = 1
    while True:
        page = recorder.select_notifications(start, 1000)
        notifications.extend(page)
        if len(page) < 1000:
            return notifications
        start = page[-1].id + 1


def check(
    name: str,
    cluster: LoopbackCluster,
    ledger: Ledger,
    *,
    elapsed: float,
    windows: list[float],
    projects: list[str],
    extra: dict[str, Any] | None = None,
) -> Figures:
    """Read everything back after recovery, compare with the ledger, assert."""
    wait_replicas_current(cluster)
    factory = JetStreamFactory(store_env(cluster))
    try:
        recorder = factory.application_recorder()
        assert isinstance(recorder, JetStreamApplicationRecorder)
        notifications = read_all(recorder)
        present = Counter(
            (str(n.originator_id), n.originator_version) for n in notifications
        )
        by_id = {n.id: n for n in notifications}
        chains = {
            p: verify_messages(read_project(recorder.stream, p)) for p in projects
        }
    finally:
        factory.close()
    acked = set(ledger.acked)
    figures = Figures(
        name=name,
        acknowledged=len(acked),
        present=sum(present.values()),
        lost=len(acked - set(present)),
        duplicated=sum(c - 1 for c in present.values() if c > 1),
        unexpected=len(set(present) - ledger.attempted),
        unacknowledged_present=len(set(present) - acked),
        resolved_by_read=ledger.resolved_by_read,
        errors=dict(ledger.errors),
        windows=windows,
        elapsed=elapsed,
        extra=extra or {},
    )
    line = figures.line()
    FIGURES.append(line)
    print(line)

    assert not ledger.anomalies, ledger.anomalies[:5]
    assert figures.lost == 0, sorted(acked - set(present))[:10]
    assert figures.duplicated == 0, [k for k, c in present.items() if c > 1][:10]
    assert figures.unexpected == 0, sorted(set(present) - ledger.attempted)[:10]
    # Every acknowledgement named the right position: no false acknowledgement.
    wrong = [
        (key, seq)
        for key, seq in ledger.acked.items()
        if seq not in by_id
        or (str(by_id[seq].originator_id), by_id[seq].originator_version) != key
    ]
    assert not wrong, wrong[:10]
    # Every payload is the one its (id, version) was written with.
    for n in notifications:
        assert n.state == payload(str(n.originator_id), n.originator_version)
    # Versions of each aggregate run 1..n without a gap.
    versions: dict[str, list[int]] = {}
    for n in notifications:
        versions.setdefault(str(n.originator_id), []).append(n.originator_version)
    for oid, vs in versions.items():
        assert vs == list(range(1, len(vs) + 1)), (oid, vs[:20])
    for project, report in chains.items():
        assert report.ok, (project, report.problem)
    check_replicas_agree(cluster)
    return figures


def node_digest(cluster: LoopbackCluster, node_name: str) -> tuple[int, int, str]:
    """(messages, last sequence, SHA-256 of every message) as read from one node.

    Direct gets are answered by a queue group of the stream's replicas, and
    NATS prefers a queue member on the server the request arrives at; each
    replica joins once it is current. So a client connected to one node only
    reads that node's replica.
    """
    node = cluster.node(node_name)
    deadline = time.monotonic() + 30
    while not local_direct_get(node):
        assert time.monotonic() < deadline, f"{node_name} serves no direct gets"
        time.sleep(0.2)
    factory = JetStreamFactory({**store_env(cluster), "NATS_URL": node.url})
    try:
        stream = factory.stream(STREAM, STREAM)
        digest = hashlib.sha256()
        count = last = 0
        for subject in (f"{STREAM}.>", f"{STREAM}_tracking.>"):
            seq = 1
            while True:
                messages, left = stream.batch(subject, seq, 1000)
                for msg in messages:
                    digest.update(f"{msg.seq}\n{msg.subject}\n".encode())
                    for header in sorted(msg.headers):
                        if header.startswith(("SL-", "Nats-Msg-Id")):
                            digest.update(f"{header}:{msg.headers[header]}\n".encode())
                    digest.update(msg.data)
                    count += 1
                    last = max(last, msg.seq)
                if not messages or left == 0:
                    break
                seq = messages[-1].seq + 1
        return count, last, digest.hexdigest()
    finally:
        factory.close()


def local_direct_get(node: Any) -> bool:
    subs = node.monitor(
        f"subsz?subs=true&acc={ACCOUNT}&test=$JS.API.DIRECT.GET.{STREAM}"
    )
    return any(s.get("qgroup") for s in subs.get("subscriptions_list") or [])


def check_replicas_agree(cluster: LoopbackCluster) -> None:
    states = {}
    for node in cluster.nodes:
        detail = node.stream_detail(ACCOUNT, STREAM)
        assert detail is not None, f"{node.name} has no replica"
        state = detail["state"]
        states[node.name] = (
            state.get("messages"),
            state.get("bytes"),
            state.get("first_seq"),
            state.get("last_seq"),
            state.get("num_deleted", 0),
        )
    assert len(set(states.values())) == 1, f"replica states differ: {states}"
    digests = {node.name: node_digest(cluster, node.name) for node in cluster.nodes}
    assert len(set(digests.values())) == 1, f"replica contents differ: {digests}"


# ------------------------------------------------------------------ faults
def leader(cluster: LoopbackCluster) -> str:
    return cluster.stream_leader(ACCOUNT, STREAM)


def followers(cluster: LoopbackCluster) -> list[str]:
    lead = leader(cluster)
    return [n.name for n in cluster.nodes if n.running and n.name != lead]


def longest_pause(ledger: Ledger, start: float, end: float) -> float:
    """The longest time without any acknowledgement between ``start`` and
    ``end`` (the unavailability window around a fault)."""
    with ledger.lock:
        times = sorted(t for t in ledger.ack_times if start <= t <= end)
    points = [start, *times, end]
    pairs: Iterator[tuple[float, float]] = itertools.pairwise(points)
    return max((b - a for a, b in pairs), default=0.0)


def pick(rng: random.Random, names: list[str]) -> str:
    return rng.choice(sorted(names))
