"""Events too large for the server: refused at once, before anything is sent.

The server takes messages up to its ``max_payload`` (1 MiB by default), headers
included. nats-py checks only the payload, and a message over the limit with
its headers makes the server close the connection instead of answering; a save
that met either used to be retried for seconds and reported as "may or may not
be stored".
"""

from __future__ import annotations

import asyncio
from uuid import uuid4

import msgspec
import nats
import pytest
from eventsourcing.persistence import DataError, OperationalError, StoredEvent

from session_log import commands as cmd
from session_log.application import SessionLog
from session_log.embedded import EmbeddedNATS
from session_log.errors import InvalidCommand
from session_log.jetstream import EventTooLargeError, JetStreamApplicationRecorder
from session_log.jetstream._client import BATCH_HEADER_BYTES, message_size

from .harness import server_url


def ev(oid: str, version: int, state: bytes) -> StoredEvent:
    return StoredEvent(
        originator_id=oid, originator_version=version, topic="t", state=state
    )


def limit_of(recorder: JetStreamApplicationRecorder) -> int:
    limit = recorder.bridge.max_payload
    assert limit is not None
    return limit


def assert_nothing_in_flight(recorder: JetStreamApplicationRecorder) -> None:
    bridge = recorder.bridge
    assert bridge.call(lambda: _in_flight(bridge), operation="count") == (0, 0)


async def _in_flight(bridge: object) -> tuple[int, int]:
    return len(bridge._pending), len(bridge._waiting)  # type: ignore[attr-defined]


def test_an_event_over_the_limit_is_refused_before_sending(
    recorder: JetStreamApplicationRecorder,
) -> None:
    limit = limit_of(recorder)
    oid = f"album.take.{uuid4().hex[:8]}"
    with pytest.raises(EventTooLargeError) as caught:
        recorder.insert_events([ev(oid, 1, b"x" * (limit + 1))])
    assert isinstance(caught.value, DataError)
    message = str(caught.value)
    assert f"'{oid}' version 1" in message
    assert f"takes at most {limit:,}" in message
    assert "nothing of the save was sent" in message
    assert recorder.select_events(oid) == []
    assert recorder.max_notification_id() in (None, 0)
    assert_nothing_in_flight(recorder)
    recorder.insert_events([ev(oid, 1, b"{}")])  # the connection is fine
    assert [e.state for e in recorder.select_events(oid)] == [b"{}"]


def test_a_state_that_fits_only_without_its_headers_is_refused(
    recorder: JetStreamApplicationRecorder,
) -> None:
    """nats-py would send this one; the server would close the connection."""
    limit = limit_of(recorder)
    oid = f"album.take.{uuid4().hex[:8]}"
    with pytest.raises(EventTooLargeError):
        recorder.insert_events([ev(oid, 1, b"x" * (limit - 100))])
    assert recorder.select_events(oid) == []


def test_a_save_with_one_large_event_stores_none_of_its_events(
    recorder: JetStreamApplicationRecorder,
) -> None:
    limit = limit_of(recorder)
    oid = f"album.take.{uuid4().hex[:8]}"
    events = [ev(oid, 1, b"{}"), ev(oid, 2, b"y" * limit), ev(oid, 3, b"{}")]
    with pytest.raises(EventTooLargeError, match="event 2 of 3"):
        recorder.insert_events(events)
    assert recorder.select_events(oid) == []


def test_the_largest_state_that_fits_is_stored_whole(
    recorder: JetStreamApplicationRecorder,
) -> None:
    limit = limit_of(recorder)
    oid = f"album.take.{uuid4().hex[:8]}"
    state = b"z" * (limit - 1024)
    recorder.insert_events([ev(oid, 1, state)])
    assert [e.state for e in recorder.select_events(oid)] == [state]


def test_message_size_is_what_the_server_counts() -> None:
    """The size formula checked against the server itself: a message of exactly
    ``max_payload`` bytes by :func:`message_size` is delivered; one byte more is
    not, and the server drops the sender's connection."""

    async def run() -> tuple[int, list[int], list[str]]:
        errors: list[str] = []

        async def on_error(error: Exception) -> None:
            errors.append(str(error))

        reader = await nats.connect(server_url())
        sender = await nats.connect(
            server_url(), error_cb=on_error, allow_reconnect=False
        )
        limit = sender.max_payload
        headers = {"Session-Log-Topic": "t", "Nats-Msg-Id": uuid4().hex}
        subject = f"sizes.{uuid4().hex[:8]}"
        sub = await reader.subscribe(subject)
        await reader.flush()
        payload = b"a" * (limit - message_size(b"", headers))
        assert message_size(payload, headers) == limit
        await sender.publish(subject, payload, headers=headers)
        await sender.publish(subject, payload + b"b", headers=headers)
        for _ in range(50):
            if errors:
                break
            await asyncio.sleep(0.1)
        received: list[int] = []
        while True:
            try:
                received.append(len((await sub.next_msg(timeout=1)).data))
            except nats.errors.TimeoutError:
                break
        await reader.close()
        await sender.close()
        return limit, received, errors

    limit, received, errors = asyncio.run(run())
    at_limit = limit - message_size(
        b"", {"Session-Log-Topic": "t", "Nats-Msg-Id": "0" * 32}
    )
    assert received == [at_limit]
    assert errors, "the server kept the connection of a message over its limit"


def test_a_send_that_raises_leaves_nothing_in_flight(
    recorder: JetStreamApplicationRecorder,
) -> None:
    """A request whose publish itself raises (nats-py refuses a payload over the
    limit) is forgotten, not kept waiting for a reply that cannot come."""
    bridge = recorder.bridge
    limit = limit_of(recorder)
    subject = f"{recorder.stream.spec.name}.album.take.big"
    with pytest.raises(OperationalError, match="MaxPayloadError"):
        bridge.call(
            bridge.publish,
            subject,
            b"x" * (limit + 1),
            {},
            operation=f"publish to {subject}",
        )
    assert_nothing_in_flight(recorder)


def test_room_is_kept_for_the_batch_headers() -> None:
    headers = {
        "Nats-Batch-Id": uuid4().hex,
        "Nats-Batch-Sequence": "1000",
        "Nats-Batch-Commit": "1",
    }
    assert message_size(b"", headers) - message_size(b"", {}) <= BATCH_HEADER_BYTES


def test_a_command_too_large_to_record_is_an_invalid_command() -> None:
    """Through the application: on a server that takes at most 2 KiB, a command
    with a 3,000-character reason is refused as ``InvalidCommand`` (HTTP 422,
    not an internal error), and nothing is recorded."""
    with EmbeddedNATS(config="max_payload: 2048") as small:
        app = SessionLog(
            env={
                "PERSISTENCE_MODULE": "session_log.jetstream",
                "NATS_URL": small.url,
                "NATS_STREAM": "small",
            }
        )
        try:
            start = cmd.StartProject(
                command_id="start-1",
                project="p1",
                actor="rui",
                title="Album",
                main_artist="Mara",
                founder_name="Rui",
            )
            with pytest.raises(InvalidCommand, match="takes at most 2,048") as caught:
                app.submit(msgspec.structs.replace(start, reason="r" * 3000))
            assert caught.value.http_status == 422
            assert app.recorder.max_notification_id() in (None, 0)
            app.submit(start)  # the same command, small enough, is recorded
            assert (app.recorder.max_notification_id() or 0) > 0
        finally:
            app.close()
