"""Schema evolution: SessionBooked v1 (a duration) is upcast to v2 (an end time)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import StoredEvent

from session_log.application import SessionLog
from session_log.domain.base import DecisionMeta
from session_log.domain.sessions import Session, SessionBooked, SessionBookedPayload

# A SessionBooked event exactly as version 1 of the domain stored it: no
# "class_version" key, and a payload with "duration_minutes" instead of "ends_at".
V1_BYTES = (
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2024-11-04T10:00:00+00:00"},'
    b'"meta":{"_type_":"msgspec_struct","_data_":{"topic":"session_log.domain.base:'
    b'DecisionMeta","fields":{"actor":"old.party.rui","capacity":"producer",'
    b'"occurred_at":"2024-11-04T10:00:00Z","command_id":"c-17","correlation_id":"c-17",'
    b'"causation_id":null,"reason":null}}},'
    b'"payload":{"_type_":"msgspec_struct","_data_":{"topic":"session_log.domain.'
    b'sessions:SessionBookedPayloadV1","fields":{"session_type":"Tracking",'
    b'"starts_at":"2024-11-11T10:00:00Z","duration_minutes":180,"union":true,'
    b'"studio_id":null,"room":"A","recording_ids":["old.recording.song1"]}}},'
    b'"originator_topic":"session_log.domain.sessions:Session"}'
)


def stored_v1() -> StoredEvent:
    return StoredEvent(
        originator_id="old.session.s1",
        originator_version=1,
        topic="session_log.domain.sessions:SessionBooked",
        state=V1_BYTES,
    )


def test_version_1_bytes_are_upcast() -> None:
    app = SessionLog()
    event = app.mapper.to_domain_event(stored_v1())
    assert isinstance(event, SessionBooked)
    assert event.payload == SessionBookedPayload(
        session_type="Tracking",
        starts_at=datetime(2024, 11, 11, 10, tzinfo=UTC),
        ends_at=datetime(2024, 11, 11, 13, tzinfo=UTC),
        union=True,
        room="A",
        recording_ids=("old.recording.song1",),
    )
    assert event.meta == DecisionMeta(
        actor="old.party.rui",
        capacity="producer",
        occurred_at=datetime(2024, 11, 4, 10, tzinfo=UTC),
        command_id="c-17",
        correlation_id="c-17",
    )


def test_an_old_aggregate_reads_back_and_new_events_are_version_2() -> None:
    app = SessionLog()
    app.recorder.insert_events([stored_v1()])
    session = app.aggregate("old.session.s1")
    assert isinstance(session, Session)
    assert session.ends_at == datetime(2024, 11, 11, 13, tzinfo=UTC)
    assert session.union is True
    assert SessionBooked.class_version == 2
    meta = DecisionMeta(
        actor="old.party.rui",
        capacity="producer",
        occurred_at=datetime(2024, 11, 5, tzinfo=UTC),
        command_id="c-18",
        correlation_id="c-18",
    )
    new = Session.book(
        "old.session.s2",
        meta,
        SessionBookedPayload(
            session_type="Overdub",
            starts_at=datetime(2024, 11, 12, 10, tzinfo=UTC),
            ends_at=datetime(2024, 11, 12, 13, tzinfo=UTC),
            union=False,
        ),
    )
    stored = app.mapper.to_stored_event(new.collect_events()[0])
    assert b'"class_version":2' in stored.state


def test_the_upcast_also_accepts_a_plain_dict_payload() -> None:
    state: dict[str, Any] = {
        "payload": {
            "session_type": "Tracking",
            "starts_at": "2024-11-11T10:00:00+00:00",
            "duration_minutes": 90,
            "union": False,
            "recording_ids": [],
        }
    }
    SessionBooked.upcast_v1_v2(state)
    assert state["payload"].ends_at == datetime(2024, 11, 11, 11, 30, tzinfo=UTC)
