"""Helpers for the domain tests: the World driver and builders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from session_log import commands as cmd
from session_log.application import SessionLog
from session_log.domain.base import DecisionEvent, DecisionMeta, aggregate_id
from session_log.domain.budget import LineCategory
from session_log.domain.commandlog import CommandAccepted
from session_log.domain.money import Money
from session_log.domain.recordings import Arrangement
from session_log.errors import CommandRejected

C = TypeVar("C", bound=cmd.CommandBase)
START = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
P = "alb"


def usd(dollars: int, cents: int = 0) -> Money:
    return Money(amount=dollars * 100 + cents, currency="USD")


def pid(kind: str, local: str) -> str:
    return aggregate_id(P, kind, local)


def party(local: str) -> str:
    return pid("party", local)


SHA = "ab" * 32
ARRANGEMENT = Arrangement(
    key="E minor",
    tempo_bpm=__import__("decimal").Decimal(92),
    meter="4/4",
    form=("intro", "verse", "chorus", "outro"),
    instrumentation=("Drums", "BassGuitar"),
)


class World:
    """Drives a SessionLog through commands and reads back what they recorded."""

    def __init__(self, app: SessionLog, clock: Any) -> None:
        self.app = app
        self.clock = clock
        self.count = 0

    @property
    def now(self) -> datetime:
        return datetime.now(tz=UTC)

    def tick(self, **delta: float) -> None:
        self.clock.tick(timedelta(**delta))

    def move_to(self, moment: datetime) -> None:
        self.clock.move_to(moment)

    def command(self, command_class: type[C], actor: str | None, **fields: Any) -> C:
        self.count += 1
        fields.setdefault("command_id", f"c{self.count:04d}")
        fields.setdefault("project", P)
        return command_class(actor=actor, **fields)

    def position(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def events_since(self, position: int) -> list[DecisionEvent]:
        notifications = self.app.recorder.select_notifications(
            start=position + 1, limit=10_000
        )
        return [
            self.app.mapper.to_domain_event(n)  # type: ignore[misc]
            for n in notifications
        ]

    def do(self, command_class: type[C], actor: str | None, **fields: Any) -> list[Any]:
        """Submit; return the decision events recorded (without the command record)."""
        command = self.command(command_class, actor, **fields)
        before = self.position()
        result = self.app.submit(command)
        events = self.events_since(before)
        assert isinstance(events[-1], CommandAccepted)
        assert events[-1].payload.result == result
        assert [(e.originator_id, e.originator_version) for e in events] == [
            (r.originator_id, r.originator_version) for r in result.events
        ]
        return events[:-1]

    def refuse(
        self,
        error: type[CommandRejected],
        command_class: type[C],
        actor: str | None,
        **fields: Any,
    ) -> CommandRejected:
        """Submit a command that must be refused with ``error`` and record nothing."""
        command = self.command(command_class, actor, **fields)
        before = self.position()
        with pytest.raises(error) as info:
            self.app.submit(command)
        assert self.position() == before, "a refused command recorded something"
        return info.value

    def meta(
        self,
        actor: str,
        capacity: str,
        *,
        command_id: str | None = None,
        reason: str | None = None,
        causation_id: str | None = None,
    ) -> DecisionMeta:
        """The meta expected of the last command submitted."""
        command_id = command_id or f"c{self.count:04d}"
        return DecisionMeta(
            actor=party(actor),
            capacity=capacity,
            occurred_at=self.now,
            command_id=command_id,
            correlation_id=command_id,
            causation_id=causation_id,
            reason=reason,
        )

    def get(self, kind: str, local: str) -> Any:
        return self.app.aggregate(pid(kind, local))


def kinds(events: list[Any]) -> list[tuple[str, str]]:
    return [(type(e).__name__, e.originator_id) for e in events]


MEMBERS = [
    # party, name, capacity, granted by
    ("victor", "Victor Hale", "executive_approver", "lena"),
    ("rui", "Rui Costa", "producer", "lena"),
    ("mara", "Mara Velez", "artist", "rui"),
    ("sam", "Sam Okafor", "engineer", "rui"),
    ("kofi", "Kofi Mensah", "contributor", "rui"),
    ("jonah", "Jonah Reyes", "contributor", "rui"),
    ("studio", "Harbour Studios", "vendor", "rui"),
    ("max", "Max Ortiz", "viewer", "rui"),
]


def record_take(
    w: World,
    take: str,
    recording: str = "song1",
    part: str = "rhythm",
    number: int = 1,
    seconds: int = 200,
    session: str = "s1",
) -> list[Any]:
    return w.do(
        cmd.RecordTake,
        "sam",
        take=take,
        session=session,
        recording=recording,
        part=part,
        take_number=number,
        performers=("kofi", "jonah"),
        file=f"s3://alb/{take}.wav",
        sha256=SHA,
        duration_seconds=seconds,
    )


def line(
    name: str, category: LineCategory, dollars: int, **extra: Any
) -> cmd.LineInput:
    return cmd.LineInput(
        line=name,
        category=category,
        description=f"{name} line",
        amount=usd(dollars),
        **extra,
    )


STANDARD_LINES = (
    line("studio", "studio", 50_000),
    line("musicians", "union_musicians", 20_000),
    line("mixing", "mixing", 10_000),
    cmd.LineInput(
        line="contingency",
        category="contingency",
        description="contingency",
        contingency_bp=1000,
    ),
)
