"""The release: track sequence and its approval, and label copy approval.

Label copy (the final credits) is approved as a snapshot: every live credit of
the sequenced recordings and of the release, and every work's final split, so
what the label approved stays traceable whatever happens later.
"""

from __future__ import annotations

from dataclasses import dataclass

from session_log.domain.base import DecisionEvent, DecisionMeta
from session_log.domain.common import OpenableAggregate, OpeningEvent, Payload
from session_log.domain.works import WriterShare
from session_log.errors import InvalidCommand, InvalidState


class TrackMaster(Payload, frozen=True, kw_only=True):
    recording_id: str
    master_version: int


class LabelCopyCredit(Payload, frozen=True, kw_only=True):
    subject_id: str
    credits_id: str
    credit: str
    party_id: str
    name: str
    role: str
    role_vocabulary: str
    user_defined_role: str | None
    instruments: tuple[str, ...]
    status: str


class WorkSplit(Payload, frozen=True, kw_only=True):
    work_id: str
    title: str
    sheet_version: int
    shares: tuple[WriterShare, ...]


class SequenceProposedPayload(Payload, frozen=True, kw_only=True):
    sequence_version: int
    recording_ids: tuple[str, ...]


class SequenceApprovedPayload(Payload, frozen=True, kw_only=True):
    sequence_version: int
    tracks: tuple[TrackMaster, ...]


class LabelCopyApprovedPayload(Payload, frozen=True, kw_only=True):
    sequence_version: int
    recording_ids: tuple[str, ...]
    credits: tuple[LabelCopyCredit, ...]
    writer_splits: tuple[WorkSplit, ...]


class SequenceProposed(OpeningEvent):
    """The producer proposed the release's track sequence."""

    payload: SequenceProposedPayload

    def apply(self, aggregate: Release) -> None:
        aggregate.sequences.append(SequenceState(self.payload.recording_ids))


class SequenceApproved(DecisionEvent):
    """The label approved the track sequence, with each track's final master."""

    payload: SequenceApprovedPayload

    def apply(self, aggregate: Release) -> None:
        aggregate.sequences[self.payload.sequence_version - 1].approved = True


class LabelCopyApproved(DecisionEvent):
    """The label approved label copy: a snapshot of credits and writer splits."""

    payload: LabelCopyApprovedPayload

    def apply(self, aggregate: Release) -> None:
        aggregate.sequences[self.payload.sequence_version - 1].label_copy = True


@dataclass
class SequenceState:
    recording_ids: tuple[str, ...]
    approved: bool = False
    label_copy: bool = False


class Release(OpenableAggregate):
    """The project's release: sequence and label copy."""

    KIND = "release"
    LOCAL = "main"

    def __init__(self) -> None:
        self.sequences: list[SequenceState] = []

    @property
    def latest(self) -> SequenceState | None:
        return self.sequences[-1] if self.sequences else None

    @classmethod
    def propose_sequence(
        cls,
        existing: Release | None,
        originator_id: str,
        meta: DecisionMeta,
        recording_ids: tuple[str, ...],
    ) -> Release:
        if not recording_ids:
            msg = "tracks: list the recordings in order"
            raise InvalidCommand(msg, field="tracks")
        if len(set(recording_ids)) != len(recording_ids):
            msg = "tracks: a recording appears twice"
            raise InvalidCommand(msg, field="tracks")
        if existing is not None:
            latest = existing.latest
            if latest is not None and latest.label_copy:
                msg = "label copy is approved for the sequence: the release is locked"
                raise InvalidState(msg)
        version = len(existing.sequences) + 1 if existing else 1
        payload = SequenceProposedPayload(
            sequence_version=version, recording_ids=recording_ids
        )
        return cls.emit_opening(
            existing, SequenceProposed, originator_id, meta, payload
        )

    def require_sequence(self, version: int) -> SequenceState:
        if not 1 <= version <= len(self.sequences):
            msg = f"sequence_version: no sequence version {version}"
            raise InvalidState(msg, field="sequence_version")
        if version != len(self.sequences):
            msg = f"sequence version {version} is superseded by {len(self.sequences)}"
            raise InvalidState(msg, field="sequence_version")
        return self.sequences[version - 1]

    def approve_sequence(
        self, meta: DecisionMeta, version: int, tracks: tuple[TrackMaster, ...]
    ) -> None:
        sequence = self.require_sequence(version)
        if sequence.approved:
            msg = f"sequence version {version} is already approved"
            raise InvalidState(msg, field="sequence_version")
        self._emit(
            SequenceApproved,
            meta,
            SequenceApprovedPayload(sequence_version=version, tracks=tracks),
        )

    def approve_label_copy(
        self,
        meta: DecisionMeta,
        version: int,
        credits: tuple[LabelCopyCredit, ...],
        writer_splits: tuple[WorkSplit, ...],
    ) -> None:
        sequence = self.require_sequence(version)
        if not sequence.approved:
            msg = f"sequence version {version} is not approved yet"
            raise InvalidState(msg, field="sequence_version")
        if sequence.label_copy:
            msg = "label copy is already approved"
            raise InvalidState(msg, field="sequence_version")
        self._emit(
            LabelCopyApproved,
            meta,
            LabelCopyApprovedPayload(
                sequence_version=version,
                recording_ids=sequence.recording_ids,
                credits=credits,
                writer_splits=writer_splits,
            ),
        )
