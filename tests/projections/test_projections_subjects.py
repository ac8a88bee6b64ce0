"""What a decision concerns (the timeline's subjects), against a plain definition."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.records import DecisionRecord, is_aggregate_id, walk_strings
from projections.views.subjects import PERSON_FIELDS, subject_kind, subjects_of


def reference(record: DecisionRecord) -> set[tuple[str, str, str]]:
    """The definition: the aggregate, the actor, and every payload string that is
    an aggregate id or sits in a person field (the last part of its path)."""
    found: dict[tuple[str, str], str] = {
        (record.aggregate_id, "aggregate"): subject_kind(
            record.aggregate_kind or "aggregate"
        ),
        (record.actor, "actor"): "person",
    }
    for path, value in walk_strings(record.data):
        if not value or value == record.aggregate_id:
            continue
        if is_aggregate_id(value):
            found.setdefault((value, "mentioned"), subject_kind(value.split(".")[1]))
        elif path.rsplit(".", 1)[-1] in PERSON_FIELDS:
            found.setdefault((value, "mentioned"), "person")
    return {(sid, kind, role) for (sid, role), kind in found.items()}


ids = st.sampled_from(
    ["p.take.t1", "p.party.rui", "p.recording.r1", "q.session.s1", "p.take.own"]
)
words = st.sampled_from(["", "rui", "a.b", "x y", "p.take.t1.extra", "EUR"])
keys = st.sampled_from(
    ["party_id", "performers", "note", "take_id", "a.party", "mixer", "x.y.z"]
)
leaves = st.one_of(ids, words, st.integers(), st.none(), st.booleans())
payloads = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)
    ),
    max_leaves=20,
)


def record(data: Any) -> DecisionRecord:
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    return DecisionRecord(
        stream="s",
        position=1,
        event_id="p.take.own@1",
        aggregate_id="p.take.own",
        project="p",
        aggregate_kind="take",
        version=1,
        kind="TakeRecorded",
        topic="t:T",
        recorded_at=moment,
        occurred_at=moment,
        actor="p.party.lena",
        capacity="engineer",
        command_id="c",
        correlation_id="c",
        causation_id=None,
        reason=None,
        payload=None,
        data=data,
    )


@settings(max_examples=400, deadline=None)
@given(data=payloads)
def test_subjects_follow_the_definition(data: Any) -> None:
    r = record(data)
    assert set(subjects_of(r)) == reference(r)


def test_a_take_s_subjects() -> None:
    r = record(
        {
            "session_id": "p.session.s1",
            "performers": ["rui", "p.party.omar"],
            "notes": {"mixer": "lena2", "party": ""},
            "fee": {"amount": 100, "currency": "EUR"},
            "take_id": "p.take.own",
        }
    )
    assert sorted(subjects_of(r)) == [
        ("lena2", "person", "mentioned"),
        ("p.party.lena", "person", "actor"),
        ("p.party.omar", "person", "mentioned"),
        ("p.session.s1", "session", "mentioned"),
        ("p.take.own", "take", "aggregate"),
        ("rui", "person", "mentioned"),
    ]


@settings(max_examples=300, deadline=None)
@given(
    ids=st.lists(
        st.one_of(
            st.text(alphabet="ab.-_1", max_size=12),
            st.sampled_from(["p.take.t1", "p.take.t1.x", ".take.t1", "p..t", "p.t"]),
        ),
        max_size=20,
    )
)
def test_aggregate_ids_split_as_their_shape_says(ids: list[str]) -> None:
    """``split_aggregate_id`` remembers the ids it has split (an aggregate's
    events come close together), also across the memory being emptied when
    full: the parts are always those of the id's shape."""
    from projections import records

    for value in ids * 2:
        expected = (
            tuple(value.split(".")) if is_aggregate_id(value) else ("", "", value)
        )
        assert records.split_aggregate_id(value) == expected
    full = records._SPLITS_MAX
    try:
        records._SPLITS_MAX = 3  # emptied on the way
        records._SPLITS.clear()
        for value in ids:
            expected = (
                tuple(value.split(".")) if is_aggregate_id(value) else ("", "", value)
            )
            assert records.split_aggregate_id(value) == expected
            assert len(records._SPLITS) <= 3
    finally:
        records._SPLITS_MAX = full
