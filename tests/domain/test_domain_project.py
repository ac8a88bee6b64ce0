"""Project start, parties, membership and policy: success and refusals."""

from __future__ import annotations

from datetime import timedelta

from domain_support import World, kinds, party, pid, usd

from session_log import commands as cmd
from session_log.domain.parties import (
    PartyCorrected,
    PartyCorrectedPayload,
    PartyRegisteredPayload,
)
from session_log.domain.project import (
    CapacityGranted,
    CapacityGrantedPayload,
    CapacityRevoked,
    CapacityRevokedPayload,
    Policy,
    PolicySet,
    PolicySetPayload,
    ProjectStarted,
    ProjectStartedPayload,
)
from session_log.errors import (
    AlreadyExists,
    CapacityNotHeld,
    InvalidCommand,
    InvalidState,
    InvariantViolated,
    NotAuthorised,
    SelfGrant,
    UnknownReference,
)

VALID_ISNI = "0000000121032683"


def test_start_project_records_project_founder_and_grants(bare: World) -> None:
    events = bare.do(
        cmd.StartProject,
        "lena",
        title="Moonlit",
        main_artist="Mara",
        founder_name="Lena Park",
        founder_isni=VALID_ISNI,
        founder_capacities=("label_approver", "executive_approver"),
    )
    meta = bare.meta("lena", "label_approver")
    zero = usd(0)
    assert kinds(events) == [
        ("ProjectStarted", pid("project", "main")),
        ("CapacityGranted", pid("project", "main")),
        ("CapacityGranted", pid("project", "main")),
        ("PartyRegistered", party("lena")),
    ]
    assert all(e.meta == meta for e in events)
    assert isinstance(events[0], ProjectStarted)
    assert events[0].payload == ProjectStartedPayload(
        project="alb",
        title="Moonlit",
        main_artist="Mara",
        release_format="album",
        currency="USD",
        founder_id=party("lena"),
        policy=Policy(
            producer_reallocation_limit=zero, budget_co_approval_threshold=zero
        ),
    )
    assert events[1].payload == CapacityGrantedPayload(
        party_id=party("lena"), capacity="label_approver"
    )
    assert events[2].payload.capacity == "executive_approver"
    assert events[3].payload == PartyRegisteredPayload(
        name="Lena Park", kind="person", isni=VALID_ISNI
    )
    assert events[0].timestamp == bare.now
    project = bare.app.project("alb")
    assert project.capacities_of(party("lena"), bare.now) == (
        "label_approver",
        "executive_approver",
    )


def test_start_project_refusals(bare: World) -> None:
    start = {"title": "T", "main_artist": "A", "founder_name": "F"}
    bare.refuse(
        InvalidCommand, cmd.StartProject, "lena", founder_capacities=(), **start
    )
    bare.refuse(
        InvalidCommand,
        cmd.StartProject,
        "lena",
        founder_capacities=("producer", "producer"),
        **start,
    )
    bare.refuse(InvalidCommand, cmd.StartProject, "lena", founder_isni="123", **start)
    bare.refuse(InvalidCommand, cmd.StartProject, None, **start)
    bare.refuse(InvalidCommand, cmd.StartProject, "lena", project="a.b", **start)
    bare.refuse(InvalidCommand, cmd.StartProject, "lena", project="_", **start)
    bad_policy = Policy(
        producer_reallocation_limit=usd(-1), budget_co_approval_threshold=usd(0)
    )
    error = bare.refuse(
        InvalidCommand, cmd.StartProject, "lena", policy=bad_policy, **start
    )
    assert error.field == "policy.producer_reallocation_limit"
    bare.do(cmd.StartProject, "lena", **start)
    bare.refuse(AlreadyExists, cmd.StartProject, "other", **start)


def test_register_party(world: World) -> None:
    events = world.do(
        cmd.RegisterParty,
        "rui",
        party="ada",
        name="Ada Novak",
        isni=VALID_ISNI,
        ipi="00512345678",
    )
    assert kinds(events) == [("PartyRegistered", party("ada"))]
    assert events[0].meta == world.meta("rui", "producer")
    assert events[0].payload == PartyRegisteredPayload(
        name="Ada Novak", kind="person", isni=VALID_ISNI, ipi="00512345678"
    )


def test_register_party_refusals(world: World) -> None:
    world.refuse(CapacityNotHeld, cmd.RegisterParty, "sam", party="x", name="X")
    world.refuse(CapacityNotHeld, cmd.RegisterParty, "nobody", party="x", name="X")
    world.refuse(AlreadyExists, cmd.RegisterParty, "rui", party="mara", name="M")
    error = world.refuse(
        InvalidCommand,
        cmd.RegisterParty,
        "rui",
        party="x",
        name="X",
        isni="0000000121032684",
    )
    assert error.field == "isni"
    error = world.refuse(
        InvalidCommand, cmd.RegisterParty, "rui", party="x", name="X", ipi="12ab"
    )
    assert error.field == "ipi"
    error = world.refuse(
        InvalidCommand, cmd.RegisterParty, "rui", party="x y", name="X"
    )
    assert error.field == "$.party"
    world.refuse(
        CapacityNotHeld,
        cmd.RegisterParty,
        "rui",
        party="x",
        name="X",
        acting_as="artist",
    )


def test_correct_party(world: World) -> None:
    events = world.do(
        cmd.CorrectParty,
        "rui",
        party="kofi",
        name="Kofi A. Mensah",
        isni=VALID_ISNI,
        reason="Full name from his passport",
    )
    assert kinds(events) == [("PartyCorrected", party("kofi"))]
    assert isinstance(events[0], PartyCorrected)
    assert events[0].meta == world.meta(
        "rui", "producer", reason="Full name from his passport"
    )
    assert events[0].payload == PartyCorrectedPayload(
        name="Kofi A. Mensah",
        isni=VALID_ISNI,
        ipi=None,
        previous_name="Kofi Mensah",
        previous_isni=None,
        previous_ipi=None,
    )
    events = world.do(cmd.CorrectParty, "rui", party="kofi", isni="")
    assert events[0].payload.isni is None
    assert events[0].payload.previous_isni == VALID_ISNI


def test_correct_party_refusals(world: World) -> None:
    world.refuse(UnknownReference, cmd.CorrectParty, "rui", party="ghost", name="G")
    world.refuse(
        InvalidState, cmd.CorrectParty, "rui", party="kofi", name="Kofi Mensah"
    )
    world.refuse(CapacityNotHeld, cmd.CorrectParty, "kofi", party="kofi", name="K")
    world.refuse(InvalidCommand, cmd.CorrectParty, "rui", party="kofi", ipi="1")


def test_grant_capacity(world: World) -> None:
    events = world.do(cmd.GrantCapacity, "rui", party="kofi", capacity="engineer")
    assert kinds(events) == [("CapacityGranted", pid("project", "main"))]
    assert isinstance(events[0], CapacityGranted)
    assert events[0].meta == world.meta("rui", "producer")
    assert events[0].payload == CapacityGrantedPayload(
        party_id=party("kofi"), capacity="engineer"
    )
    events = world.do(
        cmd.GrantCapacity,
        "rui",
        party="jonah",
        capacity="vendor",
        budget_lines=("cartage",),
    )
    assert events[0].payload.budget_line_ids == (pid("line", "cartage"),)


def test_grant_capacity_refusals(world: World) -> None:
    world.refuse(SelfGrant, cmd.GrantCapacity, "rui", party="rui", capacity="engineer")
    world.refuse(
        CapacityNotHeld,
        cmd.GrantCapacity,
        "rui",
        party="kofi",
        capacity="label_approver",
    )
    world.refuse(
        CapacityNotHeld, cmd.GrantCapacity, "sam", party="kofi", capacity="engineer"
    )
    world.refuse(
        AlreadyExists, cmd.GrantCapacity, "rui", party="sam", capacity="engineer"
    )
    world.refuse(
        UnknownReference, cmd.GrantCapacity, "rui", party="ghost", capacity="engineer"
    )
    error = world.refuse(
        InvalidCommand,
        cmd.GrantCapacity,
        "rui",
        party="kofi",
        capacity="engineer",
        budget_lines=("studio",),
    )
    assert error.field == "budget_lines"
    error = world.refuse(
        InvalidCommand, cmd.GrantCapacity, "rui", party="kofi", capacity="king"
    )
    assert error.field == "$.capacity"


def test_label_side_grants_label_capacities(world: World) -> None:
    events = world.do(cmd.GrantCapacity, "lena", party="max", capacity="label_approver")
    assert events[0].meta.capacity == "label_approver"


def test_revoke_capacity_is_checked_at_that_moment(world: World) -> None:
    before = world.now
    world.tick(hours=1)
    events = world.do(
        cmd.RevokeCapacity, "rui", party="sam", capacity="engineer", reason="Left"
    )
    assert kinds(events) == [("CapacityRevoked", pid("project", "main"))]
    assert isinstance(events[0], CapacityRevoked)
    assert events[0].payload == CapacityRevokedPayload(
        party_id=party("sam"), capacity="engineer"
    )
    project = world.app.project("alb")
    assert project.holds(party("sam"), "engineer", before)
    assert not project.holds(party("sam"), "engineer", world.now)
    world.refuse(
        NotAuthorised,
        cmd.BookSession,
        "sam",
        session="s",
        session_type="Tracking",
        starts_at=world.now + timedelta(days=1),
        ends_at=world.now + timedelta(days=1, hours=3),
    )
    world.refuse(CapacityNotHeld, cmd.OpenSession, "sam", session="s")


def test_revoke_capacity_refusals(world: World) -> None:
    world.refuse(
        InvalidState, cmd.RevokeCapacity, "rui", party="kofi", capacity="engineer"
    )
    world.refuse(
        CapacityNotHeld,
        cmd.RevokeCapacity,
        "rui",
        party="victor",
        capacity="executive_approver",
    )
    world.refuse(
        InvariantViolated, cmd.RevokeCapacity, "lena", party="rui", capacity="producer"
    )
    world.refuse(
        CapacityNotHeld, cmd.RevokeCapacity, "max", party="kofi", capacity="contributor"
    )


def test_set_policy(world: World) -> None:
    old = world.app.project("alb").policy
    policy = Policy(
        producer_reallocation_limit=usd(5_000),
        budget_co_approval_threshold=usd(200_000),
        included_mix_revisions=3,
    )
    events = world.do(cmd.SetPolicy, "lena", policy=policy)
    assert kinds(events) == [("PolicySet", pid("project", "main"))]
    assert isinstance(events[0], PolicySet)
    assert events[0].payload == PolicySetPayload(policy=policy, previous=old)
    assert events[0].meta == world.meta("lena", "label_approver")
    project = world.app.project("alb")
    assert project.policy == policy


def test_set_policy_refusals(world: World) -> None:
    policy = world.app.project("alb").policy
    world.refuse(CapacityNotHeld, cmd.SetPolicy, "rui", policy=policy)
    world.refuse(InvalidState, cmd.SetPolicy, "lena", policy=policy)
    euro = Policy(
        producer_reallocation_limit=usd(1).__class__(amount=1, currency="EUR"),
        budget_co_approval_threshold=usd(1),
    )
    world.refuse(InvalidCommand, cmd.SetPolicy, "lena", policy=euro)
    negative = Policy(
        producer_reallocation_limit=usd(1),
        budget_co_approval_threshold=usd(1),
        cancellation_notice_days=-1,
    )
    world.refuse(InvalidCommand, cmd.SetPolicy, "lena", policy=negative)
