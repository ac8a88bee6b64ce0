"""A small budget history through session-log's real commands (figures in cents).

Hand-computed expectations are in test_cost_ledger.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from session_log import commands as cmd
from session_log.application import SessionLog
from session_log.domain.money import Money
from session_log.domain.project import Policy


def usd(cents: int) -> Money:
    return Money(amount=cents, currency="USD")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(hours=1)
        return self.now


def budget_story(app: SessionLog, project: str = "alb") -> None:
    ids = count(1)

    def run(command_type: type[cmd.CommandBase], actor: str, **fields: object) -> None:
        app.submit(
            command_type(  # type: ignore[call-arg]
                command_id=f"c{next(ids)}", project=project, actor=actor, **fields
            )
        )

    run(
        cmd.StartProject,
        "lena",
        title="First Light",
        main_artist="Ada Vale",
        founder_name="Lena Ortiz",
        founder_capacities=("label_approver", "executive_approver"),
        policy=Policy(
            producer_reallocation_limit=usd(50_000),
            budget_co_approval_threshold=usd(2_000_000),
        ),
    )
    run(cmd.RegisterParty, "lena", party="pat", name="Pat Quinn")
    run(cmd.GrantCapacity, "lena", party="pat", capacity="producer")
    run(cmd.RegisterParty, "lena", party="sunset", name="Sunset Sound",
        kind="organisation")  # fmt: skip
    run(cmd.GrantCapacity, "lena", party="sunset", capacity="vendor",
        budget_lines=("studio",))  # fmt: skip
    run(
        cmd.DraftBudgetVersion,
        "pat",
        lines=(
            cmd.LineInput(line="studio", category="studio", description="Studio days",
                          amount=usd(1_000_000)),
            cmd.LineInput(line="engineer", category="engineer",
                          description="Engineer days", amount=usd(300_000)),
            cmd.LineInput(line="mixing", category="mixing", description="Mixing",
                          amount=usd(200_000)),
            cmd.LineInput(line="contingency", category="contingency",
                          description="Contingency", contingency_bp=1000),
        ),
    )  # fmt: skip
    run(cmd.SubmitBudgetVersion, "pat", budget_version=1)
    run(cmd.RejectBudgetVersion, "lena", budget_version=1,
        reason="too many studio days")  # fmt: skip
    run(cmd.DraftBudgetVersion, "pat", based_on_version=1)
    run(cmd.SetBudgetLine, "pat", budget_version=2,
        line=cmd.LineInput(line="studio", category="studio",
                           description="Studio days", amount=usd(800_000)))  # fmt: skip
    run(cmd.SubmitBudgetVersion, "pat", budget_version=2)
    run(cmd.ApproveBudgetVersion, "lena", budget_version=2, acting_as="label_approver")
    run(cmd.CommitSpend, "pat", line="studio", commitment="c1", payee="sunset",
        amount=usd(500_000), description="Ten days at Sunset")  # fmt: skip
    run(cmd.RecordCost, "sunset", line="studio", cost="k1", amount=usd(450_000),
        invoice_ref="INV-1", commitment="c1")  # fmt: skip
    run(cmd.RecordPayment, "lena", line="studio", payment="p1", cost="k1",
        amount=usd(450_000))  # fmt: skip
    run(cmd.ReallocateBudget, "pat", reallocation="r1", from_line="engineer",
        to_line="studio", amount=usd(30_000))  # fmt: skip
    run(cmd.RequestContingencyDraw, "pat", draw="d1", line="mixing",
        amount=usd(20_000), reason="extra mix day")  # fmt: skip
    run(cmd.ApproveContingencyDraw, "lena", draw="d1")
    run(cmd.CommitSpend, "pat", line="mixing", commitment="c2", payee="pat",
        amount=usd(210_000), description="Mixing ten songs")  # fmt: skip
    run(cmd.PayAdvance, "lena", line="engineer", advance="a1", payee="pat",
        amount=usd(100_000), recoupable_from="producer")  # fmt: skip
