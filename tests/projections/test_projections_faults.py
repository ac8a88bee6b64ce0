"""Crashes at random points: the runner converges to a clean rebuild."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest
from thinglog import INFRA_VIEWS, ThingLog, story
from viewcheck import clean_replay

from projections import ProjectionsRunner, ViewStore
from projections.records import DecisionRecord
from projections.sql_view import Db
from projections.views.decision_log import DecisionLogDefinition
from projections.views.timeline import TimelineDefinition


class Crash(BaseException):
    """Like a kill: not an Exception, so nothing treats it as a poison event."""


def crash_randomly(
    monkeypatch: pytest.MonkeyPatch, rng: random.Random, rate: float
) -> None:
    for cls in (TimelineDefinition, DecisionLogDefinition):
        original = cls.apply_many

        def apply_many(
            self: object,
            db: Db,
            records: Sequence[DecisionRecord],
            _original: object = original,
        ) -> None:
            _original(self, db, records)  # type: ignore[operator]
            if rng.random() < rate:  # after writing, before the commit
                raise Crash

        monkeypatch.setattr(cls, "apply_many", apply_many)


def run_with_crashes(
    app: ThingLog, store: ViewStore, rng: random.Random, rounds: int
) -> None:
    for round_ in range(rounds):
        runner = ProjectionsRunner(
            app, store, views=INFRA_VIEWS, batch_size=rng.choice([1, 3, 50])
        )
        runner.start()
        story(app, project=f"r{round_}", n=rng.randint(1, 3))
        for view_runner in runner.runners.values():
            view_runner.join(timeout=0.05 * rng.random())
        runner.stop()


@pytest.mark.parametrize("seed", [1, 2])
def test_kill_and_restart_converges_to_a_clean_rebuild(
    app: ThingLog, store: ViewStore, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    crash_randomly(monkeypatch, rng, rate=0.2)
    run_with_crashes(app, store, rng, rounds=6)
    monkeypatch.undo()
    final = ProjectionsRunner(app, store, views=INFRA_VIEWS).start()
    try:
        final.wait(timeout=20)
        for name in INFRA_VIEWS:
            assert final.view(name).dump() == clean_replay(app, store, name)
    finally:
        final.stop()


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10, 20))
def test_kill_and_restart_converges_many_times(
    app: ThingLog, store: ViewStore, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    crash_randomly(monkeypatch, rng, rate=0.1)
    run_with_crashes(app, store, rng, rounds=25)
    monkeypatch.undo()
    final = ProjectionsRunner(app, store, views=INFRA_VIEWS).start()
    try:
        final.wait(timeout=60)
        for name in INFRA_VIEWS:
            assert final.view(name).dump() == clean_replay(app, store, name)
    finally:
        final.stop()
