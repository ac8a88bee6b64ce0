"""The budget: versions of line items, submission, rejection, approval with
co-approval, and the revisions of an approved budget (reallocations, contingency
draws, increases).

The budget decides amounts; each line's ledger (:mod:`.spending`) holds the money
actually committed, incurred and paid, and receives every change of the line's
revised amount in the same atomic save as the decision that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from session_log.domain.base import DecisionEvent, DecisionMeta, split_id
from session_log.domain.common import OpenableAggregate, OpeningEvent, Payload
from session_log.domain.money import Money, require_currency
from session_log.domain.project import Policy
from session_log.errors import (
    AlreadyExists,
    BudgetVersionNotDecidable,
    CapacityNotHeld,
    InvalidCommand,
    InvalidState,
    LimitExceeded,
    UnknownReference,
)

LineCategory = Literal[
    "studio",
    "engineer",
    "union_musicians",
    "producer_fee",
    "mixing",
    "mastering",
    "equipment",
    "cartage",
    "travel",
    "contingency",
    "other",
]
Recoupable = Literal["artist", "producer", "label", "none"]
VersionStatus = Literal["draft", "submitted", "rejected", "approved", "superseded"]
RequestStatus = Literal["requested", "approved", "rejected"]


class LineItem(Payload, frozen=True, kw_only=True):
    """A budget line as drafted."""

    line: str
    category: LineCategory
    description: str
    amount: Money | None = None
    """Required except for a contingency line given as a percentage."""
    contingency_bp: int | None = None
    """Contingency as basis points of the other lines' subtotal (1000 = 10%)."""
    recoupable_from: Recoupable = "artist"
    recording_id: str | None = None
    """The recording the line is for, when it is per song (mixing, mastering)."""


class ResolvedLine(Payload, frozen=True, kw_only=True):
    """A budget line with its amount worked out (contingency included)."""

    line_id: str
    """The line's ledger aggregate id."""
    line: str
    category: LineCategory
    description: str
    amount: Money
    recoupable_from: Recoupable
    recording_id: str | None = None


class BudgetVersionDraftedPayload(Payload, frozen=True, kw_only=True):
    budget_version: int
    lines: tuple[LineItem, ...]
    based_on_version: int | None
    superseded_versions: tuple[int, ...]


class BudgetLineSetPayload(Payload, frozen=True, kw_only=True):
    budget_version: int
    line: LineItem
    previous: LineItem | None


class BudgetLineRemovedPayload(Payload, frozen=True, kw_only=True):
    budget_version: int
    line: str
    previous: LineItem


class BudgetVersionSubmittedPayload(Payload, frozen=True, kw_only=True):
    budget_version: int
    lines: tuple[ResolvedLine, ...]
    total: Money
    co_approval_threshold: Money
    needs_co_approval: bool


class BudgetVersionRejectedPayload(Payload, frozen=True, kw_only=True):
    budget_version: int
    total: Money


class BudgetApprovalGivenPayload(Payload, frozen=True, kw_only=True):
    budget_version: int
    total: Money
    approvals: tuple[str, ...]
    """Capacities that have approved the version so far, this one included."""
    required: tuple[str, ...]


class BudgetVersionApprovedPayload(Payload, frozen=True, kw_only=True):
    budget_version: int
    lines: tuple[ResolvedLine, ...]
    total: Money
    approvals: tuple[str, ...]
    replaces_version: int | None


class BudgetReallocatedPayload(Payload, frozen=True, kw_only=True):
    reallocation: str
    from_line_id: str
    to_line_id: str
    amount: Money
    producer_limit: Money


class ContingencyDrawPayload(Payload, frozen=True, kw_only=True):
    draw: str
    line_id: str
    contingency_line_id: str
    amount: Money


class BudgetIncreasePayload(Payload, frozen=True, kw_only=True):
    increase: str
    line_id: str
    amount: Money
    approved_total: Money
    """The approved total before (request, rejection) or after (approval)."""


# --- events ---


class BudgetVersionDrafted(OpeningEvent):
    """The producer drafted a budget version; undecided older versions lapse."""

    payload: BudgetVersionDraftedPayload

    def apply(self, aggregate: Budget) -> None:
        p = self.payload
        for number in p.superseded_versions:
            aggregate.versions[number].status = "superseded"
        aggregate.versions[p.budget_version] = BudgetVersion(
            number=p.budget_version, lines={item.line: item for item in p.lines}
        )


class BudgetLineSet(DecisionEvent):
    """A line of a draft budget version was added or changed."""

    payload: BudgetLineSetPayload

    def apply(self, aggregate: Budget) -> None:
        line = self.payload.line
        aggregate.versions[self.payload.budget_version].lines[line.line] = line


class BudgetLineRemoved(DecisionEvent):
    """A line was removed from a draft budget version."""

    payload: BudgetLineRemovedPayload

    def apply(self, aggregate: Budget) -> None:
        del aggregate.versions[self.payload.budget_version].lines[self.payload.line]


class BudgetVersionSubmitted(DecisionEvent):
    """A budget version was submitted for approval."""

    payload: BudgetVersionSubmittedPayload

    def apply(self, aggregate: Budget) -> None:
        aggregate.versions[self.payload.budget_version].status = "submitted"


class BudgetVersionRejected(DecisionEvent):
    """A submitted budget version was rejected (reason given)."""

    payload: BudgetVersionRejectedPayload

    def apply(self, aggregate: Budget) -> None:
        aggregate.versions[self.payload.budget_version].status = "rejected"


class BudgetApprovalGiven(DecisionEvent):
    """The label (or, over the threshold, the executive) approved a version."""

    payload: BudgetApprovalGivenPayload

    def apply(self, aggregate: Budget) -> None:
        version = aggregate.versions[self.payload.budget_version]
        version.approvals = list(self.payload.approvals)


class BudgetVersionApproved(DecisionEvent):
    """Every required approval is in: the version is the budget in force."""

    payload: BudgetVersionApprovedPayload

    def apply(self, aggregate: Budget) -> None:
        p = self.payload
        if p.replaces_version is not None:
            aggregate.versions[p.replaces_version].status = "superseded"
        aggregate.versions[p.budget_version].status = "approved"
        aggregate.approved_version = p.budget_version
        aggregate.approved_lines = {line.line: line for line in p.lines}
        aggregate.approved_total = p.total


class BudgetReallocated(DecisionEvent):
    """Money moved between two lines of the approved budget."""

    payload: BudgetReallocatedPayload

    def apply(self, aggregate: Budget) -> None:
        aggregate.references.add(self.payload.reallocation)


class ContingencyDrawRequested(DecisionEvent):
    """The producer asked to move contingency money to a line."""

    payload: ContingencyDrawPayload

    def apply(self, aggregate: Budget) -> None:
        p = self.payload
        aggregate.references.add(p.draw)
        aggregate.draws[p.draw] = Request(line=p.line_id, amount=p.amount)


class ContingencyDrawApproved(DecisionEvent):
    """The label approved a contingency draw; the money moved."""

    payload: ContingencyDrawPayload

    def apply(self, aggregate: Budget) -> None:
        aggregate.draws[self.payload.draw].status = "approved"


class ContingencyDrawRejected(DecisionEvent):
    """The label rejected a contingency draw (reason given)."""

    payload: ContingencyDrawPayload

    def apply(self, aggregate: Budget) -> None:
        aggregate.draws[self.payload.draw].status = "rejected"


class BudgetIncreaseRequested(DecisionEvent):
    """An increase of the approved total was requested for a line."""

    payload: BudgetIncreasePayload

    def apply(self, aggregate: Budget) -> None:
        p = self.payload
        aggregate.references.add(p.increase)
        aggregate.increases[p.increase] = Request(line=p.line_id, amount=p.amount)


class BudgetIncreaseApproved(DecisionEvent):
    """The executive approved an increase: the approved total grew."""

    payload: BudgetIncreasePayload

    def apply(self, aggregate: Budget) -> None:
        aggregate.increases[self.payload.increase].status = "approved"
        aggregate.approved_total = self.payload.approved_total


class BudgetIncreaseRejected(DecisionEvent):
    """The executive rejected an increase (reason given)."""

    payload: BudgetIncreasePayload

    def apply(self, aggregate: Budget) -> None:
        aggregate.increases[self.payload.increase].status = "rejected"


# --- aggregate ---


@dataclass
class BudgetVersion:
    number: int
    lines: dict[str, LineItem]
    status: VersionStatus = "draft"
    approvals: list[str] = field(default_factory=list)


@dataclass
class Request:
    line: str
    amount: Money
    status: RequestStatus = "requested"


def check_line_item(item: LineItem, currency: str, field: str = "line") -> None:
    if not item.description.strip():
        msg = f"{field}.description: must not be blank"
        raise InvalidCommand(msg, field=f"{field}.description")
    if item.category == "contingency":
        if (item.amount is None) == (item.contingency_bp is None):
            msg = f"{field}: a contingency line has an amount or contingency_bp"
            raise InvalidCommand(msg, field=f"{field}.contingency_bp")
        if item.contingency_bp is not None and not 0 < item.contingency_bp <= 5000:
            msg = f"{field}.contingency_bp: between 1 and 5000 (0.01% to 50%)"
            raise InvalidCommand(msg, field=f"{field}.contingency_bp")
    else:
        if item.amount is None:
            msg = f"{field}.amount: required"
            raise InvalidCommand(msg, field=f"{field}.amount")
        if item.contingency_bp is not None:
            msg = f"{field}.contingency_bp: only for the contingency line"
            raise InvalidCommand(msg, field=f"{field}.contingency_bp")
    if item.amount is not None:
        require_currency(item.amount, currency, f"{field}.amount")
        if item.amount.amount < 0:
            msg = f"{field}.amount: must not be negative"
            raise InvalidCommand(msg, field=f"{field}.amount")


def check_lines(lines: tuple[LineItem, ...] | list[LineItem], currency: str) -> None:
    if not lines:
        msg = "lines: a budget needs at least one line"
        raise InvalidCommand(msg, field="lines")
    seen: set[str] = set()
    contingency = 0
    for index, item in enumerate(lines):
        check_line_item(item, currency, f"lines[{index}]")
        if item.line in seen:
            msg = f"lines[{index}].line: {item.line!r} appears twice"
            raise InvalidCommand(msg, field=f"lines[{index}].line")
        seen.add(item.line)
        contingency += item.category == "contingency"
    if contingency > 1:
        msg = "lines: a budget has at most one contingency line"
        raise InvalidCommand(msg, field="lines")


class Budget(OpenableAggregate):
    """The project budget: versions and revisions of the approved one."""

    KIND = "budget"
    LOCAL = "main"

    def __init__(self) -> None:
        self.versions: dict[int, BudgetVersion] = {}
        self.approved_version: int | None = None
        self.approved_lines: dict[str, ResolvedLine] = {}
        self.approved_total: Money | None = None
        self.draws: dict[str, Request] = {}
        self.increases: dict[str, Request] = {}
        self.references: set[str] = set()

    # --- queries ---

    @property
    def project(self) -> str:
        return split_id(self.id)[0]

    def line_id(self, line: str) -> str:
        return f"{self.project}.line.{line}"

    def budget_version(self, number: int) -> BudgetVersion:
        try:
            return self.versions[number]
        except KeyError:
            msg = f"budget_version: there is no budget version {number}"
            raise UnknownReference(msg, field="budget_version") from None

    def resolve(self, number: int, currency: str) -> tuple[ResolvedLine, ...]:
        """The version's lines with amounts, the contingency worked out."""
        lines = list(self.budget_version(number).lines.values())
        subtotal = Money.zero(currency)
        for item in lines:
            if item.category != "contingency" and item.amount is not None:
                subtotal = subtotal + item.amount
        resolved = []
        for item in lines:
            if item.amount is not None:
                amount = item.amount
            else:
                amount = subtotal.percent_bp(item.contingency_bp or 0)
            resolved.append(
                ResolvedLine(
                    line_id=self.line_id(item.line),
                    line=item.line,
                    category=item.category,
                    description=item.description,
                    amount=amount,
                    recoupable_from=item.recoupable_from,
                    recording_id=item.recording_id,
                )
            )
        return tuple(resolved)

    @staticmethod
    def total_of(lines: tuple[ResolvedLine, ...], currency: str) -> Money:
        total = Money.zero(currency)
        for line in lines:
            total = total + line.amount
        return total

    def approved_line(self, line: str, field: str = "line") -> ResolvedLine:
        if self.approved_version is None:
            msg = "the budget has no approved version yet"
            raise InvalidState(msg, field=field)
        try:
            return self.approved_lines[line]
        except KeyError:
            msg = f"{field}: {line!r} is not a line of the approved budget"
            raise UnknownReference(msg, field=field) from None

    @property
    def contingency_line(self) -> ResolvedLine | None:
        for line in self.approved_lines.values():
            if line.category == "contingency":
                return line
        return None

    def _new_reference(self, reference: str, field: str) -> None:
        if reference in self.references:
            msg = f"{field}: {reference!r} is already used in this budget"
            raise AlreadyExists(msg, field=field)

    def _require_draft(self, number: int) -> BudgetVersion:
        version = self.budget_version(number)
        if version.status != "draft":
            msg = f"budget version {number} is {version.status}, not a draft"
            raise InvalidState(msg, field="budget_version")
        return version

    def _require_decidable(self, number: int) -> BudgetVersion:
        version = self.budget_version(number)
        if version.status != "submitted":
            reason = {
                "draft": "not submitted yet",
                "superseded": "superseded by a later version",
                "rejected": "already rejected",
                "approved": "already approved",
            }[version.status]
            msg = f"budget version {number} cannot be decided: it is {reason}"
            raise BudgetVersionNotDecidable(msg, field="budget_version")
        return version

    # --- drafting ---

    @classmethod
    def draft(
        cls,
        existing: Budget | None,
        originator_id: str,
        meta: DecisionMeta,
        lines: tuple[LineItem, ...],
        based_on: int | None,
        currency: str,
    ) -> Budget:
        if based_on is not None:
            if existing is None or based_on not in existing.versions:
                msg = f"based_on_version: there is no budget version {based_on}"
                raise UnknownReference(msg, field="based_on_version")
            if not lines:
                lines = tuple(existing.versions[based_on].lines.values())
        check_lines(lines, currency)
        number = 1
        superseded: tuple[int, ...] = ()
        if existing is not None:
            number = max(existing.versions) + 1
            superseded = tuple(
                n
                for n, v in existing.versions.items()
                if v.status in ("draft", "submitted")
            )
        payload = BudgetVersionDraftedPayload(
            budget_version=number,
            lines=lines,
            based_on_version=based_on,
            superseded_versions=superseded,
        )
        return cls.emit_opening(
            existing, BudgetVersionDrafted, originator_id, meta, payload
        )

    def set_line(
        self, meta: DecisionMeta, number: int, item: LineItem, currency: str
    ) -> None:
        version = self._require_draft(number)
        check_line_item(item, currency)
        previous = version.lines.get(item.line)
        if previous == item:
            msg = f"line {item.line!r} is unchanged"
            raise InvalidState(msg, field="line")
        lines = dict(version.lines)
        lines[item.line] = item
        check_lines(list(lines.values()), currency)
        self._emit(
            BudgetLineSet,
            meta,
            BudgetLineSetPayload(budget_version=number, line=item, previous=previous),
        )

    def remove_line(self, meta: DecisionMeta, number: int, line: str) -> None:
        version = self._require_draft(number)
        if line not in version.lines:
            msg = f"line: version {number} has no line {line!r}"
            raise UnknownReference(msg, field="line")
        if len(version.lines) == 1:
            msg = "line: a budget version keeps at least one line"
            raise InvalidState(msg, field="line")
        self._emit(
            BudgetLineRemoved,
            meta,
            BudgetLineRemovedPayload(
                budget_version=number, line=line, previous=version.lines[line]
            ),
        )

    def submit(
        self, meta: DecisionMeta, number: int, policy: Policy, currency: str
    ) -> None:
        self._require_draft(number)
        lines = self.resolve(number, currency)
        total = self.total_of(lines, currency)
        if total.amount <= 0:
            msg = "lines: the budget total must be positive"
            raise InvalidCommand(msg, field="lines")
        threshold = policy.budget_co_approval_threshold
        self._emit(
            BudgetVersionSubmitted,
            meta,
            BudgetVersionSubmittedPayload(
                budget_version=number,
                lines=lines,
                total=total,
                co_approval_threshold=threshold,
                needs_co_approval=total.gt(threshold),
            ),
        )

    # --- deciding ---

    def reject(self, meta: DecisionMeta, number: int, currency: str) -> None:
        self._require_decidable(number)
        if not meta.reason:
            msg = "reason: say why the budget is rejected"
            raise InvalidCommand(msg, field="reason")
        total = self.total_of(self.resolve(number, currency), currency)
        self._emit(
            BudgetVersionRejected,
            meta,
            BudgetVersionRejectedPayload(budget_version=number, total=total),
        )

    def approve(
        self, meta: DecisionMeta, number: int, policy: Policy, currency: str
    ) -> tuple[ResolvedLine, ...] | None:
        """Record an approval; return the lines if the version is now in force."""
        version = self._require_decidable(number)
        lines = self.resolve(number, currency)
        total = self.total_of(lines, currency)
        threshold = policy.budget_co_approval_threshold
        required = ["label_approver"]
        if total.gt(threshold):
            required.append("executive_approver")
        if meta.capacity not in required:
            msg = (
                f"a total of {total} is within the co-approval threshold of "
                f"{threshold}: only the label approver approves it"
            )
            raise CapacityNotHeld(msg, field="capacity")
        if meta.capacity in version.approvals:
            msg = f"budget version {number} is already approved as {meta.capacity}"
            raise AlreadyExists(msg, field="capacity")
        approvals = (*version.approvals, meta.capacity)
        self._emit(
            BudgetApprovalGiven,
            meta,
            BudgetApprovalGivenPayload(
                budget_version=number,
                total=total,
                approvals=approvals,
                required=tuple(required),
            ),
        )
        if not all(capacity in approvals for capacity in required):
            return None
        self._emit(
            BudgetVersionApproved,
            meta,
            BudgetVersionApprovedPayload(
                budget_version=number,
                lines=lines,
                total=total,
                approvals=approvals,
                replaces_version=self.approved_version,
            ),
        )
        return lines

    # --- revisions of the approved budget ---

    def reallocate(
        self,
        meta: DecisionMeta,
        reallocation: str,
        from_line: str,
        to_line: str,
        amount: Money,
        policy: Policy,
    ) -> tuple[ResolvedLine, ResolvedLine]:
        self._new_reference(reallocation, "reallocation")
        source = self.approved_line(from_line, "from_line")
        target = self.approved_line(to_line, "to_line")
        if from_line == to_line:
            msg = "to_line: must differ from from_line"
            raise InvalidCommand(msg, field="to_line")
        if "contingency" in (source.category, target.category):
            msg = (
                "from_line: contingency moves by a contingency draw, not a reallocation"
            )
            raise InvalidState(msg, field="from_line")
        limit = policy.producer_reallocation_limit
        if meta.capacity == "producer" and amount.gt(limit):
            msg = (
                f"a reallocation of {amount} is over the producer's limit of "
                f"{limit}: it needs the label approver"
            )
            raise LimitExceeded(msg, field="amount")
        self._emit(
            BudgetReallocated,
            meta,
            BudgetReallocatedPayload(
                reallocation=reallocation,
                from_line_id=source.line_id,
                to_line_id=target.line_id,
                amount=amount,
                producer_limit=limit,
            ),
        )
        return source, target

    def request_draw(
        self, meta: DecisionMeta, draw: str, line: str, amount: Money
    ) -> None:
        self._new_reference(draw, "draw")
        target = self.approved_line(line)
        contingency = self.contingency_line
        if contingency is None:
            msg = "the approved budget has no contingency line"
            raise InvalidState(msg, field="line")
        if target.category == "contingency":
            msg = "line: draw into a spending line, not the contingency itself"
            raise InvalidState(msg, field="line")
        self._emit(
            ContingencyDrawRequested,
            meta,
            ContingencyDrawPayload(
                draw=draw,
                line_id=target.line_id,
                contingency_line_id=contingency.line_id,
                amount=amount,
            ),
        )

    def _request(self, requests: dict[str, Request], key: str, what: str) -> Request:
        try:
            request = requests[key]
        except KeyError:
            msg = f"{what}: there is no {what} {key!r}"
            raise UnknownReference(msg, field=what) from None
        if request.status != "requested":
            msg = f"{what} {key} is already {request.status}"
            raise InvalidState(msg, field=what)
        return request

    def decide_draw(self, meta: DecisionMeta, draw: str, approve: bool) -> Request:
        request = self._request(self.draws, draw, "draw")
        contingency = self.contingency_line
        assert contingency is not None
        if not approve and not meta.reason:
            msg = "reason: say why the draw is rejected"
            raise InvalidCommand(msg, field="reason")
        payload = ContingencyDrawPayload(
            draw=draw,
            line_id=request.line,
            contingency_line_id=contingency.line_id,
            amount=request.amount,
        )
        event = ContingencyDrawApproved if approve else ContingencyDrawRejected
        self._emit(event, meta, payload)
        return request

    def request_increase(
        self, meta: DecisionMeta, increase: str, line: str, amount: Money
    ) -> None:
        self._new_reference(increase, "increase")
        target = self.approved_line(line)
        assert self.approved_total is not None
        self._emit(
            BudgetIncreaseRequested,
            meta,
            BudgetIncreasePayload(
                increase=increase,
                line_id=target.line_id,
                amount=amount,
                approved_total=self.approved_total,
            ),
        )

    def decide_increase(
        self, meta: DecisionMeta, increase: str, approve: bool
    ) -> Request:
        request = self._request(self.increases, increase, "increase")
        assert self.approved_total is not None
        if not approve and not meta.reason:
            msg = "reason: say why the increase is rejected"
            raise InvalidCommand(msg, field="reason")
        total = self.approved_total + request.amount if approve else self.approved_total
        event = BudgetIncreaseApproved if approve else BudgetIncreaseRejected
        self._emit(
            event,
            meta,
            BudgetIncreasePayload(
                increase=increase,
                line_id=request.line,
                amount=request.amount,
                approved_total=total,
            ),
        )
        return request
