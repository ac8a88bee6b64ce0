"""The project: its membership (capacities granted and revoked) and its policy.

Authority is itself auditable: every grant and revocation is an event, and the
capacities a party held at any moment are computed from them. Limits and
thresholds are policy, set by an event, never code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from session_log.domain.authority import LABEL_SIDE, Capacity
from session_log.domain.base import DecisionCreated, DecisionEvent, DecisionMeta
from session_log.domain.common import Aggregate, Payload
from session_log.domain.money import Money
from session_log.errors import (
    AlreadyExists,
    CapacityNotHeld,
    InvalidCommand,
    InvalidState,
    InvariantViolated,
    SelfGrant,
)

ReleaseFormat = Literal["album", "ep", "single"]


class Policy(Payload, frozen=True, kw_only=True):
    """The project's approval policy: limits, thresholds and union rule figures."""

    producer_reallocation_limit: Money
    """The largest reallocation between budget lines a producer may make alone."""
    budget_co_approval_threshold: Money
    """A budget total above this also needs the executive approver."""
    cancellation_notice_days: int = 7
    """Cancelling a union session with less notice than this owes the musicians."""
    union_music_seconds_per_session: int = 900
    """AFM: a basic session holds at most 15 minutes of recorded music."""
    union_contractor_from: int = 12
    """AFM: a contractor is required from this many musicians."""
    included_mix_revisions: int = 2
    """Mix revisions per recording included in the mixing fee; more are paid extra."""


# --- payloads ---


class ProjectStartedPayload(Payload, frozen=True, kw_only=True):
    project: str
    title: str
    main_artist: str
    release_format: ReleaseFormat
    currency: str
    founder_id: str
    policy: Policy


class CapacityGrantedPayload(Payload, frozen=True, kw_only=True):
    party_id: str
    capacity: Capacity
    budget_line_ids: tuple[str, ...] = ()
    """For a vendor: the budget lines (ledger ids) they may record costs against."""


class CapacityRevokedPayload(Payload, frozen=True, kw_only=True):
    party_id: str
    capacity: Capacity


class PolicySetPayload(Payload, frozen=True, kw_only=True):
    policy: Policy
    previous: Policy


# --- events ---


class ProjectStarted(DecisionCreated):
    """A project (album, EP or single) was started by its founder."""

    payload: ProjectStartedPayload

    def apply(self, aggregate: Project) -> None:
        p = self.payload
        aggregate.project = p.project
        aggregate.title = p.title
        aggregate.main_artist = p.main_artist
        aggregate.release_format = p.release_format
        aggregate.currency = p.currency
        aggregate.founder_id = p.founder_id
        aggregate.policies = [(self.meta.occurred_at, p.policy)]


class CapacityGranted(DecisionEvent):
    """A party was granted a capacity (authority to decide) in the project."""

    payload: CapacityGrantedPayload

    def apply(self, aggregate: Project) -> None:
        p = self.payload
        aggregate.grants.append(
            Grant(
                party_id=p.party_id,
                capacity=p.capacity,
                granted_at=self.meta.occurred_at,
                budget_line_ids=p.budget_line_ids,
            )
        )


class CapacityRevoked(DecisionEvent):
    """A party's capacity was revoked."""

    payload: CapacityRevokedPayload

    def apply(self, aggregate: Project) -> None:
        for grant in aggregate.grants:
            if (
                grant.party_id == self.payload.party_id
                and grant.capacity == self.payload.capacity
                and grant.revoked_at is None
            ):
                grant.revoked_at = self.meta.occurred_at


class PolicySet(DecisionEvent):
    """The project's approval policy was set (replacing the previous one)."""

    payload: PolicySetPayload

    def apply(self, aggregate: Project) -> None:
        aggregate.policies.append((self.meta.occurred_at, self.payload.policy))


# --- aggregate ---


@dataclass
class Grant:
    party_id: str
    capacity: Capacity
    granted_at: datetime
    budget_line_ids: tuple[str, ...] = ()
    revoked_at: datetime | None = None

    def held_at(self, at: datetime) -> bool:
        return self.granted_at <= at and (
            self.revoked_at is None or at < self.revoked_at
        )


class Project(Aggregate):
    """A production: title, currency, membership and policy."""

    KIND = "project"
    LOCAL = "main"

    def __init__(self) -> None:
        self.project = ""
        self.title = ""
        self.main_artist = ""
        self.release_format: ReleaseFormat = "album"
        self.currency = ""
        self.founder_id = ""
        self.grants: list[Grant] = []
        self.policies: list[tuple[datetime, Policy]] = []

    # --- queries ---

    def capacities_of(self, party_id: str, at: datetime) -> tuple[Capacity, ...]:
        """The capacities ``party_id`` held at ``at`` (in grant order)."""
        held: list[Capacity] = []
        for grant in self.grants:
            if (
                grant.party_id == party_id
                and grant.held_at(at)
                and grant.capacity not in held
            ):
                held.append(grant.capacity)
        return tuple(held)

    def holds(self, party_id: str, capacity: Capacity, at: datetime) -> bool:
        return capacity in self.capacities_of(party_id, at)

    def vendor_lines(self, party_id: str, at: datetime) -> tuple[str, ...]:
        """The budget lines a vendor may record costs against at ``at``."""
        lines: list[str] = []
        for grant in self.grants:
            if (
                grant.party_id == party_id
                and grant.capacity == "vendor"
                and grant.held_at(at)
            ):
                lines.extend(grant.budget_line_ids)
        return tuple(lines)

    def policy_at(self, at: datetime) -> Policy:
        """The policy in force at ``at``."""
        current = self.policies[0][1]
        for since, policy in self.policies:
            if since <= at:
                current = policy
        return current

    @property
    def policy(self) -> Policy:
        return self.policies[-1][1]

    def is_member(self, party_id: str, at: datetime) -> bool:
        return bool(self.capacities_of(party_id, at))

    # --- decisions ---

    @classmethod
    def start(
        cls, originator_id: str, meta: DecisionMeta, payload: ProjectStartedPayload
    ) -> Project:
        return cls._start(ProjectStarted, originator_id, meta, payload)

    def grant(
        self,
        meta: DecisionMeta,
        party_id: str,
        capacity: Capacity,
        budget_line_ids: tuple[str, ...] = (),
        founding: bool = False,
    ) -> None:
        at = meta.occurred_at
        if not founding:
            if party_id == meta.actor:
                msg = f"{meta.actor} may not grant themselves the {capacity} capacity"
                raise SelfGrant(msg, field="party")
            if capacity in LABEL_SIDE and meta.capacity not in LABEL_SIDE:
                msg = (
                    f"only the label side (label or executive approver) may grant "
                    f"the {capacity} capacity; {meta.actor} acts as {meta.capacity}"
                )
                raise CapacityNotHeld(msg, field="capacity")
        if budget_line_ids and capacity != "vendor":
            msg = "budget_lines: only a vendor capacity is scoped to budget lines"
            raise InvalidCommand(msg, field="budget_lines")
        if self.holds(party_id, capacity, at):
            msg = f"{party_id} already holds the {capacity} capacity"
            raise AlreadyExists(msg, field="capacity")
        self._emit(
            CapacityGranted,
            meta,
            CapacityGrantedPayload(
                party_id=party_id, capacity=capacity, budget_line_ids=budget_line_ids
            ),
        )

    def revoke(self, meta: DecisionMeta, party_id: str, capacity: Capacity) -> None:
        at = meta.occurred_at
        if not self.holds(party_id, capacity, at):
            msg = f"{party_id} does not hold the {capacity} capacity"
            raise InvalidState(msg, field="capacity")
        if capacity in LABEL_SIDE and meta.capacity not in LABEL_SIDE:
            msg = f"only the label side may revoke the {capacity} capacity"
            raise CapacityNotHeld(msg, field="capacity")
        if capacity == "producer":
            producers = {
                g.party_id
                for g in self.grants
                if g.capacity == "producer" and g.held_at(at)
            }
            if producers == {party_id}:
                msg = "a project must keep a producer: grant another one first"
                raise InvariantViolated(msg, field="party")
        self._emit(
            CapacityRevoked,
            meta,
            CapacityRevokedPayload(party_id=party_id, capacity=capacity),
        )

    def set_policy(self, meta: DecisionMeta, policy: Policy) -> None:
        check_policy(policy, self.currency)
        if policy == self.policy:
            msg = "policy: unchanged"
            raise InvalidState(msg, field="policy")
        self._emit(
            PolicySet, meta, PolicySetPayload(policy=policy, previous=self.policy)
        )


def check_policy(policy: Policy, currency: str) -> None:
    """Refuse a policy with foreign or negative amounts or negative counts."""
    for name in ("producer_reallocation_limit", "budget_co_approval_threshold"):
        money: Money = getattr(policy, name)
        if money.currency != currency:
            msg = f"policy.{name}: must be in {currency}"
            raise InvalidCommand(msg, field=f"policy.{name}")
        if money.amount < 0:
            msg = f"policy.{name}: must not be negative"
            raise InvalidCommand(msg, field=f"policy.{name}")
    for name in (
        "cancellation_notice_days",
        "union_music_seconds_per_session",
        "union_contractor_from",
        "included_mix_revisions",
    ):
        if getattr(policy, name) < 0:
            msg = f"policy.{name}: must not be negative"
            raise InvalidCommand(msg, field=f"policy.{name}")
