"""Who applies the live batches: on SQLite one thread for every view, in turn
(projections.serial_applier); on PostgreSQL each view's own thread. Either way a
view held still holds up no other. (Poison, rebuilds, overflow, stop and
restart while live are in test_projections_live_feed.py, on both backends.)"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from thinglog import INFRA_VIEWS, ThingLog, story
from viewcheck import clean_replay

from projections import ProjectionsRunner, ViewStore
from projections.live_feed import Inbox
from projections.serial_applier import SerialApplier


@pytest.fixture
def live(app: ThingLog, runner: ProjectionsRunner) -> ProjectionsRunner:
    """The runner, started on a small history and following the stream."""
    story(app, n=2)
    runner.start()
    _live(runner)
    return runner


def _live(runner: ProjectionsRunner, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while any(s.state != "live" for s in runner.status().values()):
        assert time.monotonic() < deadline, runner.status()
        time.sleep(0.01)
    runner.wait(timeout=timeout)


def _record_threads(runner: ProjectionsRunner) -> dict[str, list[str]]:
    """Per view, the thread that applied each batch from now on."""
    seen: dict[str, list[str]] = {name: [] for name in runner.names}
    for name in runner.names:
        view = runner.view(name)
        apply = view.apply_events

        def recorded(events: Any, _apply: Any = apply, _seen: Any = seen[name]) -> int:
            _seen.append(threading.current_thread().name)
            return int(_apply(events))

        view.apply_events = recorded  # type: ignore[method-assign]
    return seen


def test_live_batches_are_applied_by_one_thread_on_sqlite_by_each_view_on_pg(
    app: ThingLog, store: ViewStore, live: ProjectionsRunner
) -> None:
    runner = live
    seen = _record_threads(runner)
    for k in range(3):
        last = story(app, project=f"live{k}", n=2)
        runner.wait(last, timeout=10)
    for name in INFRA_VIEWS:
        assert seen[name], f"{name} applied nothing live"
        if store.backend == "sqlite":
            assert set(seen[name]) == {f"views-applier-{app.name}"}
        else:
            assert set(seen[name]) == {f"view-{name}"}
        assert runner.view(name).dump() == clean_replay(app, store, name)


def test_a_view_held_still_holds_up_no_other(
    app: ThingLog, store: ViewStore, live: ProjectionsRunner
) -> None:
    """As a rebuild holds a view still while it swaps the view's tables."""
    runner = live
    held = runner.runners["timeline"].processing_lock
    with held:
        before = runner.view("timeline").position(app.name)
        last = story(app, project="meanwhile", n=3)
        runner.wait(last, views=["decision_log"], timeout=10)
        time.sleep(0.05)  # the applier passes the held view over meanwhile
        assert runner.view("timeline").position(app.name) == before
    runner.wait(last, timeout=10)
    for name in INFRA_VIEWS:
        assert runner.view(name).dump() == clean_replay(app, store, name)
        assert runner.status()[name].state == "live"


def test_a_view_restarted_after_a_stop_follows_through_a_new_applier(
    app: ThingLog, store: ViewStore
) -> None:
    others = set(_appliers())  # other tests' runners may still be ending theirs
    runner = ProjectionsRunner(app, store, views=INFRA_VIEWS).start()
    try:
        _live(runner)
        expected = 1 if store.serial_writes else 0
        first = _new_appliers(others, expected)
        runner.stop()
        assert not any(t.is_alive() for t in first)
        runner.start()
        _live(runner)
        last = story(app, project="again", n=2)
        runner.wait(last, timeout=10)
        for name in INFRA_VIEWS:
            assert runner.view(name).dump() == clean_replay(app, store, name)
        second = _new_appliers(others, expected)
        assert len(first) == len(second) == expected
        assert set(first).isdisjoint(second)
    finally:
        runner.stop()
    assert not any(t.is_alive() for t in second)


def _new_appliers(
    others: set[threading.Thread], expected: int, timeout: float = 5.0
) -> list[threading.Thread]:
    """The applier threads not among ``others``, once ``expected`` of them run
    (a view's status says live before it hands its inbox to the applier, which
    starts its thread then)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [t for t in _appliers() if t not in others]
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.005)


def _appliers() -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t.name == f"views-applier-{ThingLog.name}" and t.is_alive()
    ]


class _FakeView:
    def __init__(self) -> None:
        self.applied: list[Any] = []

    def apply_events(self, events: Any) -> int:
        self.applied.extend(events)
        return len(events)


class _FakeRunner:
    """What the applier uses of a ViewRunner."""

    def __init__(self) -> None:
        self.processing_lock = threading.RLock()
        self.batch_size = 2
        self.view = _FakeView()


def test_an_inbox_that_ended_holding_events_is_applied_then_ended() -> None:
    """The feed can fill an inbox and end it (a failed read) before its view
    follows: the applier applies what it holds and then ends the view's follow,
    although no nudge comes after that."""
    inbox = Inbox(limit=100)
    inbox.put([("e1", None), ("e2", None), ("e3", None)])  # type: ignore[list-item]
    inbox.end(RuntimeError("store is gone"))
    applier = SerialApplier("test-applier")
    runner = _FakeRunner()
    follower = threading.Thread(target=applier.follow, args=(runner, inbox))
    follower.start()
    follower.join(timeout=5)
    try:
        assert not follower.is_alive(), "follow did not return"
        assert [e for e, _ in runner.view.applied] == ["e1", "e2", "e3"]
    finally:
        applier.stop()
