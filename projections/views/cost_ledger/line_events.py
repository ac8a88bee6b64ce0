"""Line-ledger events: funding, revisions, commitments, costs, payments, advances.

Each becomes a row of ``cost_ledger_entries``; at the end of a batch the touched
lines' figures and accounts are recomputed from their entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections.records import DecisionRecord
from projections.sql_view import Db
from projections.views.batch_reads import rows_for
from projections.views.cost_ledger.common import LINE_ROWS, LedgerDefinitionBase
from projections.views.dispatch import amount, handles

LINE_KINDS = frozenset(
    {
        "LineFunded",
        "LineRevised",
        "SpendCommitted",
        "CommitmentCancelled",
        "CostIncurred",
        "CostCorrected",
        "PaymentRecorded",
        "AdvancePaid",
    }
)
"""The events of a line's ledger (their aggregate is the line)."""

COST_KINDS = frozenset({"CostCorrected", "PaymentRecorded"})
"""The events that name a cost incurred before them."""

COST_ROWS = "cost_rows"
"""``Db.scratch`` key: what names each cost of the lines a batch's
:data:`COST_KINDS` events are on, by (line id, cost), read once for the batch;
the costs incurred in the batch are added as they come."""

COST_NAMES = "commitment, recording_id, account"
"""The columns of a cost that name it, fixed once it is incurred."""


class LineEvents(LedgerDefinitionBase):
    """Handlers of the line ledgers' events."""

    @handles("LineFunded")
    def _funded(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        self._ensure_line(
            db,
            r,
            line=p.line,
            category=p.category,
            description=p.description,
            recoupable_from=p.recoupable_from,
            recording_id=p.recording_id,
            currency=p.funded.currency,
            budget_id=p.budget_id,
        )
        db.execute(
            "UPDATE {lines} SET approved = :approved, approved_version = :version, "
            "budget_id = :budget_id WHERE line_id = :line_id",
            {
                "approved": amount(p.amount),
                "version": p.budget_version,
                "budget_id": p.budget_id,
                "line_id": r.aggregate_id,
            },
        )
        delta = amount(p.funded) - amount(p.previous_funded)
        self._entry(db, r, ref=f"v{p.budget_version}", revised=delta)

    @handles("LineRevised")
    def _revised(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        self._entry(db, r, ref=p.cause_ref, cause=p.cause, revised=amount(p.delta))

    @handles("SpendCommitted")
    def _committed(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        line = self._line(db, r.aggregate_id)
        db.execute(
            "INSERT INTO {commitments} (line_id, commitment, project, payee_id, "
            "description, amount, invoiced, is_open, session_id, recording_id, "
            "event_id) VALUES (:line_id, :commitment, :project, :payee_id, "
            ":description, :amount, 0, :open, :session_id, :recording_id, :event_id)",
            {
                "line_id": r.aggregate_id,
                "commitment": p.commitment,
                "project": r.project,
                "payee_id": p.payee_id,
                "description": p.description,
                "amount": amount(p.amount),
                "open": True,
                "session_id": p.session_id,
                "recording_id": p.recording_id or line["recording_id"],
                "event_id": r.event_id,
            },
        )
        self._entry(
            db,
            r,
            ref=p.commitment,
            payee_id=p.payee_id,
            recording_id=p.recording_id or line["recording_id"],
            committed=amount(p.amount),
            line=line,
        )

    @handles("CommitmentCancelled")
    def _cancelled(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        db.execute(
            "UPDATE {commitments} SET is_open = :closed WHERE line_id = :line_id "
            "AND commitment = :commitment",
            {"closed": False, "line_id": r.aggregate_id, "commitment": p.commitment},
        )
        found = db.row(
            "SELECT recording_id FROM {commitments} WHERE line_id = :line_id "
            "AND commitment = :commitment",
            {"line_id": r.aggregate_id, "commitment": p.commitment},
        )
        self._entry(
            db,
            r,
            ref=p.commitment,
            payee_id=p.payee_id,
            recording_id=found["recording_id"] if found else None,
            committed=-amount(p.released),
        )

    @handles("CostIncurred")
    def _cost(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        line = self._line(db, r.aggregate_id)
        recording_id = p.recording_id or line["recording_id"]
        db.execute(
            "INSERT INTO {costs} (line_id, cost, project, payee_id, invoice_ref, "
            "amount, paid, commitment, account, session_id, recording_id, overrun, "
            "event_id) VALUES (:line_id, :cost, :project, :payee_id, :invoice_ref, "
            ":amount, 0, :commitment, :account, :session_id, :recording_id, "
            ":overrun, :event_id)",
            {
                "line_id": r.aggregate_id,
                "cost": p.cost,
                "project": r.project,
                "payee_id": p.payee_id,
                "invoice_ref": p.invoice_ref,
                "amount": amount(p.amount),
                "commitment": p.commitment,
                "account": p.recoupable_from,
                "session_id": p.session_id,
                "recording_id": recording_id,
                "overrun": amount(p.overrun),
                "event_id": r.event_id,
            },
        )
        known = db.scratch.get(COST_ROWS)
        if known is not None:  # a payment later in the batch finds it here
            known[(r.aggregate_id, p.cost)] = {
                "commitment": p.commitment,
                "recording_id": recording_id,
                "account": p.recoupable_from,
            }
        if p.commitment is not None:
            self._invoice(db, r.aggregate_id, p.commitment, amount(p.amount))
        self._entry(
            db,
            r,
            ref=p.cost,
            payee_id=p.payee_id,
            recording_id=recording_id,
            account=p.recoupable_from,
            actual=amount(p.amount),
            line=line,
        )

    @handles("CostCorrected")
    def _cost_corrected(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        cost = self._cost_row(db, r.aggregate_id, p.cost)
        delta = amount(p.amount) - amount(p.previous_amount)
        db.execute(
            "UPDATE {costs} SET amount = :amount WHERE line_id = :line_id "
            "AND cost = :cost",
            {"amount": amount(p.amount), "line_id": r.aggregate_id, "cost": p.cost},
        )
        if cost["commitment"] is not None:
            self._invoice(db, r.aggregate_id, cost["commitment"], delta)
        self._entry(
            db,
            r,
            ref=p.cost,
            payee_id=p.payee_id,
            recording_id=cost["recording_id"],
            account=cost["account"],
            actual=delta,
        )

    @handles("PaymentRecorded")
    def _payment(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        cost = self._cost_row(db, r.aggregate_id, p.cost)
        db.execute(
            "UPDATE {costs} SET paid = paid + :amount WHERE line_id = :line_id "
            "AND cost = :cost",
            {"amount": amount(p.amount), "line_id": r.aggregate_id, "cost": p.cost},
        )
        self._entry(
            db,
            r,
            ref=p.payment,
            payee_id=p.payee_id,
            recording_id=cost["recording_id"],
            account=cost["account"],
            paid=amount(p.amount),
        )

    @handles("AdvancePaid")
    def _advance(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        line = self._line(db, r.aggregate_id)
        value = amount(p.amount)
        self._entry(
            db,
            r,
            ref=p.advance,
            payee_id=p.payee_id,
            recording_id=line["recording_id"],
            account=p.recoupable_from,
            actual=value,
            paid=value,
            line=line,
        )

    def _invoice(self, db: Db, line_id: str, commitment: str, delta: int) -> None:
        db.execute(
            "UPDATE {commitments} SET invoiced = invoiced + :delta "
            "WHERE line_id = :line_id AND commitment = :commitment",
            {"delta": delta, "line_id": line_id, "commitment": commitment},
        )

    def _cost_row(self, db: Db, line_id: str, cost: str) -> dict[str, Any]:
        """What names a cost (its commitment, recording and account; none of
        them changes once it is incurred): from the batch's rows read up front
        (:data:`COST_ROWS`) when there."""
        known: dict[tuple[str, str], dict[str, Any]] | None = db.scratch.get(COST_ROWS)
        if known is not None and (line_id, cost) in known:
            return known[(line_id, cost)]
        found = db.row(
            f"SELECT {COST_NAMES} FROM {{costs}} WHERE line_id = :line_id "
            "AND cost = :cost",
            {"line_id": line_id, "cost": cost},
        )
        if found is None:
            raise LookupError(f"unknown cost {cost} on {line_id}")
        if known is not None:
            known[(line_id, cost)] = found
        return found

    def _entry(
        self,
        db: Db,
        r: DecisionRecord,
        *,
        ref: str | None = None,
        cause: str | None = None,
        payee_id: str | None = None,
        recording_id: str | None = None,
        account: str | None = None,
        revised: int = 0,
        committed: int = 0,
        actual: int = 0,
        paid: int = 0,
        line: dict[str, Any] | None = None,
    ) -> None:
        """An entry of the event's line (``line``: its row, when the handler
        has just read it)."""
        if line is None:
            line = self._line(db, r.aggregate_id)
        db.execute(
            "INSERT INTO {entries} (stream, position, line_id, project, event_id, "
            "kind, ref, cause, payee_id, recording_id, account, currency, "
            "occurred_at, revised_delta, committed_delta, actual_delta, paid_delta) "
            "VALUES (:stream, :position, :line_id, :project, :event_id, :kind, :ref, "
            ":cause, :payee_id, :recording_id, :account, :currency, :occurred_at, "
            ":revised, :committed, :actual, :paid)",
            {
                "stream": r.stream,
                "position": r.position,
                "line_id": r.aggregate_id,
                "project": r.project,
                "event_id": r.event_id,
                "kind": r.kind,
                "ref": ref,
                "cause": cause,
                "payee_id": payee_id,
                "recording_id": recording_id or line["recording_id"],
                "account": account or line["recoupable_from"],
                "currency": line["currency"],
                "occurred_at": r.occurred_at,
                "revised": revised,
                "committed": committed,
                "actual": actual,
                "paid": paid,
            },
        )
        db.scratch.setdefault("lines", set()).add(r.aggregate_id)
        if actual or paid:
            db.scratch.setdefault("accounts", set()).add(
                (r.project, account or line["recoupable_from"], line["currency"])
            )

    def apply_many(self, db: Db, records: Sequence[DecisionRecord]) -> None:
        """Apply the events, then recompute once each line and account touched:
        the rows of the lines the events name read together first, the lines'
        sums together at the end (two statements per batch), the accounts' in
        their upserts."""
        line_ids = sorted({r.aggregate_id for r in records if r.kind in LINE_KINDS})
        db.scratch[LINE_ROWS] = {
            row["line_id"]: row
            for row in rows_for(
                db, "SELECT * FROM {lines} WHERE line_id {ids}", line_ids
            )
        }
        costed = sorted({r.aggregate_id for r in records if r.kind in COST_KINDS})
        db.scratch[COST_ROWS] = {
            (row["line_id"], row["cost"]): row
            for row in rows_for(
                db,
                f"SELECT line_id, cost, {COST_NAMES} FROM {{costs}} "
                "WHERE line_id {ids}",
                costed,
            )
        }
        for record in records:
            self.apply(db, record)
        self._refresh_lines(db, sorted(db.scratch.pop("lines", set())))
        for project, account, currency in sorted(db.scratch.pop("accounts", set())):
            self._refresh_account(db, project, account, currency)

    def _refresh_lines(self, db: Db, line_ids: list[str]) -> None:
        if not line_ids:
            return
        sums = {
            row["line_id"]: row
            for row in rows_for(
                db,
                "SELECT line_id, COALESCE(SUM(revised_delta), 0) AS revised, "
                "COALESCE(SUM(CASE WHEN cause = 'reallocation' THEN revised_delta "
                "ELSE 0 END), 0) AS reallocated, "
                "COALESCE(SUM(CASE WHEN cause = 'contingency_draw' "
                "THEN revised_delta ELSE 0 END), 0) AS drawn, "
                "COALESCE(SUM(CASE WHEN cause = 'increase' THEN revised_delta "
                "ELSE 0 END), 0) AS increased, "
                "COALESCE(SUM(committed_delta), 0) AS committed, "
                "COALESCE(SUM(actual_delta), 0) AS actual, "
                "COALESCE(SUM(paid_delta), 0) AS paid "
                "FROM {entries} WHERE line_id {ids} GROUP BY line_id",
                line_ids,
            )
        }
        open_committed = {
            row["line_id"]: int(row["open"])
            for row in rows_for(
                db,
                "SELECT line_id, COALESCE(SUM(CASE WHEN amount > invoiced "
                "THEN amount - invoiced ELSE 0 END), 0) AS open "
                "FROM {commitments} WHERE line_id {ids} AND is_open = :yes "
                "GROUP BY line_id",
                line_ids,
                {"yes": True},
            )
        }
        db.executemany(
            "UPDATE {lines} SET revised = :revised, reallocated = :reallocated, "
            "drawn = :drawn, increased = :increased, committed = :committed, "
            "open_committed = :open, actual = :actual, paid = :paid, "
            "exposure = :exposure, overrun = :overrun, forecast = :forecast, "
            "forecast_basis = :basis, variance = :variance, "
            "forecast_variance = :forecast_variance WHERE line_id = :line_id",
            [
                _figures(line_id, sums.get(line_id), open_committed.get(line_id, 0))
                for line_id in line_ids
            ],
        )

    def _refresh_account(
        self, db: Db, project: str, account: str, currency: str
    ) -> None:
        db.execute(  # the sums read in the statement: no round trip
            "INSERT INTO {accounts} (project, account, currency, recoupable, paid) "
            "SELECT CAST(:project AS TEXT), CAST(:account AS TEXT), "
            "CAST(:currency AS TEXT), COALESCE(SUM(actual_delta), 0), "
            "COALESCE(SUM(paid_delta), 0) FROM {entries} "
            "WHERE project = :project AND account = :account "
            "AND currency = :currency "
            "ON CONFLICT (project, account, currency) DO UPDATE SET "
            "recoupable = excluded.recoupable, paid = excluded.paid",
            {"project": project, "account": account, "currency": currency},
        )


def _figures(
    line_id: str, sums: dict[str, Any] | None, open_committed: int
) -> dict[str, Any]:
    """A line's figures from the sums of its entries and its open commitments."""
    sums = sums or {}
    revised = int(sums.get("revised", 0))
    actual = int(sums.get("actual", 0))
    paid = int(sums.get("paid", 0))
    exposure = actual + open_committed
    if not (actual or open_committed):
        forecast, basis = revised, "estimated"
    else:
        forecast = exposure
        basis = "quoted" if open_committed else "actual" if actual > paid else "paid"
    return {
        "revised": revised,
        "reallocated": int(sums.get("reallocated", 0)),
        "drawn": int(sums.get("drawn", 0)),
        "increased": int(sums.get("increased", 0)),
        "committed": int(sums.get("committed", 0)),
        "open": open_committed,
        "actual": actual,
        "paid": paid,
        "exposure": exposure,
        "overrun": max(exposure - revised, 0),
        "forecast": forecast,
        "basis": basis,
        "variance": revised - actual,
        "forecast_variance": revised - forecast,
        "line_id": line_id,
    }
