"""A tiny decision domain of our own, to test the read side's infrastructure.

Things are opened, noted and closed by people; every event is a ``DecisionEvent``
with ``DecisionMeta``. The application runs on eventsourcing's POPO persistence
(which supports subscriptions) with session-log's msgspec transcoder.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from session_log.domain.base import DecisionAggregate, DecisionMeta, aggregate_id

INFRA_VIEWS = ["timeline", "decision_log"]
"""The views that show this domain's events (the domain views ignore them)."""

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


class Opened(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    session_id: str | None = None


class Noted(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    mentions: list[str] = []
    performer_ids: list[str] = []
    supersedes: str | None = None
    cost: int = 0


class Closed(msgspec.Struct, frozen=True, kw_only=True):
    outcome: str


class Thing(DecisionAggregate):
    KIND = "thing"

    class ThingOpened(DecisionAggregate.Created):
        payload: Opened

    class ThingNoted(DecisionAggregate.Event):
        payload: Noted

    class ThingClosed(DecisionAggregate.Event):
        payload: Closed


class ThingLog(Application[str]):
    """Commands return the notification id of their last event."""

    name = "ThingLog"
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.popo",
        "TRANSCODER_TOPIC": "session_log.codec:MsgspecTranscoder",
    }

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self.clock = T0
        self.commands = 0

    def _meta(self, actor: str, capacity: str, reason: str | None) -> DecisionMeta:
        self.commands += 1
        self.clock += timedelta(hours=1)
        return DecisionMeta(
            actor=actor,
            capacity=capacity,
            occurred_at=self.clock,
            command_id=f"cmd-{self.commands}",
            correlation_id=f"corr-{self.commands}",
            reason=reason,
        )

    def _save(self, thing: Thing) -> int:
        recordings = self.save(thing)
        return recordings[-1].notification.id

    def open(
        self,
        project: str,
        local: str,
        title: str,
        *,
        actor: str = "alice",
        capacity: str = "producer",
        session_id: str | None = None,
    ) -> int:
        thing = Thing._create(
            Thing.ThingOpened,
            id=aggregate_id(project, "thing", local),
            meta=self._meta(actor, capacity, None),
            payload=Opened(title=title, session_id=session_id),
        )
        return self._save(thing)

    def note(
        self,
        thing_id: str,
        text: str,
        *,
        actor: str = "bob",
        capacity: str = "engineer",
        reason: str | None = None,
        **fields: Any,
    ) -> int:
        thing: Thing = self.repository.get(thing_id)
        thing.trigger_event(
            Thing.ThingNoted,
            meta=self._meta(actor, capacity, reason),
            payload=Noted(text=text, **fields),
        )
        return self._save(thing)

    def close_thing(self, thing_id: str, outcome: str, *, actor: str = "alice") -> int:
        thing: Thing = self.repository.get(thing_id)
        thing.trigger_event(
            Thing.ThingClosed,
            meta=self._meta(actor, "producer", "done"),
            payload=Closed(outcome=outcome),
        )
        return self._save(thing)

    def write_garbage(self, thing_id: str) -> int:
        """Store an event that cannot be decoded (a poison event)."""
        thing: Thing = self.repository.get(thing_id)
        ids = self.recorder.insert_events(
            [
                StoredEvent(
                    originator_id=thing_id,
                    originator_version=thing.version + 1,
                    topic=get_topic(Thing.ThingNoted),
                    state=b"{not json",
                )
            ]
        )
        assert ids
        return ids[-1]


def story(app: ThingLog, project: str = "alb", n: int = 3) -> int:
    """A small deterministic history; returns the last notification id."""
    last = 0
    for i in range(n):
        tid = aggregate_id(project, "thing", f"t{i}")
        app.open(
            project, f"t{i}", f"Thing {i}", session_id=f"{project}.session.s{i % 2}"
        )
        app.note(
            tid,
            f"first note on {i}",
            mentions=[f"{project}.recording.r{i}"],
            performer_ids=["carol"],
            cost=100 * i,
        )
        last = app.note(
            tid,
            f"correction on {i}",
            supersedes=f"{tid}@2",
            reason="typo",
            actor="carol",
            capacity="artist",
        )
        if i % 2 == 0:
            last = app.close_thing(tid, "kept")
    return last
