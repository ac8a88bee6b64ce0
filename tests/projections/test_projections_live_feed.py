"""The live feed: one read and decode of each notification for every live view.

Every view still gets every event exactly once, in order; a poison event halts
only its view; a view the feed has passed (rebuilt, restarted, fallen behind)
catches up by itself and rejoins. Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from eventsourcing.persistence import Notification, Tracking
from thinglog import INFRA_VIEWS, ThingLog, story
from viewcheck import clean_replay

from projections import (
    PoisonEventError,
    ProjectionsRunner,
    ViewHaltedError,
    ViewRunner,
    ViewStore,
    view_names,
)
from projections.live_feed import Inbox, LiveFeed


def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.005)


def all_live(runner: ProjectionsRunner) -> bool:
    return all(
        r.state == "live" for r in runner.runners.values()
    ) and runner.feed.members == len(runner.runners)


def count_joins(runner: ProjectionsRunner) -> Counter[str]:
    """Joins of the feed made by each view's own thread (a view joined together
    with others at the start is joined by the runner, not counted here)."""
    joins: Counter[str] = Counter()
    join = runner.feed.join

    def counting_join(position: int) -> tuple[Inbox, int]:
        joins[threading.current_thread().name] += 1
        return join(position)

    runner.feed.join = counting_join  # type: ignore[method-assign]
    return joins


def handed(runner: ProjectionsRunner) -> dict[str, list[int]]:
    """Per view, the positions handed to its ``apply_events``, in order."""
    seen: dict[str, list[int]] = {name: [] for name in runner.names}
    for name in runner.names:
        view = runner.view(name)
        apply = view.apply_events

        def apply_and_note(
            events: Sequence[tuple[Any, Tracking]],
            _apply: Any = apply,
            _seen: list[int] = seen[name],
        ) -> int:
            _seen.extend(tracking.notification_id for _, tracking in events)
            result: int = _apply(events)
            return result

        view.apply_events = apply_and_note  # type: ignore[method-assign]
    return seen


def test_every_event_reaches_every_view_once_in_order(
    app: ThingLog, store: ViewStore
) -> None:
    before = story(app, n=2)  # caught up, then live
    runner = ProjectionsRunner(app, store)  # all five views
    seen = handed(runner)
    runner.start()
    try:
        runner.wait(before, timeout=10)
        until(lambda: all_live(runner))
        writers = [
            threading.Thread(target=story, args=(app,), kwargs={"project": p, "n": 4})
            for p in ("ep", "lp", "sg")
        ]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        last = app.recorder.max_notification_id() or 0
        runner.wait(last, timeout=10)
        for name in view_names():
            assert seen[name] == list(range(1, last + 1)), name
        for name in INFRA_VIEWS:
            assert runner.view(name).dump() == clean_replay(app, store, name)
    finally:
        runner.stop()


def test_each_notification_is_read_and_decoded_once_for_all_views(
    app: ThingLog, runner: ProjectionsRunner
) -> None:
    selected: Counter[int] = Counter()
    decoded: Counter[int] = Counter()
    select = app.recorder.select_notifications
    to_domain_event = app.mapper.to_domain_event

    def counting_select(*args: Any, **kwargs: Any) -> Sequence[Notification]:
        notifications = select(*args, **kwargs)
        selected.update(n.id for n in notifications)
        return notifications

    def counting_decode(stored: Any) -> Any:
        if isinstance(stored, Notification):  # not the repository's reads
            decoded[stored.id] += 1
        return to_domain_event(stored)

    app.recorder.select_notifications = counting_select  # type: ignore[method-assign]
    app.mapper.to_domain_event = counting_decode  # type: ignore[method-assign]
    runner.start()
    until(lambda: all_live(runner))
    last = story(app, n=5)
    runner.wait(last, timeout=10)
    assert set(selected) == set(range(1, last + 1))
    assert set(selected.values()) == {1}
    assert decoded == selected


@pytest.mark.usefixtures("poisoned_timeline")
def test_poison_while_live_halts_only_its_view_then_restart_converges(
    app: ThingLog,
    store: ViewStore,
    runner: ProjectionsRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    story(app, n=1)
    runner.start()
    until(lambda: all_live(runner))
    poison = app.note("alb.thing.t0", "poison")
    last = story(app, project="ep", n=2)
    runner.wait(last, timeout=10, views=["decision_log"])
    with pytest.raises(PoisonEventError) as caught:
        runner.wait(last, timeout=10, views=["timeline"])
    assert caught.value.failure.position == poison
    assert runner.view("timeline").position(app.name) == poison - 1
    assert runner.status()["timeline"].state == "halted"
    assert runner.status()["decision_log"].state == "live"
    assert runner.feed.members == 1  # the halted view left the feed
    more = app.note("ep.thing.t1", "after the poison")
    runner.wait(more, timeout=5, views=["decision_log"])
    assert runner.view("timeline").position(app.name) == poison - 1

    monkeypatch.undo()  # the code is fixed: restart the halted view alone
    runner.start_view("timeline")
    runner.wait(timeout=10)
    until(lambda: all_live(runner))
    assert runner.failures() == {}
    latest = story(app, project="lp", n=2)
    runner.wait(latest, timeout=10)
    for name in INFRA_VIEWS:
        assert runner.view(name).dump() == clean_replay(app, store, name)


def test_undecodable_event_while_live_halts_every_view_with_reason(
    app: ThingLog, runner: ProjectionsRunner
) -> None:
    story(app, n=1)
    runner.start()
    until(lambda: all_live(runner))
    garbage = app.write_garbage("alb.thing.t0")
    for name in INFRA_VIEWS:
        with pytest.raises(PoisonEventError) as caught:
            runner.wait(garbage, timeout=10, views=[name])
        assert caught.value.failure.error_type == "UndecodableEventError"
        assert runner.view(name).position(app.name) == garbage - 1
    until(lambda: runner.feed.members == 0)


def test_view_rebuilt_while_live_converges(
    app: ThingLog, store: ViewStore, runner: ProjectionsRunner
) -> None:
    story(app, n=3)
    runner.start()
    until(lambda: all_live(runner))
    done = threading.Event()

    def write() -> None:
        for i in range(6):
            story(app, project=f"w{i}", n=2)
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        runner.rebuild("timeline", batch_size=7)
        runner.rebuild("decision_log", batch_size=5)
    finally:
        writer.join()
    assert done.is_set()
    last = story(app, project="after", n=2)
    runner.wait(last, timeout=10)
    assert all_live(runner)
    for name in INFRA_VIEWS:
        assert runner.view(name).dump() == clean_replay(app, store, name)


class GapRun:
    """A timeline joining the feed with a gap to read first (see ``gap_run``)."""

    runner: ProjectionsRunner
    seen: dict[str, list[int]]
    gap: list[int]
    short: list[int]
    last: int


@contextmanager
def gap_run(
    app: ThingLog,
    store: ViewStore,
    monkeypatch: pytest.MonkeyPatch,
    *,
    short_read: bool = False,
) -> Iterator[GapRun]:
    """The decision log follows the feed; the timeline catches up, then events
    are written (and handed on by the feed) before it joins: it must read that
    gap itself. With ``short_read``, its first read of the gap finds nothing,
    as when a stream replica that is behind answers."""
    story(app, n=2)
    run = GapRun()
    run.runner = runner = ProjectionsRunner(app, store, views=INFRA_VIEWS)
    runner.start_view("decision_log")
    until(lambda: all_live(runner))
    run.gap, run.short = [], []
    catch_up = ViewRunner._catch_up

    def catch_up_with_a_gap(self: ViewRunner, locked: Any, *, stop: int | None) -> int:
        timeline = self.view.view_name == "timeline"
        if timeline and short_read and stop is not None and not run.short:
            run.short.append(stop)
            return 0  # the read of the gap found nothing
        applied = catch_up(self, locked, stop=stop)
        if timeline and stop is None and not run.gap:
            # Written after the timeline caught up, before it joins the feed,
            # and handed on by the feed (to the decision log) meanwhile.
            run.gap.append(story(app, project="gap", n=2))
            until(lambda: (runner.feed.position or 0) >= run.gap[0])
        return applied

    monkeypatch.setattr(ViewRunner, "_catch_up", catch_up_with_a_gap)
    run.seen = handed(runner)
    try:
        runner.start_view("timeline")
        until(lambda: all_live(runner))
        run.last = story(app, project="ep", n=2)
        runner.wait(run.last, timeout=10)
        assert run.gap
        yield run
    finally:
        runner.stop()


def test_view_behind_the_feed_reads_the_gap_itself_before_joining(
    app: ThingLog, store: ViewStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with gap_run(app, store, monkeypatch) as run:
        seen, last = run.seen, run.last
        before = run.runner.view("decision_log").position(app.name) - len(
            seen["decision_log"]
        )
        assert seen["timeline"] == list(range(1, last + 1))
        assert seen["decision_log"] == list(range(before + 1, last + 1))
        for name in INFRA_VIEWS:
            assert run.runner.view(name).dump() == clean_replay(app, store, name)


def test_a_gap_read_that_ends_short_is_read_again(
    app: ThingLog, store: ViewStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Taking from the feed after a short read of the gap would skip its events.
    with gap_run(app, store, monkeypatch, short_read=True) as run:
        assert run.short
        assert run.seen["timeline"] == list(range(1, run.last + 1))
        timeline = run.runner.view("timeline").dump()
        assert timeline == clean_replay(app, store, "timeline")


def test_view_too_far_behind_leaves_catches_up_and_rejoins(
    app: ThingLog, store: ViewStore, runner: ProjectionsRunner
) -> None:
    runner.feed.max_pending = 5
    runner.feed.stall_s = 0.2  # the timeline, held still, takes nothing
    joins = count_joins(runner)
    runner.start()
    until(lambda: all_live(runner))
    timeline = runner.runners["timeline"]
    with timeline.processing_lock:  # the timeline stands still
        # Its inbox takes what comes while it holds little; then, full and
        # taken from no more, it holds the feed up for stall_s and overflows.
        inbox = timeline._inbox
        assert inbox is not None
        for k in range(10):
            last = story(app, project=f"alb{k}", n=4)  # more than 5 events each
            runner.wait(last, timeout=10, views=["decision_log"])
            if inbox.overflowed:
                break
        assert inbox.overflowed
        assert runner.view("timeline").position(app.name) == 0
    runner.wait(last, timeout=10)
    until(lambda: all_live(runner))
    # Joined together with the others at the start (by the runner), then
    # overflowed once and rejoined by itself.
    assert joins["view-timeline"] == 1
    latest = story(app, project="ep", n=1)
    runner.wait(latest, timeout=10)
    for name in INFRA_VIEWS:
        assert runner.view(name).dump() == clean_replay(app, store, name)


def test_stop_then_start_again_resumes(
    app: ThingLog, store: ViewStore, runner: ProjectionsRunner
) -> None:
    before = threading.active_count()
    story(app, n=2)
    runner.start()
    runner.wait(timeout=10)
    until(lambda: all_live(runner))
    runner.stop()
    assert runner.feed.members == 0
    assert threading.active_count() <= before
    last = story(app, project="ep", n=2)  # written while nothing runs
    seen = handed(runner)
    stopped_at = runner.view("timeline").position(app.name)
    runner.start()
    runner.wait(last, timeout=10)
    more = story(app, project="lp", n=1)  # live again
    runner.wait(more, timeout=10)
    for name in INFRA_VIEWS:
        assert seen[name] == list(range(stopped_at + 1, more + 1))
        assert runner.view(name).dump() == clean_replay(app, store, name)
    runner.stop()
    assert threading.active_count() <= before


def test_a_failing_read_stops_every_view_and_a_restart_recovers(
    app: ThingLog, store: ViewStore, runner: ProjectionsRunner
) -> None:
    story(app, n=1)
    runner.start()
    until(lambda: all_live(runner))
    select = app.recorder.select_notifications
    broken = threading.Event()

    def failing_select(*args: Any, **kwargs: Any) -> Sequence[Notification]:
        if broken.is_set():
            raise RuntimeError("store is gone")
        return select(*args, **kwargs)

    app.recorder.select_notifications = failing_select  # type: ignore[method-assign]
    broken.set()
    last = story(app, project="ep", n=1)
    until(lambda: all(r.state == "error" for r in runner.runners.values()))
    with pytest.raises(ViewHaltedError, match="store is gone"):
        runner.wait(last, timeout=5, views=["timeline"])
    broken.clear()
    for name in INFRA_VIEWS:
        runner.start_view(name)
    runner.wait(last, timeout=10)
    until(lambda: all_live(runner))
    for name in INFRA_VIEWS:
        assert runner.view(name).dump() == clean_replay(app, store, name)


def test_a_view_runner_alone_has_a_feed_of_its_own(
    app: ThingLog, store: ViewStore
) -> None:
    before = threading.active_count()
    story(app, n=1)
    with ViewRunner(app=app, view=store.view("timeline")) as alone:
        alone.wait(app.recorder.max_notification_id(), timeout=10)
        until(lambda: alone.feed.members == 1)
        last = story(app, project="ep", n=1)
        alone.wait(last, timeout=10)
    assert alone.state == "stopped"
    assert threading.active_count() <= before
    assert isinstance(alone.feed, LiveFeed)
    assert alone.feed.position is None


def delivered(*positions: int) -> list[tuple[Any, Tracking]]:
    return [(None, Tracking("app", p)) for p in positions]


def test_a_full_inbox_holds_the_feed_until_its_view_takes() -> None:
    inbox = Inbox(limit=2, stall_s=5.0)
    assert inbox.put(delivered(1, 2))
    put: list[bool] = []
    feed = threading.Thread(target=lambda: put.append(inbox.put(delivered(3))))
    feed.start()
    time.sleep(0.1)
    assert feed.is_alive()  # waiting for room, not overflowing
    assert [t.notification_id for _, t in inbox.take(1) or []] == [1]
    feed.join(timeout=5)
    assert put == [True]
    assert not inbox.overflowed
    assert [t.notification_id for _, t in inbox.take(10) or []] == [2, 3]


def test_a_full_inbox_whose_view_takes_nothing_overflows_after_stall_s() -> None:
    inbox = Inbox(limit=2, stall_s=0.2)
    assert inbox.put(delivered(1, 2))
    started = time.monotonic()
    assert not inbox.put(delivered(3))
    assert time.monotonic() - started >= 0.15
    assert inbox.overflowed
    assert inbox.take(10) is None  # dropped: the view catches up by itself


def test_closing_an_inbox_releases_a_feed_waiting_for_room() -> None:
    inbox = Inbox(limit=1, stall_s=30.0)
    assert inbox.put(delivered(1))
    put: list[bool] = []
    feed = threading.Thread(target=lambda: put.append(inbox.put(delivered(2))))
    feed.start()
    time.sleep(0.05)
    inbox.close()
    feed.join(timeout=5)
    assert put == [False]
    assert not inbox.overflowed


def test_an_empty_inbox_takes_a_batch_bigger_than_its_limit() -> None:
    inbox = Inbox(limit=2, stall_s=0.1)
    assert inbox.put(delivered(1, 2, 3))
    assert len(inbox) == 3


def test_a_burst_beyond_an_inbox_is_shared_by_a_slow_view(
    app: ThingLog,
    store: ViewStore,
    runner: ProjectionsRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The timeline applies slowly; a burst far beyond its inbox makes the feed
    # wait for it instead of overflowing it (which would have it read and
    # decode the stream again by itself).
    runner.feed.max_pending = 3
    runner.feed.batch_size = 3  # the burst comes to the inboxes in many batches
    joins = count_joins(runner)
    timeline = runner.view("timeline")
    apply = timeline.apply_events

    def slow_apply(events: Sequence[tuple[Any, Tracking]]) -> int:
        time.sleep(0.02)
        result: int = apply(events)
        return result

    monkeypatch.setattr(timeline, "apply_events", slow_apply)
    runner.start()
    until(lambda: all_live(runner))
    last = 0
    for k in range(6):
        last = story(app, project=f"burst{k}", n=3)
    runner.wait(last, timeout=30)
    assert not joins  # joined together at the start; none overflowed and rejoined
    for name in INFRA_VIEWS:
        assert runner.view(name).dump() == clean_replay(app, store, name)


def counting_reads(app: ThingLog, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every notification id the application's recorder hands out from now."""
    read: list[int] = []
    select = app.recorder.select_notifications

    def counted(*args: Any, **kwargs: Any) -> Sequence[Notification]:
        found: Sequence[Notification] = select(*args, **kwargs)
        read.extend(n.id for n in found)
        return found

    monkeypatch.setattr(app.recorder, "select_notifications", counted)
    return read


def test_views_restarting_on_a_backlog_read_it_once(
    app: ThingLog, store: ViewStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = ProjectionsRunner(app, store, views=INFRA_VIEWS).start()
    first.wait(story(app, project="before", n=2), timeout=10)
    first.stop()
    position = first.view("timeline").position(app.name)
    last = 0
    for k in range(5):  # written while no runner runs
        last = story(app, project=f"down{k}", n=3)
    read = counting_reads(app, monkeypatch)
    again = ProjectionsRunner(app, store, views=INFRA_VIEWS).start()
    try:
        again.wait(last, timeout=10)
        # Read once for both views (each catching up by itself read it twice).
        assert sorted(read) == list(range(position + 1, last + 1))
        for name in INFRA_VIEWS:
            assert again.view(name).dump() == clean_replay(app, store, name)
    finally:
        again.stop()


def test_views_far_apart_each_catch_up_by_themselves(
    app: ThingLog, store: ViewStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The timeline is far ahead: joining the decision log's catch-up from the
    # start would hold it back until the decision log had caught up.
    ahead = ProjectionsRunner(app, store, views=["timeline"]).start()
    ahead.wait(story(app, project="solo", n=3), timeout=10)
    ahead.stop()
    runner = ProjectionsRunner(app, store, views=INFRA_VIEWS)
    runner.feed.max_pending = 3
    assert runner.view("timeline").position(app.name) > 3
    joins = count_joins(runner)
    runner.start()
    try:
        until(lambda: all_live(runner))
        assert joins == {"view-timeline": 1, "view-decision_log": 1}
        last = story(app, project="after", n=1)
        runner.wait(last, timeout=10)
        for name in INFRA_VIEWS:
            assert runner.view(name).dump() == clean_replay(app, store, name)
    finally:
        runner.stop()
