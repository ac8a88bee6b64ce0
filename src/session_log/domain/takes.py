"""Takes: one performance of one part of one recording, with its file and hash."""

from __future__ import annotations

import re
from typing import Literal

from session_log.domain.base import DecisionCreated, DecisionEvent, DecisionMeta
from session_log.domain.common import Aggregate, Payload
from session_log.errors import InvalidCommand, InvalidState

TakeMark = Literal["circle", "keeper", "maybe", "reject"]
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def check_file(file: str, sha256: str) -> None:
    """A file reference and its lowercase hex SHA-256."""
    if not file.strip():
        msg = "file: give the file reference"
        raise InvalidCommand(msg, field="file")
    if not SHA256.match(sha256):
        msg = "sha256: must be 64 lowercase hexadecimal characters"
        raise InvalidCommand(msg, field="sha256")


class TakeRecordedPayload(Payload, frozen=True, kw_only=True):
    session_id: str
    recording_id: str
    part: str
    """e.g. "lead vocal", "rhythm section", "strings"."""
    take_number: int
    performer_ids: tuple[str, ...]
    file: str
    sha256: str
    duration_seconds: int
    arrangement_version: int
    """The recording's arrangement version the take was played to."""


class TakeMarkedPayload(Payload, frozen=True, kw_only=True):
    session_id: str
    recording_id: str
    mark: TakeMark
    previous_mark: TakeMark | None


class TakeRecorded(DecisionCreated):
    """A take was recorded (logged by the engineer)."""

    payload: TakeRecordedPayload

    def apply(self, aggregate: Take) -> None:
        p = self.payload
        aggregate.session_id = p.session_id
        aggregate.recording_id = p.recording_id
        aggregate.part = p.part
        aggregate.take_number = p.take_number
        aggregate.performer_ids = p.performer_ids
        aggregate.duration_seconds = p.duration_seconds


class TakeMarked(DecisionEvent):
    """The producer marked a take: circle, keeper, maybe or reject."""

    payload: TakeMarkedPayload

    def apply(self, aggregate: Take) -> None:
        aggregate.mark = self.payload.mark


class Take(Aggregate):
    """A take of a part of a recording, recorded in a session."""

    KIND = "take"

    def __init__(self) -> None:
        self.session_id = ""
        self.recording_id = ""
        self.part = ""
        self.take_number = 0
        self.performer_ids: tuple[str, ...] = ()
        self.duration_seconds = 0
        self.mark: TakeMark | None = None

    @classmethod
    def record(
        cls, originator_id: str, meta: DecisionMeta, payload: TakeRecordedPayload
    ) -> Take:
        check_file(payload.file, payload.sha256)
        if not payload.part.strip():
            msg = "part: name the part"
            raise InvalidCommand(msg, field="part")
        if payload.take_number < 1:
            msg = "take_number: takes are numbered from 1"
            raise InvalidCommand(msg, field="take_number")
        if not 1 <= payload.duration_seconds <= 3600:
            msg = "duration_seconds: between 1 second and an hour"
            raise InvalidCommand(msg, field="duration_seconds")
        if not payload.performer_ids:
            msg = "performers: name who played"
            raise InvalidCommand(msg, field="performers")
        return cls._start(TakeRecorded, originator_id, meta, payload)

    def mark_as(self, meta: DecisionMeta, mark: TakeMark) -> None:
        if mark == self.mark:
            msg = f"take {self.id} is already marked {mark}"
            raise InvalidState(msg, field="mark")
        self._emit(
            TakeMarked,
            meta,
            TakeMarkedPayload(
                session_id=self.session_id,
                recording_id=self.recording_id,
                mark=mark,
                previous_mark=self.mark,
            ),
        )
