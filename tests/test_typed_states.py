"""The mapper's typed path (session_log.typed_states) against its generic one.

Every demo event must take the typed path and give exactly the event the generic
path gives; a state of any other shape must be left to the generic path, which
upcasts it or reports what is wrong as before. (The fuzz tests in
test_fuzz_decoders.py compare both paths on damaged states too.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from decoding_support import assert_decodes_as_generically, assert_same_event
from eventsourcing.persistence import StoredEvent

from session_log.application import SessionLog
from session_log.domain.sessions import SessionBooked
from session_log.typed_states import EventParts, TypedStates
from tests.domain.test_domain_schema_evolution import stored_v1

Demo = tuple[SessionLog, list[StoredEvent]]


def test_every_demo_event_takes_the_typed_path_and_decodes_the_same(
    demo_events: Demo,
) -> None:
    app, events = demo_events
    typed = TypedStates()
    versions = set()
    for stored in events:
        expected = app.mapper.to_domain_event_generically(stored)
        event = typed.domain_event(stored)
        assert event is not None, stored.topic
        assert_same_event(event, expected)
        assert_same_event(app.mapper.to_domain_event(stored), expected)
        versions.add(getattr(type(expected), "class_version", 1))
    assert versions == {1, 2}  # SessionBooked is at version 2


def assert_parts_of(parts: EventParts | None, expected: Any) -> None:
    """``parts`` holds what the (generically decoded) ``expected`` event holds."""
    assert parts is not None
    assert parts.cls is type(expected)
    for name in ("originator_id", "originator_version", "timestamp", "meta", "payload"):
        value, wanted = getattr(parts, name), getattr(expected, name)
        assert value == wanted, name
        assert type(value) is type(wanted), name
        assert repr(value) == repr(wanted), name


def test_every_demo_event_gives_its_parts_as_the_generic_path_decodes_them(
    demo_events: Demo,
) -> None:
    app, events = demo_events
    typed = TypedStates()
    for stored in events:
        expected = app.mapper.to_domain_event_generically(stored)
        assert_parts_of(typed.parts(stored), expected)
        assert_parts_of(app.mapper.event_parts(stored), expected)


def test_the_demo_is_decoded_without_the_generic_transcoder(
    demo_events: Demo,
) -> None:
    app, events = demo_events
    transcoder = app.mapper.transcoder
    calls: list[bytes] = []
    decode = transcoder.decode

    def counting(data: bytes) -> Any:
        calls.append(data)
        return decode(data)

    transcoder.decode = counting  # type: ignore[method-assign]
    try:
        for stored in events:
            app.mapper.to_domain_event(stored)
        assert calls == []
        app.mapper.to_domain_event(stored_v1())  # an older version: upcast
        assert len(calls) == 1
    finally:
        del transcoder.decode


def first(events: list[StoredEvent], topic_end: str) -> StoredEvent:
    return next(e for e in events if e.topic.endswith(topic_end))


Change = Callable[[dict[str, Any]], object]


def damaged(stored: StoredEvent, change: Change) -> StoredEvent:
    state = msgspec.json.decode(stored.state)
    change(state)
    return StoredEvent(
        stored.originator_id,
        stored.originator_version,
        stored.topic,
        msgspec.json.encode(state),
    )


def payload_fields(state: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = state["payload"]["_data_"]["fields"]
    return fields


OTHER_SHAPES: dict[str, Change] = {
    "a key more": lambda s: s.update(extra=1),
    "a key less": lambda s: s.pop("meta"),
    "another datetime tag": lambda s: s["timestamp"].update(_type_="datetime_x"),
    "a struct tag more": lambda s: s["payload"].update(more=1),
    "another payload topic": lambda s: s["payload"]["_data_"].update(
        topic="session_log.domain.base:DecisionMeta"
    ),
    "a meta field damaged": lambda s: s["meta"]["_data_"]["fields"].update(actor=7),
    "the class version written": lambda s: s.update(class_version=1),
}


@pytest.mark.parametrize("shape", OTHER_SHAPES)
def test_a_state_of_another_shape_goes_the_generic_way(
    demo_events: Demo, shape: str
) -> None:
    app, events = demo_events
    stored = damaged(first(events, ":TakeRecorded"), OTHER_SHAPES[shape])
    assert TypedStates().domain_event(stored) is None
    assert TypedStates().parts(stored) is None
    assert_decodes_as_generically(app.mapper, stored)


ACCEPTED_BY_BOTH: dict[str, Change] = {
    # Payload Structs accept fields they do not know (msgspec's default).
    "a payload field unknown to the class": lambda s: payload_fields(s).update(new=1),
    # eventsourcing's DatetimeAsISO gives a naive datetime for it.
    "a naive timestamp": lambda s: s["timestamp"].update(_data_="2025-01-06T09:01"),
}


@pytest.mark.parametrize("change", ACCEPTED_BY_BOTH)
def test_what_the_generic_path_accepts_the_typed_path_decodes_the_same(
    demo_events: Demo, change: str
) -> None:
    app, events = demo_events
    stored = damaged(first(events, ":TakeRecorded"), ACCEPTED_BY_BOTH[change])
    event = TypedStates().domain_event(stored)
    assert event is not None
    assert_same_event(event, app.mapper.to_domain_event_generically(stored))
    assert_parts_of(TypedStates().parts(stored), event)


@pytest.mark.parametrize("version", [1, 3, 2.0, "2", None])
def test_a_class_version_other_than_the_class_own_goes_the_generic_way(
    demo_events: Demo, version: Any
) -> None:
    app, events = demo_events
    stored = damaged(
        first(events, ":SessionBooked"), lambda s: s.update(class_version=version)
    )
    assert TypedStates().domain_event(stored) is None
    assert TypedStates().parts(stored) is None
    with pytest.raises(ValueError, match="class_version"):
        app.mapper.to_domain_event(stored)


def test_an_older_version_is_upcast_the_generic_way() -> None:
    app = SessionLog()
    try:
        stored = stored_v1()
        assert TypedStates().domain_event(stored) is None
        assert app.mapper.event_parts(stored) is None
        event = app.mapper.to_domain_event(stored)
        assert isinstance(event, SessionBooked)
        assert_same_event(event, app.mapper.to_domain_event_generically(stored))
    finally:
        app.close()


def test_a_mapper_with_another_datetime_transcoding_does_not_take_the_typed_path(
    demo_events: Demo,
) -> None:
    """The typed path decodes ``datetime_iso`` as eventsourcing's transcoding
    does; an application that registered its own under that name is decoded by
    it."""
    from eventsourcing.persistence import DatetimeAsISO

    class Shifted(DatetimeAsISO):
        def decode(self, data: str) -> Any:
            return super().decode(data).replace(microsecond=1)

    app, events = demo_events
    stored = first(events, ":TakeRecorded")
    transcoder = app.mapper.transcoder
    original = transcoder.names["datetime_iso"]
    transcoder.register(Shifted())
    try:
        assert app.mapper.to_domain_event(stored).timestamp.microsecond == 1
        assert app.mapper.event_parts(stored) is None
    finally:
        transcoder.register(original)
    assert app.mapper.to_domain_event(stored).timestamp.microsecond == 0
