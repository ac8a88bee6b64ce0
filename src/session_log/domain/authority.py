"""Who may decide what: capacities, the actions they authorise, and the check.

A capacity is authority (what a member may decide), not credit (what they did).
Each action lists the capacities that may take it, in the order preferred when the
actor holds several and does not say which one they act in. The check is always
made against the capacities the actor held at the moment of the decision (see
:meth:`session_log.domain.project.Project.capacities_of`); amounts are checked
against the project's policy at that moment by the aggregates and the application.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from session_log.errors import CapacityNotHeld

Capacity = Literal[
    "producer",
    "artist",
    "label_approver",
    "executive_approver",
    "engineer",
    "contributor",
    "vendor",
    "viewer",
]

CAPACITIES: tuple[Capacity, ...] = (
    "producer",
    "artist",
    "label_approver",
    "executive_approver",
    "engineer",
    "contributor",
    "vendor",
    "viewer",
)

LABEL_SIDE: frozenset[Capacity] = frozenset({"label_approver", "executive_approver"})
"""Capacities that only the label side may grant or revoke."""

MEMBER: tuple[Capacity, ...] = (
    "producer",
    "artist",
    "label_approver",
    "executive_approver",
    "engineer",
    "contributor",
)
"""Capacities of members who take part (everyone but vendors and viewers)."""

APPROVAL_LEVEL: dict[Capacity, str] = {
    "producer": "producer",
    "artist": "artist",
    "label_approver": "label",
}
"""Capacity -> approval level, for comps, mixes and masters."""

# action -> capacities that may take it, in order of preference.
ACTIONS: dict[str, tuple[Capacity, ...]] = {
    # project, membership, policy
    "register_party": ("producer", "label_approver"),
    "correct_party": ("producer", "label_approver"),
    "grant_capacity": ("producer", "label_approver", "executive_approver"),
    "revoke_capacity": ("producer", "label_approver", "executive_approver"),
    "set_policy": ("label_approver", "executive_approver"),
    # works and split sheets
    "register_work": ("producer", "artist"),
    "propose_split_sheet": ("producer", "artist"),
    "amend_split_sheet": ("producer", "artist"),
    "sign_split_sheet": MEMBER,
    "finalise_split_sheet": ("producer", "artist"),
    # recordings and arrangements
    "add_recording": ("producer",),
    "drop_recording": ("producer",),
    "adopt_arrangement": ("producer",),
    "change_arrangement": ("producer",),
    # sessions
    "book_session": ("producer",),
    "reschedule_session": ("producer",),
    "cancel_session": ("producer",),
    "open_session": ("engineer", "producer"),
    "close_session": ("engineer", "producer"),
    "check_in": ("contributor", "artist", "engineer", "producer"),
    "check_in_other": ("engineer", "producer"),
    # takes, comps, edits
    "record_take": ("engineer", "producer"),
    "mark_take": ("producer",),
    "assemble_comp": ("engineer", "producer"),
    "approve_comp": ("producer", "artist"),
    "supersede_comp": ("producer",),
    "record_edit_pass": ("engineer",),
    # mixes, masters, delivery
    "submit_mix": ("engineer",),
    "note_mix": ("producer", "artist", "label_approver", "engineer"),
    "request_mix_revision": ("producer", "artist", "label_approver"),
    "approve_mix": ("producer", "artist", "label_approver"),
    "submit_master": ("engineer",),
    "approve_master": ("producer", "artist", "label_approver"),
    "archive_transfer": ("engineer", "vendor"),
    "propose_sequence": ("producer",),
    "approve_sequence": ("label_approver",),
    "approve_label_copy": ("label_approver",),
    # credits
    "assert_credit": ("producer",),
    "confirm_credit": ("artist",),
    "dispute_credit": ("artist",),
    "confirm_own_credit": MEMBER,
    "dispute_own_credit": MEMBER,
    "retract_credit": ("producer",),
    # budget
    "draft_budget_version": ("producer",),
    "set_budget_line": ("producer",),
    "remove_budget_line": ("producer",),
    "submit_budget_version": ("producer",),
    "reject_budget_version": ("label_approver", "executive_approver"),
    "approve_budget_version": ("label_approver", "executive_approver"),
    "reallocate_budget": ("producer", "label_approver"),
    "request_contingency_draw": ("producer",),
    "approve_contingency_draw": ("label_approver",),
    "reject_contingency_draw": ("label_approver",),
    "request_budget_increase": ("producer", "label_approver"),
    "approve_budget_increase": ("executive_approver",),
    "reject_budget_increase": ("executive_approver",),
    # spending
    "commit_spend": ("producer", "label_approver"),
    "cancel_commitment": ("producer", "label_approver"),
    "record_cost": ("producer", "label_approver", "vendor"),
    "correct_cost": ("producer", "label_approver", "vendor"),
    "record_payment": ("label_approver", "producer"),
    "pay_advance": ("label_approver",),
    # milestones
    "schedule_milestone": ("producer", "label_approver"),
    "reschedule_milestone": ("producer", "label_approver"),
    "meet_milestone": ("producer", "label_approver", "engineer"),
}


class HoldsCapacities(Protocol):
    """What the authority check needs from a project."""

    def capacities_of(self, party_id: str, at: datetime) -> tuple[Capacity, ...]: ...


def authorise(
    project: HoldsCapacities,
    actor: str,
    action: str,
    at: datetime,
    requested: Capacity | None = None,
    among: tuple[Capacity, ...] | None = None,
) -> Capacity:
    """The capacity in which ``actor`` may take ``action`` at ``at``, else refuse.

    ``requested`` is the capacity the actor says they act in; ``among`` narrows the
    capacities the action allows (for rules that depend on the command's content).
    """
    allowed = among if among is not None else ACTIONS[action]
    held = project.capacities_of(actor, at)
    if requested is not None:
        if requested not in held:
            msg = f"{actor} does not hold the {requested} capacity"
            raise CapacityNotHeld(msg, field="capacity")
        if requested not in allowed:
            msg = (
                f"the {requested} capacity may not {action.replace('_', ' ')}; "
                f"it needs one of: {', '.join(allowed)}"
            )
            raise CapacityNotHeld(msg, field="capacity")
        return requested
    for capacity in allowed:
        if capacity in held:
            return capacity
    msg = (
        f"{actor} may not {action.replace('_', ' ')}: it needs one of "
        f"{', '.join(allowed)}; held: {', '.join(held) or 'none'}"
    )
    raise CapacityNotHeld(msg)
