"""What the budget and the line-ledger handlers of the cost ledger share."""

from __future__ import annotations

from typing import Any

from projections.records import DecisionRecord
from projections.sql_view import Db
from projections.views.cost_ledger.tables import ZERO_FIGURES
from projections.views.dispatch import KindDispatchDefinition

LINE_ROWS = "line_rows"
"""``Db.scratch`` key: the rows of the lines a batch's events name, by line id,
read once for the batch. Only what names a line is used from them (recording,
account, currency), which only :meth:`LedgerDefinitionBase._ensure_line`
changes: it drops the line's row, read again when next needed."""


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
        db.scratch.get(LINE_ROWS, {}).pop(params["line_id"], None)  # read again
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
        """The line's row, for what names it (recording, account, currency):
        from the batch's rows read up front (:data:`LINE_ROWS`) when there."""
        known: dict[str, dict[str, Any]] | None = db.scratch.get(LINE_ROWS)
        if known is not None and line_id in known:
            return known[line_id]
        found = db.row("SELECT * FROM {lines} WHERE line_id = :id", {"id": line_id})
        if found is None:
            raise LookupError(f"ledger event for unknown line {line_id}")
        if known is not None:
            known[line_id] = found
        return found
