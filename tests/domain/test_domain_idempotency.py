"""Idempotency by command id, actor resolution and concurrent decisions."""

from __future__ import annotations

from typing import Any

import pytest
from domain_support import World, pid, record_take

from session_log import commands as cmd
from session_log.application import SessionLog
from session_log.domain.commandlog import CommandAccepted, CommandResult, EventRef
from session_log.errors import (
    ConcurrentDecision,
    DuplicateCommandConflict,
    InvalidCommand,
    NotAuthorised,
)


def test_the_same_command_again_returns_the_original_result(world: World) -> None:
    command = cmd.RegisterParty(
        command_id="reg-ada", project="alb", actor="rui", party="ada", name="Ada"
    )
    first = world.app.submit(command)
    assert first == CommandResult(
        command_id="reg-ada",
        command_type="register_party",
        events=(
            EventRef(originator_id=pid("party", "ada"), originator_version=1,
                     kind="PartyRegistered"),
            EventRef(originator_id=pid("command", "reg-ada"), originator_version=1,
                     kind="CommandAccepted"),
        ),
    )  # fmt: skip
    before = world.position()
    world.tick(hours=5)
    assert world.app.submit(command) == first
    assert world.app.register_party(command) == first
    assert world.position() == before
    assert world.app.command_result("alb", "reg-ada") == first


def test_the_same_id_with_another_body_is_refused(world: World) -> None:
    world.app.submit(
        cmd.RegisterParty(
            command_id="x1", project="alb", actor="rui", party="a", name="A"
        )
    )
    before = world.position()
    with pytest.raises(DuplicateCommandConflict) as info:
        world.app.submit(
            cmd.RegisterParty(
                command_id="x1", project="alb", actor="rui", party="a", name="B"
            )
        )
    assert info.value.field == "command_id"
    assert "register_party" in str(info.value)
    with pytest.raises(DuplicateCommandConflict):
        world.app.submit(
            cmd.MarkTake(
                command_id="x1", project="alb", actor="rui", take="t", mark="keeper"
            )
        )
    assert world.position() == before


def test_a_refused_command_leaves_its_id_free(world: World) -> None:
    bad = cmd.RegisterParty(
        command_id="y1", project="alb", actor="sam", party="a", name="A"
    )
    world.refuse(NotAuthorised, cmd.RegisterParty, "sam", command_id="y1", party="a",
                 name="A")  # fmt: skip
    with pytest.raises(NotAuthorised):
        world.app.submit(bad)
    good = cmd.RegisterParty(
        command_id="y1", project="alb", actor="rui", party="a", name="A"
    )
    assert world.app.submit(good).command_id == "y1"


def test_the_command_record_keeps_the_exact_body(world: World) -> None:
    command = cmd.RegisterParty(
        command_id="z1", project="alb", actor="rui", party="a", name="A", reason="why"
    )
    world.app.submit(command)
    record = world.events_since(world.position() - 1)[-1]
    assert isinstance(record, CommandAccepted)
    assert cmd.decode_command(record.payload.body) == command
    assert record.meta.reason == "why"


def test_the_authenticated_actor(world: World) -> None:
    command = cmd.RegisterParty(command_id="a1", project="alb", party="a", name="A")
    before = world.position()
    with pytest.raises(InvalidCommand) as info:
        world.app.submit(command)
    assert info.value.field == "actor"
    with pytest.raises(NotAuthorised) as denied:
        world.app.submit(
            cmd.RegisterParty(
                command_id="a1", project="alb", actor="rui", party="a", name="A"
            ),
            actor="sam",
        )
    assert denied.value.field == "actor"
    assert world.position() == before
    result = world.app.submit(command, actor="rui")
    assert world.events_since(before)[0].meta.actor == pid("party", "rui")
    # the resubmission from the same authenticated party is the same command
    assert world.app.submit(command, actor="rui") == result


def test_public_methods_check_the_command_type(world: World) -> None:
    wrong: Any = cmd.MarkTake(
        command_id="m", project="alb", actor="rui", take="t", mark="keeper"
    )
    with pytest.raises(InvalidCommand):
        world.app.register_party(wrong)


class Interleaving(SessionLog):
    """Runs another command between deciding a command and saving it (once)."""

    other: Any = None

    def _decide(self, command: Any) -> Any:
        decision = super()._decide(command)
        other, self.other = self.other, None
        if other is not None:
            self.submit(other)
        return decision


@pytest.fixture
def racing(in_session: World) -> World:
    app = Interleaving()
    app.recorder = in_session.app.recorder
    app.events = in_session.app.events
    app._repository = in_session.app.repository
    app._notification_log = in_session.app.notification_log
    in_session.app = app
    return in_session


def test_two_people_deciding_the_same_thing_conflict(racing: World) -> None:
    w = racing
    record_take(w, "t1")
    app = w.app
    assert isinstance(app, Interleaving)
    app.other = w.command(cmd.MarkTake, "rui", take="t1", mark="keeper")
    before = w.position()
    with pytest.raises(ConcurrentDecision):
        app.submit(w.command(cmd.MarkTake, "rui", take="t1", mark="reject"))
    events = w.events_since(before)
    assert [type(e).__name__ for e in events] == ["TakeMarked", "CommandAccepted"]
    assert events[0].payload.mark == "keeper"


def test_additive_decisions_are_re_evaluated_after_a_conflict(racing: World) -> None:
    w = racing
    app = w.app
    assert isinstance(app, Interleaving)
    w.do(cmd.RegisterParty, "rui", party="ben", name="Ben")
    w.do(cmd.GrantCapacity, "rui", party="ben", capacity="contributor")
    app.other = w.command(cmd.CheckIn, "mara", session="s1", roles=("LeadVocalist",))
    before = w.position()
    result = app.submit(
        w.command(cmd.CheckIn, "ben", session="s1", roles=("Musician",))
    )
    events = w.events_since(before)
    assert [type(e).__name__ for e in events] == [
        "MusicianCheckedIn",
        "CommandAccepted",
        "MusicianCheckedIn",
        "CommandAccepted",
    ]
    assert events[2].payload.musicians == 4
    assert result.events[0].originator_version == events[2].originator_version


def test_a_racing_duplicate_returns_the_winner_result(racing: World) -> None:
    w = racing
    app = w.app
    assert isinstance(app, Interleaving)
    command = w.command(cmd.MarkTake, "rui", take="t9", mark="keeper")
    record_take(w, "t9")
    app.other = command
    before = w.position()
    result = app.submit(command)
    assert len(w.events_since(before)) == 2
    assert result == app.command_result("alb", command.command_id)
