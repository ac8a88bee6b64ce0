"""The demo album recorded on the R3 cluster while the stream leader is killed
(kill -9) twice, with the projection runners following live: every command is
applied exactly once and the views equal a clean replay of the stream, and a
rebuild in two processes.

Commands that fail with an ``OperationalError`` (no leader yet, an outcome
unknown) are resubmitted with the same command id, as a client would; the
application's idempotency by command id makes that safe.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError

from projections import ProjectionsRunner, SQLiteViewStore, rebuild_views, view_names
from projections.replay import replay
from session_log.application import SessionLog
from session_log.cluster import LoopbackCluster
from session_log.demo import load_demo

from .faults import leader, store_env, wait_replicas_current


def demo_events_on_popo() -> int:
    """How many events the demo album records on any store (here: in memory)."""
    app = SessionLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        load_demo(app)
        return app.recorder.max_notification_id() or 0
    finally:
        app.close()


def head_or_zero(app: SessionLog) -> int:
    try:
        return app.recorder.max_notification_id() or 0
    except OperationalError:  # no leader at the moment
        return 0


@pytest.mark.slow
def test_demo_with_leader_kills_views_equal_a_clean_replay(
    cluster: LoopbackCluster, tmp_path: Path
) -> None:
    app = SessionLog(
        env={"PERSISTENCE_MODULE": "session_log.jetstream", **store_env(cluster)}
    )
    errors: Counter[str] = Counter()
    original = app.submit

    def submit(command: Any, **kwargs: Any) -> Any:
        deadline = time.monotonic() + 90
        last: OperationalError | None = None
        while True:
            try:
                return original(command, **kwargs)
            except OperationalError as error:
                errors[type(error).__name__] += 1
                last = error
            if time.monotonic() > deadline:
                raise AssertionError(f"no service for 90 s: {last}")
            time.sleep(0.2)

    app.submit = submit  # type: ignore[method-assign]
    store = SQLiteViewStore(str(tmp_path / "views.db"))
    runner = ProjectionsRunner(app, store).start()
    killed: list[str] = []
    failures: list[BaseException] = []

    def kill_leader_twice() -> None:
        try:
            for at in (600, 1800):
                while head_or_zero(app) < at:
                    time.sleep(0.05)
                victim = leader(cluster)
                cluster.node(victim).kill()
                killed.append(victim)
                time.sleep(2.0)
                cluster.node(victim).start()
                cluster.wait_ready(60)
                wait_replicas_current(cluster, same_last=False)
        except BaseException as error:  # reported by the test thread
            failures.append(error)

    killer = threading.Thread(target=kill_leader_twice)
    killer.start()
    try:
        summary = load_demo(app)
        killer.join(120)
        assert not failures, failures
        head = app.recorder.max_notification_id()
        runner.wait(timeout=120)
        print(
            f"FIGURES demo-leader-kills: killed={','.join(killed)} "
            f"commands={summary.commands} events={head} "
            f"retried={dict(errors)} views=equal-to-clean-replay"
            " rebuild-in-2-processes=checked-below"
        )
        assert len(killed) == 2
        # Every command applied exactly once: the same events as on any store.
        assert head == demo_events_on_popo()
        assert not runner.failures()
        lives = {name: runner.view(name).dump() for name in view_names()}
        for name in view_names():
            shadow = store.fresh_view(name, "check")
            try:
                replay(app, shadow)
                assert lives[name] == shadow.dump(), name
            finally:
                shadow.drop()
        # A rebuild in two processes reading through pull consumers on the R3
        # stream (as session-log replay does) gives the same views.
        rebuilt = SQLiteViewStore(str(tmp_path / "rebuilt.db"))
        try:
            reports = rebuild_views(app, rebuilt, view_names(), workers=2)
            assert {r.position for r in reports} == {head}
            for name in view_names():
                assert rebuilt.view(name).dump() == lives[name], name
        finally:
            rebuilt.close()
    finally:
        runner.stop()
        store.close()
        app.close()
