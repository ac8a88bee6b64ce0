"""Credits (assert, confirm, dispute, retract) and milestones."""

from __future__ import annotations

from datetime import timedelta

from domain_support import START, World, kinds, party, pid

from session_log import commands as cmd
from session_log.domain.credits import CreditAssertedPayload, CreditChangedPayload
from session_log.domain.milestones import (
    MilestoneMetPayload,
    MilestoneRescheduledPayload,
    MilestoneScheduledPayload,
)
from session_log.errors import (
    AlreadyExists,
    CapacityNotHeld,
    InvalidCommand,
    InvalidState,
    UnknownReference,
)


def test_assert_credit(songs: World) -> None:
    w = songs
    events = w.do(
        cmd.AssertCredit,
        "rui",
        recording="song1",
        credit="kofi-drums",
        party="kofi",
        role="Musician",
        instruments=("Drums",),
    )
    assert kinds(events) == [("CreditAsserted", pid("credits", "song1"))]
    assert events[0].meta == w.meta("rui", "producer")
    assert events[0].payload == CreditAssertedPayload(
        subject_id=pid("recording", "song1"),
        credit="kofi-drums",
        party_id=party("kofi"),
        role="Musician",
        role_vocabulary="ERN-4.3",
        instruments=("Drums",),
    )
    events = w.do(
        cmd.AssertCredit,
        "rui",
        credit="tea",
        party="max",
        role="UserDefined",
        user_defined_role="Tea Maker",
    )
    assert kinds(events) == [("CreditAsserted", pid("credits", "_release"))]
    assert events[0].payload.subject_id == pid("release", "main")


def test_assert_credit_refusals(songs: World) -> None:
    w = songs
    base = {"recording": "song1", "party": "kofi", "role": "Musician"}
    w.refuse(CapacityNotHeld, cmd.AssertCredit, "mara", credit="c", **base)
    w.refuse(
        InvalidCommand, cmd.AssertCredit, "rui", credit="c", **{**base, "role": "Boss"}
    )
    w.refuse(
        InvalidCommand,
        cmd.AssertCredit,
        "rui",
        credit="c",
        **{**base, "role": "UserDefined"},
    )
    w.refuse(
        InvalidCommand,
        cmd.AssertCredit,
        "rui",
        credit="c",
        role_vocabulary="ERN-9",
        **base,
    )
    w.refuse(
        InvalidCommand,
        cmd.AssertCredit,
        "rui",
        credit="c",
        instruments=("Kazoo",),
        **base,
    )
    w.refuse(
        UnknownReference,
        cmd.AssertCredit,
        "rui",
        credit="c",
        **{**base, "party": "ghost"},
    )
    w.refuse(
        UnknownReference,
        cmd.AssertCredit,
        "rui",
        credit="c",
        **{**base, "recording": "ghost"},
    )
    w.do(cmd.AssertCredit, "rui", credit="c", **base)
    w.refuse(AlreadyExists, cmd.AssertCredit, "rui", credit="c", **base)
    w.refuse(AlreadyExists, cmd.AssertCredit, "rui", credit="d", **base)


def test_confirm_dispute_retract(songs: World) -> None:
    w = songs
    w.do(
        cmd.AssertCredit,
        "rui",
        recording="song1",
        credit="c",
        party="kofi",
        role="Musician",
    )
    w.refuse(CapacityNotHeld, cmd.ConfirmCredit, "jonah", recording="song1", credit="c")
    events = w.do(cmd.ConfirmCredit, "kofi", recording="song1", credit="c")
    assert kinds(events) == [("CreditConfirmed", pid("credits", "song1"))]
    assert events[0].meta == w.meta("kofi", "contributor")
    assert events[0].payload == CreditChangedPayload(
        subject_id=pid("recording", "song1"),
        credit="c",
        party_id=party("kofi"),
        role="Musician",
        previous_status="asserted",
    )
    w.refuse(InvalidState, cmd.ConfirmCredit, "mara", recording="song1", credit="c")
    w.refuse(InvalidCommand, cmd.DisputeCredit, "mara", recording="song1", credit="c")
    w.refuse(
        CapacityNotHeld,
        cmd.DisputeCredit,
        "jonah",
        recording="song1",
        credit="c",
        reason="x",
    )
    events = w.do(
        cmd.DisputeCredit, "mara", recording="song1", credit="c", reason="Wrong"
    )
    assert kinds(events) == [("CreditDisputed", pid("credits", "song1"))]
    assert events[0].payload.previous_status == "confirmed"
    assert events[0].meta == w.meta("mara", "artist", reason="Wrong")
    w.refuse(InvalidCommand, cmd.ConfirmCredit, "mara", recording="song1", credit="c")
    events = w.do(
        cmd.ConfirmCredit, "mara", recording="song1", credit="c", reason="He did play"
    )
    assert events[0].payload.previous_status == "disputed"
    w.refuse(InvalidCommand, cmd.RetractCredit, "rui", recording="song1", credit="c")
    w.refuse(
        CapacityNotHeld,
        cmd.RetractCredit,
        "mara",
        recording="song1",
        credit="c",
        reason="x",
    )
    events = w.do(cmd.RetractCredit, "rui", recording="song1", credit="c", reason="Dup")
    assert kinds(events) == [("CreditRetracted", pid("credits", "song1"))]
    w.refuse(
        InvalidState,
        cmd.RetractCredit,
        "rui",
        recording="song1",
        credit="c",
        reason="x",
    )
    w.refuse(
        InvalidState,
        cmd.DisputeCredit,
        "mara",
        recording="song1",
        credit="c",
        reason="x",
    )
    w.refuse(UnknownReference, cmd.ConfirmCredit, "mara", recording="song1", credit="z")
    w.refuse(UnknownReference, cmd.ConfirmCredit, "mara", recording="song2", credit="c")


def test_milestones(world: World) -> None:
    w = world
    due = START + timedelta(days=30)
    events = w.do(
        cmd.ScheduleMilestone, "rui", milestone="m1", name="Tracking done", due_at=due
    )
    assert kinds(events) == [("MilestoneScheduled", pid("milestone", "m1"))]
    assert events[0].payload == MilestoneScheduledPayload(
        name="Tracking done", due_at=due
    )
    w.refuse(
        AlreadyExists,
        cmd.ScheduleMilestone,
        "rui",
        milestone="m1",
        name="x",
        due_at=due,
    )
    w.refuse(
        CapacityNotHeld,
        cmd.ScheduleMilestone,
        "sam",
        milestone="m2",
        name="x",
        due_at=due,
    )
    w.refuse(
        UnknownReference,
        cmd.ScheduleMilestone,
        "rui",
        milestone="m2",
        name="x",
        due_at=due,
        recording="ghost",
    )
    w.refuse(InvalidCommand, cmd.RescheduleMilestone, "rui", milestone="m1", due_at=due)
    w.refuse(
        InvalidState,
        cmd.RescheduleMilestone,
        "rui",
        milestone="m1",
        due_at=due,
        reason="x",
    )
    later = due + timedelta(days=7)
    events = w.do(
        cmd.RescheduleMilestone, "lena", milestone="m1", due_at=later, reason="Re-track"
    )
    assert events[0].payload == MilestoneRescheduledPayload(
        due_at=later, previous_due_at=due
    )
    assert events[0].meta.capacity == "label_approver"
    w.move_to(later + timedelta(hours=50))
    events = w.do(cmd.MeetMilestone, "sam", milestone="m1")
    assert kinds(events) == [("MilestoneMet", pid("milestone", "m1"))]
    assert events[0].payload == MilestoneMetPayload(
        due_at=later, late=True, late_by_hours=50
    )
    w.refuse(InvalidState, cmd.MeetMilestone, "rui", milestone="m1")
    w.refuse(
        InvalidState,
        cmd.RescheduleMilestone,
        "rui",
        milestone="m1",
        due_at=due,
        reason="x",
    )
    w.refuse(UnknownReference, cmd.MeetMilestone, "rui", milestone="m9")
    w.do(
        cmd.ScheduleMilestone,
        "rui",
        milestone="m2",
        name="Early",
        due_at=later + timedelta(days=9),
    )
    events = w.do(cmd.MeetMilestone, "rui", milestone="m2")
    assert events[0].payload.late is False
    assert events[0].payload.late_by_hours == 0
