"""The command log: one record per accepted command, for idempotency and audit.

The record is created in the same atomic save as the decision events, under an id
derived from the command id, so a command id is used at most once per project even
when two identical submissions race (the second save conflicts). A refused command
records nothing, so its id stays free.
"""

from __future__ import annotations

from session_log.domain.base import DecisionCreated, DecisionMeta
from session_log.domain.common import Aggregate, Payload


class EventRef(Payload, frozen=True, kw_only=True):
    """One event a command recorded."""

    originator_id: str
    originator_version: int
    kind: str
    """The event class name, as timelines show it."""


class CommandResult(Payload, frozen=True, kw_only=True):
    """What an accepted command recorded."""

    command_id: str
    command_type: str
    events: tuple[EventRef, ...]

    @property
    def aggregate_ids(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for event in self.events:
            seen.setdefault(event.originator_id, None)
        return tuple(seen)


class CommandAcceptedPayload(Payload, frozen=True, kw_only=True):
    command_type: str
    body: str
    """The command as canonical JSON, exactly as it was accepted."""
    digest: str
    """SHA-256 of ``body``: a resubmission must match it."""
    result: CommandResult


class CommandAccepted(DecisionCreated):
    """A command was accepted: its body, digest and the events it recorded."""

    payload: CommandAcceptedPayload

    def apply(self, aggregate: CommandRecord) -> None:
        aggregate.command_type = self.payload.command_type
        aggregate.digest = self.payload.digest
        aggregate.result = self.payload.result


class CommandRecord(Aggregate):
    """The record of one accepted command."""

    KIND = "command"

    def __init__(self) -> None:
        self.command_type = ""
        self.digest = ""
        self.result: CommandResult | None = None

    @classmethod
    def accept(
        cls, originator_id: str, meta: DecisionMeta, payload: CommandAcceptedPayload
    ) -> CommandRecord:
        return cls._start(CommandAccepted, originator_id, meta, payload)
