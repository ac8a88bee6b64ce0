"""What the budget and the line-ledger handlers of the cost ledger share."""

from __future__ import annotations

from typing import Any

from projections.records import DecisionRecord
from projections.sql_view import Db
from projections.views.cost_ledger.tables import ZERO_FIGURES
from projections.views.dispatch import KindDispatchDefinition


class LedgerDefinitionBase(KindDispatchDefinition):
    """Budget lines as rows of ``cost_ledger_lines``."""

    def _ensure_line(
        self,
        db: Db,
        r: DecisionRecord,
        *,
        line: str,
        category: str,
        description: str,
        recoupable_from: str,
        recording_id: str | None,
        currency: str | None,
        budget_id: str | None = None,
    ) -> None:
        params = {
            "line_id": f"{r.project}.line.{line}",
            "project": r.project,
            "budget_id": budget_id or r.aggregate_id,
            "line": line,
            "category": category,
            "description": description,
            "recoupable_from": recoupable_from,
            "recording_id": recording_id,
            "currency": currency or "",
            **ZERO_FIGURES,
        }
        db.execute(
            "INSERT INTO {lines} (line_id, project, budget_id, line, category, "
            "description, recoupable_from, recording_id, currency, drafted, approved, "
            "approved_version, revised, reallocated, drawn, increased, committed, "
            "open_committed, actual, paid, exposure, overrun, forecast, "
            "forecast_basis, variance, forecast_variance) VALUES (:line_id, :project, "
            ":budget_id, :line, :category, :description, :recoupable_from, "
            ":recording_id, :currency, NULL, NULL, NULL, :revised, :reallocated, "
            ":drawn, :increased, :committed, :open_committed, :actual, :paid, "
            ":exposure, :overrun, :forecast, :forecast_basis, :variance, "
            ":forecast_variance) ON CONFLICT (line_id) DO UPDATE SET "
            "category = excluded.category, description = excluded.description, "
            "recoupable_from = excluded.recoupable_from, "
            "recording_id = excluded.recording_id, "
            "currency = CASE WHEN excluded.currency = '' THEN {lines}.currency "
            "ELSE excluded.currency END",
            params,
        )

    def _line(self, db: Db, line_id: str) -> dict[str, Any]:
        found = db.row("SELECT * FROM {lines} WHERE line_id = :id", {"id": line_id})
        if found is None:
            raise LookupError(f"ledger event for unknown line {line_id}")
        return found
