"""What the HTTP API returns (msgspec Structs, documented in the OpenAPI spec)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from projections import ViewStatus
from projections.views.cost_ledger import LedgerEntry, LedgerLine, LedgerSummary
from projections.views.credits import MergedCredit, WriterSplit
from projections.views.decision_log import LoggedDecision
from projections.views.progress import RecordingProgress
from projections.views.timeline import TimelineEntry
from session_log.domain.commandlog import EventRef


class FieldError(msgspec.Struct, frozen=True, kw_only=True):
    """One offending field (``$.segments[2].bar_to``) and what is wrong with it."""

    field: str | None
    message: str


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    """Every error: HTTP status, a stable machine-readable code, a message, and
    the offending fields when the input was at fault."""

    status_code: int
    code: str
    detail: str
    field: str | None = None
    errors: list[FieldError] = []


class CommandOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """An accepted command: what it recorded (the same again on a resubmission)."""

    command_id: str
    command_type: str
    project: str
    actor: str
    events: list[EventRef]
    head: int
    """The stream's last position after the command (the views include it)."""


class ProjectInfo(msgspec.Struct, frozen=True, kw_only=True):
    project: str
    decisions: int
    first_at: datetime | None
    last_at: datetime | None


class TimelinePage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[TimelineEntry]
    next_cursor: str | None
    as_of: str | None = None


class DecisionPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[LoggedDecision]
    next_cursor: str | None
    as_of: str | None = None


class Ledger(msgspec.Struct, frozen=True, kw_only=True):
    """The cost ledger of a project: totals, lines, accounts, requests."""

    project: str
    as_of: str | None
    summary: list[LedgerSummary]
    lines: list[LedgerLine]
    accounts: list[dict[str, Any]]
    budget_versions: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    per_song: list[dict[str, Any]]


class LedgerEntries(msgspec.Struct, frozen=True, kw_only=True):
    project: str
    as_of: str | None
    items: list[LedgerEntry]


class SpendPoint(msgspec.Struct, frozen=True, kw_only=True):
    """Cumulative figures at the end of one day (minor units)."""

    day: str
    revised: int
    committed: int
    actual: int
    paid: int


class Spend(msgspec.Struct, frozen=True, kw_only=True):
    project: str
    as_of: str | None
    currency: str
    points: list[SpendPoint]


class Progress(msgspec.Struct, frozen=True, kw_only=True):
    project: str
    as_of: str | None
    stages: dict[str, int]
    recordings: list[RecordingProgress]
    sessions: list[dict[str, Any]]
    milestones: list[dict[str, Any]]


class Credits(msgspec.Struct, frozen=True, kw_only=True):
    project: str
    as_of: str | None
    credits: list[MergedCredit]
    writer_splits: list[WriterSplit]


class HistoryEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One stored event of an aggregate."""

    version: int
    kind: str
    topic: str
    occurred_at: datetime | None
    actor: str | None
    capacity: str | None
    command_id: str | None
    reason: str | None
    payload: Any


class History(msgspec.Struct, frozen=True, kw_only=True):
    aggregate_id: str
    events: list[HistoryEvent]


class Status(msgspec.Struct, frozen=True, kw_only=True):
    """Health: the stream's head and each view's position, lag and state."""

    stream: str
    head: int
    views: list[ViewStatus]
    party: str
