"""Budget versions, approvals, revisions; commitments, costs, payments, advances."""

from __future__ import annotations

from typing import Any

import pytest
from domain_support import STANDARD_LINES, World, kinds, line, party, pid, usd

from session_log import commands as cmd
from session_log.domain.budget import (
    BudgetApprovalGivenPayload,
    BudgetIncreasePayload,
    BudgetLineRemovedPayload,
    BudgetLineSetPayload,
    BudgetReallocatedPayload,
    BudgetVersionApprovedPayload,
    BudgetVersionDraftedPayload,
    BudgetVersionRejectedPayload,
    BudgetVersionSubmittedPayload,
    ContingencyDrawPayload,
    LineCategory,
    LineItem,
    ResolvedLine,
)
from session_log.domain.money import Money
from session_log.domain.spending import (
    AdvancePaidPayload,
    CommitmentCancelledPayload,
    CostCorrectedPayload,
    CostIncurredPayload,
    LineFundedPayload,
    LineRevisedPayload,
    PaymentRecordedPayload,
    SpendCommittedPayload,
)
from session_log.errors import (
    AlreadyExists,
    BudgetVersionNotDecidable,
    CapacityNotHeld,
    CurrencyMismatch,
    FundsExceeded,
    InvalidCommand,
    InvalidState,
    LimitExceeded,
    UnknownReference,
)

BUDGET = pid("budget", "main")


def item(name: str, category: LineCategory, dollars: int) -> LineItem:
    return LineItem(
        line=name, category=category, description=f"{name} line", amount=usd(dollars)
    )


def resolved(name: str, category: LineCategory, dollars: int) -> ResolvedLine:
    return ResolvedLine(
        line_id=pid("line", name),
        line=name,
        category=category,
        description=f"{name} line" if category != "contingency" else "contingency",
        amount=usd(dollars),
        recoupable_from="artist",
    )


STANDARD_RESOLVED = (
    resolved("studio", "studio", 50_000),
    resolved("musicians", "union_musicians", 20_000),
    resolved("mixing", "mixing", 10_000),
    resolved("contingency", "contingency", 8_000),
)


def test_draft_budget_version(world: World) -> None:
    events = world.do(cmd.DraftBudgetVersion, "rui", lines=STANDARD_LINES)
    assert kinds(events) == [("BudgetVersionDrafted", BUDGET)]
    assert events[0].meta == world.meta("rui", "producer")
    assert events[0].payload == BudgetVersionDraftedPayload(
        budget_version=1,
        lines=(
            item("studio", "studio", 50_000),
            item("musicians", "union_musicians", 20_000),
            item("mixing", "mixing", 10_000),
            LineItem(
                line="contingency",
                category="contingency",
                description="contingency",
                contingency_bp=1000,
            ),
        ),
        based_on_version=None,
        superseded_versions=(),
    )


def test_draft_refusals(world: World) -> None:
    w = world
    w.refuse(CapacityNotHeld, cmd.DraftBudgetVersion, "lena", lines=STANDARD_LINES)
    w.refuse(InvalidCommand, cmd.DraftBudgetVersion, "rui", lines=())
    dup = (line("a", "studio", 1), line("a", "studio", 2))
    error = w.refuse(InvalidCommand, cmd.DraftBudgetVersion, "rui", lines=dup)
    assert error.field == "lines[1].line"
    euros = (
        cmd.LineInput(
            line="a",
            category="studio",
            description="d",
            amount=Money(amount=1, currency="EUR"),
        ),
    )
    error = w.refuse(CurrencyMismatch, cmd.DraftBudgetVersion, "rui", lines=euros)
    assert error.field == "lines[0].amount"
    no_amount = (cmd.LineInput(line="a", category="studio", description="d"),)
    w.refuse(InvalidCommand, cmd.DraftBudgetVersion, "rui", lines=no_amount)
    two_contingencies = (
        cmd.LineInput(
            line="c1", category="contingency", description="d", contingency_bp=5
        ),
        cmd.LineInput(
            line="c2", category="contingency", description="d", contingency_bp=5
        ),
    )
    w.refuse(InvalidCommand, cmd.DraftBudgetVersion, "rui", lines=two_contingencies)
    w.refuse(UnknownReference, cmd.DraftBudgetVersion, "rui", based_on_version=3)
    w.refuse(
        UnknownReference,
        cmd.DraftBudgetVersion,
        "rui",
        lines=(line("a", "mixing", 1, recording="ghost"),),
    )


def test_edit_submit_reject_redraft(world: World) -> None:
    w = world
    w.do(cmd.DraftBudgetVersion, "rui", lines=STANDARD_LINES)
    events = w.do(
        cmd.SetBudgetLine, "rui", budget_version=1, line=line("travel", "travel", 3_000)
    )
    assert kinds(events) == [("BudgetLineSet", BUDGET)]
    assert events[0].payload == BudgetLineSetPayload(
        budget_version=1, line=item("travel", "travel", 3_000), previous=None
    )
    events = w.do(
        cmd.SetBudgetLine, "rui", budget_version=1, line=line("travel", "travel", 2_000)
    )
    assert events[0].payload.previous == item("travel", "travel", 3_000)
    w.refuse(
        InvalidState,
        cmd.SetBudgetLine,
        "rui",
        budget_version=1,
        line=line("travel", "travel", 2_000),
    )
    events = w.do(cmd.RemoveBudgetLine, "rui", budget_version=1, line="travel")
    assert kinds(events) == [("BudgetLineRemoved", BUDGET)]
    assert events[0].payload == BudgetLineRemovedPayload(
        budget_version=1, line="travel", previous=item("travel", "travel", 2_000)
    )
    w.refuse(
        UnknownReference, cmd.RemoveBudgetLine, "rui", budget_version=1, line="travel"
    )
    w.refuse(CapacityNotHeld, cmd.SubmitBudgetVersion, "lena", budget_version=1)
    w.refuse(
        BudgetVersionNotDecidable, cmd.ApproveBudgetVersion, "lena", budget_version=1
    )
    events = w.do(cmd.SubmitBudgetVersion, "rui", budget_version=1)
    assert kinds(events) == [("BudgetVersionSubmitted", BUDGET)]
    assert events[0].payload == BudgetVersionSubmittedPayload(
        budget_version=1,
        lines=STANDARD_RESOLVED,
        total=usd(88_000),
        co_approval_threshold=usd(100_000),
        needs_co_approval=False,
    )
    w.refuse(
        InvalidState,
        cmd.SetBudgetLine,
        "rui",
        budget_version=1,
        line=line("x", "other", 1),
    )
    w.refuse(InvalidState, cmd.SubmitBudgetVersion, "rui", budget_version=1)
    w.refuse(InvalidCommand, cmd.RejectBudgetVersion, "lena", budget_version=1)
    w.refuse(
        CapacityNotHeld, cmd.RejectBudgetVersion, "rui", budget_version=1, reason="x"
    )
    events = w.do(cmd.RejectBudgetVersion, "lena", budget_version=1, reason="Too much")
    assert kinds(events) == [("BudgetVersionRejected", BUDGET)]
    assert events[0].payload == BudgetVersionRejectedPayload(
        budget_version=1, total=usd(88_000)
    )
    error = w.refuse(
        BudgetVersionNotDecidable, cmd.ApproveBudgetVersion, "lena", budget_version=1
    )
    assert "already rejected" in str(error)
    events = w.do(cmd.DraftBudgetVersion, "rui", based_on_version=1)
    assert events[0].payload.lines[0] == item("studio", "studio", 50_000)
    assert events[0].payload.based_on_version == 1


def test_a_new_draft_supersedes_undecided_versions(world: World) -> None:
    w = world
    w.do(cmd.DraftBudgetVersion, "rui", lines=STANDARD_LINES)
    w.do(cmd.SubmitBudgetVersion, "rui", budget_version=1)
    events = w.do(cmd.DraftBudgetVersion, "rui", lines=STANDARD_LINES[:2])
    assert events[0].payload.superseded_versions == (1,)
    error = w.refuse(
        BudgetVersionNotDecidable, cmd.ApproveBudgetVersion, "lena", budget_version=1
    )
    assert "superseded" in str(error)


def test_approval_funds_every_line(world: World) -> None:
    w = world
    w.do(cmd.DraftBudgetVersion, "rui", lines=STANDARD_LINES)
    w.do(cmd.SubmitBudgetVersion, "rui", budget_version=1)
    w.refuse(CapacityNotHeld, cmd.ApproveBudgetVersion, "rui", budget_version=1)
    error = w.refuse(
        CapacityNotHeld, cmd.ApproveBudgetVersion, "victor", budget_version=1
    )
    assert "only the label approver" in str(error)
    events = w.do(cmd.ApproveBudgetVersion, "lena", budget_version=1)
    assert kinds(events) == [
        ("BudgetApprovalGiven", BUDGET),
        ("BudgetVersionApproved", BUDGET),
        ("LineFunded", pid("line", "studio")),
        ("LineFunded", pid("line", "musicians")),
        ("LineFunded", pid("line", "mixing")),
        ("LineFunded", pid("line", "contingency")),
    ]
    meta = w.meta("lena", "label_approver")
    assert all(e.meta == meta for e in events)
    assert events[0].payload == BudgetApprovalGivenPayload(
        budget_version=1,
        total=usd(88_000),
        approvals=("label_approver",),
        required=("label_approver",),
    )
    assert events[1].payload == BudgetVersionApprovedPayload(
        budget_version=1,
        lines=STANDARD_RESOLVED,
        total=usd(88_000),
        approvals=("label_approver",),
        replaces_version=None,
    )
    assert events[5].payload == LineFundedPayload(
        budget_id=BUDGET,
        budget_version=1,
        line="contingency",
        category="contingency",
        description="contingency",
        recoupable_from="artist",
        recording_id=None,
        amount=usd(8_000),
        previous_funded=usd(0),
        funded=usd(8_000),
        exposure=usd(0),
    )
    w.refuse(
        BudgetVersionNotDecidable, cmd.ApproveBudgetVersion, "lena", budget_version=1
    )


def test_a_total_over_the_threshold_needs_executive_co_approval(world: World) -> None:
    w = world
    lines = (line("studio", "studio", 150_000),)
    w.do(cmd.DraftBudgetVersion, "rui", lines=lines)
    events = w.do(cmd.SubmitBudgetVersion, "rui", budget_version=1)
    assert events[0].payload.needs_co_approval is True
    events = w.do(cmd.ApproveBudgetVersion, "lena", budget_version=1)
    assert kinds(events) == [("BudgetApprovalGiven", BUDGET)]
    assert events[0].payload.required == ("label_approver", "executive_approver")
    w.refuse(AlreadyExists, cmd.ApproveBudgetVersion, "lena", budget_version=1)
    w.refuse(
        UnknownReference,
        cmd.CommitSpend,
        "rui",
        line="studio",
        commitment="c",
        payee="studio",
        amount=usd(1),
        description="d",
    )
    events = w.do(cmd.ApproveBudgetVersion, "victor", budget_version=1)
    assert kinds(events) == [
        ("BudgetApprovalGiven", BUDGET),
        ("BudgetVersionApproved", BUDGET),
        ("LineFunded", pid("line", "studio")),
    ]
    assert events[0].meta == w.meta("victor", "executive_approver")
    assert events[1].payload.approvals == ("label_approver", "executive_approver")


def test_executive_may_approve_first(world: World) -> None:
    w = world
    w.do(cmd.DraftBudgetVersion, "rui", lines=(line("studio", "studio", 150_000),))
    w.do(cmd.SubmitBudgetVersion, "rui", budget_version=1)
    assert kinds(w.do(cmd.ApproveBudgetVersion, "victor", budget_version=1)) == [
        ("BudgetApprovalGiven", BUDGET)
    ]
    assert len(w.do(cmd.ApproveBudgetVersion, "lena", budget_version=1)) == 3


def test_a_later_version_replaces_the_funding(funded: World) -> None:
    w = funded
    w.do(cmd.DraftBudgetVersion, "rui", based_on_version=1)
    w.do(cmd.RemoveBudgetLine, "rui", budget_version=2, line="mixing")
    w.do(
        cmd.SetBudgetLine,
        "rui",
        budget_version=2,
        line=line("studio", "studio", 55_000),
    )
    w.do(cmd.SubmitBudgetVersion, "rui", budget_version=2)
    events = w.do(cmd.ApproveBudgetVersion, "lena", budget_version=2)
    assert kinds(events)[2:] == [
        ("LineFunded", pid("line", "studio")),
        ("LineFunded", pid("line", "musicians")),
        ("LineFunded", pid("line", "contingency")),
        ("LineFunded", pid("line", "mixing")),
    ]
    assert events[1].payload.replaces_version == 1
    assert events[2].payload.previous_funded == usd(50_000)
    assert events[2].payload.funded == usd(55_000)
    assert events[5].payload.funded == usd(0)
    assert w.get("budget", "main").versions[1].status == "superseded"


# --- spending -------------------------------------------------------------------------


def commit(w: World, name: str, dollars: int, line_: str = "studio") -> list[Any]:
    return w.do(
        cmd.CommitSpend,
        "rui",
        line=line_,
        commitment=name,
        payee="studio",
        amount=usd(dollars),
        description=f"{name} booking",
    )


def test_commit_spend(funded: World) -> None:
    w = funded
    events = commit(w, "block", 40_000)
    assert kinds(events) == [("SpendCommitted", pid("line", "studio"))]
    assert events[0].payload == SpendCommittedPayload(
        commitment="block",
        payee_id=party("studio"),
        amount=usd(40_000),
        description="block booking",
        session_id=None,
        recording_id=None,
        exposure=usd(40_000),
        funded=usd(50_000),
    )
    error = w.refuse(
        FundsExceeded,
        cmd.CommitSpend,
        "rui",
        line="studio",
        commitment="x",
        payee="studio",
        amount=usd(10_001),
        description="d",
    )
    assert "needs an approved contingency draw" in str(error)
    base = {"payee": "studio", "description": "d"}
    w.refuse(
        AlreadyExists,
        cmd.CommitSpend,
        "rui",
        line="studio",
        commitment="block",
        amount=usd(1),
        **base,
    )
    w.refuse(
        InvalidState,
        cmd.CommitSpend,
        "rui",
        line="contingency",
        commitment="x",
        amount=usd(1),
        **base,
    )
    w.refuse(
        UnknownReference,
        cmd.CommitSpend,
        "rui",
        line="ghost",
        commitment="x",
        amount=usd(1),
        **base,
    )
    w.refuse(
        InvalidCommand,
        cmd.CommitSpend,
        "rui",
        line="studio",
        commitment="x",
        amount=usd(0),
        **base,
    )
    w.refuse(
        CurrencyMismatch,
        cmd.CommitSpend,
        "rui",
        line="studio",
        commitment="x",
        amount=Money(amount=1, currency="EUR"),
        **base,
    )
    w.refuse(
        CapacityNotHeld,
        cmd.CommitSpend,
        "studio",
        line="studio",
        commitment="x",
        amount=usd(1),
        **base,
    )
    w.refuse(
        UnknownReference,
        cmd.CommitSpend,
        "rui",
        line="studio",
        commitment="x",
        amount=usd(1),
        session="ghost",
        **base,
    )


def test_cancel_commitment(funded: World) -> None:
    w = funded
    commit(w, "block", 40_000)
    w.do(
        cmd.RecordCost,
        "studio",
        line="studio",
        cost="inv1",
        amount=usd(15_000),
        invoice_ref="HS-1",
        commitment="block",
    )
    w.refuse(
        InvalidCommand, cmd.CancelCommitment, "rui", line="studio", commitment="block"
    )
    events = w.do(
        cmd.CancelCommitment, "rui", line="studio", commitment="block", reason="Moved"
    )
    assert kinds(events) == [("CommitmentCancelled", pid("line", "studio"))]
    assert events[0].payload == CommitmentCancelledPayload(
        commitment="block",
        payee_id=party("studio"),
        amount=usd(40_000),
        released=usd(25_000),
        exposure=usd(15_000),
    )
    w.refuse(
        InvalidState,
        cmd.CancelCommitment,
        "rui",
        line="studio",
        commitment="block",
        reason="x",
    )
    w.refuse(
        UnknownReference,
        cmd.CancelCommitment,
        "rui",
        line="studio",
        commitment="z",
        reason="x",
    )
    w.refuse(
        InvalidState,
        cmd.RecordCost,
        "studio",
        line="studio",
        cost="inv2",
        amount=usd(1),
        invoice_ref="x",
        commitment="block",
    )


def test_record_cost_and_the_overrun_flag(funded: World) -> None:
    w = funded
    commit(w, "block", 40_000)
    events = w.do(
        cmd.RecordCost,
        "studio",
        line="studio",
        cost="inv1",
        amount=usd(42_000),
        invoice_ref="HS-1",
        commitment="block",
    )
    assert kinds(events) == [("CostIncurred", pid("line", "studio"))]
    assert events[0].meta == w.meta("studio", "vendor")
    assert events[0].payload == CostIncurredPayload(
        cost="inv1",
        payee_id=party("studio"),
        amount=usd(42_000),
        invoice_ref="HS-1",
        commitment="block",
        session_id=None,
        recording_id=None,
        recoupable_from="artist",
        exposure=usd(42_000),
        funded=usd(50_000),
        overrun=usd(0),
    )
    events = w.do(
        cmd.RecordCost,
        "rui",
        line="studio",
        cost="inv2",
        payee="studio",
        amount=usd(9_000),
        invoice_ref="HS-2",
    )
    assert events[0].payload.overrun == usd(1_000)
    assert events[0].payload.exposure == usd(51_000)
    # the line takes no new commitment while it overruns
    w.refuse(
        FundsExceeded,
        cmd.CommitSpend,
        "rui",
        line="studio",
        commitment="more",
        payee="studio",
        amount=usd(1),
        description="d",
    )


def test_record_cost_refusals(funded: World) -> None:
    w = funded
    base = {"amount": usd(1), "invoice_ref": "X"}
    w.refuse(CapacityNotHeld, cmd.RecordCost, "studio", line="mixing", cost="c", **base)
    w.refuse(
        CapacityNotHeld,
        cmd.RecordCost,
        "studio",
        line="studio",
        cost="c",
        payee="rui",
        **base,
    )
    w.refuse(CapacityNotHeld, cmd.RecordCost, "sam", line="studio", cost="c", **base)
    w.refuse(
        UnknownReference,
        cmd.RecordCost,
        "studio",
        line="studio",
        cost="c",
        commitment="nope",
        **base,
    )
    w.refuse(
        InvalidState,
        cmd.RecordCost,
        "rui",
        line="contingency",
        cost="c",
        payee="studio",
        **base,
    )
    commit(w, "block", 1_000)
    w.refuse(
        InvalidCommand,
        cmd.RecordCost,
        "rui",
        line="studio",
        cost="c",
        payee="rui",
        commitment="block",
        **base,
    )
    w.do(cmd.RecordCost, "studio", line="studio", cost="c", **base)
    w.refuse(AlreadyExists, cmd.RecordCost, "studio", line="studio", cost="c", **base)


def test_correct_cost(funded: World) -> None:
    w = funded
    commit(w, "block", 10_000)
    w.do(
        cmd.RecordCost,
        "studio",
        line="studio",
        cost="inv",
        amount=usd(10_500),
        invoice_ref="HS-1",
        commitment="block",
    )
    w.refuse(
        InvalidCommand,
        cmd.CorrectCost,
        "studio",
        line="studio",
        cost="inv",
        amount=usd(9_800),
    )
    events = w.do(
        cmd.CorrectCost,
        "studio",
        line="studio",
        cost="inv",
        amount=usd(9_800),
        reason="Credit note",
    )
    assert kinds(events) == [("CostCorrected", pid("line", "studio"))]
    assert events[0].payload == CostCorrectedPayload(
        cost="inv",
        payee_id=party("studio"),
        amount=usd(9_800),
        previous_amount=usd(10_500),
        exposure=usd(10_000),
        overrun=usd(0),
    )
    w.refuse(
        InvalidState,
        cmd.CorrectCost,
        "rui",
        line="studio",
        cost="inv",
        amount=usd(9_800),
        reason="x",
    )
    w.do(
        cmd.RecordPayment,
        "lena",
        line="studio",
        payment="p",
        cost="inv",
        amount=usd(5_000),
    )
    w.refuse(
        InvalidState,
        cmd.CorrectCost,
        "rui",
        line="studio",
        cost="inv",
        amount=usd(4_000),
        reason="x",
    )
    w.refuse(
        UnknownReference,
        cmd.CorrectCost,
        "rui",
        line="studio",
        cost="zz",
        amount=usd(4_000),
        reason="x",
    )
    w.do(
        cmd.RecordCost,
        "rui",
        line="studio",
        cost="other",
        payee="rui",
        amount=usd(10),
        invoice_ref="R-1",
    )
    w.refuse(
        CapacityNotHeld,
        cmd.CorrectCost,
        "studio",
        line="studio",
        cost="other",
        amount=usd(5),
        reason="x",
    )


def test_record_payment_never_beyond_the_revised_amount(funded: World) -> None:
    w = funded
    w.do(
        cmd.RecordCost,
        "studio",
        line="studio",
        cost="inv",
        amount=usd(52_000),
        invoice_ref="HS-1",
    )
    events = w.do(
        cmd.RecordPayment,
        "lena",
        line="studio",
        payment="p1",
        cost="inv",
        amount=usd(50_000),
    )
    assert kinds(events) == [("PaymentRecorded", pid("line", "studio"))]
    assert events[0].payload == PaymentRecordedPayload(
        payment="p1",
        cost="inv",
        payee_id=party("studio"),
        amount=usd(50_000),
        cost_paid=usd(50_000),
        paid=usd(50_000),
    )
    error = w.refuse(
        FundsExceeded,
        cmd.RecordPayment,
        "lena",
        line="studio",
        payment="p2",
        cost="inv",
        amount=usd(2_000),
    )
    assert "before it is paid" in str(error)
    w.refuse(
        InvalidState,
        cmd.RecordPayment,
        "lena",
        line="studio",
        payment="p2",
        cost="inv",
        amount=usd(2_001),
    )
    w.refuse(
        AlreadyExists,
        cmd.RecordPayment,
        "lena",
        line="studio",
        payment="p1",
        cost="inv",
        amount=usd(1),
    )
    w.refuse(
        CapacityNotHeld,
        cmd.RecordPayment,
        "studio",
        line="studio",
        payment="p2",
        cost="inv",
        amount=usd(1),
    )
    # a contingency draw settles the overrun, then the rest is paid
    w.do(cmd.RequestContingencyDraw, "rui", draw="d1", line="studio", amount=usd(2_000))
    w.do(cmd.ApproveContingencyDraw, "lena", draw="d1")
    events = w.do(
        cmd.RecordPayment,
        "lena",
        line="studio",
        payment="p2",
        cost="inv",
        amount=usd(2_000),
    )
    assert events[0].payload.paid == usd(52_000)


def test_pay_advance(funded: World) -> None:
    w = funded
    events = w.do(
        cmd.PayAdvance,
        "lena",
        line="mixing",
        advance="a1",
        payee="rui",
        amount=usd(4_000),
        recoupable_from="producer",
    )
    assert kinds(events) == [("AdvancePaid", pid("line", "mixing"))]
    assert events[0].payload == AdvancePaidPayload(
        advance="a1",
        payee_id=party("rui"),
        amount=usd(4_000),
        recoupable_from="producer",
        paid=usd(4_000),
        exposure=usd(4_000),
    )
    base = {"payee": "rui", "recoupable_from": "producer"}
    w.refuse(
        FundsExceeded,
        cmd.PayAdvance,
        "lena",
        line="mixing",
        advance="a2",
        amount=usd(6_001),
        **base,
    )
    w.refuse(
        CapacityNotHeld,
        cmd.PayAdvance,
        "rui",
        line="mixing",
        advance="a2",
        amount=usd(1),
        **base,
    )
    w.refuse(
        AlreadyExists,
        cmd.PayAdvance,
        "lena",
        line="mixing",
        advance="a1",
        amount=usd(1),
        **base,
    )
    w.refuse(
        InvalidCommand,
        cmd.PayAdvance,
        "lena",
        line="mixing",
        advance="a2",
        amount=usd(1),
        payee="rui",
        recoupable_from="label",
    )


# --- revisions of the approved budget ------------------------------------------------


def test_reallocation_within_and_above_the_producer_limit(funded: World) -> None:
    w = funded
    events = w.do(
        cmd.ReallocateBudget,
        "rui",
        reallocation="r1",
        from_line="studio",
        to_line="mixing",
        amount=usd(2_500),
    )
    assert kinds(events) == [
        ("BudgetReallocated", BUDGET),
        ("LineRevised", pid("line", "studio")),
        ("LineRevised", pid("line", "mixing")),
    ]
    assert events[0].payload == BudgetReallocatedPayload(
        reallocation="r1",
        from_line_id=pid("line", "studio"),
        to_line_id=pid("line", "mixing"),
        amount=usd(2_500),
        producer_limit=usd(2_500),
    )
    assert events[1].payload == LineRevisedPayload(
        budget_id=BUDGET,
        cause="reallocation",
        cause_ref="r1",
        delta=usd(-2_500),
        funded=usd(47_500),
        exposure=usd(0),
        overrun=usd(0),
    )
    assert events[2].payload.funded == usd(12_500)
    error = w.refuse(
        LimitExceeded,
        cmd.ReallocateBudget,
        "rui",
        reallocation="r2",
        from_line="studio",
        to_line="mixing",
        amount=usd(2_501),
    )
    assert "needs the label approver" in str(error)
    events = w.do(
        cmd.ReallocateBudget,
        "lena",
        reallocation="r2",
        from_line="studio",
        to_line="mixing",
        amount=usd(7_500),
    )
    assert events[0].meta.capacity == "label_approver"
    w.refuse(
        AlreadyExists,
        cmd.ReallocateBudget,
        "lena",
        reallocation="r2",
        from_line="studio",
        to_line="mixing",
        amount=usd(1),
    )
    w.refuse(
        InvalidState,
        cmd.ReallocateBudget,
        "lena",
        reallocation="r3",
        from_line="contingency",
        to_line="mixing",
        amount=usd(1),
    )
    w.refuse(
        InvalidCommand,
        cmd.ReallocateBudget,
        "lena",
        reallocation="r3",
        from_line="studio",
        to_line="studio",
        amount=usd(1),
    )
    w.refuse(
        UnknownReference,
        cmd.ReallocateBudget,
        "lena",
        reallocation="r3",
        from_line="studio",
        to_line="ghost",
        amount=usd(1),
    )
    w.refuse(
        CapacityNotHeld,
        cmd.ReallocateBudget,
        "sam",
        reallocation="r3",
        from_line="studio",
        to_line="mixing",
        amount=usd(1),
    )
    commit(w, "block", 39_000)
    error = w.refuse(
        FundsExceeded,
        cmd.ReallocateBudget,
        "lena",
        reallocation="r3",
        from_line="studio",
        to_line="mixing",
        amount=usd(1_001),
    )
    assert "only USD 1,000.00 can move" in str(error)


def test_revisions_need_an_approved_budget(world: World) -> None:
    world.do(cmd.DraftBudgetVersion, "rui", lines=STANDARD_LINES)
    world.refuse(
        InvalidState,
        cmd.RequestContingencyDraw,
        "rui",
        draw="d",
        line="studio",
        amount=usd(1),
    )


def test_contingency_draws(funded: World) -> None:
    w = funded
    events = w.do(
        cmd.RequestContingencyDraw,
        "rui",
        draw="d1",
        line="musicians",
        amount=usd(3_000),
        reason="Strings overtime",
    )
    assert kinds(events) == [("ContingencyDrawRequested", BUDGET)]
    payload = ContingencyDrawPayload(
        draw="d1",
        line_id=pid("line", "musicians"),
        contingency_line_id=pid("line", "contingency"),
        amount=usd(3_000),
    )
    assert events[0].payload == payload
    w.refuse(
        InvalidState,
        cmd.RequestContingencyDraw,
        "rui",
        draw="d2",
        line="studio",
        amount=usd(8_001),
    )
    w.refuse(
        InvalidState,
        cmd.RequestContingencyDraw,
        "rui",
        draw="d2",
        line="contingency",
        amount=usd(1),
    )
    w.refuse(
        CapacityNotHeld,
        cmd.RequestContingencyDraw,
        "lena",
        draw="d2",
        line="studio",
        amount=usd(1),
    )
    w.refuse(CapacityNotHeld, cmd.ApproveContingencyDraw, "rui", draw="d1")
    w.refuse(CapacityNotHeld, cmd.ApproveContingencyDraw, "victor", draw="d1")
    w.refuse(UnknownReference, cmd.ApproveContingencyDraw, "lena", draw="zz")
    events = w.do(cmd.ApproveContingencyDraw, "lena", draw="d1")
    assert kinds(events) == [
        ("ContingencyDrawApproved", BUDGET),
        ("LineRevised", pid("line", "contingency")),
        ("LineRevised", pid("line", "musicians")),
    ]
    assert events[0].payload == payload
    assert events[1].payload.funded == usd(5_000)
    assert events[2].payload == LineRevisedPayload(
        budget_id=BUDGET,
        cause="contingency_draw",
        cause_ref="d1",
        delta=usd(3_000),
        funded=usd(23_000),
        exposure=usd(0),
        overrun=usd(0),
    )
    w.refuse(InvalidState, cmd.ApproveContingencyDraw, "lena", draw="d1")
    w.do(cmd.RequestContingencyDraw, "rui", draw="d2", line="studio", amount=usd(5_000))
    w.refuse(InvalidCommand, cmd.RejectContingencyDraw, "lena", draw="d2")
    events = w.do(cmd.RejectContingencyDraw, "lena", draw="d2", reason="Not yet")
    assert kinds(events) == [("ContingencyDrawRejected", BUDGET)]
    w.refuse(InvalidState, cmd.ApproveContingencyDraw, "lena", draw="d2")
    # two approved draws cannot take more than the contingency holds
    w.do(cmd.RequestContingencyDraw, "rui", draw="d3", line="studio", amount=usd(5_000))
    w.do(cmd.RequestContingencyDraw, "rui", draw="d4", line="mixing", amount=usd(5_000))
    w.do(cmd.ApproveContingencyDraw, "lena", draw="d3")
    w.refuse(FundsExceeded, cmd.ApproveContingencyDraw, "lena", draw="d4")


def test_budget_increases(funded: World) -> None:
    w = funded
    events = w.do(
        cmd.RequestBudgetIncrease,
        "rui",
        increase="i1",
        line="mixing",
        amount=usd(4_000),
        reason="Vinyl",
    )
    assert kinds(events) == [("BudgetIncreaseRequested", BUDGET)]
    assert events[0].payload == BudgetIncreasePayload(
        increase="i1",
        line_id=pid("line", "mixing"),
        amount=usd(4_000),
        approved_total=usd(88_000),
    )
    w.refuse(CapacityNotHeld, cmd.ApproveBudgetIncrease, "lena", increase="i1")
    events = w.do(cmd.ApproveBudgetIncrease, "victor", increase="i1")
    assert kinds(events) == [
        ("BudgetIncreaseApproved", BUDGET),
        ("LineRevised", pid("line", "mixing")),
    ]
    assert events[0].payload.approved_total == usd(92_000)
    assert events[1].payload.cause == "increase"
    assert events[1].payload.funded == usd(14_000)
    w.refuse(
        InvalidState, cmd.RejectBudgetIncrease, "victor", increase="i1", reason="x"
    )
    w.do(cmd.RequestBudgetIncrease, "lena", increase="i2", line="studio", amount=usd(1))
    w.refuse(InvalidCommand, cmd.RejectBudgetIncrease, "victor", increase="i2")
    events = w.do(cmd.RejectBudgetIncrease, "victor", increase="i2", reason="No")
    assert kinds(events) == [("BudgetIncreaseRejected", BUDGET)]
    assert events[0].payload.approved_total == usd(92_000)
    w.refuse(UnknownReference, cmd.ApproveBudgetIncrease, "victor", increase="i9")
    w.refuse(
        AlreadyExists,
        cmd.RequestBudgetIncrease,
        "rui",
        increase="i1",
        line="mixing",
        amount=usd(1),
    )
    w.refuse(
        InvalidCommand,
        cmd.RequestBudgetIncrease,
        "rui",
        increase="i3",
        line="mixing",
        amount=usd(-1),
    )


@pytest.mark.parametrize("actor", ["mara", "sam", "kofi", "max"])
def test_nobody_else_decides_money(funded: World, actor: str) -> None:
    w = funded
    w.refuse(CapacityNotHeld, cmd.ApproveBudgetVersion, actor, budget_version=1)
    w.refuse(
        CapacityNotHeld,
        cmd.ReallocateBudget,
        actor,
        reallocation="r",
        from_line="studio",
        to_line="mixing",
        amount=usd(1),
    )
    w.refuse(
        CapacityNotHeld,
        cmd.RecordPayment,
        actor,
        line="studio",
        payment="p",
        cost="c",
        amount=usd(1),
    )
