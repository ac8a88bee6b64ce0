"""Records made straight from stored states (``records_of``) against records made
of decoded domain events (``as_record(decode(...))``), the way they were made
before: the same record for every demo event, the same halt for a damaged one."""

from __future__ import annotations

from typing import Any

import msgspec
from eventsourcing.persistence import Notification, StoredEvent, Tracking

from projections.records import DecisionRecord, UndecodableEvent, as_record
from projections.replay import decode, records_of
from session_log.application import SessionLog

Demo = tuple[SessionLog, list[StoredEvent]]


def notification(position: int, stored: StoredEvent) -> Notification:
    return Notification(
        id=position,
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=stored.state,
    )


def damaged(stored: StoredEvent, state: bytes) -> StoredEvent:
    return StoredEvent(
        stored.originator_id, stored.originator_version, stored.topic, state
    )


def made_before(app: SessionLog, n: Notification) -> tuple[Any, Tracking]:
    return as_record(decode(app.mapper, n), Tracking("demo", n.id))


def test_every_demo_record_is_made_from_its_state_as_from_its_event(
    demo_events: Demo,
) -> None:
    app, events = demo_events
    notifications = [notification(i, e) for i, e in enumerate(events, 1)]
    for n in notifications:  # every demo event takes the direct path
        assert app.mapper.event_parts(n) is not None, n.topic
    made = records_of(app.mapper, notifications, "demo")
    assert len(made) == len(notifications)
    for (record, tracking), n in zip(made, notifications, strict=True):
        expected, expected_tracking = made_before(app, n)
        assert isinstance(record, DecisionRecord)
        assert record == expected
        assert repr(record) == repr(expected)  # tzinfo objects included
        assert type(record.payload) is type(expected.payload)
        assert msgspec.json.encode(record.data) == msgspec.json.encode(expected.data)
        assert tracking == expected_tracking


def test_a_state_that_is_not_json_halts_as_before(demo_events: Demo) -> None:
    app, events = demo_events
    n = notification(6, damaged(events[5], b"{not json"))
    [(event, tracking)] = records_of(app.mapper, [n], "demo")
    before, _ = made_before(app, n)
    assert isinstance(event, UndecodableEvent)
    assert isinstance(before, UndecodableEvent)
    assert type(event.error) is type(before.error)
    assert str(event.error) == str(before.error)
    assert tracking == Tracking("demo", 6)


def test_a_state_without_meta_is_given_as_its_event_as_before(
    demo_events: Demo,
) -> None:
    """The generic path decodes it into an event without decision metadata,
    which is given as it is (the views halt on it: not a decision)."""
    app, events = demo_events
    n = notification(6, damaged(events[5], b'{"timestamp": 1}'))
    [(event, _)] = records_of(app.mapper, [n], "demo")
    before, _ = made_before(app, n)
    assert not isinstance(event, DecisionRecord | UndecodableEvent)
    assert type(event) is type(before)
    assert vars(event) == vars(before)


def test_a_mapper_without_event_parts_makes_the_same_records(
    demo_events: Demo,
) -> None:
    app, events = demo_events
    notifications = [notification(i, e) for i, e in enumerate(events[:50], 1)]

    class Plain:
        """Only what eventsourcing's Mapper offers."""

        def to_domain_event(self, stored: Any) -> Any:
            return app.mapper.to_domain_event(stored)

    direct = records_of(app.mapper, notifications, "demo")
    plain = records_of(Plain(), notifications, "demo")  # type: ignore[arg-type]
    assert plain == direct
