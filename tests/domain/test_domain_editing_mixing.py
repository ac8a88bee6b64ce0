"""Comps, edit passes, mixes, masters, transfers, sequence and label copy."""

from __future__ import annotations

from decimal import Decimal

import pytest
from domain_support import SHA, World, kinds, party, pid, record_take

from session_log import commands as cmd
from session_log.domain.approvals import ApprovalLevel
from session_log.domain.comps import (
    CompApprovedPayload,
    CompAssembledPayload,
    CompSupersededPayload,
    EditPassRecordedPayload,
    Segment,
)
from session_log.domain.masters import (
    MasterApprovedPayload,
    MasterSubmittedPayload,
    TransferArchivedPayload,
)
from session_log.domain.mixes import (
    MixApprovedPayload,
    MixNotedPayload,
    MixRevisionRequestedPayload,
    MixSubmittedPayload,
)
from session_log.domain.release import (
    LabelCopyApprovedPayload,
    LabelCopyCredit,
    SequenceApprovedPayload,
    SequenceProposedPayload,
    TrackMaster,
    WorkSplit,
)
from session_log.domain.works import WriterShare
from session_log.errors import (
    AlreadyExists,
    ApprovalOrderViolated,
    CapacityNotHeld,
    DisputeOpen,
    InvalidCommand,
    InvalidState,
    TakeNotUsable,
    UnknownReference,
)

LEVELS: tuple[tuple[str, ApprovalLevel], ...] = (
    ("rui", "producer"),
    ("mara", "artist"),
    ("lena", "label"),
)


def seg(take: str, bar_from: int, bar_to: int) -> cmd.SegmentInput:
    return cmd.SegmentInput(take=take, bar_from=bar_from, bar_to=bar_to)


@pytest.fixture
def takes(in_session: World) -> World:
    """Takes t1, t2 (song1 rhythm), t3 (song1 vocal), u1 (song2 rhythm)."""
    w = in_session
    record_take(w, "t1", number=1)
    record_take(w, "t2", number=2)
    record_take(w, "t3", part="vocal", number=1)
    record_take(w, "u1", recording="song2", number=1)
    return w


@pytest.fixture
def comped(takes: World) -> World:
    """song1 rhythm comp "a" approved by producer and artist."""
    w = takes
    w.do(
        cmd.AssembleComp,
        "sam",
        recording="song1",
        comp="a",
        part="rhythm",
        segments=(seg("t1", 1, 16), seg("t2", 17, 64)),
    )
    w.do(cmd.ApproveComp, "rui", recording="song1", comp="a")
    w.do(cmd.ApproveComp, "mara", recording="song1", comp="a")
    return w


def test_assemble_comp(takes: World) -> None:
    events = takes.do(
        cmd.AssembleComp,
        "sam",
        recording="song1",
        comp="a",
        part="rhythm",
        segments=(seg("t1", 1, 16), seg("t2", 17, 48), seg("t1", 49, 64)),
    )
    assert kinds(events) == [("CompAssembled", pid("comps", "song1"))]
    assert events[0].meta == takes.meta("sam", "engineer")
    assert events[0].payload == CompAssembledPayload(
        recording_id=pid("recording", "song1"),
        comp="a",
        part="rhythm",
        segments=(
            Segment(take_id=pid("take", "t1"), bar_from=1, bar_to=16),
            Segment(take_id=pid("take", "t2"), bar_from=17, bar_to=48),
            Segment(take_id=pid("take", "t1"), bar_from=49, bar_to=64),
        ),
        take_ids=(pid("take", "t1"), pid("take", "t2")),
    )
    events = takes.do(
        cmd.AssembleComp,
        "rui",
        recording="song1",
        comp="b",
        part="rhythm",
        segments=(seg("t2", 1, 64),),
    )
    assert kinds(events) == [("CompAssembled", pid("comps", "song1"))]
    assert events[0].originator_version == 2


def test_assemble_comp_refusals(takes: World) -> None:
    w = takes
    base = {"recording": "song1", "comp": "a", "part": "rhythm"}
    error = w.refuse(
        TakeNotUsable, cmd.AssembleComp, "sam", segments=(seg("nope", 1, 4),), **base
    )
    assert error.field == "segments[0].take"
    error = w.refuse(
        TakeNotUsable,
        cmd.AssembleComp,
        "sam",
        segments=(seg("t1", 1, 4), seg("u1", 5, 8)),
        **base,
    )
    assert error.field == "segments[1].take"
    assert "belongs to alb.recording.song2" in str(error)
    w.refuse(
        TakeNotUsable, cmd.AssembleComp, "sam", segments=(seg("t3", 1, 4),), **base
    )
    w.do(cmd.MarkTake, "rui", take="t1", mark="reject")
    w.refuse(
        TakeNotUsable, cmd.AssembleComp, "sam", segments=(seg("t1", 1, 4),), **base
    )
    error = w.refuse(
        InvalidCommand,
        cmd.AssembleComp,
        "sam",
        segments=(seg("t2", 1, 8), seg("t2", 8, 12)),
        **base,
    )
    assert error.field == "segments[1]"
    w.refuse(
        InvalidCommand, cmd.AssembleComp, "sam", segments=(seg("t2", 5, 4),), **base
    )
    w.refuse(InvalidCommand, cmd.AssembleComp, "sam", segments=(), **base)
    w.refuse(
        CapacityNotHeld, cmd.AssembleComp, "kofi", segments=(seg("t2", 1, 4),), **base
    )
    w.do(cmd.AssembleComp, "sam", segments=(seg("t2", 1, 4),), **base)
    w.refuse(
        AlreadyExists, cmd.AssembleComp, "sam", segments=(seg("t2", 1, 4),), **base
    )


def test_approve_comp(takes: World) -> None:
    w = takes
    w.do(
        cmd.AssembleComp,
        "sam",
        recording="song1",
        comp="a",
        part="rhythm",
        segments=(seg("t1", 1, 64),),
    )
    w.refuse(
        ApprovalOrderViolated, cmd.ApproveComp, "mara", recording="song1", comp="a"
    )
    w.refuse(CapacityNotHeld, cmd.ApproveComp, "sam", recording="song1", comp="a")
    events = w.do(cmd.ApproveComp, "rui", recording="song1", comp="a")
    assert kinds(events) == [("CompApproved", pid("comps", "song1"))]
    assert events[0].payload == CompApprovedPayload(
        recording_id=pid("recording", "song1"),
        comp="a",
        part="rhythm",
        level="producer",
        take_ids=(pid("take", "t1"),),
    )
    w.refuse(AlreadyExists, cmd.ApproveComp, "rui", recording="song1", comp="a")
    events = w.do(cmd.ApproveComp, "mara", recording="song1", comp="a")
    assert events[0].payload.level == "artist"
    assert events[0].meta == w.meta("mara", "artist")
    w.refuse(UnknownReference, cmd.ApproveComp, "rui", recording="song1", comp="zz")
    w.refuse(UnknownReference, cmd.ApproveComp, "rui", recording="song2", comp="a")


def test_supersede_comp(comped: World) -> None:
    w = comped
    w.do(
        cmd.AssembleComp,
        "sam",
        recording="song1",
        comp="b",
        part="rhythm",
        segments=(seg("t2", 1, 64),),
    )
    error = w.refuse(InvalidState, cmd.ApproveComp, "rui", recording="song1", comp="b")
    assert "supersede it by b first" in str(error)
    w.do(
        cmd.AssembleComp,
        "sam",
        recording="song1",
        comp="v",
        part="vocal",
        segments=(seg("t3", 1, 64),),
    )
    w.refuse(
        InvalidState,
        cmd.SupersedeComp,
        "rui",
        recording="song1",
        comp="a",
        superseded_by="v",
    )
    w.refuse(
        InvalidCommand,
        cmd.SupersedeComp,
        "rui",
        recording="song1",
        comp="a",
        superseded_by="a",
    )
    w.refuse(
        CapacityNotHeld,
        cmd.SupersedeComp,
        "sam",
        recording="song1",
        comp="a",
        superseded_by="b",
    )
    events = w.do(
        cmd.SupersedeComp,
        "rui",
        recording="song1",
        comp="a",
        superseded_by="b",
        reason="Tighter drums",
    )
    assert kinds(events) == [("CompSuperseded", pid("comps", "song1"))]
    assert events[0].payload == CompSupersededPayload(
        recording_id=pid("recording", "song1"),
        comp="a",
        part="rhythm",
        superseded_by="b",
    )
    w.refuse(InvalidState, cmd.ApproveComp, "mara", recording="song1", comp="a")
    w.refuse(
        InvalidState,
        cmd.SupersedeComp,
        "rui",
        recording="song1",
        comp="a",
        superseded_by="b",
    )
    w.refuse(
        InvalidState,
        cmd.SupersedeComp,
        "rui",
        recording="song1",
        comp="b",
        superseded_by="a",
    )
    w.do(cmd.ApproveComp, "rui", recording="song1", comp="b")


def test_record_edit_pass(comped: World) -> None:
    w = comped
    events = w.do(
        cmd.RecordEditPass,
        "sam",
        recording="song1",
        comp="a",
        pass_kind="timing",
        file="s3://alb/edit.ptx",
        sha256=SHA,
        notes="Kick tightened",
    )
    assert kinds(events) == [("EditPassRecorded", pid("comps", "song1"))]
    assert events[0].payload == EditPassRecordedPayload(
        recording_id=pid("recording", "song1"),
        comp="a",
        pass_kind="timing",
        file="s3://alb/edit.ptx",
        sha256=SHA,
        notes="Kick tightened",
    )
    base = {"recording": "song1", "file": "f", "sha256": SHA}
    w.refuse(
        CapacityNotHeld, cmd.RecordEditPass, "rui", comp="a", pass_kind="tuning", **base
    )
    w.refuse(
        UnknownReference,
        cmd.RecordEditPass,
        "sam",
        comp="z",
        pass_kind="tuning",
        **base,
    )
    w.refuse(
        InvalidCommand, cmd.RecordEditPass, "sam", comp="a", pass_kind="magic", **base
    )


@pytest.fixture
def mixed(comped: World) -> World:
    w = comped
    w.do(cmd.SubmitMix, "sam", recording="song1", file="s3://alb/m1.wav", sha256=SHA)
    return w


def test_submit_mix(comped: World) -> None:
    w = comped
    w.refuse(
        InvalidState, cmd.SubmitMix, "sam", recording="song2", file="f", sha256=SHA
    )
    w.refuse(
        CapacityNotHeld, cmd.SubmitMix, "rui", recording="song1", file="f", sha256=SHA
    )
    events = w.do(
        cmd.SubmitMix, "sam", recording="song1", file="s3://m1.wav", sha256=SHA
    )
    assert kinds(events) == [("MixSubmitted", pid("mix", "song1"))]
    assert events[0].payload == MixSubmittedPayload(
        recording_id=pid("recording", "song1"),
        mix_version=1,
        file="s3://m1.wav",
        sha256=SHA,
        comp_ids=("a",),
    )


def test_note_mix(mixed: World) -> None:
    w = mixed
    events = w.do(
        cmd.NoteMix,
        "mara",
        recording="song1",
        mix_version=1,
        timecode_ms=61_000,
        note="Hi",
    )
    assert kinds(events) == [("MixNoted", pid("mix", "song1"))]
    assert events[0].payload == MixNotedPayload(
        recording_id=pid("recording", "song1"),
        mix_version=1,
        timecode_ms=61_000,
        note="Hi",
    )
    assert events[0].meta == w.meta("mara", "artist")
    w.refuse(
        UnknownReference,
        cmd.NoteMix,
        "mara",
        recording="song1",
        mix_version=2,
        timecode_ms=0,
        note="x",
    )
    w.refuse(
        InvalidCommand,
        cmd.NoteMix,
        "mara",
        recording="song1",
        mix_version=1,
        timecode_ms=-1,
        note="x",
    )
    w.refuse(
        CapacityNotHeld,
        cmd.NoteMix,
        "kofi",
        recording="song1",
        mix_version=1,
        timecode_ms=0,
        note="x",
    )
    w.refuse(
        UnknownReference,
        cmd.NoteMix,
        "mara",
        recording="song2",
        mix_version=1,
        timecode_ms=0,
        note="x",
    )


def test_mix_revisions_beyond_the_included_ones_are_billed_extra(mixed: World) -> None:
    w = mixed
    for version in (1, 2, 3):
        events = w.do(
            cmd.RequestMixRevision,
            "rui",
            recording="song1",
            mix_version=version,
            notes=f"round {version}",
        )
        assert kinds(events) == [("MixRevisionRequested", pid("mix", "song1"))]
        assert events[0].payload == MixRevisionRequestedPayload(
            recording_id=pid("recording", "song1"),
            mix_version=version,
            revision_number=version,
            billing="included" if version <= 2 else "extra",
            included_revisions=2,
            notes=f"round {version}",
        )
        w.refuse(
            InvalidState, cmd.ApproveMix, "rui", recording="song1", mix_version=version
        )
        events = w.do(cmd.SubmitMix, "sam", recording="song1", file="f", sha256=SHA)
        assert events[0].payload.answers_revision == version
        assert events[0].payload.mix_version == version + 1
    w.refuse(
        InvalidState,
        cmd.RequestMixRevision,
        "rui",
        recording="song1",
        mix_version=1,
        notes="old",
    )
    w.refuse(
        CapacityNotHeld,
        cmd.RequestMixRevision,
        "sam",
        recording="song1",
        mix_version=4,
        notes="x",
    )


def test_approve_mix_in_order(mixed: World) -> None:
    w = mixed
    w.refuse(
        ApprovalOrderViolated, cmd.ApproveMix, "mara", recording="song1", mix_version=1
    )
    w.refuse(
        ApprovalOrderViolated, cmd.ApproveMix, "lena", recording="song1", mix_version=1
    )
    for actor, level in LEVELS:
        events = w.do(cmd.ApproveMix, actor, recording="song1", mix_version=1)
        assert kinds(events) == [("MixApproved", pid("mix", "song1"))]
        assert events[0].payload == MixApprovedPayload(
            recording_id=pid("recording", "song1"),
            mix_version=1,
            level=level,
            final=level == "label",
        )
    w.refuse(InvalidState, cmd.ApproveMix, "lena", recording="song1", mix_version=1)
    w.refuse(
        InvalidState, cmd.SubmitMix, "sam", recording="song1", file="f", sha256=SHA
    )
    w.refuse(CapacityNotHeld, cmd.ApproveMix, "sam", recording="song1", mix_version=1)


@pytest.fixture
def final_mix(mixed: World) -> World:
    for actor in ("rui", "mara", "lena"):
        mixed.do(cmd.ApproveMix, actor, recording="song1", mix_version=1)
    return mixed


def test_submit_and_approve_master(final_mix: World) -> None:
    w = final_mix
    w.refuse(
        InvalidState, cmd.SubmitMaster, "sam", recording="song2", file="f", sha256=SHA
    )
    w.refuse(
        InvalidCommand,
        cmd.SubmitMaster,
        "sam",
        recording="song1",
        file="f",
        sha256=SHA,
        isrc="bad",
    )
    events = w.do(
        cmd.SubmitMaster,
        "sam",
        recording="song1",
        file="s3://master.wav",
        sha256=SHA,
        isrc="USMH12500001",
        loudness_lufs=Decimal("-10.5"),
    )
    assert kinds(events) == [("MasterSubmitted", pid("master", "song1"))]
    assert events[0].payload == MasterSubmittedPayload(
        recording_id=pid("recording", "song1"),
        master_version=1,
        mix_version=1,
        file="s3://master.wav",
        sha256=SHA,
        isrc="USMH12500001",
        loudness_lufs=Decimal("-10.5"),
    )
    w.refuse(
        ApprovalOrderViolated,
        cmd.ApproveMaster,
        "lena",
        recording="song1",
        master_version=1,
    )
    w.refuse(
        UnknownReference, cmd.ApproveMaster, "rui", recording="song1", master_version=2
    )
    for actor, level in LEVELS:
        events = w.do(cmd.ApproveMaster, actor, recording="song1", master_version=1)
        assert events[0].payload == MasterApprovedPayload(
            recording_id=pid("recording", "song1"),
            master_version=1,
            level=level,
            final=level == "label",
        )
    w.refuse(
        InvalidState, cmd.SubmitMaster, "sam", recording="song1", file="f", sha256=SHA
    )


def test_archive_transfer(comped: World) -> None:
    w = comped
    fields = {
        "recording": "song1",
        "transfer": "mt",
        "material": "multitrack",
        "medium": "LTO-9",
        "location": "Vault",
        "file": "s3://mt.tar",
        "sha256": SHA,
    }
    w.refuse(CapacityNotHeld, cmd.ArchiveTransfer, "rui", **fields)
    w.refuse(UnknownReference, cmd.ArchiveTransfer, "sam", archivist="ghost", **fields)
    events = w.do(cmd.ArchiveTransfer, "studio", archivist="studio", **fields)
    assert kinds(events) == [("TransferArchived", pid("master", "song1"))]
    assert events[0].meta == w.meta("studio", "vendor")
    assert events[0].payload == TransferArchivedPayload(
        recording_id=pid("recording", "song1"),
        transfer="mt",
        material="multitrack",
        medium="LTO-9",
        location="Vault",
        file="s3://mt.tar",
        sha256=SHA,
        archivist_id=party("studio"),
    )
    w.refuse(AlreadyExists, cmd.ArchiveTransfer, "sam", **fields)
    w.refuse(
        InvalidCommand, cmd.ArchiveTransfer, "sam", **{**fields, "material": "tape"}
    )


@pytest.fixture
def mastered(final_mix: World) -> World:
    w = final_mix
    w.do(cmd.SubmitMaster, "sam", recording="song1", file="f", sha256=SHA)
    for actor in ("rui", "mara", "lena"):
        w.do(cmd.ApproveMaster, actor, recording="song1", master_version=1)
    w.do(
        cmd.ProposeSplitSheet,
        "mara",
        work="work1",
        shares=(cmd.ShareInput(party="mara", role="ComposerLyricist", share_bp=10000),),
    )
    w.do(cmd.SignSplitSheet, "mara", work="work1", sheet_version=1)
    w.do(cmd.FinaliseSplitSheet, "rui", work="work1", sheet_version=1)
    return w


def test_sequence_and_label_copy(mastered: World) -> None:
    w = mastered
    w.refuse(InvalidCommand, cmd.ProposeSequence, "rui", tracks=())
    w.refuse(InvalidCommand, cmd.ProposeSequence, "rui", tracks=("song1", "song1"))
    w.refuse(CapacityNotHeld, cmd.ProposeSequence, "mara", tracks=("song1",))
    w.refuse(UnknownReference, cmd.ApproveSequence, "lena", sequence_version=1)
    events = w.do(cmd.ProposeSequence, "rui", tracks=("song1", "song2"))
    assert kinds(events) == [("SequenceProposed", pid("release", "main"))]
    assert events[0].payload == SequenceProposedPayload(
        sequence_version=1,
        recording_ids=(pid("recording", "song1"), pid("recording", "song2")),
    )
    error = w.refuse(InvalidState, cmd.ApproveSequence, "lena", sequence_version=1)
    assert error.field == "tracks[1]"
    w.do(cmd.ProposeSequence, "rui", tracks=("song1",))
    w.refuse(InvalidState, cmd.ApproveSequence, "lena", sequence_version=1)
    w.refuse(CapacityNotHeld, cmd.ApproveSequence, "rui", sequence_version=2)
    w.refuse(InvalidState, cmd.ApproveLabelCopy, "lena", sequence_version=2)
    events = w.do(cmd.ApproveSequence, "lena", sequence_version=2)
    assert kinds(events) == [("SequenceApproved", pid("release", "main"))]
    assert events[0].payload == SequenceApprovedPayload(
        sequence_version=2,
        tracks=(TrackMaster(recording_id=pid("recording", "song1"), master_version=1),),
    )
    w.refuse(InvalidState, cmd.ApproveSequence, "lena", sequence_version=2)
    w.do(
        cmd.AssertCredit,
        "rui",
        recording="song1",
        credit="kofi-drums",
        party="kofi",
        role="Musician",
        instruments=("Drums",),
    )
    w.do(
        cmd.AssertCredit,
        "rui",
        recording="song1",
        credit="jonah-bass",
        party="jonah",
        role="Musician",
        instruments=("BassGuitar",),
    )
    w.do(
        cmd.AssertCredit,
        "rui",
        credit="victor-ep",
        party="victor",
        role="ExecutiveProducer",
    )
    w.do(
        cmd.DisputeCredit,
        "jonah",
        recording="song1",
        credit="jonah-bass",
        reason="I played double bass",
    )
    error = w.refuse(DisputeOpen, cmd.ApproveLabelCopy, "lena", sequence_version=2)
    assert "jonah-bass" in str(error)
    w.do(
        cmd.RetractCredit, "rui", recording="song1", credit="jonah-bass", reason="Wrong"
    )
    w.refuse(CapacityNotHeld, cmd.ApproveLabelCopy, "rui", sequence_version=2)
    events = w.do(cmd.ApproveLabelCopy, "lena", sequence_version=2)
    assert kinds(events) == [("LabelCopyApproved", pid("release", "main"))]
    assert events[0].payload == LabelCopyApprovedPayload(
        sequence_version=2,
        recording_ids=(pid("recording", "song1"),),
        credits=(
            LabelCopyCredit(
                subject_id=pid("recording", "song1"),
                credits_id=pid("credits", "song1"),
                credit="kofi-drums",
                party_id=party("kofi"),
                name="Kofi Mensah",
                role="Musician",
                role_vocabulary="ERN-4.3",
                user_defined_role=None,
                instruments=("Drums",),
                status="asserted",
            ),
            LabelCopyCredit(
                subject_id=pid("release", "main"),
                credits_id=pid("credits", "_release"),
                credit="victor-ep",
                party_id=party("victor"),
                name="Victor Hale",
                role="ExecutiveProducer",
                role_vocabulary="ERN-4.3",
                user_defined_role=None,
                instruments=(),
                status="asserted",
            ),
        ),
        writer_splits=(
            WorkSplit(
                work_id=pid("work", "work1"),
                title="Song 1",
                sheet_version=1,
                shares=(
                    WriterShare(
                        party_id=party("mara"), role="ComposerLyricist", share_bp=10000
                    ),
                ),
            ),
        ),
    )
    w.refuse(InvalidState, cmd.ApproveLabelCopy, "lena", sequence_version=2)
    w.refuse(InvalidState, cmd.ProposeSequence, "rui", tracks=("song1",))


def test_label_copy_needs_final_split_sheets(final_mix: World) -> None:
    w = final_mix
    w.do(cmd.SubmitMaster, "sam", recording="song1", file="f", sha256=SHA)
    for actor in ("rui", "mara", "lena"):
        w.do(cmd.ApproveMaster, actor, recording="song1", master_version=1)
    w.do(cmd.ProposeSequence, "rui", tracks=("song1",))
    w.do(cmd.ApproveSequence, "lena", sequence_version=1)
    error = w.refuse(InvalidState, cmd.ApproveLabelCopy, "lena", sequence_version=1)
    assert "no final split sheet" in str(error)
