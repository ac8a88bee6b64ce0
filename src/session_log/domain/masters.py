"""Masters of a recording, and the transfers and safeties archived for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from session_log.domain.approvals import ApprovalLevel, check_next_level
from session_log.domain.base import DecisionEvent, DecisionMeta
from session_log.domain.common import OpenableAggregate, OpeningEvent, Payload
from session_log.domain.takes import check_file
from session_log.errors import (
    AlreadyExists,
    InvalidCommand,
    InvalidState,
    UnknownReference,
)

MasterStatus = Literal["submitted", "approved", "final", "superseded"]
Material = Literal["multitrack", "stems", "mix", "master", "session_files"]


class MasterSubmittedPayload(Payload, frozen=True, kw_only=True):
    recording_id: str
    master_version: int
    mix_version: int
    """The final mix the master was made from."""
    file: str
    sha256: str
    isrc: str | None = None
    loudness_lufs: Decimal | None = None


class MasterApprovedPayload(Payload, frozen=True, kw_only=True):
    recording_id: str
    master_version: int
    level: ApprovalLevel
    final: bool


class TransferArchivedPayload(Payload, frozen=True, kw_only=True):
    recording_id: str
    transfer: str
    material: Material
    medium: str
    """e.g. "LTO-9", "cloud archive", "hard drive"."""
    location: str
    file: str
    sha256: str
    archivist_id: str | None = None
    """The archive service (a vendor party), if not the engineer."""


class MasterSubmitted(OpeningEvent):
    """The mastering engineer submitted a master version."""

    payload: MasterSubmittedPayload

    def apply(self, aggregate: Master) -> None:
        p = self.payload
        aggregate.recording_id = p.recording_id
        for version in aggregate.versions.values():
            if version.status in ("submitted", "approved"):
                version.status = "superseded"
        aggregate.versions[p.master_version] = MasterVersion(
            number=p.master_version, mix_version=p.mix_version
        )


class MasterApproved(DecisionEvent):
    """A master version was approved at producer, artist or label level."""

    payload: MasterApprovedPayload

    def apply(self, aggregate: Master) -> None:
        version = aggregate.versions[self.payload.master_version]
        version.approvals.append(self.payload.level)
        version.status = "final" if self.payload.final else "approved"


class TransferArchived(OpeningEvent):
    """A transfer or safety copy was archived, with its hash and location."""

    payload: TransferArchivedPayload

    def apply(self, aggregate: Master) -> None:
        aggregate.recording_id = self.payload.recording_id
        aggregate.transfers.append(self.payload.transfer)


@dataclass
class MasterVersion:
    number: int
    mix_version: int
    status: MasterStatus = "submitted"
    approvals: list[str] = field(default_factory=list)


class Master(OpenableAggregate):
    """The masters and archived transfers of one recording."""

    KIND = "master"

    def __init__(self) -> None:
        self.recording_id = ""
        self.versions: dict[int, MasterVersion] = {}
        self.transfers: list[str] = []

    @property
    def final_version(self) -> int | None:
        for number, version in self.versions.items():
            if version.status == "final":
                return number
        return None

    @property
    def latest(self) -> int:
        return max(self.versions, default=0)

    @classmethod
    def submit(
        cls,
        existing: Master | None,
        originator_id: str,
        meta: DecisionMeta,
        payload_fields: MasterSubmittedPayload,
    ) -> Master:
        check_file(payload_fields.file, payload_fields.sha256)
        number = 1
        if existing is not None:
            if existing.final_version is not None:
                msg = f"master version {existing.final_version} is final"
                raise InvalidState(msg, field="recording")
            number = existing.latest + 1
        payload = MasterSubmittedPayload(
            recording_id=payload_fields.recording_id,
            master_version=number,
            mix_version=payload_fields.mix_version,
            file=payload_fields.file,
            sha256=payload_fields.sha256,
            isrc=payload_fields.isrc,
            loudness_lufs=payload_fields.loudness_lufs,
        )
        return cls.emit_opening(existing, MasterSubmitted, originator_id, meta, payload)

    def approve(self, meta: DecisionMeta, number: int, level: ApprovalLevel) -> None:
        if number not in self.versions:
            msg = f"master_version: {self.recording_id} has no master version {number}"
            raise UnknownReference(msg, field="master_version")
        if number != self.latest:
            msg = f"master version {number} is superseded by version {self.latest}"
            raise InvalidState(msg, field="master_version")
        version = self.versions[number]
        check_next_level(version.approvals, level, f"master version {number}")
        self._emit(
            MasterApproved,
            meta,
            MasterApprovedPayload(
                recording_id=self.recording_id,
                master_version=number,
                level=level,
                final=level == "label",
            ),
        )

    @classmethod
    def archive(
        cls,
        existing: Master | None,
        originator_id: str,
        meta: DecisionMeta,
        payload: TransferArchivedPayload,
    ) -> Master:
        if existing is not None and payload.transfer in existing.transfers:
            msg = f"transfer: {payload.transfer!r} is already archived"
            raise AlreadyExists(msg, field="transfer")
        check_file(payload.file, payload.sha256)
        if not payload.medium.strip() or not payload.location.strip():
            msg = "medium: give the medium and the location"
            raise InvalidCommand(msg, field="medium")
        return cls.emit_opening(
            existing, TransferArchived, originator_id, meta, payload
        )
