"""The demo album: deterministic, idempotent, every command type, figures by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest

from session_log import commands as cmd
from session_log.application import SessionLog
from session_log.demo import DEMO_PROJECT, DemoSummary, load_demo
from session_log.domain.base import DecisionEvent, aggregate_id
from session_log.domain.budget import Budget
from session_log.domain.money import Money
from session_log.domain.release import Release
from session_log.domain.spending import LineLedger
from session_log.errors import NotFound

P = DEMO_PROJECT


def stream(app: SessionLog) -> list[tuple[object, int, str, bytes]]:
    return [
        (n.originator_id, n.originator_version, n.topic, n.state)
        for n in app.recorder.select_notifications(start=1, limit=100_000)
    ]


@pytest.fixture(scope="module")
def demo() -> tuple[SessionLog, DemoSummary]:
    app = SessionLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    return app, load_demo(app)


def test_every_command_type_is_used(demo: tuple[SessionLog, DemoSummary]) -> None:
    _, summary = demo
    tags = {t.__struct_config__.tag for t in cmd.COMMAND_TYPES}
    assert set(summary.commands_by_type) == tags
    assert summary.command_types == len(cmd.COMMAND_TYPES) == 63


def test_the_size_of_the_story(demo: tuple[SessionLog, DemoSummary]) -> None:
    _, s = demo
    assert s.parties >= 20
    assert s.recordings == 12  # 10 tracks, one dropped, Undertow superseded
    assert 35 <= s.sessions <= 45
    assert s.takes > 80
    assert s.mix_versions == 15  # 10 first mixes and 5 revisions
    assert s.commands == sum(s.commands_by_type.values())


def test_two_runs_record_identical_events(demo: tuple[SessionLog, DemoSummary]) -> None:
    app, summary = demo
    other = SessionLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    assert load_demo(other) == summary
    assert stream(other) == stream(app)


def test_loading_again_writes_nothing(demo: tuple[SessionLog, DemoSummary]) -> None:
    app, summary = demo
    before = app.recorder.max_notification_id()
    assert load_demo(app) == summary
    assert app.recorder.max_notification_id() == before


def usd(dollars: int) -> Money:
    return Money(amount=dollars * 100, currency="USD")


# line: (revised amount, exposure, paid), worked out by hand from the story
LEDGER = {
    "studio": (58_000 + 2_500, 4 * 12_000 + 9_500 + 3_000, 60_500),
    "union-musicians": (24_000 + 1_000, 11 * 1_500 + 4 * 1_400 + 1_500 + 1_100, 24_700),
    "engineer": (18_000 - 3_000, 14_500, 14_500),
    "mixing": (25_000 + 3_000, 10 * 2_400 + 1_500, 25_500),
    "mastering": (8_000 + 2_000, 10_000, 10_000),
    "producer-fee": (30_000, 30_000, 30_000),
    "equipment": (4_000, 3_200, 2_950),
    "cartage": (1_500 + 1_000, 2_200, 2_200),
    "travel": (3_000 - 1_000, 0, 0),
    "archive": (1_200, 1_100, 1_100),
    "contingency": (17_270 - 1_000 - 2_500, 0, 0),
}


@pytest.mark.parametrize("line", sorted(LEDGER))
def test_ledger_figures(demo: tuple[SessionLog, DemoSummary], line: str) -> None:
    app, _ = demo
    ledger = app.aggregate(aggregate_id(P, "line", line))
    assert isinstance(ledger, LineLedger)
    funded, exposure, paid = LEDGER[line]
    assert (ledger.funded, ledger.exposure, ledger.paid) == (
        funded * 100,
        exposure * 100,
        paid * 100,
    )
    assert ledger.overrun == 0


def test_budget_totals(demo: tuple[SessionLog, DemoSummary]) -> None:
    app, _ = demo
    budget = app.aggregate(aggregate_id(P, "budget", "main"))
    assert isinstance(budget, Budget)
    assert budget.approved_version == 2
    assert [v.status for v in budget.versions.values()] == ["rejected", "approved"]
    assert budget.versions[2].approvals == ["label_approver", "executive_approver"]
    assert budget.approved_total == usd(189_970 + 2_000)
    assert sum(f for f, _, _ in LEDGER.values()) == 191_970
    assert [d.status for d in budget.draws.values()] == [
        "rejected",
        "approved",
        "approved",
    ]
    assert [i.status for i in budget.increases.values()] == ["rejected", "approved"]
    with pytest.raises(NotFound, match="catering"):
        app.aggregate(aggregate_id(P, "line", "catering"))


def test_the_release_was_delivered(demo: tuple[SessionLog, DemoSummary]) -> None:
    app, _ = demo
    release = app.aggregate(aggregate_id(P, "release", "main"))
    assert isinstance(release, Release)
    assert release.latest is not None
    assert release.latest.approved
    assert release.latest.label_copy
    assert len(release.latest.recording_ids) == 10
    assert aggregate_id(P, "recording", "undertow-slow") in release.latest.recording_ids


def test_every_event_is_a_decision_with_meta(
    demo: tuple[SessionLog, DemoSummary],
) -> None:
    app, summary = demo
    previous = None
    parties = set()
    count = 0
    for notification in app.recorder.select_notifications(start=1, limit=100_000):
        event = app.mapper.to_domain_event(notification)
        assert isinstance(event, DecisionEvent)
        meta = event.meta
        assert meta.occurred_at.utcoffset() == timedelta(0)
        assert event.timestamp == meta.occurred_at
        assert meta.actor.startswith(f"{P}.party.")
        if previous is not None:
            assert meta.occurred_at >= previous
        previous = meta.occurred_at
        parties.add(meta.actor)
        count += 1
    assert count == summary.events
    assert len(parties) >= 15
