"""Works and split sheets; recordings and arrangements."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from domain_support import ARRANGEMENT, World, kinds, party, pid

from session_log import commands as cmd
from session_log.domain.recordings import (
    ArrangementAdoptedPayload,
    ArrangementChangedPayload,
    RecordingAddedPayload,
    RecordingDroppedPayload,
)
from session_log.domain.works import (
    SplitSheetAmendedPayload,
    SplitSheetFinalisedPayload,
    SplitSheetProposedPayload,
    SplitSheetSignedPayload,
    WorkRegisteredPayload,
    WriterShare,
)
from session_log.errors import (
    AlreadyExists,
    CapacityNotHeld,
    InvalidCommand,
    InvalidState,
    NotAuthorised,
    SplitSharesInvalid,
    UnknownReference,
)

SHARES = (
    cmd.ShareInput(party="mara", role="ComposerLyricist", share_bp=6000),
    cmd.ShareInput(party="jonah", role="Composer", share_bp=4000),
)
WRITER_SHARES = (
    WriterShare(party_id=party("mara"), role="ComposerLyricist", share_bp=6000),
    WriterShare(party_id=party("jonah"), role="Composer", share_bp=4000),
)


def test_register_work(world: World) -> None:
    events = world.do(
        cmd.RegisterWork, "mara", work="w1", title="Song", iswc="T-034524680-1"
    )
    assert kinds(events) == [("WorkRegistered", pid("work", "w1"))]
    assert events[0].meta == world.meta("mara", "artist")
    assert events[0].payload == WorkRegisteredPayload(
        title="Song", iswc="T-034524680-1"
    )
    world.refuse(AlreadyExists, cmd.RegisterWork, "rui", work="w1", title="Again")
    world.refuse(CapacityNotHeld, cmd.RegisterWork, "sam", work="w2", title="S")
    error = world.refuse(
        InvalidCommand, cmd.RegisterWork, "rui", work="w2", title="S", iswc="X"
    )
    assert error.field == "$.iswc"
    error = world.refuse(InvalidCommand, cmd.RegisterWork, "rui", work="w2", title="")
    assert error.field == "$.title"


def test_split_sheet_lifecycle(world: World) -> None:
    world.do(cmd.RegisterWork, "mara", work="w1", title="Song")
    events = world.do(cmd.ProposeSplitSheet, "mara", work="w1", shares=SHARES)
    assert kinds(events) == [("SplitSheetProposed", pid("work", "w1"))]
    assert events[0].payload == SplitSheetProposedPayload(
        sheet_version=1, shares=WRITER_SHARES
    )
    world.refuse(
        InvalidState, cmd.FinaliseSplitSheet, "rui", work="w1", sheet_version=1
    )
    events = world.do(cmd.SignSplitSheet, "mara", work="w1", sheet_version=1)
    assert events[0].payload == SplitSheetSignedPayload(
        sheet_version=1, party_id=party("mara")
    )
    assert events[0].meta == world.meta("mara", "artist")
    world.refuse(AlreadyExists, cmd.SignSplitSheet, "mara", work="w1", sheet_version=1)
    world.refuse(NotAuthorised, cmd.SignSplitSheet, "kofi", work="w1", sheet_version=1)
    events = world.do(cmd.SignSplitSheet, "jonah", work="w1", sheet_version=1)
    assert events[0].meta.capacity == "contributor"
    events = world.do(cmd.FinaliseSplitSheet, "rui", work="w1", sheet_version=1)
    assert kinds(events) == [("SplitSheetFinalised", pid("work", "w1"))]
    assert events[0].payload == SplitSheetFinalisedPayload(
        sheet_version=1, shares=WRITER_SHARES
    )
    world.refuse(InvalidState, cmd.ProposeSplitSheet, "mara", work="w1", shares=SHARES)
    world.refuse(InvalidState, cmd.SignSplitSheet, "mara", work="w1", sheet_version=1)
    world.refuse(InvalidState, cmd.SignSplitSheet, "mara", work="w1", sheet_version=9)
    # amend: needs a reason, new shares, and every signature again
    amended = (
        cmd.ShareInput(party="mara", role="ComposerLyricist", share_bp=5000),
        cmd.ShareInput(party="jonah", role="Composer", share_bp=5000),
    )
    world.refuse(InvalidCommand, cmd.AmendSplitSheet, "mara", work="w1", shares=amended)
    world.refuse(
        InvalidState, cmd.AmendSplitSheet, "mara", work="w1", shares=SHARES, reason="r"
    )
    events = world.do(
        cmd.AmendSplitSheet,
        "mara",
        work="w1",
        shares=amended,
        reason="Bridge co-written",
    )
    assert kinds(events) == [("SplitSheetAmended", pid("work", "w1"))]
    assert events[0].payload == SplitSheetAmendedPayload(
        sheet_version=2,
        shares=(
            WriterShare(party_id=party("mara"), role="ComposerLyricist", share_bp=5000),
            WriterShare(party_id=party("jonah"), role="Composer", share_bp=5000),
        ),
        amends_version=1,
    )
    assert events[0].meta.reason == "Bridge co-written"
    world.do(cmd.SignSplitSheet, "mara", work="w1", sheet_version=2)
    world.do(cmd.SignSplitSheet, "jonah", work="w1", sheet_version=2)
    world.do(cmd.FinaliseSplitSheet, "mara", work="w1", sheet_version=2)
    work = world.get("work", "w1")
    assert [s.status for s in work.sheets] == ["superseded", "final"]


def test_a_new_proposal_supersedes_an_open_one(world: World) -> None:
    world.do(cmd.RegisterWork, "mara", work="w1", title="Song")
    world.do(cmd.ProposeSplitSheet, "mara", work="w1", shares=SHARES)
    alone = (cmd.ShareInput(party="mara", role="ComposerLyricist", share_bp=10000),)
    events = world.do(cmd.ProposeSplitSheet, "rui", work="w1", shares=alone)
    assert events[0].payload.supersedes_version == 1
    world.refuse(InvalidState, cmd.SignSplitSheet, "mara", work="w1", sheet_version=1)


def test_split_shares_must_total_100_percent(world: World) -> None:
    world.do(cmd.RegisterWork, "mara", work="w1", title="Song")
    bad = (
        cmd.ShareInput(party="mara", role="Composer", share_bp=3333),
        cmd.ShareInput(party="jonah", role="Lyricist", share_bp=3333),
    )
    error = world.refuse(
        SplitSharesInvalid, cmd.ProposeSplitSheet, "mara", work="w1", shares=bad
    )
    assert "66.66%" in str(error)
    twice = (
        cmd.ShareInput(party="mara", role="Composer", share_bp=5000),
        cmd.ShareInput(party="mara", role="Lyricist", share_bp=5000),
    )
    world.refuse(
        SplitSharesInvalid, cmd.ProposeSplitSheet, "mara", work="w1", shares=twice
    )
    zero = (
        cmd.ShareInput(party="mara", role="Composer", share_bp=10000),
        cmd.ShareInput(party="jonah", role="Lyricist", share_bp=0),
    )
    world.refuse(
        SplitSharesInvalid, cmd.ProposeSplitSheet, "mara", work="w1", shares=zero
    )
    world.refuse(
        SplitSharesInvalid, cmd.ProposeSplitSheet, "mara", work="w1", shares=()
    )
    role = (cmd.ShareInput(party="mara", role="Drummer", share_bp=10000),)
    error = world.refuse(
        InvalidCommand, cmd.ProposeSplitSheet, "mara", work="w1", shares=role
    )
    assert error.field == "shares[0].role"
    ghost = (cmd.ShareInput(party="ghost", role="Composer", share_bp=10000),)
    error = world.refuse(
        UnknownReference, cmd.ProposeSplitSheet, "mara", work="w1", shares=ghost
    )
    assert error.field == "shares[0].party"
    world.refuse(
        UnknownReference, cmd.ProposeSplitSheet, "mara", work="w9", shares=SHARES
    )
    world.refuse(
        CapacityNotHeld, cmd.ProposeSplitSheet, "kofi", work="w1", shares=SHARES
    )


def test_add_and_drop_recording(world: World) -> None:
    world.do(cmd.RegisterWork, "mara", work="w1", title="Song")
    events = world.do(cmd.AddRecording, "rui", recording="r1", work="w1", title="Song")
    assert kinds(events) == [("RecordingAdded", pid("recording", "r1"))]
    assert events[0].payload == RecordingAddedPayload(
        work_id=pid("work", "w1"), title="Song"
    )
    world.refuse(
        AlreadyExists, cmd.AddRecording, "rui", recording="r1", work="w1", title="S"
    )
    world.refuse(
        UnknownReference, cmd.AddRecording, "rui", recording="r2", work="w9", title="S"
    )
    world.refuse(
        CapacityNotHeld, cmd.AddRecording, "mara", recording="r2", work="w1", title="S"
    )
    world.refuse(
        InvalidCommand, cmd.AddRecording, "rui", recording="_r", work="w1", title="S"
    )
    world.refuse(InvalidCommand, cmd.DropRecording, "rui", recording="r1")
    events = world.do(cmd.DropRecording, "rui", recording="r1", reason="Too similar")
    assert kinds(events) == [("RecordingDropped", pid("recording", "r1"))]
    assert events[0].payload == RecordingDroppedPayload(work_id=pid("work", "w1"))
    assert events[0].meta == world.meta("rui", "producer", reason="Too similar")
    world.refuse(InvalidState, cmd.DropRecording, "rui", recording="r1", reason="again")
    world.refuse(
        InvalidState,
        cmd.AdoptArrangement,
        "rui",
        recording="r1",
        arrangement=ARRANGEMENT,
    )


def test_adopt_arrangement(world: World) -> None:
    world.do(cmd.RegisterWork, "mara", work="w1", title="Song")
    world.do(cmd.AddRecording, "rui", recording="r1", work="w1", title="Song")
    bad = msgspec.structs.replace(ARRANGEMENT, meter="four")
    error = world.refuse(
        InvalidCommand, cmd.AdoptArrangement, "rui", recording="r1", arrangement=bad
    )
    assert error.field == "arrangement.meter"
    slow = msgspec.structs.replace(ARRANGEMENT, tempo_bpm=Decimal(5))
    world.refuse(
        InvalidCommand, cmd.AdoptArrangement, "rui", recording="r1", arrangement=slow
    )
    odd = msgspec.structs.replace(ARRANGEMENT, instrumentation=("Kazoo",))
    world.refuse(
        InvalidCommand, cmd.AdoptArrangement, "rui", recording="r1", arrangement=odd
    )
    world.refuse(
        CapacityNotHeld,
        cmd.AdoptArrangement,
        "mara",
        recording="r1",
        arrangement=ARRANGEMENT,
    )
    events = world.do(
        cmd.AdoptArrangement, "rui", recording="r1", arrangement=ARRANGEMENT
    )
    assert kinds(events) == [("ArrangementAdopted", pid("recording", "r1"))]
    assert events[0].payload == ArrangementAdoptedPayload(
        arrangement_version=1, arrangement=ARRANGEMENT
    )
    world.refuse(
        InvalidState,
        cmd.AdoptArrangement,
        "rui",
        recording="r1",
        arrangement=ARRANGEMENT,
    )


def test_change_arrangement_minor(songs: World) -> None:
    w = songs
    faster = msgspec.structs.replace(ARRANGEMENT, tempo_bpm=Decimal("96.5"))
    w.refuse(
        InvalidCommand,
        cmd.ChangeArrangement,
        "rui",
        recording="song1",
        change_kind="minor",
        arrangement=faster,
    )
    w.refuse(
        InvalidState,
        cmd.ChangeArrangement,
        "rui",
        recording="song1",
        change_kind="minor",
        arrangement=ARRANGEMENT,
        reason="r",
    )
    w.refuse(
        InvalidCommand,
        cmd.ChangeArrangement,
        "rui",
        recording="song1",
        change_kind="minor",
        arrangement=faster,
        new_recording="x",
        reason="r",
    )
    events = w.do(
        cmd.ChangeArrangement,
        "rui",
        recording="song1",
        change_kind="minor",
        arrangement=faster,
        reason="Pushes better",
    )
    assert kinds(events) == [("ArrangementChanged", pid("recording", "song1"))]
    assert events[0].payload == ArrangementChangedPayload(
        change_kind="minor",
        arrangement=faster,
        previous_arrangement_version=1,
        arrangement_version=2,
    )
    assert w.get("recording", "song1").arrangement_version == 2


def test_change_arrangement_new_recording_version(songs: World) -> None:
    w = songs
    slow = msgspec.structs.replace(ARRANGEMENT, tempo_bpm=Decimal(70), meter="6/8")
    w.refuse(
        InvalidCommand,
        cmd.ChangeArrangement,
        "rui",
        recording="song1",
        change_kind="new_recording_version",
        arrangement=slow,
        reason="r",
    )
    w.refuse(
        AlreadyExists,
        cmd.ChangeArrangement,
        "rui",
        recording="song1",
        change_kind="new_recording_version",
        arrangement=slow,
        new_recording="song2",
        reason="r",
    )
    events = w.do(
        cmd.ChangeArrangement,
        "rui",
        recording="song1",
        change_kind="new_recording_version",
        arrangement=slow,
        new_recording="song1-slow",
        version_title="Slow Version",
        reason="Half-time feel",
    )
    assert kinds(events) == [
        ("ArrangementChanged", pid("recording", "song1")),
        ("RecordingAdded", pid("recording", "song1-slow")),
        ("ArrangementAdopted", pid("recording", "song1-slow")),
    ]
    assert events[0].payload == ArrangementChangedPayload(
        change_kind="new_recording_version",
        arrangement=slow,
        previous_arrangement_version=1,
        arrangement_version=None,
        new_recording_id=pid("recording", "song1-slow"),
    )
    assert events[1].payload == RecordingAddedPayload(
        work_id=pid("work", "work1"),
        title="Song 1",
        version_title="Slow Version",
        derived_from_recording_id=pid("recording", "song1"),
    )
    assert w.get("recording", "song1").status == "superseded"
    w.refuse(
        InvalidState,
        cmd.ChangeArrangement,
        "rui",
        recording="song1",
        change_kind="minor",
        arrangement=slow,
        reason="r",
    )


def test_change_arrangement_new_work(songs: World) -> None:
    w = songs
    new = msgspec.structs.replace(ARRANGEMENT, key="A minor")
    w.refuse(
        InvalidCommand,
        cmd.ChangeArrangement,
        "rui",
        recording="song2",
        change_kind="new_work",
        arrangement=new,
        new_recording="song2b",
        reason="r",
    )
    w.refuse(
        InvalidCommand,
        cmd.ChangeArrangement,
        "rui",
        recording="song2",
        change_kind="new_work",
        arrangement=new,
        new_recording="song2b",
        new_work="work2b",
        reason="r",
    )
    events = w.do(
        cmd.ChangeArrangement,
        "rui",
        recording="song2",
        change_kind="new_work",
        arrangement=new,
        new_recording="song2b",
        new_work="work2b",
        new_work_title="Song 2 (Reworked)",
        reason="New melody and lyric: a new song",
    )
    assert kinds(events) == [
        ("ArrangementChanged", pid("recording", "song2")),
        ("WorkRegistered", pid("work", "work2b")),
        ("RecordingAdded", pid("recording", "song2b")),
        ("ArrangementAdopted", pid("recording", "song2b")),
    ]
    assert events[1].payload == WorkRegisteredPayload(
        title="Song 2 (Reworked)", derived_from_work_id=pid("work", "work2")
    )
    assert events[2].payload.work_id == pid("work", "work2b")
