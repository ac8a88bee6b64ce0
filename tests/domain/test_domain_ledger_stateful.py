"""Random sequences of money decisions against a simple model of the ledger.

Refused commands write nothing; accepted ones move the model; after every step
the application's ledgers equal the model and the ledger invariants hold: no line
pays beyond its revised amount, commitments and advances stay within it, the
contingency never goes negative and is never spent directly, and the revised
amounts always add up to the approved total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from session_log import commands as cmd
from session_log.application import SessionLog
from session_log.domain.base import aggregate_id
from session_log.domain.budget import Budget
from session_log.domain.money import Money
from session_log.domain.project import Policy
from session_log.domain.spending import LineLedger
from session_log.errors import CommandRejected, FundsExceeded

P = "prop"
LINES = {"studio": 50_000_00, "musicians": 20_000_00, "mixing": 10_000_00}
SPENDING = tuple(LINES)
LIMIT = 2_500_00
AMOUNTS = st.integers(min_value=1, max_value=300).map(lambda n: n * 100_00 // 4)
ACTORS = st.sampled_from(["rui", "lena", "victor", "sam"])


def usd(cents: int) -> Money:
    return Money(amount=cents, currency="USD")


@dataclass
class LineModel:
    funded: int
    commitments: dict[str, list[int]] = field(default_factory=dict)  # amount, invoiced
    open: set[str] = field(default_factory=set)
    costs: dict[str, list[Any]] = field(
        default_factory=dict
    )  # amount, paid, commitment
    advances: int = 0

    @property
    def actual(self) -> int:
        return int(sum(c[0] for c in self.costs.values())) + self.advances

    @property
    def exposure(self) -> int:
        outstanding = sum(
            max(0, a - i) for k, (a, i) in self.commitments.items() if k in self.open
        )
        return self.actual + outstanding

    @property
    def paid(self) -> int:
        return int(sum(c[1] for c in self.costs.values())) + self.advances


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.app = SessionLog(
            env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
            clock=lambda: datetime(2025, 3, 3, tzinfo=UTC),
        )
        self.n = 0
        self.do(
            "start_project",
            cmd.StartProject,
            "lena",
            title="T",
            main_artist="A",
            founder_name="Lena",
            founder_capacities=("label_approver",),
            policy=Policy(
                producer_reallocation_limit=usd(LIMIT),
                budget_co_approval_threshold=usd(10**9),
            ),
        )
        for token, capacity in (("rui", "producer"), ("victor", "executive_approver")):
            self.do("", cmd.RegisterParty, "lena", party=token, name=token)
            self.do("", cmd.GrantCapacity, "lena", party=token, capacity=capacity)
        self.do("", cmd.RegisterParty, "rui", party="sam", name="sam")
        self.do("", cmd.GrantCapacity, "rui", party="sam", capacity="engineer")
        self.do("", cmd.RegisterParty, "rui", party="payee", name="payee")
        lines = [
            cmd.LineInput(
                line=name, category="other", description=name, amount=usd(cents)
            )
            for name, cents in LINES.items()
        ]
        lines.append(
            cmd.LineInput(
                line="contingency",
                category="contingency",
                description="c",
                contingency_bp=1000,
            )
        )
        self.do("", cmd.DraftBudgetVersion, "rui", lines=tuple(lines))
        self.do("", cmd.SubmitBudgetVersion, "rui", budget_version=1)
        self.do("", cmd.ApproveBudgetVersion, "lena", budget_version=1)
        self.model = {name: LineModel(funded=cents) for name, cents in LINES.items()}
        self.contingency = sum(LINES.values()) // 10
        self.total = sum(LINES.values()) + self.contingency
        self.draws: dict[str, tuple[str, int]] = {}
        self.increases: dict[str, tuple[str, int]] = {}

    # --- plumbing -------------------------------------------------------------------

    def do(self, _: str, command_class: type[Any], actor: str, **fields: Any) -> bool:
        """Submit; True if accepted. A refusal must record nothing."""
        self.n += 1
        command = command_class(
            command_id=f"k{self.n}", project=P, actor=actor, **fields
        )
        before = self.app.recorder.max_notification_id()
        try:
            self.app.submit(command)
        except CommandRejected:
            assert self.app.recorder.max_notification_id() == before
            return False
        return True

    def ledger(self, line: str) -> LineLedger:
        found = self.app.aggregate(aggregate_id(P, "line", line))
        assert isinstance(found, LineLedger)
        return found

    # --- rules --------------------------------------------------------------------

    @rule(line=st.sampled_from(SPENDING), amount=AMOUNTS, actor=ACTORS)
    def commit(self, line: str, amount: int, actor: str) -> None:
        m = self.model[line]
        key = f"m{self.n}"
        ok = self.do(
            "",
            cmd.CommitSpend,
            actor,
            line=line,
            commitment=key,
            payee="payee",
            amount=usd(amount),
            description="d",
        )
        allowed = actor in ("rui", "lena") and m.exposure + amount <= m.funded
        assert ok == allowed
        if ok:
            m.commitments[key] = [amount, 0]
            m.open.add(key)

    @rule(line=st.sampled_from(SPENDING), amount=AMOUNTS, against=st.booleans())
    def cost(self, line: str, amount: int, against: bool) -> None:
        m = self.model[line]
        commitment = next(iter(sorted(m.open)), None) if against else None
        key = f"c{self.n}"
        ok = self.do(
            "",
            cmd.RecordCost,
            "rui",
            line=line,
            cost=key,
            payee="payee",
            amount=usd(amount),
            invoice_ref="i",
            commitment=commitment,
        )
        assert ok, "a cost incurred is a fact: it is always recorded"
        m.costs[key] = [amount, 0, commitment]
        if commitment is not None:
            m.commitments[commitment][1] += amount

    @rule(line=st.sampled_from(SPENDING), share=st.integers(1, 4))
    def pay(self, line: str, share: int) -> None:
        m = self.model[line]
        unpaid = [(k, c) for k, c in sorted(m.costs.items()) if c[1] < c[0]]
        if not unpaid:
            return
        key, cost = unpaid[0]
        amount = max(1, (cost[0] - cost[1]) * share // 4)
        ok = self.do(
            "",
            cmd.RecordPayment,
            "lena",
            line=line,
            payment=f"p{self.n}",
            cost=key,
            amount=usd(amount),
        )
        assert ok == (m.paid + amount <= m.funded)
        if ok:
            cost[1] += amount

    @rule(line=st.sampled_from(SPENDING), amount=AMOUNTS)
    def advance(self, line: str, amount: int) -> None:
        m = self.model[line]
        ok = self.do(
            "",
            cmd.PayAdvance,
            "lena",
            line=line,
            advance=f"a{self.n}",
            payee="payee",
            amount=usd(amount),
            recoupable_from="producer",
        )
        assert ok == (m.exposure + amount <= m.funded)
        if ok:
            m.advances += amount

    @rule(line=st.sampled_from(SPENDING))
    def cancel(self, line: str) -> None:
        m = self.model[line]
        if not m.open:
            return
        key = sorted(m.open)[0]
        assert self.do(
            "", cmd.CancelCommitment, "rui", line=line, commitment=key, reason="r"
        )
        m.open.discard(key)

    @rule(line=st.sampled_from(SPENDING), amount=AMOUNTS)
    def correct(self, line: str, amount: int) -> None:
        m = self.model[line]
        if not m.costs:
            return
        key, cost = sorted(m.costs.items())[-1]
        ok = self.do(
            "",
            cmd.CorrectCost,
            "rui",
            line=line,
            cost=key,
            amount=usd(amount),
            reason="r",
        )
        assert ok == (amount != cost[0] and amount >= cost[1])
        if ok:
            if cost[2] is not None:
                m.commitments[cost[2]][1] += amount - cost[0]
            cost[0] = amount

    @rule(
        source=st.sampled_from(SPENDING),
        dest=st.sampled_from(SPENDING),
        amount=AMOUNTS,
        actor=ACTORS,
    )
    def reallocate(self, source: str, dest: str, amount: int, actor: str) -> None:
        src, dst = self.model[source], self.model[dest]
        ok = self.do(
            "",
            cmd.ReallocateBudget,
            actor,
            reallocation=f"r{self.n}",
            from_line=source,
            to_line=dest,
            amount=usd(amount),
        )
        authorised = actor == "lena" or (actor == "rui" and amount <= LIMIT)
        allowed = authorised and source != dest and src.funded - amount >= src.exposure
        assert ok == allowed
        if ok:
            src.funded -= amount
            dst.funded += amount

    @rule(line=st.sampled_from(SPENDING), amount=AMOUNTS)
    def request_draw(self, line: str, amount: int) -> None:
        key = f"d{self.n}"
        ok = self.do(
            "",
            cmd.RequestContingencyDraw,
            "rui",
            draw=key,
            line=line,
            amount=usd(amount),
        )
        assert ok == (amount <= self.contingency)
        if ok:
            self.draws[key] = (line, amount)

    @rule(approve=st.booleans(), data=st.data())
    def decide_draw(self, approve: bool, data: st.DataObject) -> None:
        if not self.draws:
            return
        key = data.draw(st.sampled_from(sorted(self.draws)))
        line, amount = self.draws.pop(key)
        if approve:
            ok = self.do("", cmd.ApproveContingencyDraw, "lena", draw=key)
            assert ok == (amount <= self.contingency)
            if ok:
                self.contingency -= amount
                self.model[line].funded += amount
        else:
            assert self.do("", cmd.RejectContingencyDraw, "lena", draw=key, reason="r")

    @rule(line=st.sampled_from(SPENDING), amount=AMOUNTS, approve=st.booleans())
    def increase(self, line: str, amount: int, approve: bool) -> None:
        key = f"i{self.n}"
        assert self.do(
            "",
            cmd.RequestBudgetIncrease,
            "rui",
            increase=key,
            line=line,
            amount=usd(amount),
        )
        if approve:
            assert self.do("", cmd.ApproveBudgetIncrease, "victor", increase=key)
            self.model[line].funded += amount
            self.total += amount
        else:
            assert not self.do("", cmd.ApproveBudgetIncrease, "lena", increase=key)
            assert self.do(
                "", cmd.RejectBudgetIncrease, "victor", increase=key, reason="r"
            )

    @rule(line=st.sampled_from((*SPENDING, "contingency")))
    def spend_from_contingency_is_refused(self, line: str) -> None:
        if line != "contingency":
            return
        assert not self.do(
            "",
            cmd.CommitSpend,
            "rui",
            line=line,
            commitment=f"x{self.n}",
            payee="payee",
            amount=usd(1),
            description="d",
        )

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def ledgers_equal_the_model(self) -> None:
        for name, m in self.model.items():
            ledger = self.ledger(name)
            assert ledger.funded == m.funded
            assert ledger.actual == m.actual
            assert ledger.exposure == m.exposure
            assert ledger.paid == m.paid
            assert ledger.paid <= ledger.funded
            for cost in ledger.costs.values():
                assert 0 <= cost.paid <= cost.amount
        contingency = self.ledger("contingency")
        assert contingency.funded == self.contingency >= 0
        assert contingency.exposure == 0

    @invariant()
    def revised_amounts_add_up_to_the_approved_total(self) -> None:
        funded = sum(self.ledger(n).funded for n in (*SPENDING, "contingency"))
        budget = self.app.aggregate(aggregate_id(P, "budget", "main"))
        assert isinstance(budget, Budget)
        assert budget.approved_total == usd(funded)
        assert funded == self.total


TestLedger = LedgerMachine.TestCase
TestLedger.settings = settings(
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_funds_exceeded_is_an_invariant_violation() -> None:
    assert issubclass(FundsExceeded, CommandRejected)
