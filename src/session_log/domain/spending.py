"""The ledger of one budget line: funding, commitments, costs, payments, advances.

Figures (all integer minor units):

- ``funded``: the line's revised amount (approved amount, plus reallocations,
  contingency draws and increases);
- ``actual``: costs incurred plus advances paid;
- ``exposure``: actual plus what is still committed and not yet invoiced, the best
  figure known of what the line will cost;
- ``paid``: payments plus advances;
- ``overrun``: exposure beyond funded.

Overrun policy: a commitment or an advance (a decision to spend) beyond the funded
amount is refused. A cost incurred beyond it is a fact and is recorded, flagged with
its overrun; the line then takes no new commitments, and nothing beyond the funded
amount is paid, until a contingency draw, a reallocation or an increase covers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from session_log.domain.base import DecisionEvent, DecisionMeta
from session_log.domain.budget import LineCategory, Recoupable, ResolvedLine
from session_log.domain.common import OpenableAggregate, OpeningEvent, Payload
from session_log.domain.money import Money
from session_log.errors import (
    AlreadyExists,
    FundsExceeded,
    InvalidCommand,
    InvalidState,
    UnknownReference,
)

RevisionCause = Literal["reallocation", "contingency_draw", "increase"]


class LineFundedPayload(Payload, frozen=True, kw_only=True):
    budget_id: str
    budget_version: int
    line: str
    category: LineCategory
    description: str
    recoupable_from: Recoupable
    recording_id: str | None
    amount: Money
    """The amount the approved version gives the line."""
    previous_funded: Money
    funded: Money
    exposure: Money


class LineRevisedPayload(Payload, frozen=True, kw_only=True):
    budget_id: str
    cause: RevisionCause
    cause_ref: str
    """The reallocation, draw or increase id in the budget."""
    delta: Money
    funded: Money
    exposure: Money
    overrun: Money


class SpendCommittedPayload(Payload, frozen=True, kw_only=True):
    commitment: str
    payee_id: str
    amount: Money
    description: str
    session_id: str | None
    recording_id: str | None
    exposure: Money
    funded: Money


class CommitmentCancelledPayload(Payload, frozen=True, kw_only=True):
    commitment: str
    payee_id: str
    amount: Money
    released: Money
    exposure: Money


class CostIncurredPayload(Payload, frozen=True, kw_only=True):
    cost: str
    payee_id: str
    amount: Money
    invoice_ref: str
    commitment: str | None
    session_id: str | None
    recording_id: str | None
    recoupable_from: Recoupable
    exposure: Money
    funded: Money
    overrun: Money
    """Exposure beyond funded after this cost; zero when within the line."""


class CostCorrectedPayload(Payload, frozen=True, kw_only=True):
    cost: str
    payee_id: str
    amount: Money
    previous_amount: Money
    exposure: Money
    overrun: Money


class PaymentRecordedPayload(Payload, frozen=True, kw_only=True):
    payment: str
    cost: str
    payee_id: str
    amount: Money
    cost_paid: Money
    paid: Money


class AdvancePaidPayload(Payload, frozen=True, kw_only=True):
    advance: str
    payee_id: str
    amount: Money
    recoupable_from: Recoupable
    paid: Money
    exposure: Money


# --- events ---


class LineFunded(OpeningEvent):
    """An approved budget version set the line's amount."""

    payload: LineFundedPayload

    def apply(self, aggregate: LineLedger) -> None:
        p = self.payload
        aggregate.budget_id = p.budget_id
        aggregate.line = p.line
        aggregate.category = p.category
        aggregate.recoupable_from = p.recoupable_from
        aggregate.recording_id = p.recording_id
        aggregate.currency = p.funded.currency
        aggregate.funded = p.funded.amount


class LineRevised(DecisionEvent):
    """The line's revised amount changed by a reallocation, draw or increase."""

    payload: LineRevisedPayload

    def apply(self, aggregate: LineLedger) -> None:
        aggregate.funded = self.payload.funded.amount


class SpendCommitted(DecisionEvent):
    """Money was committed against the line (a booking, an order, a quote)."""

    payload: SpendCommittedPayload

    def apply(self, aggregate: LineLedger) -> None:
        p = self.payload
        aggregate.entries.add(p.commitment)
        aggregate.commitments[p.commitment] = Commitment(
            payee_id=p.payee_id, amount=p.amount.amount
        )


class CommitmentCancelled(DecisionEvent):
    """A commitment was cancelled, releasing what was not invoiced."""

    payload: CommitmentCancelledPayload

    def apply(self, aggregate: LineLedger) -> None:
        aggregate.commitments[self.payload.commitment].open = False


class CostIncurred(DecisionEvent):
    """A cost was incurred (an invoice); flagged when it overruns the line."""

    payload: CostIncurredPayload

    def apply(self, aggregate: LineLedger) -> None:
        p = self.payload
        aggregate.entries.add(p.cost)
        aggregate.costs[p.cost] = Cost(
            payee_id=p.payee_id, amount=p.amount.amount, commitment=p.commitment
        )
        if p.commitment is not None:
            aggregate.commitments[p.commitment].invoiced += p.amount.amount


class CostCorrected(DecisionEvent):
    """A recorded cost was corrected (the old amount stays in the history)."""

    payload: CostCorrectedPayload

    def apply(self, aggregate: LineLedger) -> None:
        p = self.payload
        cost = aggregate.costs[p.cost]
        if cost.commitment is not None:
            commitment = aggregate.commitments[cost.commitment]
            commitment.invoiced += p.amount.amount - cost.amount
        cost.amount = p.amount.amount


class PaymentRecorded(DecisionEvent):
    """A cost was paid (in part or in full)."""

    payload: PaymentRecordedPayload

    def apply(self, aggregate: LineLedger) -> None:
        p = self.payload
        aggregate.entries.add(p.payment)
        aggregate.costs[p.cost].paid += p.amount.amount


class AdvancePaid(DecisionEvent):
    """An advance was paid, recoupable from the artist's or producer's royalties."""

    payload: AdvancePaidPayload

    def apply(self, aggregate: LineLedger) -> None:
        aggregate.entries.add(self.payload.advance)
        aggregate.advances[self.payload.advance] = self.payload.amount.amount


# --- aggregate ---


@dataclass
class Commitment:
    payee_id: str
    amount: int
    invoiced: int = 0
    open: bool = True


@dataclass
class Cost:
    payee_id: str
    amount: int
    commitment: str | None
    paid: int = 0


class LineLedger(OpenableAggregate):
    """The money of one budget line."""

    KIND = "line"

    def __init__(self) -> None:
        self.budget_id = ""
        self.line = ""
        self.category: LineCategory = "other"
        self.recoupable_from: Recoupable = "artist"
        self.recording_id: str | None = None
        self.currency = ""
        self.funded = 0
        self.commitments: dict[str, Commitment] = {}
        self.costs: dict[str, Cost] = {}
        self.advances: dict[str, int] = {}
        self.entries: set[str] = set()

    # --- figures ---

    def money(self, amount: int) -> Money:
        return Money(amount=amount, currency=self.currency)

    @property
    def actual(self) -> int:
        return sum(c.amount for c in self.costs.values()) + sum(self.advances.values())

    @property
    def outstanding(self) -> int:
        return sum(
            max(0, c.amount - c.invoiced) for c in self.commitments.values() if c.open
        )

    @property
    def exposure(self) -> int:
        return self.actual + self.outstanding

    @property
    def paid(self) -> int:
        return sum(c.paid for c in self.costs.values()) + sum(self.advances.values())

    def exposure_if(self, extra_actual: int, commitment: str | None) -> int:
        """The exposure if ``extra_actual`` more were invoiced (to ``commitment``)."""
        outstanding = 0
        for key, state in self.commitments.items():
            if state.open:
                invoiced = state.invoiced + (extra_actual if key == commitment else 0)
                outstanding += max(0, state.amount - invoiced)
        return self.actual + extra_actual + outstanding

    @property
    def available(self) -> int:
        return self.funded - self.exposure

    @property
    def overrun(self) -> int:
        return max(0, self.exposure - self.funded)

    # --- checks ---

    def _new_entry(self, key: str, field: str) -> None:
        if key in self.entries:
            msg = f"{field}: {key!r} is already used on line {self.line}"
            raise AlreadyExists(msg, field=field)

    def _spendable(self) -> None:
        if self.category == "contingency":
            msg = (
                "line: nothing is spent from the contingency line directly; "
                "draw from it into the line that needs it"
            )
            raise InvalidState(msg, field="line")

    def _within(self, amount: int, what: str) -> None:
        if self.exposure + amount > self.funded:
            msg = (
                f"{what} of {self.money(amount)} would take line {self.line} to "
                f"{self.money(self.exposure + amount)} against a revised amount of "
                f"{self.money(self.funded)}: it needs an approved contingency draw, "
                "reallocation or increase first"
            )
            raise FundsExceeded(msg, field="amount")

    # --- decisions ---

    @classmethod
    def fund(
        cls,
        existing: LineLedger | None,
        meta: DecisionMeta,
        budget_id: str,
        budget_version: int,
        line: ResolvedLine,
    ) -> LineLedger:
        previous = existing.funded if existing is not None else 0
        exposure = existing.exposure if existing is not None else 0
        paid = existing.paid if existing is not None else 0
        if line.amount.amount < paid:
            paid_money = Money(amount=paid, currency=line.amount.currency)
            msg = (
                f"line {line.line} has paid {paid_money}: budget version "
                f"{budget_version} cannot give it only {line.amount}"
            )
            raise FundsExceeded(msg, field="budget_version")
        currency = line.amount.currency
        payload = LineFundedPayload(
            budget_id=budget_id,
            budget_version=budget_version,
            line=line.line,
            category=line.category,
            description=line.description,
            recoupable_from=line.recoupable_from,
            recording_id=line.recording_id,
            amount=line.amount,
            previous_funded=Money(amount=previous, currency=currency),
            funded=line.amount,
            exposure=Money(amount=exposure, currency=currency),
        )
        return cls.emit_opening(existing, LineFunded, line.line_id, meta, payload)

    def revise(
        self, meta: DecisionMeta, delta: int, cause: RevisionCause, cause_ref: str
    ) -> None:
        funded = self.funded + delta
        if delta < 0 and funded < self.exposure:
            msg = (
                f"line {self.line} has {self.money(self.exposure)} committed or spent: "
                f"only {self.money(max(0, self.available))} can move out of it"
            )
            raise FundsExceeded(msg, field="amount")
        self._emit(
            LineRevised,
            meta,
            LineRevisedPayload(
                budget_id=self.budget_id,
                cause=cause,
                cause_ref=cause_ref,
                delta=self.money(delta),
                funded=self.money(funded),
                exposure=self.money(self.exposure),
                overrun=self.money(max(0, self.exposure - funded)),
            ),
        )

    def commit(
        self,
        meta: DecisionMeta,
        commitment: str,
        payee_id: str,
        amount: Money,
        description: str,
        session_id: str | None,
        recording_id: str | None,
    ) -> None:
        self._new_entry(commitment, "commitment")
        self._spendable()
        if not description.strip():
            msg = "description: say what is committed"
            raise InvalidCommand(msg, field="description")
        self._within(amount.amount, "a commitment")
        self._emit(
            SpendCommitted,
            meta,
            SpendCommittedPayload(
                commitment=commitment,
                payee_id=payee_id,
                amount=amount,
                description=description,
                session_id=session_id,
                recording_id=recording_id,
                exposure=self.money(self.exposure + amount.amount),
                funded=self.money(self.funded),
            ),
        )

    def cancel_commitment(self, meta: DecisionMeta, commitment: str) -> None:
        state = self.commitments.get(commitment)
        if state is None:
            msg = f"commitment: line {self.line} has no commitment {commitment!r}"
            raise UnknownReference(msg, field="commitment")
        if not state.open:
            msg = f"commitment {commitment} is already cancelled"
            raise InvalidState(msg, field="commitment")
        if not meta.reason:
            msg = "reason: say why the commitment is cancelled"
            raise InvalidCommand(msg, field="reason")
        released = max(0, state.amount - state.invoiced)
        self._emit(
            CommitmentCancelled,
            meta,
            CommitmentCancelledPayload(
                commitment=commitment,
                payee_id=state.payee_id,
                amount=self.money(state.amount),
                released=self.money(released),
                exposure=self.money(self.exposure - released),
            ),
        )

    def incur(
        self,
        meta: DecisionMeta,
        cost: str,
        payee_id: str,
        amount: Money,
        invoice_ref: str,
        commitment: str | None,
        session_id: str | None,
        recording_id: str | None,
    ) -> None:
        self._new_entry(cost, "cost")
        self._spendable()
        if not invoice_ref.strip():
            msg = "invoice_ref: give the invoice reference"
            raise InvalidCommand(msg, field="invoice_ref")
        if commitment is not None:
            state = self.commitments.get(commitment)
            if state is None:
                msg = f"commitment: line {self.line} has no commitment {commitment!r}"
                raise UnknownReference(msg, field="commitment")
            if not state.open:
                msg = f"commitment {commitment} is cancelled"
                raise InvalidState(msg, field="commitment")
            if state.payee_id != payee_id:
                msg = f"payee: commitment {commitment} is to {state.payee_id}"
                raise InvalidCommand(msg, field="payee")
        exposure = self.exposure_if(amount.amount, commitment)
        self._emit(
            CostIncurred,
            meta,
            CostIncurredPayload(
                cost=cost,
                payee_id=payee_id,
                amount=amount,
                invoice_ref=invoice_ref,
                commitment=commitment,
                session_id=session_id,
                recording_id=recording_id,
                recoupable_from=self.recoupable_from,
                exposure=self.money(exposure),
                funded=self.money(self.funded),
                overrun=self.money(max(0, exposure - self.funded)),
            ),
        )

    def cost(self, cost: str) -> Cost:
        try:
            return self.costs[cost]
        except KeyError:
            msg = f"cost: line {self.line} has no cost {cost!r}"
            raise UnknownReference(msg, field="cost") from None

    def correct_cost(self, meta: DecisionMeta, cost: str, amount: Money) -> None:
        state = self.cost(cost)
        if not meta.reason:
            msg = "reason: say why the cost is corrected"
            raise InvalidCommand(msg, field="reason")
        if amount.amount == state.amount:
            msg = f"amount: cost {cost} is already {amount}"
            raise InvalidState(msg, field="amount")
        if amount.amount < state.paid:
            msg = f"amount: {self.money(state.paid)} of cost {cost} is already paid"
            raise InvalidState(msg, field="amount")
        old_amount = state.amount
        exposure = self.exposure_if(amount.amount - old_amount, state.commitment)
        self._emit(
            CostCorrected,
            meta,
            CostCorrectedPayload(
                cost=cost,
                payee_id=state.payee_id,
                amount=amount,
                previous_amount=self.money(old_amount),
                exposure=self.money(exposure),
                overrun=self.money(max(0, exposure - self.funded)),
            ),
        )

    def pay(self, meta: DecisionMeta, payment: str, cost: str, amount: Money) -> None:
        self._new_entry(payment, "payment")
        state = self.cost(cost)
        unpaid = state.amount - state.paid
        if amount.amount > unpaid:
            msg = f"amount: only {self.money(unpaid)} of cost {cost} is unpaid"
            raise InvalidState(msg, field="amount")
        if self.paid + amount.amount > self.funded:
            msg = (
                f"paying {amount} would take line {self.line}'s payments to "
                f"{self.money(self.paid + amount.amount)}, beyond its revised amount "
                f"of {self.money(self.funded)}: the overrun needs an approved "
                "contingency draw, reallocation or increase before it is paid"
            )
            raise FundsExceeded(msg, field="amount")
        self._emit(
            PaymentRecorded,
            meta,
            PaymentRecordedPayload(
                payment=payment,
                cost=cost,
                payee_id=state.payee_id,
                amount=amount,
                cost_paid=self.money(state.paid + amount.amount),
                paid=self.money(self.paid + amount.amount),
            ),
        )

    def pay_advance(
        self,
        meta: DecisionMeta,
        advance: str,
        payee_id: str,
        amount: Money,
        recoupable_from: Recoupable,
    ) -> None:
        self._new_entry(advance, "advance")
        self._spendable()
        self._within(amount.amount, "an advance")
        self._emit(
            AdvancePaid,
            meta,
            AdvancePaidPayload(
                advance=advance,
                payee_id=payee_id,
                amount=amount,
                recoupable_from=recoupable_from,
                paid=self.money(self.paid + amount.amount),
                exposure=self.money(self.exposure + amount.amount),
            ),
        )
