"""Budget events: versions and their fate, lines as drafted, revision requests."""

from __future__ import annotations

from typing import Any

from projections.records import DecisionRecord
from projections.sql_view import Db
from projections.views.cost_ledger.common import LedgerDefinitionBase
from projections.views.cost_ledger.tables import _json
from projections.views.dispatch import amount, handles


class BudgetEvents(LedgerDefinitionBase):
    """Handlers of the budget aggregate's events."""

    @handles("BudgetVersionDrafted")
    def _drafted(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        for number in p.superseded_versions:
            db.execute(
                "UPDATE {budget_versions} SET status = 'superseded', "
                "superseded_by_version = :by WHERE budget_id = :budget_id "
                "AND version = :version",
                {
                    "by": p.budget_version,
                    "budget_id": r.aggregate_id,
                    "version": number,
                },
            )
        db.execute(
            "INSERT INTO {budget_versions} (budget_id, version, project, status, "
            "currency, total, is_co_approval_needed, approvals_json, "
            "based_on_version, replaces_version, superseded_by_version, drafted_at, "
            "drafted_by, submitted_at, decided_at, decided_by, reason, "
            "event_ids_json) VALUES (:budget_id, :version, :project, 'draft', NULL, "
            "NULL, NULL, '[]', :based_on, NULL, NULL, :at, :by, NULL, NULL, NULL, "
            ":reason, :events)",
            {
                "budget_id": r.aggregate_id,
                "version": p.budget_version,
                "project": r.project,
                "based_on": p.based_on_version,
                "at": r.occurred_at,
                "by": r.actor,
                "reason": r.reason,
                "events": _json([r.event_id]),
            },
        )
        for item in p.lines:
            self._set_budget_line(db, r, p.budget_version, item)

    @handles("BudgetLineSet")
    def _line_set(self, db: Db, r: DecisionRecord) -> None:
        self._set_budget_line(db, r, r.payload.budget_version, r.payload.line)
        self._touch_version(db, r, r.payload.budget_version)

    @handles("BudgetLineRemoved")
    def _line_removed(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        db.execute(
            "DELETE FROM {budget_lines} WHERE budget_id = :budget_id "
            "AND version = :version AND line = :line",
            {"budget_id": r.aggregate_id, "version": p.budget_version, "line": p.line},
        )
        self._touch_version(db, r, p.budget_version)
        self._refresh_drafted(db, r, p.line)

    def _set_budget_line(
        self, db: Db, r: DecisionRecord, version: int, item: Any
    ) -> None:
        db.execute(
            "INSERT INTO {budget_lines} (budget_id, version, line, project, category, "
            "description, amount, contingency_bp, resolved, recoupable_from, "
            "recording_id) VALUES (:budget_id, :version, :line, :project, :category, "
            ":description, :amount, :bp, NULL, :recoupable_from, :recording_id) "
            "ON CONFLICT (budget_id, version, line) DO UPDATE SET "
            "category = excluded.category, description = excluded.description, "
            "amount = excluded.amount, contingency_bp = excluded.contingency_bp, "
            "recoupable_from = excluded.recoupable_from, "
            "recording_id = excluded.recording_id",
            {
                "budget_id": r.aggregate_id,
                "version": version,
                "line": item.line,
                "project": r.project,
                "category": item.category,
                "description": item.description,
                "amount": None if item.amount is None else amount(item.amount),
                "bp": item.contingency_bp,
                "recoupable_from": item.recoupable_from,
                "recording_id": item.recording_id,
            },
        )
        currency = item.amount.currency if item.amount is not None else None
        self._ensure_line(
            db,
            r,
            line=item.line,
            category=item.category,
            description=item.description,
            recoupable_from=item.recoupable_from,
            recording_id=item.recording_id,
            currency=currency,
        )
        self._refresh_drafted(db, r, item.line)

    def _touch_version(self, db: Db, r: DecisionRecord, version: int) -> None:
        # Appended in the statement: no read (a round trip on PostgreSQL).
        db.execute(
            "UPDATE {budget_versions} SET event_ids_json = "
            f"{db.json_append('event_ids_json', 'event')} "
            "WHERE budget_id = :b AND version = :v",
            {"event": r.event_id, "b": r.aggregate_id, "v": version},
        )

    def _refresh_drafted(self, db: Db, r: DecisionRecord, line: str) -> None:
        db.execute(  # the latest version's figure, read in the statement
            "UPDATE {lines} SET drafted = (SELECT COALESCE(resolved, amount) "
            "FROM {budget_lines} WHERE budget_id = :b AND line = :line "
            "ORDER BY version DESC LIMIT 1) WHERE line_id = :line_id",
            {"b": r.aggregate_id, "line": line, "line_id": f"{r.project}.line.{line}"},
        )

    @handles("BudgetVersionSubmitted")
    def _submitted(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        for line in p.lines:
            db.execute(
                "UPDATE {budget_lines} SET resolved = :resolved WHERE budget_id = :b "
                "AND version = :v AND line = :line",
                {
                    "resolved": amount(line.amount),
                    "b": r.aggregate_id,
                    "v": p.budget_version,
                    "line": line.line,
                },
            )
            self._ensure_line(
                db,
                r,
                line=line.line,
                category=line.category,
                description=line.description,
                recoupable_from=line.recoupable_from,
                recording_id=line.recording_id,
                currency=line.amount.currency,
            )
            self._refresh_drafted(db, r, line.line)
        self._decide_version(
            db,
            r,
            p.budget_version,
            status="submitted",
            total=p.total,
            extra="submitted_at = :at, is_co_approval_needed = :co",
            params={"at": r.occurred_at, "co": p.needs_co_approval},
            decided=False,
        )

    @handles("BudgetVersionRejected")
    def _rejected(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        self._decide_version(db, r, p.budget_version, status="rejected", total=p.total)

    @handles("BudgetApprovalGiven")
    def _approval_given(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        self._decide_version(
            db,
            r,
            p.budget_version,
            status=None,
            total=p.total,
            extra="approvals_json = :approvals",
            params={"approvals": _json(list(p.approvals))},
            decided=False,
        )

    @handles("BudgetVersionApproved")
    def _approved(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        self._decide_version(
            db,
            r,
            p.budget_version,
            status="approved",
            total=p.total,
            extra="approvals_json = :approvals, replaces_version = :replaces",
            params={
                "approvals": _json(list(p.approvals)),
                "replaces": p.replaces_version,
            },
        )
        if p.replaces_version is not None:
            db.execute(
                "UPDATE {budget_versions} SET status = 'superseded', "
                "superseded_by_version = :by WHERE budget_id = :b AND version = :v",
                {"by": p.budget_version, "b": r.aggregate_id, "v": p.replaces_version},
            )

    def _decide_version(
        self,
        db: Db,
        r: DecisionRecord,
        version: int,
        *,
        status: str | None,
        total: Any,
        extra: str = "",
        params: dict[str, Any] | None = None,
        decided: bool = True,
    ) -> None:
        sets = ["total = :total", "currency = :currency"]
        if status is not None:
            sets.append("status = :status")
        if decided:
            sets.append("decided_at = :decided_at")
            sets.append("decided_by = :decided_by")
            sets.append("reason = :reason")
        if extra:
            sets.append(extra)
        db.execute(
            f"UPDATE {{budget_versions}} SET {', '.join(sets)} "
            "WHERE budget_id = :b AND version = :v",
            {
                "total": amount(total),
                "currency": total.currency,
                "status": status,
                "decided_at": r.occurred_at,
                "decided_by": r.actor,
                "reason": r.reason,
                "b": r.aggregate_id,
                "v": version,
                **(params or {}),
            },
        )
        self._touch_version(db, r, version)

    @handles("BudgetReallocated")
    def _reallocated(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        self._request(
            db, r, p.reallocation, "reallocation", p.to_line_id, p.amount,
            from_line_id=p.from_line_id, status="approved", decided=True,
        )  # fmt: skip

    @handles("ContingencyDrawRequested")
    def _draw_requested(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        self._request(
            db, r, p.draw, "contingency_draw", p.line_id, p.amount,
            from_line_id=p.contingency_line_id, status="requested",
        )  # fmt: skip

    @handles("ContingencyDrawApproved", "ContingencyDrawRejected")
    def _draw_decided(self, db: Db, r: DecisionRecord) -> None:
        status = "approved" if r.kind.endswith("Approved") else "rejected"
        self._decide_request(db, r, r.payload.draw, status)

    @handles("BudgetIncreaseRequested")
    def _increase_requested(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        self._request(
            db, r, p.increase, "increase", p.line_id, p.amount, status="requested"
        )

    @handles("BudgetIncreaseApproved", "BudgetIncreaseRejected")
    def _increase_decided(self, db: Db, r: DecisionRecord) -> None:
        status = "approved" if r.kind.endswith("Approved") else "rejected"
        self._decide_request(db, r, r.payload.increase, status)

    def _request(
        self,
        db: Db,
        r: DecisionRecord,
        request: str,
        kind: str,
        line_id: str,
        money_: Any,
        *,
        status: str,
        from_line_id: str | None = None,
        decided: bool = False,
    ) -> None:
        db.execute(
            "INSERT INTO {requests} (budget_id, request, project, kind, line_id, "
            "from_line_id, amount, currency, status, requested_at, requested_by, "
            "decided_at, decided_by, reason, event_ids_json) VALUES (:budget_id, "
            ":request, :project, :kind, :line_id, :from_line_id, :amount, :currency, "
            ":status, :at, :by, :decided_at, :decided_by, :reason, :events)",
            {
                "budget_id": r.aggregate_id,
                "request": request,
                "project": r.project,
                "kind": kind,
                "line_id": line_id,
                "from_line_id": from_line_id,
                "amount": amount(money_),
                "currency": money_.currency,
                "status": status,
                "at": r.occurred_at,
                "by": r.actor,
                "decided_at": r.occurred_at if decided else None,
                "decided_by": r.actor if decided else None,
                "reason": r.reason,
                "events": _json([r.event_id]),
            },
        )

    def _decide_request(
        self, db: Db, r: DecisionRecord, request: str, status: str
    ) -> None:
        row = db.row(
            "SELECT event_ids_json FROM {requests} WHERE budget_id = :b "
            "AND request = :request",
            {"b": r.aggregate_id, "request": request},
        )
        events = [*(row["event_ids_json"] if row else []), r.event_id]
        db.execute(
            "UPDATE {requests} SET status = :status, decided_at = :at, "
            "decided_by = :by, reason = COALESCE(:reason, reason), "
            "event_ids_json = :events WHERE budget_id = :b AND request = :request",
            {
                "status": status,
                "at": r.occurred_at,
                "by": r.actor,
                "reason": r.reason,
                "events": _json(events),
                "b": r.aggregate_id,
                "request": request,
            },
        )
