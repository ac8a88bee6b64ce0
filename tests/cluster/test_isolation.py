"""Isolation at the NATS level, on the cluster run from docker/nats/.

Tenants (labels) are NATS accounts: LABEL_A and LABEL_B each have a stream
called SessionLog, written here through the store by each label's service user.
Inside LABEL_A, user label-a-album-7 may only write and read project album-7.

JetStream reads are requests *published* to $JS.API subjects (the data comes
back on the requester's inbox), so subscribe permissions do not protect data:
every way of reading is attempted with nats-py directly (consumer creation,
direct get, message get, stream info, core subscriptions, consumer hijack), and
every way of destroying (delete, purge, update). A denied request gets no reply
and the server reports a permissions violation to the client; a request the
server refuses gets an error reply; either way no foreign payload may arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import uuid4

import nats
import pytest
from eventsourcing.persistence import StoredEvent
from nats.aio.client import Client

from session_log.cluster import LoopbackCluster
from session_log.jetstream import JetStreamFactory, chain

S = "SessionLog"
PROJECT_INBOX = "_INBOX_album-7"
# Payload markers that must never reach a credential that may not read them.
A7 = "secret-label-a-album-7"
A8 = "secret-label-a-album-8"
B7 = "secret-label-b-album-7"

T = TypeVar("T")


def write(cluster: LoopbackCluster, user: str, events: list[tuple[str, str]]) -> None:
    """Legitimate writes, through the store (R3 stream created if missing)."""
    factory = JetStreamFactory(cluster.env(user, NATS_STREAM=S, NATS_REPLICAS="3"))
    try:
        recorder = factory.application_recorder()
        versions: dict[str, int] = {}
        for oid, marker in events:
            versions[oid] = versions.get(oid, 0) + 1
            state = json.dumps({"marker": marker}).encode()
            recorder.insert_events([StoredEvent(oid, versions[oid], "t", state)])
    finally:
        factory.close()


@pytest.fixture(scope="module")
def tenants(shared_cluster: LoopbackCluster) -> LoopbackCluster:
    write(
        shared_cluster,
        "label-a-service",
        [("album-7.take.t1", A7), ("album-8.take.t1", A8), ("album-7.take.t1", A7)],
    )
    write(shared_cluster, "label-b-service", [("album-7.take.t1", B7)])

    async def durable() -> None:
        # A consumer of label A's services, which the project user must not
        # be able to read from or re-point.
        nc = await connect(shared_cluster, "label-a-service")
        try:
            body = {
                "stream_name": S,
                "config": {
                    "durable_name": "projector",
                    "name": "projector",
                    "filter_subject": f"{S}.>",
                    "ack_policy": "explicit",
                },
            }
            reply = await nc.request(
                f"$JS.API.CONSUMER.CREATE.{S}.projector.{S}.>",
                json.dumps(body).encode(),
                timeout=5,
            )
            assert b'"error"' not in reply.data, reply.data
        finally:
            await nc.close()

    asyncio.run(durable())
    return shared_cluster


async def connect(
    cluster: LoopbackCluster, user: str, errors: list[str] | None = None, **options: Any
) -> Client:
    name, password = cluster.credentials(user)

    async def on_error(e: Exception) -> None:
        if errors is not None:
            errors.append(str(e).lower())

    return await nats.connect(
        cluster.urls, user=name, password=password, error_cb=on_error, **options
    )


@dataclass
class Attempt:
    """What one request got back: replies (data and headers), or nothing."""

    subject: str
    replies: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(f"{h} {d!r}" for h, d in self.replies)

    def leaked(self, *markers: str) -> list[str]:
        return [m for m in markers if m in self.text]


async def attempt(nc: Client, inbox: str, subject: str, body: Any = None) -> Attempt:
    """Send a request and collect every reply for a second (batch requests
    answer with several messages)."""
    result = Attempt(subject)
    reply_to = f"{inbox}.{nats.nuid.NUID().next().decode()}"
    done = asyncio.Event()

    async def on_reply(msg: Any) -> None:
        result.replies.append((dict(msg.headers or {}), msg.data))
        if (msg.headers or {}).get("Status") in ("204", "404", "408", "400"):
            done.set()

    sub = await nc.subscribe(reply_to, cb=on_reply)
    data = b"" if body is None else json.dumps(body).encode()
    await nc.publish(subject, data, reply=reply_to)
    await nc.flush()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), 1.0)
    await sub.unsubscribe()
    return result


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(coro_fn())  # type: ignore[arg-type]


def denied(errors: list[str], subject: str) -> bool:
    """Did the server report a denied publish to ``subject``?"""
    wanted = f'permissions violation for publish to "{subject.lower()}"'
    return any(wanted in e for e in errors)


# ------------------------------------------------------------- project user
@pytest.fixture
def project_user(tenants: LoopbackCluster) -> LoopbackCluster:
    return tenants


def test_project_user_writes_and_reads_its_own_project(
    project_user: LoopbackCluster,
) -> None:
    cluster = project_user

    async def scenario() -> None:
        errors: list[str] = []
        nc = await connect(
            cluster, "label-a-album-7", errors, inbox_prefix=PROJECT_INBOX
        )
        try:
            # Write: a well-formed event of a new aggregate of album-7.
            subject = f"{S}.album-7.take.t9"
            data = json.dumps({"marker": A7}).encode()
            digest = chain.link(chain.GENESIS, subject, 1, "t", data)
            ack = await nc.request(
                subject,
                data,
                timeout=5,
                headers={
                    "SL-Topic": "t",
                    "SL-Version": "1",
                    "SL-Hash": digest.hex(),
                    "Nats-Msg-Id": "album-7-user-t9-1",
                    "Nats-Expected-Last-Subject-Sequence": "0",
                },
            )
            assert json.loads(ack.data).get("seq", 0) > 0, ack.data
            # Read the last event of one of its aggregates.
            last = await attempt(
                nc, PROJECT_INBOX, f"$JS.API.DIRECT.GET.{S}.{S}.album-7.take.t1"
            )
            assert A7 in last.text
            assert not last.leaked(A8, B7)
            # Read the whole project through its own pull consumer.
            create = await attempt(
                nc,
                PROJECT_INBOX,
                f"$JS.API.CONSUMER.CREATE.{S}.album-7-reader.{S}.album-7.>",
                {
                    "stream_name": S,
                    "config": {
                        "name": "album-7-reader",
                        "filter_subject": f"{S}.album-7.>",
                        "ack_policy": "none",
                        "inactive_threshold": 30_000_000_000,
                    },
                },
            )
            assert "error" not in create.text, create.text
            batch = await attempt(
                nc,
                PROJECT_INBOX,
                f"$JS.API.CONSUMER.MSG.NEXT.{S}.album-7-reader",
                {"batch": 50, "no_wait": True},
            )
            markers = [d for _, d in batch.replies if d]
            assert len(markers) == 3, batch.text  # t1 v1, t1 v2, t9 v1
            assert all(A7.encode() in d for d in markers)
            assert not batch.leaked(A8, B7)
            await attempt(
                nc, PROJECT_INBOX, f"$JS.API.CONSUMER.DELETE.{S}.album-7-reader"
            )
            assert not errors, errors
        finally:
            await nc.close()

    run(scenario)


def test_project_user_cannot_read_another_project(
    project_user: LoopbackCluster,
) -> None:
    cluster = project_user
    # (subject, body): every read the JetStream API offers, aimed elsewhere.
    reads: list[tuple[str, Any]] = [
        # direct get, body form: by sequence, by subject, batches
        (f"$JS.API.DIRECT.GET.{S}", {"seq": 2}),
        (f"$JS.API.DIRECT.GET.{S}", {"last_by_subj": f"{S}.album-8.take.t1"}),
        (f"$JS.API.DIRECT.GET.{S}", {"seq": 1, "batch": 10, "next_by_subj": f"{S}.>"}),
        (f"$JS.API.DIRECT.GET.{S}", {"multi_last": [f"{S}.>"], "batch": 10}),
        # direct get, subject form: another project, wildcards
        (f"$JS.API.DIRECT.GET.{S}.{S}.album-8.take.t1", None),
        (f"$JS.API.DIRECT.GET.{S}.{S}.*.take.t1", None),
        (f"$JS.API.DIRECT.GET.{S}.{S}.>", None),
        # message get (through the leader)
        (f"$JS.API.STREAM.MSG.GET.{S}", {"seq": 2}),
        (f"$JS.API.STREAM.MSG.GET.{S}", {"last_by_subj": f"{S}.album-8.take.t1"}),
        # stream info: subjects_filter lists every aggregate of every project
        (f"$JS.API.STREAM.INFO.{S}", {"subjects_filter": ">"}),
        ("$JS.API.STREAM.LIST", None),
        ("$JS.API.STREAM.NAMES", None),
        ("$JS.API.INFO", None),
        # consumers: legacy create (filter in the body), durable create, other
        # names, another project's filter, listing, pulling from another's
        (
            f"$JS.API.CONSUMER.CREATE.{S}",
            {"stream_name": S, "config": {"filter_subject": f"{S}.>"}},
        ),
        (
            f"$JS.API.CONSUMER.DURABLE.CREATE.{S}.spy",
            {"stream_name": S, "config": {"durable_name": "spy"}},
        ),
        (
            f"$JS.API.CONSUMER.CREATE.{S}.spy.{S}.album-8.>",
            {
                "stream_name": S,
                "config": {"name": "spy", "filter_subject": f"{S}.album-8.>"},
            },
        ),
        (
            f"$JS.API.CONSUMER.CREATE.{S}.album-7-reader.{S}.>",
            {
                "stream_name": S,
                "config": {"name": "album-7-reader", "filter_subject": f"{S}.>"},
            },
        ),
        (f"$JS.API.CONSUMER.LIST.{S}", None),
        (f"$JS.API.CONSUMER.NAMES.{S}", None),
        (f"$JS.API.CONSUMER.INFO.{S}.projector", None),
        (f"$JS.API.CONSUMER.MSG.NEXT.{S}.projector", {"batch": 10, "no_wait": True}),
        # hijack: re-point label A's durable consumer to this project
        (
            f"$JS.API.CONSUMER.CREATE.{S}.projector.{S}.album-7.>",
            {
                "stream_name": S,
                "config": {
                    "name": "projector",
                    "durable_name": "projector",
                    "filter_subject": f"{S}.album-7.>",
                    "ack_policy": "explicit",
                },
            },
        ),
    ]
    # Allowed subjects whose body asks for more than the subject allows: the
    # server must refuse them itself.
    refused: list[tuple[str, Any]] = [
        (f"$JS.API.DIRECT.GET.{S}.{S}.album-7.take.t1", {"seq": 2}),
        (
            f"$JS.API.DIRECT.GET.{S}.{S}.album-7.take.t1",
            {"seq": 1, "next_by_subj": f"{S}.album-8.take.t1"},
        ),
        (f"$JS.API.DIRECT.GET.{S}.{S}.album-7.>", {"seq": 1, "batch": 10}),
        (
            f"$JS.API.CONSUMER.CREATE.{S}.album-7-reader.{S}.album-7.>",
            {
                "stream_name": S,
                "config": {"name": "album-7-reader", "filter_subject": f"{S}.>"},
            },
        ),
        (
            f"$JS.API.CONSUMER.CREATE.{S}.album-7-reader.{S}.album-7.>",
            {
                "stream_name": S,
                "config": {
                    "name": "album-7-reader",
                    "filter_subjects": [f"{S}.album-7.>", f"{S}.album-8.>"],
                },
            },
        ),
    ]

    async def scenario() -> None:
        errors: list[str] = []
        nc = await connect(
            cluster, "label-a-album-7", errors, inbox_prefix=PROJECT_INBOX
        )
        try:
            results = await asyncio.gather(
                *(attempt(nc, PROJECT_INBOX, s, b) for s, b in reads)
            )
            for result in results:
                assert not result.leaked(A8, B7), result.subject
                assert not result.replies, (result.subject, result.text)
                assert denied(errors, result.subject), (result.subject, errors)
            results = await asyncio.gather(
                *(attempt(nc, PROJECT_INBOX, s, b) for s, b in refused)
            )
            for result in results:
                assert not result.leaked(A8, B7), result.subject
                assert result.replies, result.subject
                assert all(
                    h.get("Status") in ("400", "408") or b'"error"' in d
                    for h, d in result.replies
                ), (result.subject, result.text)
            # A core subscription to another project's subjects (or to other
            # users' inboxes) is refused: live events are not visible either.
            seen: list[bytes] = []

            async def spy(msg: Any) -> None:
                seen.append(msg.data)

            for subject in (f"{S}.album-8.>", f"{S}.>", "_INBOX.>", ">"):
                await nc.subscribe(subject, cb=spy)
            await nc.flush()
            await asyncio.sleep(0.3)
            write(cluster, "label-a-service", [(f"album-8.take.{uuid4().hex}", A8)])
            await asyncio.sleep(0.5)
            assert not seen, seen
            for subject in (f"{S}.album-8.>", f"{S}.>", "_INBOX.>", ">"):
                wanted = (
                    f'permissions violation for subscription to "{subject.lower()}"'
                )
                assert any(wanted in e for e in errors), (subject, errors)
        finally:
            await nc.close()

    run(scenario)
    # The hijack did not re-point label A's consumer.
    info = run(lambda: service_request(cluster, f"CONSUMER.INFO.{S}.projector"))
    assert info["config"]["filter_subject"] == f"{S}.>"


async def service_request(
    cluster: LoopbackCluster, api: str, body: Any = None, user: str = "label-a-admin"
) -> dict[str, Any]:
    nc = await connect(cluster, user)
    try:
        data = b"" if body is None else json.dumps(body).encode()
        reply = await nc.request(f"$JS.API.{api}", data, timeout=5)
        result: dict[str, Any] = json.loads(reply.data)
        return result
    finally:
        await nc.close()


def test_project_user_cannot_write_elsewhere(project_user: LoopbackCluster) -> None:
    cluster = project_user
    before = run(lambda: service_request(cluster, f"STREAM.INFO.{S}"))["state"]

    async def scenario() -> None:
        errors: list[str] = []
        nc = await connect(
            cluster, "label-a-album-7", errors, inbox_prefix=PROJECT_INBOX
        )
        try:
            subjects = [
                f"{S}.album-8.take.t1",
                f"{S}._.uuid.00000000000000000000000000000000",
                f"{S}_tracking.projector",
                f"{S}_snapshots.album-7.take.t1",
            ]
            results = await asyncio.gather(
                *(attempt(nc, PROJECT_INBOX, s, {"marker": "forged"}) for s in subjects)
            )
            for result in results:
                assert not result.replies, result.text
                assert denied(errors, result.subject), (result.subject, errors)
        finally:
            await nc.close()

    run(scenario)
    after = run(lambda: service_request(cluster, f"STREAM.INFO.{S}"))["state"]
    assert after["last_seq"] == before["last_seq"]


@pytest.mark.parametrize("user", ["label-a-album-7", "label-a-service"])
def test_restricted_users_cannot_delete_purge_or_update(
    tenants: LoopbackCluster, user: str
) -> None:
    cluster = tenants
    info = run(lambda: service_request(cluster, f"STREAM.INFO.{S}"))
    weaker = {**info["config"], "deny_purge": False, "deny_delete": False}
    attacks: list[tuple[str, Any]] = [
        (f"$JS.API.STREAM.DELETE.{S}", None),
        (f"$JS.API.STREAM.PURGE.{S}", None),
        (f"$JS.API.STREAM.PURGE.{S}", {"filter": f"{S}.album-8.>"}),
        (f"$JS.API.STREAM.UPDATE.{S}", weaker),
        (f"$JS.API.STREAM.UPDATE.{S}", {**info["config"], "num_replicas": 1}),
        (f"$JS.API.STREAM.MSG.DELETE.{S}", {"seq": 1}),
        (f"$JS.API.STREAM.SNAPSHOT.{S}", {"deliver_subject": "_INBOX_album-7.snap"}),
        (f"$JS.API.STREAM.LEADER.STEPDOWN.{S}", None),
    ]
    if user != "label-a-service":
        attacks.append((f"$JS.API.CONSUMER.DELETE.{S}.projector", None))
    inbox = PROJECT_INBOX if user == "label-a-album-7" else "_INBOX"

    async def scenario() -> None:
        errors: list[str] = []
        options = {"inbox_prefix": PROJECT_INBOX} if inbox == PROJECT_INBOX else {}
        nc = await connect(cluster, user, errors, **options)
        try:
            results = await asyncio.gather(
                *(attempt(nc, inbox, s, b) for s, b in attacks)
            )
            for result in results:
                assert not result.replies, (result.subject, result.text)
                assert denied(errors, result.subject), (result.subject, errors)
        finally:
            await nc.close()

    run(scenario)
    after = run(lambda: service_request(cluster, f"STREAM.INFO.{S}"))
    assert after["state"]["messages"] >= info["state"]["messages"]
    assert after["config"]["num_replicas"] == 3
    assert after["config"]["deny_purge"]
    assert after["config"]["deny_delete"]
    consumer = run(lambda: service_request(cluster, f"CONSUMER.INFO.{S}.projector"))
    assert "error" not in consumer, consumer


def test_even_a_label_admin_cannot_purge_or_delete_events(
    tenants: LoopbackCluster,
) -> None:
    """The second fence: the stream itself refuses (deny_purge, deny_delete),
    and the refusal cannot be switched off by an update."""
    cluster = tenants
    info = run(lambda: service_request(cluster, f"STREAM.INFO.{S}"))
    purge = run(lambda: service_request(cluster, f"STREAM.PURGE.{S}"))
    delete = run(lambda: service_request(cluster, f"STREAM.MSG.DELETE.{S}", {"seq": 1}))
    update = run(
        lambda: service_request(
            cluster, f"STREAM.UPDATE.{S}", {**info["config"], "deny_purge": False}
        )
    )
    assert purge["error"]["err_code"] == 10110, purge  # purge not permitted
    assert "error" in delete, delete
    assert update["error"]["err_code"] == 10052, update  # cannot cancel deny purge
    undelete = run(
        lambda: service_request(
            cluster, f"STREAM.UPDATE.{S}", {**info["config"], "deny_delete": False}
        )
    )
    assert "error" in undelete, undelete
    after = run(lambda: service_request(cluster, f"STREAM.INFO.{S}"))
    assert after["state"]["messages"] >= info["state"]["messages"]


# ------------------------------------------------------------------ tenants
@pytest.mark.parametrize("user", ["label-b-service", "label-b-admin"])
def test_another_label_cannot_reach_label_a_at_all(
    tenants: LoopbackCluster, user: str
) -> None:
    cluster = tenants
    reads: list[tuple[str, Any]] = [
        (f"$JS.API.DIRECT.GET.{S}", {"seq": 1}),
        (f"$JS.API.DIRECT.GET.{S}", {"seq": 2}),
        (f"$JS.API.DIRECT.GET.{S}", {"seq": 1, "batch": 100, "next_by_subj": f"{S}.>"}),
        (f"$JS.API.DIRECT.GET.{S}.{S}.album-8.take.t1", None),
        (f"$JS.API.STREAM.INFO.{S}", {"subjects_filter": ">"}),
        # label A's API under an account-qualified prefix: nothing there
        ("$JS.LABEL_A.API.DIRECT.GET.SessionLog", {"seq": 1}),
        ("$JS.LABEL_A.API.STREAM.INFO.SessionLog", None),
    ]
    if user == "label-b-admin":
        reads += [
            (f"$JS.API.STREAM.MSG.GET.{S}", {"seq": 2}),
            ("$JS.API.STREAM.NAMES", None),
        ]

    async def scenario() -> None:
        errors: list[str] = []
        nc = await connect(cluster, user, errors)
        try:
            results = await asyncio.gather(
                *(attempt(nc, "_INBOX", s, b) for s, b in reads)
            )
            for result in results:
                assert not result.leaked(A7, A8), (result.subject, result.text)
            # What B does see of "SessionLog" is its own stream.
            own = next(
                r for r in results if r.subject.endswith("DIRECT.GET.SessionLog")
            )
            assert B7 in own.text, own.text
            # Live events of label A are not delivered to label B either.
            seen: list[bytes] = []

            async def spy(msg: Any) -> None:
                seen.append(msg.data)

            await nc.subscribe(f"{S}.>", cb=spy)
            await nc.flush()
            write(cluster, "label-a-service", [(f"album-8.take.{uuid4().hex}", A8)])
            await asyncio.sleep(0.5)
            assert not any(A8.encode() in d for d in seen), seen
        finally:
            await nc.close()

    run(scenario)


def test_another_label_cannot_mirror_or_source_label_a(
    tenants: LoopbackCluster,
) -> None:
    cluster = tenants
    attempts = {
        "SpyMirror": {"mirror": {"name": S, "external": {"api": "$JS.LABEL_A.API"}}},
        "SpySource": {"sources": [{"name": S}]},
        "SpyExternal": {
            "sources": [{"name": S, "external": {"api": "$JS.LABEL_A.API"}}]
        },
    }

    async def scenario() -> dict[str, Any]:
        nc = await connect(cluster, "label-b-admin")
        try:
            for name, spec in attempts.items():
                body = {"name": name, "storage": "file", "num_replicas": 1, **spec}
                await nc.request(
                    f"$JS.API.STREAM.CREATE.{name}",
                    json.dumps(body).encode(),
                    timeout=5,
                )
            await asyncio.sleep(2)
            found = {}
            for name in attempts:
                reply = await nc.request(f"$JS.API.STREAM.INFO.{name}", b"", timeout=5)
                found[name] = json.loads(reply.data)
                await nc.request(f"$JS.API.STREAM.DELETE.{name}", b"", timeout=5)
            return found
        finally:
            await nc.close()

    found = run(scenario)
    for name, info in found.items():
        # Sourcing its own stream of the same name is all B can do.
        data = json.dumps(info)
        assert A7 not in data
        assert A8 not in data
        if name != "SpySource":
            assert info.get("state", {}).get("messages", 0) == 0, (name, info)
