"""Helpers shared by the aggregates: emitting decision events with their meta."""

from __future__ import annotations

from typing import Any, Self

import msgspec
from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import get_topic

from session_log.domain.base import (
    DecisionAggregate,
    DecisionCreated,
    DecisionEvent,
    DecisionMeta,
)


class Payload(msgspec.Struct, frozen=True, kw_only=True):
    """Base class of event payloads (frozen, kw-only msgspec Structs)."""


class Aggregate(DecisionAggregate):
    """A session-log aggregate; events take their timestamp from the decision."""

    @classmethod
    def _start(
        cls,
        event_class: type[DecisionCreated],
        originator_id: str,
        meta: DecisionMeta,
        payload: Any,
    ) -> Self:
        return cls._create(
            event_class,
            id=originator_id,
            timestamp=meta.occurred_at,
            meta=meta,
            payload=payload,
        )

    def _emit(
        self, event_class: type[DecisionEvent], meta: DecisionMeta, payload: Any
    ) -> None:
        self.trigger_event(
            event_class, timestamp=meta.occurred_at, meta=meta, payload=payload
        )


class OpeningEvent(DecisionCreated):
    """An event that creates its aggregate when it is the first, else mutates it.

    Used where an aggregate comes into being with its first ordinary decision
    (the first comp of a recording opens the recording's comps), so the timeline
    shows the decision, not an artificial "created" event.
    """

    def mutate(self, aggregate: Any) -> Any:
        if aggregate is None:
            return DecisionCreated.mutate(self, None)
        return CanMutateAggregate.mutate(self, aggregate)


class OpenableAggregate(Aggregate):
    """An aggregate created by the first of its :class:`OpeningEvent` events."""

    @classmethod
    def emit_opening(
        cls,
        existing: Self | None,
        event_class: type[OpeningEvent],
        originator_id: str,
        meta: DecisionMeta,
        payload: Any,
    ) -> Self:
        if existing is None:
            return cls._start(event_class, originator_id, meta, payload)
        existing.trigger_event(
            event_class,
            timestamp=meta.occurred_at,
            originator_topic=get_topic(cls),
            meta=meta,
            payload=payload,
        )
        return existing
