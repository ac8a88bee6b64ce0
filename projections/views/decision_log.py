"""Decision log (audit): who decided what, in which capacity, when, why, what it
replaced.

Table ``decision_log_decisions``: one row per decision with its stream position
and event id, the actor and capacity, the reason, the command, correlation and
causation ids, the command's type (taken from the command's receipt event,
``CommandAccepted``, which gets no row of its own), the payload as JSON, and
``supersedes_json``: what this decision superseded, corrected, revised or
retracted, found in payload fields whose names say so (``supersedes``,
``corrects``, ``replaces``, ``previous_*``, ``revises``, ``retracts``, ``amends``,
``reverses``, ``withdraws``), each as ``{"field": ..., "ref": ...}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any, ClassVar

import msgspec

from projections.records import BOOKKEEPING_KINDS, DecisionRecord
from projections.schema import Table, col
from projections.sql_view import Db, SQLView, ViewDefinition
from projections.views.paging import Page, Where, cursor_of, page_limit

DECISIONS = Table(
    "decisions",
    (
        col("stream"),
        col("position", "int"),
        col("event_id"),
        col("project"),
        col("aggregate_id"),
        col("aggregate_kind"),
        col("version", "int"),
        col("kind"),
        col("actor"),
        col("capacity"),
        col("occurred_at", "timestamp"),
        col("recorded_at", "timestamp"),
        col("reason", null=True),
        col("command_id"),
        col("command_type", null=True),
        col("correlation_id"),
        col("causation_id", null=True),
        col("supersedes_json", "json"),
        col("payload_json", "json"),
    ),
    primary_key=("stream", "position"),
    indexes=(
        ("actor", "position"),
        ("kind", "position"),
        ("project", "position"),
        ("aggregate_id", "position"),
        ("event_id",),
        ("occurred_at",),
        ("correlation_id",),
        ("command_id",),
    ),
    doc="One row per decision: who, capacity, when, why, what it replaced.",
)

SUPERSEDING_WORDS = (
    "supersede",
    "correct",
    "replace",
    "previous",
    "revise",
    "retract",
    "amend",
    "reverse",
    "withdraw",
)


@cache
def _names_superseded(key: str) -> bool:
    """Whether payload field ``key`` refers to what a decision replaced (the few
    field names of the domain are checked once each)."""
    return any(word in key for word in SUPERSEDING_WORDS)


def supersedes(record: DecisionRecord) -> list[dict[str, str]]:
    """References in the payload to what this decision replaced or corrected."""
    data = record.payload_builtins
    found: list[dict[str, str]] = []
    if not isinstance(data, dict):
        return found
    for key, value in data.items():
        if not _names_superseded(key):
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            if (
                isinstance(item, str | int)
                and item != ""
                and not isinstance(item, bool)
            ):
                found.append({"field": key, "ref": str(item)})
    return found


class DecisionLogDefinition(ViewDefinition):
    name = "decision_log"
    tables = (DECISIONS,)
    doc = "Who decided what, in which capacity, when, why and what it replaced."
    apply_indexes = {"decisions": (("command_id",),)}  # late receipts
    appends_in_bulk = True  # and a late receipt's rare UPDATE

    def apply(self, db: Db, record: DecisionRecord) -> None:
        self.apply_many(db, [record])

    def apply_many(self, db: Db, records: Sequence[DecisionRecord]) -> None:
        receipts = [r for r in records if r.kind in BOOKKEEPING_KINDS]
        records = [r for r in records if r.kind not in BOOKKEEPING_KINDS]
        # A receipt follows its command's decisions in the same save, so in a
        # batch it is usually known before they are written.
        types = {(r.project, r.command_id): r.field("command_type") for r in receipts}
        self._insert(db, records, types)
        decided = {(r.project, r.command_id) for r in records}
        for receipt in receipts:
            if (receipt.project, receipt.command_id) in decided:
                continue
            db.execute(
                "UPDATE {decisions} SET command_type = :command_type "
                "WHERE command_id = :command_id AND project = :project",
                {
                    "command_type": receipt.field("command_type"),
                    "command_id": receipt.command_id,
                    "project": receipt.project,
                },
            )

    def _insert(
        self,
        db: Db,
        records: Sequence[DecisionRecord],
        types: dict[tuple[str, str], Any],
    ) -> None:
        db.insert_many(
            "decisions",
            DECISIONS.column_names,
            [
                (
                    r.stream,
                    r.position,
                    r.event_id,
                    r.project,
                    r.aggregate_id,
                    r.aggregate_kind,
                    r.version,
                    r.kind,
                    r.actor,
                    r.capacity,
                    r.occurred_at,
                    r.recorded_at,
                    r.reason,
                    r.command_id,
                    types.get((r.project, r.command_id)),
                    r.correlation_id,
                    r.causation_id,
                    msgspec.json.encode(supersedes(r)).decode(),
                    r.payload_json(),
                )
                for r in records
            ],
        )


class LoggedDecision(msgspec.Struct, frozen=True, kw_only=True):
    stream: str
    position: int
    event_id: str
    project: str
    aggregate_id: str
    aggregate_kind: str
    version: int
    kind: str
    actor: str
    capacity: str
    occurred_at: datetime
    recorded_at: datetime
    reason: str | None
    command_id: str
    command_type: str | None
    correlation_id: str
    causation_id: str | None
    supersedes_json: list[dict[str, str]]
    payload_json: Any


class DecisionLogReads(SQLView):
    """Queries of the decision log view."""

    definition: ClassVar[ViewDefinition] = DecisionLogDefinition()

    def decisions(
        self,
        *,
        project: str | None = None,
        actor: str | None = None,
        capacity: str | None = None,
        kinds: Iterable[str] | None = None,
        aggregate_id: str | None = None,
        correlation_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: str | None = None,
        limit: int = 50,
        newest_first: bool = False,
    ) -> Page[LoggedDecision]:
        """Logged decisions matching every given filter, one page in stream order."""
        where = Where()
        for column, value in (
            ("project", project),
            ("actor", actor),
            ("capacity", capacity),
            ("aggregate_id", aggregate_id),
            ("correlation_id", correlation_id),
        ):
            if value is not None:
                where.add(f"{column} = :{column}", **{column: value})
        where.any_of("kind", "kind", kinds)
        where.period("occurred_at", since, until)
        where.after(after, descending=newest_first)
        size = page_limit(limit)
        order = "DESC" if newest_first else "ASC"
        rows = self.rows(
            f"SELECT * FROM {{decisions}}{where.sql()} "
            f"ORDER BY position {order}, stream {order} LIMIT :limit",
            {**where.params, "limit": size + 1},
        )
        items = [LoggedDecision(**row) for row in rows[:size]]
        more = len(rows) > size
        last = items[-1] if items and more else None
        return Page(items, cursor_of(last.stream, last.position) if last else None)

    def decision(self, event_id: str) -> LoggedDecision | None:
        """The decision recorded as ``event_id``."""
        rows = self.rows(
            "SELECT * FROM {decisions} WHERE event_id = :event_id",
            {"event_id": event_id},
        )
        return LoggedDecision(**rows[0]) if rows else None

    def superseded_by(self, ref: str) -> list[LoggedDecision]:
        """Decisions whose ``supersedes`` names ``ref`` (an id or event id)."""
        rows = self.rows(
            "SELECT * FROM {decisions} WHERE supersedes_json IS NOT NULL "
            "ORDER BY position, stream"
        )
        return [
            LoggedDecision(**r)
            for r in rows
            if any(s.get("ref") == ref for s in r["supersedes_json"])
        ]
