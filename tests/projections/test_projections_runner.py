"""The runner: catch-up then live, restart resume, duplicates, lag, read-your-writes,
poison events. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from pgstores import PG
from thinglog import INFRA_VIEWS, ThingLog, story
from viewcheck import clean_replay

from projections import (
    PoisonEventError,
    PostgresViewStore,
    ProjectionsRunner,
    SQLiteViewStore,
    SQLView,
    ViewStore,
)
from projections.views.timeline import TimelineDefinition


def test_catch_up_then_live_equals_clean_replay(
    app: ThingLog, store: ViewStore, runner: ProjectionsRunner
) -> None:
    story(app, n=4)
    runner.start()
    runner.wait(timeout=10)
    last = story(app, project="ep", n=3)  # while live
    runner.wait(last, timeout=10)
    assert runner.lag() == dict.fromkeys(INFRA_VIEWS, 0)
    for name in INFRA_VIEWS:
        assert runner.view(name).dump() == clean_replay(app, store, name)
        assert runner.status()[name].state == "live"


def test_read_your_writes(app: ThingLog, runner: ProjectionsRunner) -> None:
    runner.start()
    for i in range(5):
        position = app.open("alb", f"x{i}", f"X {i}")
        runner.wait(position, timeout=5)
        page = runner.decision_log.decisions(project="alb", newest_first=True, limit=1)
        assert page.items[0].position == position
        entries = runner.timeline.timeline(subject=f"alb.thing.x{i}")
        assert [e.position for e in entries.items] == [position]


def test_restart_resumes_nothing_twice_nothing_skipped(
    app: ThingLog, store: ViewStore
) -> None:
    story(app, n=2)
    first = ProjectionsRunner(app, store, views=INFRA_VIEWS).start()
    first.wait(timeout=10)
    first.stop()
    before = {name: first.view(name).position(app.name) for name in INFRA_VIEWS}
    last = story(app, project="ep", n=2)  # written while nothing runs
    assert ProjectionsRunner(app, store, views=INFRA_VIEWS).lag() == {
        name: last - before[name] for name in INFRA_VIEWS
    }
    second = ProjectionsRunner(app, store, views=INFRA_VIEWS).start()
    try:
        second.wait(last, timeout=10)
        for name in INFRA_VIEWS:
            assert second.view(name).dump() == clean_replay(app, store, name)
        assert len(second.timeline.timeline(limit=1000).items) == last
    finally:
        second.stop()


def test_two_runners_on_the_same_views_apply_nothing_twice(
    app: ThingLog, store: ViewStore
) -> None:
    """Two runners started on the same views by mistake (two stores on one
    SQLite file or PostgreSQL schema, as two processes would have) take turns:
    each transaction reads the view's position under the lock it writes with
    (SQLite: the file's write lock, taken when the transaction begins;
    PostgreSQL: the tracking row, ``FOR UPDATE``), so a batch the other runner
    applied meanwhile is skipped, not applied again."""
    twin = twin_store(store)
    story(app, n=2)
    first = ProjectionsRunner(app, store, views=INFRA_VIEWS)
    second = ProjectionsRunner(app, twin, views=INFRA_VIEWS)
    applied = {name: [0, 0] for name in INFRA_VIEWS}
    for index, runner in enumerate((first, second)):
        for name in INFRA_VIEWS:
            count_applied(runner.view(name), applied[name], index)
    first.start()
    second.start()
    try:
        last = 0
        for k in range(4):  # while both are live
            last = story(app, project=f"p{k}", n=3)
        first.wait(last, timeout=20)
        second.wait(last, timeout=20)
        for name in INFRA_VIEWS:
            assert first.status()[name].state == "live"
            assert second.status()[name].state == "live"
            assert first.view(name).dump() == clean_replay(app, store, name)
            assert sum(applied[name]) == last  # each event once, by one of them
        assert len(first.timeline.timeline(limit=1000).items) == last
    finally:
        first.stop()
        second.stop()
        twin.close()


@pytest.mark.parametrize("started", [True, False], ids=["started", "empty"])
def test_a_batch_raced_by_a_twin_view_is_applied_once(
    app: ThingLog, store: ViewStore, monkeypatch: pytest.MonkeyPatch, started: bool
) -> None:
    """The race of the test above, made certain: one view is held inside its
    transaction (position read, rows written, not committed) while a twin on
    the same database applies a batch reaching further. The twin waits for the
    lock its position is read under (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL:
    the tracking row ``FOR UPDATE``, or an advisory lock while the view has
    no tracking row yet), then applies only what the other did not, in one
    transaction: nothing applied twice, no failed transaction searched for a
    poison event (a view that only updates rows would have nothing to fail on,
    and would count twice what both applied)."""
    last = story(app, n=3)
    events = [
        (app.mapper.to_domain_event(n), _tracking(app, n.id))
        for n in app.recorder.select_notifications(start=1, limit=100)
    ]
    assert len(events) == last
    begin = 0
    if started:
        assert store.view("timeline").apply_events(events[:1]) == 1
        begin = 1
    held_to = last // 2  # the held view applies up to here, the twin everything
    twin = twin_store(store)
    held, inside, release = threading.Event(), threading.Event(), threading.Event()
    original = TimelineDefinition.apply_many

    def holding(self: TimelineDefinition, db: Any, records: Any) -> None:
        original(self, db, records)
        if not held.is_set():  # the first transaction only
            held.set()
            inside.set()
            assert release.wait(10)

    monkeypatch.setattr(TimelineDefinition, "apply_many", holding)
    first, second = store.view("timeline"), twin.view("timeline")
    results: dict[str, Any] = {}
    searched: list[int] = []  # batches that failed and were split in halves
    for view in (first, second):
        split = view._apply_halves

        def counted(batch: Any, _split: Any = split) -> int:
            searched.append(len(batch))
            return int(_split(batch))

        monkeypatch.setattr(view, "_apply_halves", counted)

    def apply(key: str, view: SQLView, batch: Any) -> None:
        try:
            results[key] = view.apply_events(batch)
        except Exception as error:  # the assertions below show it
            results[key] = error

    holder = threading.Thread(target=apply, args=("first", first, events[:held_to]))
    racer = threading.Thread(target=apply, args=("second", second, events))
    try:
        holder.start()
        assert inside.wait(10)
        racer.start()
        racer.join(0.5)
        assert racer.is_alive(), f"the twin did not wait: {results.get('second')!r}"
        release.set()
        holder.join(10)
        racer.join(10)
        assert results == {"first": held_to - begin, "second": last - held_to}
        assert searched == []
        assert first.dump() == second.dump() == clean_replay(app, store, "timeline")
        assert first.failure() is None
    finally:
        release.set()
        holder.join(10)
        racer.join(10)
        twin.close()


def test_duplicate_delivery_changes_nothing(app: ThingLog, store: ViewStore) -> None:
    last = story(app, n=3)
    runner = ProjectionsRunner(app, store, views=INFRA_VIEWS).start()
    runner.wait(last, timeout=10)
    runner.stop()
    events = [
        (app.mapper.to_domain_event(n), _tracking(app, n.id))
        for n in app.recorder.select_notifications(start=1, limit=100)
    ]
    for name in INFRA_VIEWS:
        view = runner.view(name)
        before = view.dump()
        assert view.apply_events(events) == 0  # whole history again
        assert view.apply_events(events[3:5]) == 0  # a slice again
        assert view.apply_events(list(reversed(events))) == 0  # out of order
        assert view.dump() == before


def _tracking(app: ThingLog, position: int) -> Any:
    from eventsourcing.persistence import Tracking

    return Tracking(app.name, position)


def test_lag_per_view(app: ThingLog, store: ViewStore) -> None:
    runner = ProjectionsRunner(app, store, views=["timeline"])
    assert runner.lag() == {"timeline": 0}
    last = story(app, n=2)
    assert runner.lag() == {"timeline": last}
    runner.start()
    try:
        runner.wait(last, timeout=5)
        assert runner.lag() == {"timeline": 0}
        status = runner.status()["timeline"]
        assert (status.position, status.head, status.lag) == (last, last, 0)
    finally:
        runner.stop()


@pytest.mark.usefixtures("poisoned_timeline")
def test_poison_halts_only_its_view_and_is_recorded(
    app: ThingLog, store: ViewStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    story(app, n=2)
    poison = app.note("alb.thing.t0", "poison")
    last = story(app, project="ep", n=2)
    runner = ProjectionsRunner(app, store, views=INFRA_VIEWS).start()
    try:
        runner.wait(last, timeout=10, views=["decision_log"])  # unaffected
        with pytest.raises(PoisonEventError) as caught:
            runner.wait(last, timeout=10, views=["timeline"])
        failure = caught.value.failure
        assert failure.position == poison
        assert failure.event_id == "alb.thing.t0@5"
        assert failure.error_type == "Boom"
        assert "cannot digest alb.thing.t0@5" in failure.error
        assert failure.kind == "ThingNoted"
        assert "Boom" in failure.traceback
        timeline = runner.view("timeline")
        assert timeline.position(app.name) == poison - 1  # halted just before
        assert runner.status()["timeline"].state == "halted"
        assert runner.status()["timeline"].lag == last - poison + 1
        assert runner.status()["decision_log"].state == "live"
        assert runner.failures() == {"timeline": failure}
        # The live view keeps everything before the poison, nothing after it.
        positions = [e.position for e in runner.timeline.timeline(limit=1000).items]
        assert positions == list(range(1, poison))
        # Live writes still reach the other view.
        more = app.note("ep.thing.t1", "after the poison")
        runner.wait(more, timeout=5, views=["decision_log"])
    finally:
        runner.stop()

    # The failure is persisted: a new runner sees it, retries, fails again.
    again = ProjectionsRunner(app, store, views=["timeline"])
    assert again.failures()["timeline"].position == poison
    again.start()
    with pytest.raises(PoisonEventError) as caught:
        again.wait(timeout=10)
    assert caught.value.failure.attempts == 2
    again.stop()

    # Once the code is fixed, a restart processes the event and clears the failure.
    monkeypatch.undo()
    fixed = ProjectionsRunner(app, store, views=["timeline"]).start()
    try:
        fixed.wait(timeout=10)
        assert fixed.failures() == {}
        assert fixed.view("timeline").dump() == clean_replay(app, store, "timeline")
    finally:
        fixed.stop()


def test_a_row_the_database_refuses_halts_its_view_just_before_it(
    app: ThingLog, store: ViewStore
) -> None:
    """The timeline's rows go to PostgreSQL with COPY: a row the server refuses
    fails the COPY, and the view halts just before that event as for any
    poison, with every event before it applied and the other views going on."""
    story(app, n=3)
    refused = app.note("alb.thing.t1", "refused by the database")
    last = story(app, project="ep", n=2)
    timeline = store.view("timeline")
    entries = timeline.physical("entries")
    if isinstance(store, PostgresViewStore):
        statement = (
            f'ALTER TABLE "{store.schema}"."{entries}" ADD CONSTRAINT refuses '
            "CHECK (summary NOT LIKE '%refused by the database%')"
        )
    else:
        statement = (
            f'CREATE TRIGGER refuses BEFORE INSERT ON "{entries}" '
            "WHEN NEW.summary LIKE '%refused by the database%' "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    timeline.execute_script([statement])
    runner = ProjectionsRunner(app, store, views=INFRA_VIEWS, batch_size=100)
    runner.start()
    try:
        runner.wait(last, timeout=10, views=["decision_log"])
        with pytest.raises(PoisonEventError) as caught:
            runner.wait(last, timeout=10, views=["timeline"])
        failure = caught.value.failure
        assert failure.position == refused
        assert failure.error_type == "IntegrityError"
        assert "refuses" in failure.error or "refused" in failure.error
        assert timeline.position(app.name) == refused - 1
        positions = [e.position for e in runner.timeline.timeline(limit=1000).items]
        assert positions == list(range(1, refused))
    finally:
        runner.stop()


def test_undecodable_event_halts_views_with_reason(
    app: ThingLog, store: ViewStore
) -> None:
    story(app, n=2)
    garbage = app.write_garbage("alb.thing.t1")
    runner = ProjectionsRunner(app, store, views=INFRA_VIEWS).start()
    try:
        for name in INFRA_VIEWS:
            with pytest.raises(PoisonEventError) as caught:
                runner.wait(garbage, timeout=10, views=[name])
            failure = caught.value.failure
            assert (failure.view, failure.position) == (name, garbage)
            assert failure.error_type == "UndecodableEventError"
            assert failure.event_id == "alb.thing.t1@4"
            assert runner.view(name).position(app.name) == garbage - 1
    finally:
        runner.stop()


def test_poison_inside_a_catch_up_batch_keeps_the_events_before_it(
    app: ThingLog, store: ViewStore
) -> None:
    story(app, n=3)
    garbage = app.write_garbage("alb.thing.t1")
    app.open("alb", "late", "after the garbage")
    view = store.view("decision_log")
    runner = ProjectionsRunner(app, store, views=["decision_log"], batch_size=100)
    runner.start()
    try:
        with pytest.raises(PoisonEventError):
            runner.wait(timeout=10)
        assert view.position(app.name) == garbage - 1
        assert len(view.dump()["decisions"]) == garbage - 1
    finally:
        runner.stop()


def test_finding_the_poison_in_a_long_batch_takes_few_transactions(
    app: ThingLog, store: ViewStore
) -> None:
    """The failed batch is split in halves, not replayed one event at a time:
    the events before the poison are applied and recorded all the same."""
    story(app, n=40)
    garbage = app.write_garbage("alb.thing.t1")
    story(app, project="ep", n=5)
    view = store.view("decision_log")
    transactions = []
    apply = view._apply_in_transaction

    def counted(events: Any) -> int:
        transactions.append(len(events))
        return apply(events)

    view._apply_in_transaction = counted  # type: ignore[method-assign]
    runner = ProjectionsRunner(app, store, views=["decision_log"], batch_size=500)
    runner.start()
    try:
        with pytest.raises(PoisonEventError) as halted:
            runner.wait(timeout=10)
        assert halted.value.failure.position == garbage
        assert view.position(app.name) == garbage - 1
        assert len(view.dump()["decisions"]) == garbage - 1
        batch = transactions[0]
        assert batch > garbage > 100  # the poison is deep in one batch
        # The batch, then at most two transactions per halving, and the poison
        # alone: 2 * 8 + 2 for a batch of at most 256 events (one at a time
        # would take one per event before the poison).
        assert len(transactions) <= 2 + 2 * (batch - 1).bit_length()
    finally:
        runner.stop()


def test_several_streams_tracked_independently(store: ViewStore) -> None:
    one, two = ThingLog(), ThingLog()
    story(one, project="alb", n=2)
    story(two, project="ep", n=3)
    runners = [
        ProjectionsRunner(one, store, views=INFRA_VIEWS, source="stream-one").start(),
        ProjectionsRunner(two, store, views=INFRA_VIEWS, source="stream-two").start(),
    ]
    try:
        runners[0].wait(timeout=10)
        runners[1].wait(timeout=10)
        view: SQLView = runners[0].view("decision_log")
        assert view.positions() == {
            "stream-one": one.recorder.max_notification_id(),
            "stream-two": two.recorder.max_notification_id(),
        }
        rows = view.dump()["decisions"]
        assert {r["stream"] for r in rows} == {"stream-one", "stream-two"}
        assert {r["project"] for r in rows if r["stream"] == "stream-two"} == {"ep"}
    finally:
        for r in runners:
            r.stop()


def test_view_wait_times_out_when_not_reached(app: ThingLog, store: ViewStore) -> None:
    runner = ProjectionsRunner(app, store, views=["timeline"])
    with pytest.raises(TimeoutError):
        runner.wait(3, timeout=0.2)


def test_runner_threads_stop(app: ThingLog, store: ViewStore) -> None:
    before = threading.active_count()
    runner = ProjectionsRunner(app, store, views=INFRA_VIEWS).start()
    runner.wait(timeout=5)
    runner.stop()
    assert all(r.state == "stopped" for r in runner.runners.values())
    assert threading.active_count() <= before


def twin_store(store: ViewStore) -> ViewStore:
    """Another store on the same database as ``store`` (its own connections)."""
    if isinstance(store, SQLiteViewStore):
        return SQLiteViewStore(store.path)
    assert isinstance(store, PostgresViewStore)
    return PostgresViewStore(schema=store.schema, **PG)


def count_applied(view: SQLView, counts: list[int], index: int) -> None:
    """Add the events ``view`` applies to ``counts[index]``."""
    apply_events = view.apply_events

    def counted(events: Any) -> int:
        done = apply_events(events)
        counts[index] += done
        return done

    view.apply_events = counted  # type: ignore[method-assign]
