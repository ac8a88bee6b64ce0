"""Queries of the cost ledger, and what they return."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import msgspec

from projections.sql_view import SQLView, ViewDefinition
from projections.views.cost_ledger.definition import CostLedgerDefinition


class LedgerLine(msgspec.Struct, frozen=True, kw_only=True):
    line_id: str
    project: str
    budget_id: str | None
    line: str
    category: str
    description: str
    recoupable_from: str
    recording_id: str | None
    currency: str
    drafted: int | None
    approved: int | None
    approved_version: int | None
    revised: int
    reallocated: int
    drawn: int
    increased: int
    committed: int
    open_committed: int
    actual: int
    paid: int
    exposure: int
    overrun: int
    forecast: int
    forecast_basis: str
    variance: int
    forecast_variance: int


class LedgerEntry(msgspec.Struct, frozen=True, kw_only=True):
    stream: str
    position: int
    line_id: str
    project: str
    event_id: str
    kind: str
    ref: str | None
    cause: str | None
    payee_id: str | None
    recording_id: str | None
    account: str
    currency: str
    occurred_at: datetime
    revised_delta: int
    committed_delta: int
    actual_delta: int
    paid_delta: int


class LedgerSummary(msgspec.Struct, frozen=True, kw_only=True):
    """Project totals (one currency)."""

    project: str
    currency: str
    approved_version: int | None
    approved_total: int | None
    revised: int
    committed: int
    actual: int
    paid: int
    exposure: int
    forecast: int
    variance: int
    contingency_revised: int
    contingency_left: int


FIGURES = ("revised", "committed", "actual", "paid")


class CostLedgerReads(SQLView):
    """Queries of the cost ledger view."""

    definition: ClassVar[ViewDefinition] = CostLedgerDefinition()

    def lines(self, project: str) -> list[LedgerLine]:
        """The project's budget lines, by line name."""
        return [
            LedgerLine(**r)
            for r in self.rows(
                "SELECT * FROM {lines} WHERE project = :project ORDER BY line",
                {"project": project},
            )
        ]

    def line(self, line_id: str) -> LedgerLine | None:
        rows = self.rows("SELECT * FROM {lines} WHERE line_id = :id", {"id": line_id})
        return LedgerLine(**rows[0]) if rows else None

    def entries(
        self, *, project: str | None = None, line_id: str | None = None
    ) -> list[LedgerEntry]:
        """The money events behind the figures, in stream order."""
        where, params = [], {}
        if project is not None:
            where.append("project = :project")
            params["project"] = project
        if line_id is not None:
            where.append("line_id = :line_id")
            params["line_id"] = line_id
        sql = "SELECT * FROM {entries}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [LedgerEntry(**r) for r in self.rows(sql + " ORDER BY position", params)]

    def trace(self, line_id: str, figure: str) -> list[LedgerEntry]:
        """The entries a line figure (revised, committed, actual, paid) sums."""
        if figure not in FIGURES:
            raise ValueError(f"figure must be one of {FIGURES}")
        return [
            e
            for e in self.entries(line_id=line_id)
            if getattr(e, f"{figure}_delta") != 0
        ]

    def summary(self, project: str) -> list[LedgerSummary]:
        """Project totals per currency, contingency left included."""
        rows = self.rows(
            "SELECT currency, COALESCE(SUM(revised), 0) AS revised, "
            "COALESCE(SUM(committed), 0) AS committed, "
            "COALESCE(SUM(actual), 0) AS actual, COALESCE(SUM(paid), 0) AS paid, "
            "COALESCE(SUM(exposure), 0) AS exposure, "
            "COALESCE(SUM(forecast), 0) AS forecast, "
            "COALESCE(SUM(CASE WHEN category = 'contingency' THEN revised ELSE 0 "
            "END), 0) AS contingency_revised, "
            "COALESCE(SUM(CASE WHEN category = 'contingency' THEN revised - exposure "
            "ELSE 0 END), 0) AS contingency_left "
            "FROM {lines} WHERE project = :project AND approved IS NOT NULL "
            "GROUP BY currency ORDER BY currency",
            {"project": project},
        )
        approved = self.rows(
            "SELECT version, total FROM {budget_versions} WHERE project = :project "
            "AND status = 'approved' ORDER BY version DESC LIMIT 1",
            {"project": project},
        )
        version = approved[0]["version"] if approved else None
        total = approved[0]["total"] if approved else None
        return [
            LedgerSummary(
                project=project,
                approved_version=version,
                approved_total=total,
                variance=r["revised"] - r["actual"],
                **r,
            )
            for r in rows
        ]

    def accounts(self, project: str) -> list[dict[str, Any]]:
        """Recoupable balance per account: actual costs and paid, by who recoups."""
        return self.rows(
            "SELECT account, currency, recoupable, paid FROM {accounts} "
            "WHERE project = :project ORDER BY account, currency",
            {"project": project},
        )

    def budget_versions(self, project: str) -> list[dict[str, Any]]:
        """Every budget version and its fate."""
        return self.rows(
            "SELECT * FROM {budget_versions} WHERE project = :project ORDER BY version",
            {"project": project},
        )

    def requests(self, project: str) -> list[dict[str, Any]]:
        """Reallocations, contingency draws and increases, in request order."""
        return self.rows(
            "SELECT * FROM {requests} WHERE project = :project "
            "ORDER BY requested_at, request",
            {"project": project},
        )

    def per_song(self, project: str) -> list[dict[str, Any]]:
        """Money attributed to each recording: lines for it and costs naming it."""
        return self.rows(
            "SELECT recording_id, currency, "
            "COALESCE(SUM(revised_delta), 0) AS revised, "
            "COALESCE(SUM(committed_delta), 0) AS committed, "
            "COALESCE(SUM(actual_delta), 0) AS actual, "
            "COALESCE(SUM(paid_delta), 0) AS paid "
            "FROM {entries} WHERE project = :project AND recording_id IS NOT NULL "
            "GROUP BY recording_id, currency ORDER BY recording_id, currency",
            {"project": project},
        )
