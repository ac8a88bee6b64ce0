"""Mixes: versions submitted, notes at timecodes, revisions, approvals by level.

A version is final when approved at producer, artist and label level, in that
order. A revision request sends a version back; the next version answers it.
Revisions beyond the policy's included number are billed extra.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from session_log.domain.approvals import ApprovalLevel, check_next_level
from session_log.domain.base import DecisionEvent, DecisionMeta
from session_log.domain.common import OpenableAggregate, OpeningEvent, Payload
from session_log.domain.takes import check_file
from session_log.errors import InvalidCommand, InvalidState, UnknownReference

MixStatus = Literal[
    "submitted", "revision_requested", "approved", "final", "superseded"
]
Billing = Literal["included", "extra"]


class MixSubmittedPayload(Payload, frozen=True, kw_only=True):
    recording_id: str
    mix_version: int
    file: str
    sha256: str
    comp_ids: tuple[str, ...]
    """The approved comps the mix was made from."""
    answers_revision: int | None = None


class MixNotedPayload(Payload, frozen=True, kw_only=True):
    recording_id: str
    mix_version: int
    timecode_ms: int
    note: str


class MixRevisionRequestedPayload(Payload, frozen=True, kw_only=True):
    recording_id: str
    mix_version: int
    revision_number: int
    billing: Billing
    included_revisions: int
    notes: str


class MixApprovedPayload(Payload, frozen=True, kw_only=True):
    recording_id: str
    mix_version: int
    level: ApprovalLevel
    final: bool


class MixSubmitted(OpeningEvent):
    """The mixing engineer submitted a mix version."""

    payload: MixSubmittedPayload

    def apply(self, aggregate: Mix) -> None:
        p = self.payload
        aggregate.recording_id = p.recording_id
        for version in aggregate.versions.values():
            if version.status in ("submitted", "approved", "revision_requested"):
                version.status = "superseded"
        aggregate.versions[p.mix_version] = MixVersion(number=p.mix_version)


class MixNoted(DecisionEvent):
    """A note on a mix version at a timecode."""

    payload: MixNotedPayload

    def apply(self, aggregate: Mix) -> None:
        aggregate.versions[self.payload.mix_version].notes += 1


class MixRevisionRequested(DecisionEvent):
    """A revision of a mix version was requested (included in the fee or extra)."""

    payload: MixRevisionRequestedPayload

    def apply(self, aggregate: Mix) -> None:
        aggregate.versions[self.payload.mix_version].status = "revision_requested"
        aggregate.revisions = self.payload.revision_number


class MixApproved(DecisionEvent):
    """A mix version was approved at producer, artist or label level."""

    payload: MixApprovedPayload

    def apply(self, aggregate: Mix) -> None:
        version = aggregate.versions[self.payload.mix_version]
        version.approvals.append(self.payload.level)
        version.status = "final" if self.payload.final else "approved"


@dataclass
class MixVersion:
    number: int
    status: MixStatus = "submitted"
    approvals: list[str] = field(default_factory=list)
    notes: int = 0


class Mix(OpenableAggregate):
    """The mix versions of one recording."""

    KIND = "mix"

    def __init__(self) -> None:
        self.recording_id = ""
        self.versions: dict[int, MixVersion] = {}
        self.revisions = 0

    @property
    def final_version(self) -> int | None:
        for number, version in self.versions.items():
            if version.status == "final":
                return number
        return None

    @property
    def latest(self) -> int:
        return max(self.versions, default=0)

    def mix_version(self, number: int) -> MixVersion:
        try:
            return self.versions[number]
        except KeyError:
            msg = f"mix_version: {self.recording_id} has no mix version {number}"
            raise UnknownReference(msg, field="mix_version") from None

    @classmethod
    def submit(
        cls,
        existing: Mix | None,
        originator_id: str,
        meta: DecisionMeta,
        recording_id: str,
        file: str,
        sha256: str,
        comp_ids: tuple[str, ...],
    ) -> Mix:
        check_file(file, sha256)
        answers = None
        number = 1
        if existing is not None:
            if existing.final_version is not None:
                msg = (
                    f"mix version {existing.final_version} of {recording_id} is final "
                    "(approved by the label)"
                )
                raise InvalidState(msg, field="recording")
            latest = existing.versions[existing.latest]
            if latest.status == "revision_requested":
                answers = existing.revisions
            number = existing.latest + 1
        payload = MixSubmittedPayload(
            recording_id=recording_id,
            mix_version=number,
            file=file,
            sha256=sha256,
            comp_ids=comp_ids,
            answers_revision=answers,
        )
        return cls.emit_opening(existing, MixSubmitted, originator_id, meta, payload)

    def note(
        self, meta: DecisionMeta, number: int, timecode_ms: int, text: str
    ) -> None:
        self.mix_version(number)
        if timecode_ms < 0:
            msg = "timecode_ms: must not be negative"
            raise InvalidCommand(msg, field="timecode_ms")
        if not text.strip():
            msg = "note: must not be blank"
            raise InvalidCommand(msg, field="note")
        self._emit(
            MixNoted,
            meta,
            MixNotedPayload(
                recording_id=self.recording_id,
                mix_version=number,
                timecode_ms=timecode_ms,
                note=text,
            ),
        )

    def _require_open_latest(self, number: int) -> MixVersion:
        version = self.mix_version(number)
        if number != self.latest:
            msg = f"mix version {number} is superseded by version {self.latest}"
            raise InvalidState(msg, field="mix_version")
        if version.status in ("revision_requested", "final"):
            msg = f"mix version {number} is {version.status.replace('_', ' ')}"
            raise InvalidState(msg, field="mix_version")
        return version

    def request_revision(
        self, meta: DecisionMeta, number: int, notes: str, included_revisions: int
    ) -> None:
        self._require_open_latest(number)
        if not notes.strip():
            msg = "notes: say what to revise"
            raise InvalidCommand(msg, field="notes")
        revision_number = self.revisions + 1
        billing: Billing = (
            "included" if revision_number <= included_revisions else "extra"
        )
        self._emit(
            MixRevisionRequested,
            meta,
            MixRevisionRequestedPayload(
                recording_id=self.recording_id,
                mix_version=number,
                revision_number=revision_number,
                billing=billing,
                included_revisions=included_revisions,
                notes=notes,
            ),
        )

    def approve(self, meta: DecisionMeta, number: int, level: ApprovalLevel) -> None:
        version = self._require_open_latest(number)
        check_next_level(version.approvals, level, f"mix version {number}")
        self._emit(
            MixApproved,
            meta,
            MixApprovedPayload(
                recording_id=self.recording_id,
                mix_version=number,
                level=level,
                final=level == "label",
            ),
        )
