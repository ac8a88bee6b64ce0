"""Comps (a part assembled from take segments by bar range) and edit passes.

All comps of one recording live in one aggregate so that two people approving
competing comps of the same part conflict, while work on other songs never does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from session_log.domain.base import DecisionEvent, DecisionMeta
from session_log.domain.common import OpenableAggregate, OpeningEvent, Payload
from session_log.domain.takes import check_file
from session_log.errors import (
    AlreadyExists,
    ApprovalOrderViolated,
    InvalidCommand,
    InvalidState,
    UnknownReference,
)

CompStatus = Literal["assembled", "approved", "superseded"]
CompLevel = Literal["producer", "artist"]
EditPassKind = Literal["timing", "tuning", "cleanup", "other"]


class Segment(Payload, frozen=True, kw_only=True):
    take_id: str
    bar_from: int
    bar_to: int
    """Inclusive."""


class CompAssembledPayload(Payload, frozen=True, kw_only=True):
    recording_id: str
    comp: str
    part: str
    segments: tuple[Segment, ...]
    take_ids: tuple[str, ...]
    """The distinct takes used, in order of first use."""


class CompApprovedPayload(Payload, frozen=True, kw_only=True):
    recording_id: str
    comp: str
    part: str
    level: CompLevel
    take_ids: tuple[str, ...]


class CompSupersededPayload(Payload, frozen=True, kw_only=True):
    recording_id: str
    comp: str
    part: str
    superseded_by: str


class EditPassRecordedPayload(Payload, frozen=True, kw_only=True):
    recording_id: str
    comp: str
    pass_kind: EditPassKind
    file: str
    sha256: str
    notes: str | None = None


def check_segments(segments: tuple[Segment, ...]) -> None:
    """Segments: bars from 1, in order, not overlapping."""
    if not segments:
        msg = "segments: a comp needs at least one segment"
        raise InvalidCommand(msg, field="segments")
    last_bar = 0
    for index, segment in enumerate(segments):
        if segment.bar_from < 1 or segment.bar_to < segment.bar_from:
            msg = f"segments[{index}]: bars run from 1 and bar_to >= bar_from"
            raise InvalidCommand(msg, field=f"segments[{index}]")
        if segment.bar_from <= last_bar:
            msg = (
                f"segments[{index}]: bars {segment.bar_from}-{segment.bar_to} overlap "
                f"or precede the previous segment (ending at bar {last_bar})"
            )
            raise InvalidCommand(msg, field=f"segments[{index}]")
        last_bar = segment.bar_to


class CompAssembled(OpeningEvent):
    """A comp of a part was assembled from take segments."""

    payload: CompAssembledPayload

    def apply(self, aggregate: Comps) -> None:
        p = self.payload
        aggregate.recording_id = p.recording_id
        aggregate.comps[p.comp] = Comp(comp=p.comp, part=p.part, take_ids=p.take_ids)


class CompApproved(DecisionEvent):
    """A comp was approved at producer or artist level."""

    payload: CompApprovedPayload

    def apply(self, aggregate: Comps) -> None:
        comp = aggregate.comps[self.payload.comp]
        comp.approvals.append(self.payload.level)
        comp.status = "approved"


class CompSuperseded(DecisionEvent):
    """A comp was superseded by a later comp of the same part."""

    payload: CompSupersededPayload

    def apply(self, aggregate: Comps) -> None:
        comp = aggregate.comps[self.payload.comp]
        comp.status = "superseded"
        comp.superseded_by = self.payload.superseded_by


class EditPassRecorded(DecisionEvent):
    """A timing, tuning or cleanup edit pass was made on a comp."""

    payload: EditPassRecordedPayload

    def apply(self, aggregate: Comps) -> None:
        aggregate.comps[self.payload.comp].edit_passes += 1


@dataclass
class Comp:
    comp: str
    part: str
    take_ids: tuple[str, ...]
    status: CompStatus = "assembled"
    approvals: list[str] = field(default_factory=list)
    superseded_by: str | None = None
    edit_passes: int = 0

    @property
    def current(self) -> bool:
        """Approved by the producer and not superseded."""
        return self.status == "approved" and "producer" in self.approvals


class Comps(OpenableAggregate):
    """The comps and edit passes of one recording."""

    KIND = "comps"

    def __init__(self) -> None:
        self.recording_id = ""
        self.comps: dict[str, Comp] = {}

    def comp(self, comp: str) -> Comp:
        try:
            return self.comps[comp]
        except KeyError:
            msg = f"comp: {self.recording_id} has no comp {comp!r}"
            raise UnknownReference(msg, field="comp") from None

    def current_comps(self) -> list[Comp]:
        return [c for c in self.comps.values() if c.current]

    @classmethod
    def assemble(
        cls,
        existing: Comps | None,
        originator_id: str,
        meta: DecisionMeta,
        payload: CompAssembledPayload,
    ) -> Comps:
        if existing is not None and payload.comp in existing.comps:
            msg = f"comp: {payload.comp!r} already exists on {payload.recording_id}"
            raise AlreadyExists(msg, field="comp")
        check_segments(payload.segments)
        return cls.emit_opening(existing, CompAssembled, originator_id, meta, payload)

    def approve(self, meta: DecisionMeta, comp_id: str, level: CompLevel) -> None:
        comp = self.comp(comp_id)
        if comp.status == "superseded":
            msg = f"comp {comp_id} was superseded by {comp.superseded_by}"
            raise InvalidState(msg, field="comp")
        if level in comp.approvals:
            msg = f"comp {comp_id} is already approved at {level} level"
            raise AlreadyExists(msg, field="comp")
        if level == "artist" and "producer" not in comp.approvals:
            msg = f"comp {comp_id}: the producer approves before the artist"
            raise ApprovalOrderViolated(msg, field="comp")
        if level == "producer":
            for other in self.current_comps():
                if other.part == comp.part:
                    msg = (
                        f"comp {other.comp} is the approved comp of {comp.part!r}: "
                        f"supersede it by {comp_id} first"
                    )
                    raise InvalidState(msg, field="comp")
        self._emit(
            CompApproved,
            meta,
            CompApprovedPayload(
                recording_id=self.recording_id,
                comp=comp_id,
                part=comp.part,
                level=level,
                take_ids=comp.take_ids,
            ),
        )

    def supersede(self, meta: DecisionMeta, comp_id: str, by: str) -> None:
        comp = self.comp(comp_id)
        replacement = self.comp(by)
        if comp_id == by:
            msg = "superseded_by: a comp cannot supersede itself"
            raise InvalidCommand(msg, field="superseded_by")
        if comp.status == "superseded":
            msg = f"comp {comp_id} was already superseded by {comp.superseded_by}"
            raise InvalidState(msg, field="comp")
        if replacement.status == "superseded":
            msg = f"comp {by} is itself superseded"
            raise InvalidState(msg, field="superseded_by")
        if replacement.part != comp.part:
            msg = f"comp {by} is of {replacement.part!r}, not {comp.part!r}"
            raise InvalidState(msg, field="superseded_by")
        self._emit(
            CompSuperseded,
            meta,
            CompSupersededPayload(
                recording_id=self.recording_id,
                comp=comp_id,
                part=comp.part,
                superseded_by=by,
            ),
        )

    def record_edit_pass(
        self,
        meta: DecisionMeta,
        comp_id: str,
        pass_kind: EditPassKind,
        file: str,
        sha256: str,
        notes: str | None,
    ) -> None:
        comp = self.comp(comp_id)
        if comp.status == "superseded":
            msg = f"comp {comp_id} was superseded by {comp.superseded_by}"
            raise InvalidState(msg, field="comp")
        check_file(file, sha256)
        self._emit(
            EditPassRecorded,
            meta,
            EditPassRecordedPayload(
                recording_id=self.recording_id,
                comp=comp_id,
                pass_kind=pass_kind,
                file=file,
                sha256=sha256,
                notes=notes,
            ),
        )
