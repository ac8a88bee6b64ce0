"""Recordings of works, and their arrangements.

An arrangement change is one of three kinds (shared/domain.md):

- ``minor``: a new arrangement version of the same recording; takes stay usable;
- ``new_recording_version``: a new recording of the same work; writer credits carry
  over (they belong to the work), recording credits are collected again, and the
  old recording's takes cannot be comped into the new one;
- ``new_work``: a new work and a new recording of it (a new split sheet is needed).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from session_log.domain.base import DecisionCreated, DecisionEvent, DecisionMeta
from session_log.domain.common import Aggregate, Payload
from session_log.domain.ddex import check_instrument
from session_log.errors import InvalidCommand, InvalidState

RecordingStatus = Literal["selected", "dropped", "superseded"]
ChangeKind = Literal["minor", "new_recording_version", "new_work"]


class Arrangement(Payload, frozen=True, kw_only=True):
    key: str
    """e.g. "E minor"."""
    tempo_bpm: Decimal
    meter: str
    """e.g. "4/4", "6/8"."""
    form: tuple[str, ...]
    """Section names in order, e.g. ("intro", "verse", "chorus", ...)."""
    instrumentation: tuple[str, ...]
    """DDEX instrument types."""
    chart: str | None = None
    """Reference to the chart or lead sheet file."""


def check_arrangement(arrangement: Arrangement, field: str = "arrangement") -> None:
    if not arrangement.key.strip():
        msg = f"{field}.key: must not be blank"
        raise InvalidCommand(msg, field=f"{field}.key")
    if not (Decimal(20) <= arrangement.tempo_bpm <= Decimal(400)):
        msg = f"{field}.tempo_bpm: {arrangement.tempo_bpm} is outside 20-400 bpm"
        raise InvalidCommand(msg, field=f"{field}.tempo_bpm")
    top, _, bottom = arrangement.meter.partition("/")
    if not (top.isdigit() and bottom in {"1", "2", "4", "8", "16", "32"}):
        msg = f"{field}.meter: {arrangement.meter!r} is not a time signature like 4/4"
        raise InvalidCommand(msg, field=f"{field}.meter")
    if not arrangement.form:
        msg = f"{field}.form: list the sections"
        raise InvalidCommand(msg, field=f"{field}.form")
    for instrument in arrangement.instrumentation:
        check_instrument(instrument, field=f"{field}.instrumentation")


class RecordingAddedPayload(Payload, frozen=True, kw_only=True):
    work_id: str
    title: str
    version_title: str | None = None
    """e.g. "Acoustic Version"; None for the main version."""
    derived_from_recording_id: str | None = None


class RecordingDroppedPayload(Payload, frozen=True, kw_only=True):
    work_id: str


class ArrangementAdoptedPayload(Payload, frozen=True, kw_only=True):
    arrangement_version: int
    arrangement: Arrangement


class ArrangementChangedPayload(Payload, frozen=True, kw_only=True):
    change_kind: ChangeKind
    arrangement: Arrangement
    previous_arrangement_version: int
    arrangement_version: int | None
    """The new version on this recording (minor changes only)."""
    new_recording_id: str | None = None
    new_work_id: str | None = None


class RecordingAdded(DecisionCreated):
    """A song was selected for the project: a recording of a work."""

    payload: RecordingAddedPayload

    def apply(self, aggregate: Recording) -> None:
        aggregate.work_id = self.payload.work_id
        aggregate.title = self.payload.title
        aggregate.version_title = self.payload.version_title
        aggregate.derived_from = self.payload.derived_from_recording_id


class RecordingDropped(DecisionEvent):
    """A song was dropped from the project."""

    payload: RecordingDroppedPayload

    def apply(self, aggregate: Recording) -> None:
        aggregate.status = "dropped"


class ArrangementAdopted(DecisionEvent):
    """The recording's first arrangement was adopted."""

    payload: ArrangementAdoptedPayload

    def apply(self, aggregate: Recording) -> None:
        aggregate.arrangement = self.payload.arrangement
        aggregate.arrangement_version = self.payload.arrangement_version


class ArrangementChanged(DecisionEvent):
    """The arrangement changed: a minor version, a new recording or a new work."""

    payload: ArrangementChangedPayload

    def apply(self, aggregate: Recording) -> None:
        p = self.payload
        if p.change_kind == "minor":
            aggregate.arrangement = p.arrangement
            aggregate.arrangement_version = p.arrangement_version or 0
        else:
            aggregate.status = "superseded"
            aggregate.superseded_by = p.new_recording_id


class Recording(Aggregate):
    """A recording of a work, with its current arrangement."""

    KIND = "recording"

    def __init__(self) -> None:
        self.work_id = ""
        self.title = ""
        self.version_title: str | None = None
        self.derived_from: str | None = None
        self.status: RecordingStatus = "selected"
        self.arrangement: Arrangement | None = None
        self.arrangement_version = 0
        self.superseded_by: str | None = None

    @classmethod
    def add(
        cls, originator_id: str, meta: DecisionMeta, payload: RecordingAddedPayload
    ) -> Recording:
        if not payload.title.strip():
            msg = "title: must not be blank"
            raise InvalidCommand(msg, field="title")
        return cls._start(RecordingAdded, originator_id, meta, payload)

    def require_active(self) -> None:
        if self.status != "selected":
            by = f" by {self.superseded_by}" if self.superseded_by else ""
            msg = f"recording {self.id} is {self.status}{by}"
            raise InvalidState(msg, field="recording")

    def require_trackable(self) -> None:
        """Takes need an active recording with an adopted arrangement."""
        self.require_active()
        if self.arrangement is None:
            msg = f"recording {self.id} has no adopted arrangement yet"
            raise InvalidState(msg, field="recording")

    def drop(self, meta: DecisionMeta) -> None:
        self.require_active()
        if not meta.reason:
            msg = "reason: say why the song is dropped"
            raise InvalidCommand(msg, field="reason")
        self._emit(
            RecordingDropped, meta, RecordingDroppedPayload(work_id=self.work_id)
        )

    def adopt_arrangement(self, meta: DecisionMeta, arrangement: Arrangement) -> None:
        self.require_active()
        if self.arrangement is not None:
            msg = f"{self.id} already has an arrangement: change it instead"
            raise InvalidState(msg, field="recording")
        check_arrangement(arrangement)
        self._emit(
            ArrangementAdopted,
            meta,
            ArrangementAdoptedPayload(arrangement_version=1, arrangement=arrangement),
        )

    def change_arrangement(
        self,
        meta: DecisionMeta,
        change_kind: ChangeKind,
        arrangement: Arrangement,
        new_recording_id: str | None,
        new_work_id: str | None,
    ) -> None:
        self.require_active()
        if self.arrangement is None:
            msg = f"{self.id} has no arrangement to change: adopt one"
            raise InvalidState(msg, field="recording")
        check_arrangement(arrangement)
        if not meta.reason:
            msg = "reason: say why the arrangement changes"
            raise InvalidCommand(msg, field="reason")
        if change_kind == "minor":
            if arrangement == self.arrangement:
                msg = "arrangement: unchanged"
                raise InvalidState(msg, field="arrangement")
            if new_recording_id or new_work_id:
                msg = "new_recording: a minor change stays on the same recording"
                raise InvalidCommand(msg, field="new_recording")
        elif new_recording_id is None:
            msg = f"new_recording: a {change_kind} change creates a new recording"
            raise InvalidCommand(msg, field="new_recording")
        elif change_kind == "new_work" and new_work_id is None:
            msg = "new_work: a new_work change names the new work"
            raise InvalidCommand(msg, field="new_work")
        elif change_kind == "new_recording_version" and new_work_id is not None:
            msg = "new_work: a new recording version keeps the same work"
            raise InvalidCommand(msg, field="new_work")
        self._emit(
            ArrangementChanged,
            meta,
            ArrangementChangedPayload(
                change_kind=change_kind,
                arrangement=arrangement,
                previous_arrangement_version=self.arrangement_version,
                arrangement_version=(
                    self.arrangement_version + 1 if change_kind == "minor" else None
                ),
                new_recording_id=new_recording_id,
                new_work_id=new_work_id,
            ),
        )
