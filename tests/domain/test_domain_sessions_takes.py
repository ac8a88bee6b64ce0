"""Sessions (book, reschedule, cancel, open, close, check in) and takes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain_support import SHA, START, World, kinds, party, pid, record_take

from session_log import commands as cmd
from session_log.domain.sessions import (
    AFM_LATE_CANCELLATION_RULE,
    CheckIn,
    MusicianCheckedInPayload,
    SessionBookedPayload,
    SessionCancelledPayload,
    SessionClosedPayload,
    SessionOpenedPayload,
    SessionReport,
    SessionRescheduledPayload,
    TakeLoggedPayload,
)
from session_log.domain.takes import TakeMarkedPayload, TakeRecordedPayload
from session_log.errors import (
    AlreadyExists,
    CapacityNotHeld,
    InvalidCommand,
    InvalidState,
    UnionRuleViolated,
    UnknownReference,
)

DAY = timedelta(days=1)
HOURS3 = timedelta(hours=3)


def book(w: World, session: str, start_in: timedelta, union: bool = True) -> list[Any]:
    return w.do(
        cmd.BookSession,
        "rui",
        session=session,
        session_type="Tracking",
        starts_at=START + start_in,
        ends_at=START + start_in + HOURS3,
        union=union,
        studio="studio",
        room="A",
        recordings=("song1",),
    )


def test_book_session(songs: World) -> None:
    events = book(songs, "s9", 10 * DAY)
    assert kinds(events) == [("SessionBooked", pid("session", "s9"))]
    assert events[0].meta == songs.meta("rui", "producer")
    assert events[0].payload == SessionBookedPayload(
        session_type="Tracking",
        starts_at=START + 10 * DAY,
        ends_at=START + 10 * DAY + HOURS3,
        union=True,
        studio_id=party("studio"),
        room="A",
        recording_ids=(pid("recording", "song1"),),
    )


def test_book_session_refusals(songs: World) -> None:
    w = songs
    base = {
        "session": "s9",
        "session_type": "Tracking",
        "starts_at": START + DAY,
        "ends_at": START + DAY + HOURS3,
    }
    w.refuse(CapacityNotHeld, cmd.BookSession, "sam", **base)
    w.refuse(
        InvalidCommand, cmd.BookSession, "rui", **{**base, "session_type": "Jamming"}
    )
    error = w.refuse(
        InvalidCommand, cmd.BookSession, "rui", **{**base, "ends_at": START + DAY}
    )
    assert error.field == "ends_at"
    w.refuse(
        InvalidCommand, cmd.BookSession, "rui", **{**base, "ends_at": START + 3 * DAY}
    )
    naive = (START + DAY).replace(tzinfo=None)
    error = w.refuse(
        InvalidCommand, cmd.BookSession, "rui", **{**base, "starts_at": naive}
    )
    assert error.field == "$.starts_at"
    w.refuse(UnknownReference, cmd.BookSession, "rui", recordings=("nope",), **base)
    w.refuse(UnknownReference, cmd.BookSession, "rui", studio="nope", **base)
    book(w, "s9", DAY)
    w.refuse(AlreadyExists, cmd.BookSession, "rui", **base)


def test_reschedule_session(songs: World) -> None:
    book(songs, "s9", 10 * DAY)
    events = songs.do(
        cmd.RescheduleSession,
        "rui",
        session="s9",
        starts_at=START + 11 * DAY,
        ends_at=START + 11 * DAY + HOURS3,
        reason="Drummer ill",
    )
    assert kinds(events) == [("SessionRescheduled", pid("session", "s9"))]
    assert events[0].payload == SessionRescheduledPayload(
        starts_at=START + 11 * DAY,
        ends_at=START + 11 * DAY + HOURS3,
        previous_starts_at=START + 10 * DAY,
        previous_ends_at=START + 10 * DAY + HOURS3,
    )
    same = {"starts_at": START + 11 * DAY, "ends_at": START + 11 * DAY + HOURS3}
    songs.refuse(InvalidState, cmd.RescheduleSession, "rui", session="s9", **same)
    songs.refuse(UnknownReference, cmd.RescheduleSession, "rui", session="x", **same)
    songs.refuse(CapacityNotHeld, cmd.RescheduleSession, "mara", session="s9", **same)


def test_cancel_with_notice_records_no_fee(songs: World) -> None:
    book(songs, "s9", 10 * DAY)
    songs.refuse(InvalidCommand, cmd.CancelSession, "rui", session="s9")
    events = songs.do(cmd.CancelSession, "rui", session="s9", reason="Not needed")
    assert kinds(events) == [("SessionCancelled", pid("session", "s9"))]
    assert events[0].payload == SessionCancelledPayload(
        starts_at=START + 10 * DAY,
        notice_hours=240,
        union=True,
        late_notice=False,
        fee_rule=None,
    )
    songs.refuse(InvalidState, cmd.CancelSession, "rui", session="s9", reason="again")
    songs.refuse(InvalidState, cmd.OpenSession, "sam", session="s9")


def test_late_union_cancellation_records_the_fee_rule(songs: World) -> None:
    book(songs, "s9", 6 * DAY + timedelta(hours=23))
    events = songs.do(cmd.CancelSession, "rui", session="s9", reason="Singer ill")
    assert events[0].payload == SessionCancelledPayload(
        starts_at=START + 6 * DAY + timedelta(hours=23),
        notice_hours=167,
        union=True,
        late_notice=True,
        fee_rule=AFM_LATE_CANCELLATION_RULE.format(days=7),
    )
    book(songs, "s10", 2 * DAY, union=False)
    events = songs.do(cmd.CancelSession, "rui", session="s10", reason="Singer ill")
    assert events[0].payload.late_notice is True
    assert events[0].payload.fee_rule is None


def test_open_check_in_close(songs: World) -> None:
    w = songs
    book(w, "s9", DAY)
    w.refuse(InvalidState, cmd.CheckIn, "kofi", session="s9", roles=("Musician",))
    w.refuse(CapacityNotHeld, cmd.OpenSession, "kofi", session="s9")
    events = w.do(cmd.OpenSession, "sam", session="s9")
    assert kinds(events) == [("SessionOpened", pid("session", "s9"))]
    assert events[0].meta == w.meta("sam", "engineer")
    assert events[0].payload == SessionOpenedPayload(starts_at=START + DAY)
    w.refuse(InvalidState, cmd.OpenSession, "sam", session="s9")
    events = w.do(
        cmd.CheckIn,
        "kofi",
        session="s9",
        roles=("Musician",),
        instruments=("Drums",),
        leader=True,
    )
    kofi = CheckIn(
        party_id=party("kofi"),
        roles=("Musician",),
        role_vocabulary="ERN-4.3",
        instruments=("Drums",),
        leader=True,
    )
    assert kinds(events) == [("MusicianCheckedIn", pid("session", "s9"))]
    assert events[0].meta == w.meta("kofi", "contributor")
    assert events[0].payload == MusicianCheckedInPayload(check_in=kofi, musicians=1)
    events = w.do(
        cmd.CheckIn, "sam", session="s9", party="jonah", roles=("Musician",), parts=2
    )
    assert events[0].meta.capacity == "engineer"
    assert events[0].payload.check_in.parts == 2
    w.refuse(AlreadyExists, cmd.CheckIn, "kofi", session="s9", roles=("Musician",))
    w.refuse(
        CapacityNotHeld, cmd.CheckIn, "kofi", session="s9", party="mara", roles=("X",)
    )
    w.refuse(InvalidCommand, cmd.CheckIn, "mara", session="s9", roles=("Drummer",))
    w.refuse(InvalidCommand, cmd.CheckIn, "mara", session="s9", roles=())
    w.refuse(
        InvalidCommand,
        cmd.CheckIn,
        "mara",
        session="s9",
        roles=("LeadVocalist",),
        instruments=("Kazoo",),
    )
    w.refuse(
        UnionRuleViolated,
        cmd.CheckIn,
        "mara",
        session="s9",
        roles=("LeadVocalist",),
        leader=True,
    )
    w.refuse(CapacityNotHeld, cmd.CheckIn, "max", session="s9", roles=("Musician",))
    w.tick(hours=3)
    events = w.do(cmd.CloseSession, "sam", session="s9")
    assert kinds(events) == [("SessionClosed", pid("session", "s9"))]
    assert events[0].payload == SessionClosedPayload(
        report=SessionReport(
            union=True,
            music_seconds=0,
            musicians=(
                kofi,
                CheckIn(
                    party_id=party("jonah"),
                    roles=("Musician",),
                    role_vocabulary="ERN-4.3",
                    parts=2,
                ),
            ),
            leader_id=party("kofi"),
            contractor_id=None,
            recording_ids=(),
        )
    )
    w.refuse(InvalidState, cmd.CloseSession, "sam", session="s9")


def test_union_session_needs_a_contractor_from_twelve_musicians(songs: World) -> None:
    w = songs
    book(w, "s9", DAY)
    w.do(cmd.OpenSession, "sam", session="s9")
    for n in range(11):
        w.do(cmd.RegisterParty, "rui", party=f"m{n}", name=f"Player {n}")
        w.do(cmd.CheckIn, "sam", session="s9", party=f"m{n}", roles=("Musician",))
    w.do(cmd.RegisterParty, "rui", party="m11", name="Player 11")
    error = w.refuse(
        UnionRuleViolated,
        cmd.CheckIn,
        "sam",
        session="s9",
        party="m11",
        roles=("Musician",),
    )
    assert error.field == "contractor"
    events = w.do(
        cmd.CheckIn,
        "sam",
        session="s9",
        party="m11",
        roles=("Musician", "Contractor"),
        contractor=True,
    )
    assert events[0].payload.musicians == 12


def test_record_take(in_session: World) -> None:
    w = in_session
    events = record_take(w, "t1", seconds=245)
    assert kinds(events) == [
        ("TakeRecorded", pid("take", "t1")),
        ("TakeLogged", pid("session", "s1")),
    ]
    meta = w.meta("sam", "engineer")
    assert all(e.meta == meta for e in events)
    assert events[0].payload == TakeRecordedPayload(
        session_id=pid("session", "s1"),
        recording_id=pid("recording", "song1"),
        part="rhythm",
        take_number=1,
        performer_ids=(party("kofi"), party("jonah")),
        file="s3://alb/t1.wav",
        sha256=SHA,
        duration_seconds=245,
        arrangement_version=1,
    )
    assert events[1].payload == TakeLoggedPayload(
        take_id=pid("take", "t1"),
        recording_id=pid("recording", "song1"),
        part="rhythm",
        take_number=1,
        duration_seconds=245,
        music_seconds=245,
    )


def test_record_take_refusals(in_session: World) -> None:
    w = in_session
    record_take(w, "t1")
    w.refuse(
        AlreadyExists,
        cmd.RecordTake,
        "sam",
        take="t1",
        session="s1",
        recording="song1",
        part="rhythm",
        take_number=2,
        performers=("kofi",),
        file="f",
        sha256=SHA,
        duration_seconds=10,
    )
    base = {
        "session": "s1",
        "recording": "song1",
        "part": "rhythm",
        "performers": ("kofi",),
        "file": "f",
        "sha256": SHA,
        "duration_seconds": 100,
    }
    w.refuse(AlreadyExists, cmd.RecordTake, "sam", take="t2", take_number=1, **base)
    w.refuse(CapacityNotHeld, cmd.RecordTake, "kofi", take="t2", take_number=2, **base)
    error = w.refuse(
        InvalidCommand,
        cmd.RecordTake,
        "sam",
        take="t2",
        take_number=2,
        **{**base, "sha256": "XYZ"},
    )
    assert error.field == "$.sha256"
    error = w.refuse(
        InvalidCommand, cmd.RecordTake, "sam", take="t2", take_number=0, **base
    )
    assert error.field == "$.take_number"
    error = w.refuse(
        InvalidState,
        cmd.RecordTake,
        "sam",
        take="t2",
        take_number=2,
        **{**base, "performers": ("mara",)},
    )
    assert error.field == "performers[0]"
    w.refuse(
        InvalidCommand,
        cmd.RecordTake,
        "sam",
        take="t2",
        take_number=2,
        **{**base, "performers": ()},
    )
    w.refuse(
        UnknownReference,
        cmd.RecordTake,
        "sam",
        take="t2",
        take_number=2,
        **{**base, "recording": "nope"},
    )
    w.refuse(
        UnknownReference,
        cmd.RecordTake,
        "sam",
        take="t2",
        take_number=2,
        **{**base, "session": "nope"},
    )
    w.do(cmd.RegisterWork, "mara", work="w3", title="S3")
    w.do(cmd.AddRecording, "rui", recording="song3", work="w3", title="S3")
    w.refuse(
        InvalidState,
        cmd.RecordTake,
        "sam",
        take="t2",
        take_number=2,
        **{**base, "recording": "song3"},
    )


def test_union_session_holds_at_most_fifteen_minutes(in_session: World) -> None:
    w = in_session
    record_take(w, "a1", recording="song1", seconds=420)
    record_take(w, "a2", recording="song1", number=2, seconds=450)
    error = w.refuse(
        UnionRuleViolated,
        cmd.RecordTake,
        "sam",
        take="b1",
        session="s1",
        recording="song2",
        part="rhythm",
        take_number=1,
        performers=("kofi",),
        file="f",
        sha256=SHA,
        duration_seconds=451,
    )
    assert error.field == "duration_seconds"
    events = record_take(w, "b1", recording="song2", seconds=450)
    assert events[1].payload.music_seconds == 900


def test_mark_take(in_session: World) -> None:
    w = in_session
    record_take(w, "t1")
    events = w.do(cmd.MarkTake, "rui", take="t1", mark="circle")
    assert kinds(events) == [("TakeMarked", pid("take", "t1"))]
    assert events[0].payload == TakeMarkedPayload(
        session_id=pid("session", "s1"),
        recording_id=pid("recording", "song1"),
        mark="circle",
        previous_mark=None,
    )
    events = w.do(cmd.MarkTake, "rui", take="t1", mark="reject", reason="Clicks")
    assert events[0].payload.previous_mark == "circle"
    w.refuse(InvalidState, cmd.MarkTake, "rui", take="t1", mark="reject")
    w.refuse(CapacityNotHeld, cmd.MarkTake, "sam", take="t1", mark="keeper")
    w.refuse(UnknownReference, cmd.MarkTake, "rui", take="nope", mark="keeper")
    error = w.refuse(InvalidCommand, cmd.MarkTake, "rui", take="t1", mark="great")
    assert error.field == "$.mark"
