"""Timeline: every decision in stream order, per project, recording, session, person.

Tables:

- ``timeline_entries``: one row per decision.
- ``timeline_subjects``: what each decision concerns (its aggregate, its actor, the
  aggregates and parties its payload names), for per-subject timelines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, ClassVar

import msgspec

from projections.records import BOOKKEEPING_KINDS, DecisionRecord
from projections.schema import Table, col
from projections.sql_view import Db, SQLView, ViewDefinition
from projections.views.paging import Page, Where, cursor_of, page_limit
from projections.views.subjects import subject_kind, subjects_of

ENTRIES = Table(
    "entries",
    (
        col("stream"),
        col("position", "int"),
        col("event_id"),
        col("project"),
        col("aggregate_id"),
        col("aggregate_kind"),
        col("kind"),
        col("occurred_at", "timestamp"),
        col("recorded_at", "timestamp"),
        col("actor"),
        col("capacity"),
        col("reason", null=True),
        col("summary"),
    ),
    primary_key=("stream", "position"),
    indexes=(("project", "position"), ("kind", "position"), ("occurred_at",)),
    doc="One row per decision, in stream order.",
)

SUBJECTS = Table(
    "subjects",
    (
        col("stream"),
        col("position", "int"),
        col("subject_id"),
        col("subject_kind"),
        col("role"),
    ),
    primary_key=("stream", "position", "subject_id", "role"),
    indexes=(("subject_id", "position"),),
    clustered=True,
    doc="What each decision concerns; role is aggregate, actor or mentioned.",
)

ENTRY_COLUMNS = ENTRIES.column_names
SUBJECT_COLUMNS = SUBJECTS.column_names

SUMMARY_FIELDS = 4


def summarize(record: DecisionRecord) -> str:
    """``Kind: field=value, ...`` with the first scalar payload fields."""
    data = record.data
    parts: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str | int | float | bool) and value != "":
                parts.append(f"{key}={value}")
            elif isinstance(value, dict) and {"amount", "currency"} <= value.keys():
                parts.append(f"{key}={value['amount']} {value['currency']}")
            if len(parts) == SUMMARY_FIELDS:
                break
    return f"{record.kind}: {', '.join(parts)}" if parts else record.kind


class TimelineDefinition(ViewDefinition):
    name = "timeline"
    tables = (ENTRIES, SUBJECTS)
    doc = "Every decision in order, per project, recording, session and person."
    apply_indexes = {}  # applying only appends
    appends_in_bulk = True

    def apply(self, db: Db, record: DecisionRecord) -> None:
        self.apply_many(db, [record])

    def apply_many(self, db: Db, records: Sequence[DecisionRecord]) -> None:
        records = [r for r in records if r.kind not in BOOKKEEPING_KINDS]
        db.insert_many(
            "entries",
            ENTRY_COLUMNS,
            [
                (
                    r.stream,
                    r.position,
                    r.event_id,
                    r.project,
                    r.aggregate_id,
                    r.aggregate_kind,
                    r.kind,
                    r.occurred_at,
                    r.recorded_at,
                    r.actor,
                    r.capacity,
                    r.reason,
                    summarize(r),
                )
                for r in records
            ],
        )
        db.insert_many(
            "subjects",
            SUBJECT_COLUMNS,
            [
                (r.stream, r.position, subject_id, kind, role)
                for r in records
                for subject_id, kind, role in subjects_of(r)
            ],
        )


class TimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    stream: str
    position: int
    event_id: str
    project: str
    aggregate_id: str
    aggregate_kind: str
    kind: str
    occurred_at: datetime
    recorded_at: datetime
    actor: str
    capacity: str
    reason: str | None
    summary: str
    subjects: list[str]


class TimelineReads(SQLView):
    """Queries of the timeline view."""

    definition: ClassVar[ViewDefinition] = TimelineDefinition()

    def has_decisions(self, project: str | None = None) -> bool:
        """Whether the view holds a decision (of ``project``, when given)."""
        sql, params = "SELECT 1 AS found FROM {entries}", {}
        if project is not None:
            sql, params = sql + " WHERE project = :project", {"project": project}
        return bool(self.rows(sql + " LIMIT 1", params))

    def timeline(
        self,
        *,
        project: str | None = None,
        subject: str | None = None,
        person: str | None = None,
        kinds: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: str | None = None,
        limit: int = 50,
        newest_first: bool = False,
    ) -> Page[TimelineEntry]:
        """Decisions in stream order (or newest first), one page.

        ``subject`` is any aggregate id (a recording, a session, a budget ...) and
        matches decisions on it or naming it; ``person`` is a party id and matches
        decisions the person made or that name them. ``since``/``until`` bound
        ``occurred_at`` (inclusive/exclusive). ``after`` is the previous page's
        ``next_cursor``.
        """
        where = Where()
        if project is not None:
            where.add("project = :project", project=project)
        if subject is not None:
            where.add(
                "EXISTS (SELECT 1 FROM {subjects} s WHERE s.stream = e.stream "
                "AND s.position = e.position AND s.subject_id = :subject)",
                subject=subject,
            )
        if person is not None:
            where.add(
                "EXISTS (SELECT 1 FROM {subjects} s WHERE s.stream = e.stream "
                "AND s.position = e.position AND s.subject_id = :person "
                "AND s.subject_kind = 'person')",
                person=person,
            )
        where.any_of("kind", "kind", kinds)
        where.period("occurred_at", since, until)
        where.after(after, descending=newest_first)
        size = page_limit(limit)
        order = "DESC" if newest_first else "ASC"
        with self.reading() as db:
            rows = db.rows(
                f"SELECT * FROM {{entries}} e{where.sql()} "
                f"ORDER BY position {order}, stream {order} LIMIT :limit",
                {**where.params, "limit": size + 1},
            )
            more = len(rows) > size
            rows = rows[:size]
            subjects = self._subjects(db, rows)
        items = [
            TimelineEntry(
                **row, subjects=subjects.get((row["stream"], row["position"]), [])
            )
            for row in rows
        ]
        last = items[-1] if items and more else None
        return Page(items, cursor_of(last.stream, last.position) if last else None)

    def _subjects(
        self, db: Db, rows: list[dict[str, Any]]
    ) -> dict[tuple[str, int], list[str]]:
        if not rows:
            return {}
        low = min(r["position"] for r in rows)
        high = max(r["position"] for r in rows)
        found: dict[tuple[str, int], list[str]] = {}
        for s in db.rows(
            "SELECT stream, position, subject_id FROM {subjects} "
            "WHERE position >= :low AND position <= :high "
            "ORDER BY stream, position, subject_id, role",
            {"low": low, "high": high},
        ):
            ids = found.setdefault((s["stream"], s["position"]), [])
            if s["subject_id"] not in ids:
                ids.append(s["subject_id"])
        return found

    def others_than(self, project: str, kind: str, subject_id: str) -> list[str]:
        """The local ids of ``project``'s subjects of aggregate kind ``kind``
        (``party``, ``recording``...) when ``subject_id`` is none of the view's
        subjects: what to offer instead of an empty page for a typo. Empty when
        it is one, and when the project has no subject of that kind here (the
        view cannot tell: not kept where this runs, or not yet caught up)."""
        if self.rows(
            "SELECT 1 AS found FROM {subjects} WHERE subject_id = :id LIMIT 1",
            {"id": subject_id},
        ):
            return []
        prefix = f"{project}.{kind}."
        return [
            found.removeprefix(prefix)
            for found, _, _ in self.subjects(project=project, kind=subject_kind(kind))
            if found.startswith(prefix)
        ]

    def subjects(
        self, *, project: str | None = None, kind: str | None = None
    ) -> list[tuple[str, str, int]]:
        """``(subject_id, subject_kind, decisions)`` known to the timeline."""
        where = Where()
        if kind is not None:
            where.add("s.subject_kind = :kind", kind=kind)
        if project is not None:
            where.add("e.project = :project", project=project)
        rows = self.rows(
            "SELECT s.subject_id, s.subject_kind, COUNT(DISTINCT e.position) AS n "
            "FROM {subjects} s JOIN {entries} e ON e.stream = s.stream "
            f"AND e.position = s.position{where.sql()} "
            "GROUP BY s.subject_id, s.subject_kind "
            "ORDER BY s.subject_id, s.subject_kind",
            where.params,
        )
        return [(r["subject_id"], r["subject_kind"], r["n"]) for r in rows]
