"""Tests of session_log.codec.MsgspecTranscoder."""

from __future__ import annotations

import enum
import json
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID, uuid4

import msgspec
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Transcoder,
    Transcoding,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from eventsourcing.tests import persistence as es_tests
from freezegun import freeze_time
from hypothesis import given
from hypothesis import strategies as st

from session_log.codec import (
    STRUCT_TAG,
    MsgspecTranscoder,
    StructAsDict,
    TupleAsList,
)

TOPIC = "session_log.codec:MsgspecTranscoder"
REAL_DATETIME = (datetime,)  # A tuple, so freezegun leaves it alone.

# The library's TranscoderTestCase expects the types in its test module to be
# transcoded. Its own JSONTranscoder test registers CustomType1AsDict and
# CustomType2AsDict and skips the tuple and subclass tests; to pass those too,
# register transcodings for them, named as in eventsourcing's sibling transcoder
# projects (tuple_as_list, mydict, mylist, mystr, myint).


class MydictAsDict(Transcoding):
    type = es_tests.Mydict
    name = "mydict"

    def encode(self, obj: dict[Any, Any]) -> dict[Any, Any]:
        return dict(obj)

    def decode(self, data: dict[Any, Any]) -> Any:
        return es_tests.Mydict(data)


class MyListAsList(Transcoding):
    type = es_tests.MyList
    name = "mylist"

    def encode(self, obj: list[Any]) -> list[Any]:
        return list(obj)

    def decode(self, data: list[Any]) -> Any:
        return es_tests.MyList(data)


class MyStrAsStr(Transcoding):
    type = es_tests.MyStr
    name = "mystr"

    def encode(self, obj: str) -> str:
        return str.__str__(obj)

    def decode(self, data: str) -> Any:
        return es_tests.MyStr(data)


class MyIntAsInt(Transcoding):
    type = es_tests.MyInt
    name = "myint"

    def encode(self, obj: int) -> int:
        return int.__int__(obj)

    def decode(self, data: int) -> Any:
        return es_tests.MyInt(data)


class TestMsgspecTranscoder(es_tests.TranscoderTestCase):
    def construct_transcoder(self) -> Transcoder:
        transcoder = MsgspecTranscoder()
        transcoder.register(UUIDAsHex())
        transcoder.register(DecimalAsStr())
        transcoder.register(DatetimeAsISO())
        transcoder.register(es_tests.CustomType1AsDict())
        transcoder.register(es_tests.CustomType2AsDict())
        transcoder.register(TupleAsList())
        transcoder.register(MydictAsDict())
        transcoder.register(MyListAsList())
        transcoder.register(MyStrAsStr())
        transcoder.register(MyIntAsInt())
        return transcoder


# Structs like the domain's payloads.


class Role(enum.Enum):
    PRODUCER = "producer"
    ENGINEER = "engineer"


class Money(msgspec.Struct, frozen=True, kw_only=True):
    amount: Decimal
    currency: Literal["EUR", "USD"]


class Take(msgspec.Struct, frozen=True, kw_only=True, tag="take", tag_field="kind"):
    number: int
    rating: int | None = None


class Overdub(
    msgspec.Struct, frozen=True, kw_only=True, tag="overdub", tag_field="kind"
):
    instrument: str
    at: datetime


class Session(msgspec.Struct, frozen=True, kw_only=True):
    session_id: UUID
    started_at: datetime
    day: date
    fee: Money
    role: Role
    parts: tuple[Take | Overdub, ...]
    engineers: frozenset[str] = frozenset()
    by_take: dict[int, str] = {}
    notes: str | None = None
    previous: Session | None = None
    extra: Any = None


def make_session(**changes: Any) -> Session:
    session = Session(
        session_id=UUID("b2723fe2c01a40d2875ea3aac6a09ff5"),
        started_at=datetime(2024, 5, 6, 10, 30, 1, 5, tzinfo=UTC),
        day=date(2024, 5, 6),
        fee=Money(amount=Decimal("1250.50"), currency="EUR"),
        role=Role.PRODUCER,
        parts=(
            Take(number=1),
            Overdub(
                instrument="cello",
                at=datetime(2024, 5, 6, 11, 0, tzinfo=timezone(timedelta(hours=2))),
            ),
            Take(number=2, rating=5),
        ),
        engineers=frozenset({"ana", "bo"}),
        by_take={1: "rough", 2: "keeper"},
        notes="café ☕",
    )
    return msgspec.structs.replace(session, **changes)


@pytest.fixture
def transcoder() -> MsgspecTranscoder:
    return MsgspecTranscoder()


@pytest.fixture
def json_transcoder() -> JSONTranscoder:
    transcoder = JSONTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DecimalAsStr())
    transcoder.register(DatetimeAsISO())
    return transcoder


def roundtrip(transcoder: Transcoder, obj: Any) -> Any:
    return transcoder.decode(transcoder.encode(obj))


# Structs.


@pytest.mark.parametrize(
    "obj",
    [
        make_session(),
        make_session(previous=make_session(notes=None), extra={"free": [1, "x"]}),
        Take(number=7),
        Overdub(instrument="oboe", at=datetime(2020, 1, 1, tzinfo=UTC)),
        Money(amount=Decimal("-0.001"), currency="USD"),
    ],
)
def test_struct_roundtrip(transcoder: MsgspecTranscoder, obj: msgspec.Struct) -> None:
    for value in (obj, {"payload": obj, "n": 1}, [obj, obj], {"a": {"b": [obj]}}):
        assert roundtrip(transcoder, value) == value


def test_struct_fields_are_typed_by_annotation(transcoder: MsgspecTranscoder) -> None:
    copy = roundtrip(transcoder, make_session(previous=make_session()))
    assert isinstance(copy, Session)
    assert isinstance(copy.session_id, UUID)
    assert type(copy.started_at) is REAL_DATETIME[0]
    assert isinstance(copy.fee.amount, Decimal)
    assert copy.role is Role.PRODUCER
    assert isinstance(copy.parts, tuple)
    assert [type(p) for p in copy.parts] == [Take, Overdub, Take]
    assert isinstance(copy.previous, Session)
    assert copy.by_take == {1: "rough", 2: "keeper"}


def test_struct_wire_shape(transcoder: MsgspecTranscoder) -> None:
    data = json.loads(transcoder.encode({"p": Take(number=3)}))
    assert data == {
        "p": {
            "_type_": STRUCT_TAG,
            "_data_": {
                "topic": f"{__name__}:Take",
                "fields": {"kind": "take", "number": 3, "rating": None},
            },
        }
    }


def test_struct_any_field_holds_plain_json(transcoder: MsgspecTranscoder) -> None:
    # Inside a Struct only annotations give types: an Any field gets plain JSON.
    copy = roundtrip(transcoder, make_session(extra={"id": UUID(int=1), "t": (1,)}))
    assert copy.extra == {"id": str(UUID(int=1)), "t": [1]}


def test_unregistered_type_inside_struct(transcoder: MsgspecTranscoder) -> None:
    with pytest.raises(TranscodingNotRegisteredError, match="MyClass"):
        transcoder.encode(make_session(extra=es_tests.MyClass()))


def test_topic_not_a_struct(transcoder: MsgspecTranscoder) -> None:
    data = b'{"_type_":"msgspec_struct","_data_":{"topic":"uuid:UUID","fields":{}}}'
    with pytest.raises(TypeError, match="not resolve to a msgspec Struct"):
        transcoder.decode(data)


# Compatibility with JSONTranscoder.

SAMPLES: list[Any] = [
    None,
    True,
    -(2**70),
    1.5e16,
    'a"b\\c\n\x00\x7f\u2028 🐈',
    [],
    {},
    UUID("b2723fe2c01a40d2875ea3aac6a09ff5"),
    Decimal("-12.3400"),
    datetime(2024, 5, 6, 10, 30, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    datetime(2024, 5, 6, 10, 30, 0, 123),
    {"_type_": 1, "other": 2},
    {
        "originator_topic": "x:Y",
        "ids": [uuid4(), uuid4()],
        "pair": (Decimal("1"), ("nested", datetime.now(UTC))),
        "deep": {"a": {"b": [{}, [[]], {"c": None}]}},
    },
]


@pytest.mark.parametrize("obj", SAMPLES)
def test_same_bytes_as_json_transcoder(
    transcoder: MsgspecTranscoder, json_transcoder: JSONTranscoder, obj: Any
) -> None:
    encoded = json_transcoder.encode(obj)
    if obj == 1.5e16:
        encoded = b"1.5e16"  # Both valid JSON numbers of the same value.
    assert transcoder.encode(obj) == encoded


@pytest.mark.parametrize("obj", SAMPLES)
def test_reads_and_is_read_by_json_transcoder(
    transcoder: MsgspecTranscoder, json_transcoder: JSONTranscoder, obj: Any
) -> None:
    expected = roundtrip(json_transcoder, obj)
    assert transcoder.decode(json_transcoder.encode(obj)) == expected
    assert json_transcoder.decode(transcoder.encode(obj)) == expected
    assert roundtrip(transcoder, obj) == expected


def test_subclasses_of_builtins_as_json_transcoder(
    transcoder: MsgspecTranscoder, json_transcoder: JSONTranscoder
) -> None:
    class Level(enum.IntEnum):
        HIGH = 3

    class Kind(str, enum.Enum):  # noqa: UP042 - str() of it is not its value.
        MIX = "mix"

    obj = [
        es_tests.MyStr("s"),
        es_tests.MyInt(4),
        es_tests.Mydict({"k": es_tests.MyList([1])}),
        Level.HIGH,
        Kind.MIX,
        2.5,
    ]
    assert transcoder.encode(obj) == json_transcoder.encode(obj)
    assert transcoder.encode(obj) == b'["s",4,{"k":[1]},3,"mix",2.5]'


def test_unregistered_type_errors_as_json_transcoder(
    transcoder: MsgspecTranscoder, json_transcoder: JSONTranscoder
) -> None:
    for bad in (es_tests.MyClass(), {"a": [Role.ENGINEER]}, date(2024, 1, 1)):
        with pytest.raises(TranscodingNotRegisteredError) as ours:
            transcoder.encode(bad)
        with pytest.raises(TranscodingNotRegisteredError) as theirs:
            json_transcoder.encode(bad)
        assert ours.value.args == theirs.value.args
    data = b'[{"_type_":"nope","_data_":1}]'
    with pytest.raises(TranscodingNotRegisteredError) as ours:
        transcoder.decode(data)
    with pytest.raises(TranscodingNotRegisteredError) as theirs:
        json_transcoder.decode(data)
    assert ours.value.args == theirs.value.args


def test_json_transcoder_reads_structs_with_struct_as_dict(
    transcoder: MsgspecTranscoder, json_transcoder: JSONTranscoder
) -> None:
    for cls in (Session, Money, Take, Overdub):
        json_transcoder.register(StructAsDict(cls))
    obj = {"payload": make_session(previous=make_session()), "take": Take(number=1)}
    assert json_transcoder.decode(transcoder.encode(obj)) == obj
    assert transcoder.decode(json_transcoder.encode(obj)) == obj
    assert json.loads(json_transcoder.encode(obj)) == json.loads(transcoder.encode(obj))


def test_register_replaces_and_is_idempotent(transcoder: MsgspecTranscoder) -> None:
    obj = {"t": (1, 2)}
    assert roundtrip(transcoder, obj) == {"t": [1, 2]}
    transcoder.register(TupleAsList())
    assert transcoder.encode(obj) == b'{"t":{"_type_":"tuple_as_list","_data_":[1,2]}}'
    assert roundtrip(transcoder, obj) == obj
    transcoder.register(UUIDAsHex())  # Again, as the Application may do.
    assert roundtrip(transcoder, UUID(int=5)) == UUID(int=5)


# freezegun.


def test_fake_datetime(transcoder: MsgspecTranscoder) -> None:
    with freeze_time("2024-05-06 10:30:00.000123"):
        now = datetime.now(tz=UTC)
        assert type(now).__name__ == "FakeDatetime"
        obj = {"at": now, "list": [now], "session": make_session(started_at=now)}
        data = transcoder.encode(obj)
        copy = transcoder.decode(data)
    assert copy == obj
    assert copy["session"].started_at == now
    assert type(copy["session"].started_at) is REAL_DATETIME[0]
    assert transcoder.encode(now) == b'{"_type_":"datetime_iso","_data_":"%s"}' % (
        now.isoformat().encode()
    )
    fields = json.loads(data)["session"]["_data_"]["fields"]
    assert fields["started_at"] == "2024-05-06T10:30:00.000123Z"


# An eventsourcing Application.


class Studio(Aggregate):
    @event("Booked")
    def __init__(self, session: Session) -> None:
        self.sessions = [session]

    @event("Rebooked")
    def rebook(self, session: Session, fee: Money) -> None:
        self.sessions.append(msgspec.structs.replace(session, fee=fee))


class StudioApp(Application[UUID]):
    pass


class StudioAppRegistering(Application[UUID]):
    def construct_transcoder(self) -> Transcoder:
        transcoder = self.factory.transcoder()
        assert isinstance(transcoder, MsgspecTranscoder)
        self.register_transcodings(transcoder)  # type: ignore[arg-type]
        return transcoder


@pytest.mark.parametrize("app_class", [StudioApp, StudioAppRegistering])
@pytest.mark.parametrize("frozen", [False, True])
def test_application(app_class: type[Application[UUID]], frozen: bool) -> None:
    env = {"PERSISTENCE_MODULE": "eventsourcing.popo", "TRANSCODER_TOPIC": TOPIC}
    app = app_class(env=env)
    assert isinstance(app.mapper.transcoder, MsgspecTranscoder)
    clock = freeze_time("2024-05-06 10:30:00") if frozen else nullcontext()
    with clock:
        studio = Studio(make_session())
        later = make_session(notes=None, started_at=datetime.now(tz=UTC))
        studio.rebook(later, Money(amount=Decimal(1), currency="USD"))
        app.save(studio)
    copy: Studio = app.repository.get(studio.id)
    assert copy.sessions == studio.sessions
    assert copy.version == studio.version == 2
    assert type(copy.sessions[1].started_at) is REAL_DATETIME[0]
    stored = list(app.recorder.select_events(studio.id))
    assert all(json.loads(s.state) for s in stored)
    assert b'"_type_":"msgspec_struct"' in stored[1].state


# Property: random nested data round-trips, and JSONTranscoder agrees.

offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.uuids()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.datetimes(timezones=offsets)
)
structs = st.builds(
    Money, amount=st.decimals(allow_nan=False), currency=st.just("EUR")
) | st.builds(Take, number=st.integers(-(2**63), 2**63 - 1))


def not_tag_shaped(d: dict[str, Any]) -> bool:
    return not (len(d) == 2 and "_type_" in d and "_data_" in d)


def nested(base: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        base,
        lambda children: (
            st.lists(children, max_size=4)
            | st.tuples(children, children)
            | st.dictionaries(st.text(), children, max_size=4).filter(not_tag_shaped)
        ),
        max_leaves=20,
    )


@given(nested(leaves | structs))
def test_roundtrip_property(obj: Any) -> None:
    transcoder = MsgspecTranscoder()
    transcoder.register(TupleAsList())
    data = transcoder.encode(obj)
    assert transcoder.decode(data) == obj
    json.loads(data)  # Plain JSON.


@given(nested(leaves))
def test_json_transcoder_agrees_property(obj: Any) -> None:
    ours = MsgspecTranscoder()
    theirs = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        theirs.register(transcoding)
    expected = theirs.decode(theirs.encode(obj))
    assert ours.decode(theirs.encode(obj)) == expected
    assert theirs.decode(ours.encode(obj)) == expected
    assert json.loads(ours.encode(obj)) == json.loads(theirs.encode(obj))


# Plain JSON.


def test_output_is_plain_json(transcoder: MsgspecTranscoder) -> None:
    uuid = uuid4()
    obj = {"s": make_session(), "id": uuid, "n": [1, 2.5, None], "t": "ünï"}

    def no_constants(name: str) -> None:
        raise AssertionError(name)

    data = transcoder.encode(obj)
    assert isinstance(data, bytes)
    assert "ünï".encode() in data  # UTF-8, not \u escapes.
    assert b", " not in data
    assert b": " not in data
    loaded = json.loads(data.decode("utf-8"), parse_constant=no_constants)
    assert loaded["id"] == {"_type_": "uuid_hex", "_data_": uuid.hex}
    assert loaded["s"]["_data_"]["fields"]["fee"] == {
        "amount": "1250.50",
        "currency": "EUR",
    }
