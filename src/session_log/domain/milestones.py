"""Milestones: scheduled, rescheduled and met (on time or late)."""

from __future__ import annotations

from datetime import datetime

from session_log.domain.base import DecisionCreated, DecisionEvent, DecisionMeta
from session_log.domain.common import Aggregate, Payload
from session_log.errors import InvalidCommand, InvalidState


class MilestoneScheduledPayload(Payload, frozen=True, kw_only=True):
    name: str
    due_at: datetime
    recording_id: str | None = None


class MilestoneRescheduledPayload(Payload, frozen=True, kw_only=True):
    due_at: datetime
    previous_due_at: datetime


class MilestoneMetPayload(Payload, frozen=True, kw_only=True):
    due_at: datetime
    late: bool
    late_by_hours: int


class MilestoneScheduled(DecisionCreated):
    """A milestone (pre-production done, tracking done, delivery...) was set."""

    payload: MilestoneScheduledPayload

    def apply(self, aggregate: Milestone) -> None:
        aggregate.name = self.payload.name
        aggregate.due_at = self.payload.due_at
        aggregate.recording_id = self.payload.recording_id


class MilestoneRescheduled(DecisionEvent):
    """A milestone's due date moved (reason given)."""

    payload: MilestoneRescheduledPayload

    def apply(self, aggregate: Milestone) -> None:
        aggregate.due_at = self.payload.due_at


class MilestoneMet(DecisionEvent):
    """A milestone was met, on time or late."""

    payload: MilestoneMetPayload

    def apply(self, aggregate: Milestone) -> None:
        aggregate.met_at = self.meta.occurred_at


class Milestone(Aggregate):
    """A dated goal of the project."""

    KIND = "milestone"

    def __init__(self) -> None:
        self.name = ""
        self.due_at = datetime.min
        self.recording_id: str | None = None
        self.met_at: datetime | None = None

    @classmethod
    def schedule(
        cls, originator_id: str, meta: DecisionMeta, payload: MilestoneScheduledPayload
    ) -> Milestone:
        if not payload.name.strip():
            msg = "name: must not be blank"
            raise InvalidCommand(msg, field="name")
        return cls._start(MilestoneScheduled, originator_id, meta, payload)

    def _require_pending(self) -> None:
        if self.met_at is not None:
            msg = f"milestone {self.name!r} was already met"
            raise InvalidState(msg, field="milestone")

    def reschedule(self, meta: DecisionMeta, due_at: datetime) -> None:
        self._require_pending()
        if not meta.reason:
            msg = "reason: say why the milestone moves"
            raise InvalidCommand(msg, field="reason")
        if due_at == self.due_at:
            msg = "due_at: unchanged"
            raise InvalidState(msg, field="due_at")
        self._emit(
            MilestoneRescheduled,
            meta,
            MilestoneRescheduledPayload(due_at=due_at, previous_due_at=self.due_at),
        )

    def meet(self, meta: DecisionMeta) -> None:
        self._require_pending()
        late_by = meta.occurred_at - self.due_at
        late = late_by.total_seconds() > 0
        self._emit(
            MilestoneMet,
            meta,
            MilestoneMetPayload(
                due_at=self.due_at,
                late=late,
                late_by_hours=int(late_by.total_seconds() // 3600) if late else 0,
            ),
        )
