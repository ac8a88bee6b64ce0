"""Building blocks every production decision shares.

Every domain event is a :class:`DecisionEvent`: an eventsourcing aggregate event
whose ``meta`` says who decided (``actor``, a party id), in which ``capacity``, when
(``occurred_at``, tz-aware UTC from :func:`utc_now`, which freezegun can freeze),
under which command (``command_id``), in which chain of decisions
(``correlation_id``, ``causation_id``) and, where it makes sense, why (``reason``).
What was decided is the event's ``payload``, a frozen, kw-only msgspec Struct.

Aggregate ids are strings ``"<project>.<kind>.<local>"`` (see :func:`aggregate_id`);
the JetStream store maps them onto subjects ``<prefix>.<project>.<kind>.<local>``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar

import msgspec
from eventsourcing.domain import (
    BaseAggregate,
    CanInitAggregate,
    CanMutateAggregate,
    MetaDomainEvent,
)

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def utc_now() -> datetime:
    """The current time, tz-aware UTC (frozen by freezegun in tests)."""
    return datetime.now(tz=UTC)


def check_token(value: str, what: str) -> str:
    """Return ``value`` if it is a safe id token, else raise ``ValueError``."""
    if not isinstance(value, str) or not TOKEN_PATTERN.match(value):
        msg = (
            f"{what} {value!r} is not a valid id token: use 1 to 64 characters "
            "from A-Z, a-z, 0-9, '_' and '-'"
        )
        raise ValueError(msg)
    return value


def aggregate_id(project: str, kind: str, local: str) -> str:
    """The id of aggregate ``local`` of ``kind`` in ``project``."""
    check_token(project, "project")
    check_token(kind, "kind")
    check_token(local, "local id")
    if project == "_":
        msg = "project '_' is reserved"
        raise ValueError(msg)
    return f"{project}.{kind}.{local}"


def split_id(originator_id: str) -> tuple[str, str, str]:
    """``(project, kind, local)`` of an aggregate id made by :func:`aggregate_id`."""
    project, kind, local = originator_id.split(".")
    return project, kind, local


class DecisionMeta(msgspec.Struct, frozen=True, kw_only=True):
    """Who decided, in which capacity, when, under which command, and why."""

    actor: str
    capacity: str
    occurred_at: datetime
    command_id: str
    correlation_id: str
    causation_id: str | None = None
    reason: str | None = None


class DecisionEvent(CanMutateAggregate[str], metaclass=MetaDomainEvent):
    """Base class of every session-log domain event."""

    originator_id: str
    originator_version: int
    timestamp: datetime
    meta: DecisionMeta
    payload: Any


class DecisionCreated(CanInitAggregate[str], DecisionEvent):
    """Base class of the events that create an aggregate."""

    originator_topic: str


class DecisionAggregate(BaseAggregate[str]):
    """Base class of session-log aggregates (string ids, decision events)."""

    KIND: ClassVar[str] = "aggregate"

    class Event(DecisionEvent):
        pass

    class Created(Event, DecisionCreated):
        pass
