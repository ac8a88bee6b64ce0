"""Rebuild (into fresh tables, swapped in) and time travel (as of a position or a
moment), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from thinglog import INFRA_VIEWS, ThingLog, story
from viewcheck import clean_replay

from projections import (
    PoisonEventError,
    ProjectionsRunner,
    ViewStore,
    view_as_of,
)


@pytest.mark.parametrize("name", INFRA_VIEWS)
def test_rebuild_equals_live_while_live_keeps_running(
    app: ThingLog, store: ViewStore, name: str
) -> None:
    story(app, n=6)
    runner = ProjectionsRunner(app, store, views=INFRA_VIEWS).start()
    try:
        runner.wait(timeout=10)
        live_before = runner.view(name).dump()
        stop_writing = threading.Event()

        def write() -> None:
            i = 0
            while not stop_writing.is_set() and i < 40:
                app.note("alb.thing.t1", f"during rebuild {i}")
                i += 1

        writer = threading.Thread(target=write)
        progress: list[tuple[int, int]] = []
        writer.start()
        report = runner.rebuild(
            name,
            progress=lambda done, total: progress.append((done, total)),
            batch_size=7,
        )
        stop_writing.set()
        writer.join()
        assert report.view == name
        assert report.events == report.position  # every event, from the start
        assert report.position >= live_before["tracking"][0]["notification_id"]
        assert progress, "progress was reported"
        assert [d for d, _ in progress] == sorted(d for d, _ in progress)
        last = app.note("alb.thing.t2", "after the swap")
        runner.wait(last, timeout=10)
        assert runner.status()[name].state == "live"
        assert runner.view(name).dump() == clean_replay(app, store, name)
        # Rebuild again (the swapped-in tables and indexes can be replaced too).
        runner.rebuild(name)
        assert runner.view(name).dump() == clean_replay(app, store, name)
    finally:
        runner.stop()


def test_rebuild_without_a_runner(app: ThingLog, store: ViewStore) -> None:
    story(app, n=3)
    runner = ProjectionsRunner(app, store, views=INFRA_VIEWS)  # not started
    report = runner.rebuild("timeline")
    assert report.position == app.recorder.max_notification_id()
    assert runner.view("timeline").dump() == clean_replay(app, store, "timeline")
    page = runner.timeline.timeline(subject="alb.thing.t1")  # indexes were rebuilt
    assert len(page.items) == 3


def test_rebuild_into_poison_keeps_the_live_view(
    app: ThingLog, store: ViewStore
) -> None:
    story(app, n=2)
    runner = ProjectionsRunner(app, store, views=["decision_log"])
    runner.rebuild("decision_log")
    before = runner.view("decision_log").dump()
    app.write_garbage("alb.thing.t1")
    with pytest.raises(PoisonEventError):
        runner.rebuild("decision_log")
    assert runner.view("decision_log").dump() == before


def test_time_travel_equals_the_live_view_at_each_point(
    app: ThingLog, store: ViewStore
) -> None:
    runner = ProjectionsRunner(app, store, views=INFRA_VIEWS).start()
    seen: dict[int, dict[str, Any]] = {}
    try:
        for step in range(4):
            last = story(app, project=f"p{step}", n=2)
            runner.wait(last, timeout=10)
            seen[last] = {name: runner.view(name).dump() for name in INFRA_VIEWS}
        live_now = {name: runner.view(name).dump() for name in INFRA_VIEWS}
        for position, dumps in seen.items():
            for name in INFRA_VIEWS:
                with runner.as_of(name, position=position) as past:
                    assert past.dump() == dumps[name]
                    assert past.position(app.name) == position
        # The live view was not touched.
        assert {name: runner.view(name).dump() for name in INFRA_VIEWS} == live_now
    finally:
        runner.stop()


def test_time_travel_by_moment_is_a_stream_prefix(
    app: ThingLog, store: ViewStore
) -> None:
    story(app, n=3)
    moments = {
        n.id: app.mapper.to_domain_event(n).meta.occurred_at  # type: ignore[attr-defined]
        for n in app.recorder.select_notifications(start=1, limit=100)
    }
    for position in (1, 5, 9, len(moments)):
        at = moments[position]
        with (
            view_as_of(app, "decision_log", at=at) as by_moment,
            view_as_of(app, "decision_log", position=position) as by_position,
        ):
            assert by_moment.dump() == by_position.dump()
        with view_as_of(app, "decision_log", at=at + timedelta(minutes=59)) as later:
            assert later.position(app.name) == position
    with view_as_of(app, "timeline", at=moments[1] - timedelta(seconds=1)) as before:
        assert before.position(app.name) == 0
        assert before.dump()["entries"] == []


def test_time_travel_equals_a_clean_replay_cut(app: ThingLog, store: ViewStore) -> None:
    last = story(app, n=4)
    for position in (1, 2, 7, last):
        for name in INFRA_VIEWS:
            with view_as_of(app, name, position=position) as past:
                assert past.dump() == clean_replay(app, store, name, stop=position)


def test_rebuild_all_reads_once_and_equals_live(
    app: ThingLog, store: ViewStore
) -> None:
    story(app, n=4)
    runner = ProjectionsRunner(app, store, views=INFRA_VIEWS).start()
    try:
        runner.wait(timeout=10)
        before = {name: runner.view(name).dump() for name in INFRA_VIEWS}
        seen: list[int] = []
        reports = runner.rebuild_all(progress=lambda done, _total: seen.append(done))
        assert [r.view for r in reports] == INFRA_VIEWS
        assert seen == [app.recorder.max_notification_id()]  # one batch, read once
        assert {name: runner.view(name).dump() for name in INFRA_VIEWS} == before
    finally:
        runner.stop()


def test_rebuild_all_keeps_a_poisoned_view_and_rebuilds_the_others(
    app: ThingLog, store: ViewStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from projections.views.timeline import TimelineDefinition

    story(app, n=2)
    runner = ProjectionsRunner(app, store, views=INFRA_VIEWS)
    runner.rebuild_all()
    timeline_before = runner.view("timeline").dump()
    app.note("alb.thing.t0", "more")

    def broken(*_: object) -> None:
        raise RuntimeError("broken timeline code")

    monkeypatch.setattr(TimelineDefinition, "apply_many", broken)
    with pytest.raises(PoisonEventError) as caught:
        runner.rebuild_all()
    failure = caught.value.failure
    assert (failure.view, failure.position, failure.event_id, failure.kind) == (
        "timeline",
        1,
        "alb.thing.t0@1",
        "ThingOpened",
    )
    assert runner.view("timeline").dump() == timeline_before
    assert runner.view("decision_log").position(app.name) == (
        app.recorder.max_notification_id()
    )
