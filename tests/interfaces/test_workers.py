"""Projection workers (``session-log project``) as real processes.

- Two workers for the same PostgreSQL views: one keeps them, the other waits as
  a hot standby and takes over when the first is killed with SIGKILL.
- A worker killed with SIGKILL at random points while the demo album is being
  recorded converges: after a final worker catches up, every view equals a
  clean replay of the stream (slow).
- ``session-log serve`` reads the views the workers keep, and runs no runner.

PostgreSQL is the one at 127.0.0.1:5432 (database ``test``); without it these
tests skip, or fail under ``SESSION_LOG_REQUIRE_POSTGRES=1`` (CI).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from projections import PostgresViewStore, view_names
from projections.replay import replay
from session_log import commands as cmd
from session_log.embedded import free_port
from session_log.runtime import Runtime

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_or_skip() -> None:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as error:
        reason = f"PostgreSQL at {PG_URL} unavailable: {error}"
        if os.environ.get("SESSION_LOG_REQUIRE_POSTGRES"):
            pytest.fail(f"SESSION_LOG_REQUIRE_POSTGRES is set but {reason}")
        pytest.skip(reason)


@pytest.fixture
def system(tmp_path: Path) -> Iterator[Runtime]:
    """An embedded NATS on a fresh data directory, views in a fresh PG schema."""
    postgres_or_skip()
    schema = f"w_{uuid.uuid4().hex[:10]}"
    rt = Runtime(
        data_dir=tmp_path / "data",
        views=f"{PG_URL}?schema={schema}",
        keep_views=False,
    )
    rt.start_nats()
    try:
        yield rt
    finally:
        store = rt.store
        rt.close()
        assert isinstance(store, PostgresViewStore)
        reopened = PostgresViewStore(schema=schema, dbname="test")
        reopened.drop_schema()
        reopened.close()
        del store


class Worker:
    def __init__(self, rt: Runtime, *args: str) -> None:
        self.log = rt.data_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SESSION_LOG")}
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "session_log.cli",
                    "project",
                    "--data-dir",
                    str(rt.data_dir),
                    "--views",
                    rt.views_url,
                    "--status-every",
                    "0.5",
                    *args,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def text(self) -> str:
        return self.log.read_text()

    def wait_for(self, words: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while words not in self.text():
            assert self.process.poll() is None, self.text()
            assert time.monotonic() < deadline, f"no {words!r} in:\n{self.text()}"
            time.sleep(0.1)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


def start_project(rt: Runtime, n: int) -> None:
    rt.app.submit(
        cmd.StartProject(
            command_id=f"start-{n}",
            project=f"p{n}",
            actor="rui",
            title=f"Album {n}",
            main_artist="Mara",
            founder_name="Rui",
        )
    )


def caught_up(rt: Runtime, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(rt.runner.lag().values()):
        assert time.monotonic() < deadline, rt.runner.lag()
        time.sleep(0.1)


def assert_views_equal_a_clean_replay(rt: Runtime) -> None:
    for name in view_names():
        live = rt.runner.view(name).dump()
        shadow = rt.store.fresh_view(name, "check")
        try:
            replay(rt.app, shadow)
            assert live == shadow.dump(), name
        finally:
            shadow.drop()


def test_a_standby_worker_takes_over_from_a_killed_one(system: Runtime) -> None:
    rt = system
    start_project(rt, 1)
    first = Worker(rt)
    first.wait_for("keeping credits")
    second = Worker(rt)
    try:
        second.wait_for("standby: another worker keeps these views")
        caught_up(rt, 30)
        first.kill()
        second.wait_for("keeping credits")
        start_project(rt, 2)  # written after the takeover, seen by the views
        caught_up(rt, 30)
        projects = rt.runner.timeline.rows(
            "SELECT DISTINCT project FROM {entries} ORDER BY project", {}
        )
        assert [row["project"] for row in projects] == ["p1", "p2"]
    finally:
        assert second.stop() == 0, second.text()
        first.stop()
    assert "stopping" in second.text()
    assert_views_equal_a_clean_replay(rt)


def test_workers_split_by_view(system: Runtime) -> None:
    rt = system
    start_project(rt, 1)
    a = Worker(rt, "--view", "timeline", "--view", "decision_log")
    b = Worker(rt, "--view", "cost_ledger", "--view", "progress", "--view", "credits")
    try:
        a.wait_for("keeping decision_log")
        b.wait_for("keeping credits")
        caught_up(rt, 30)
        assert "cost_ledger" not in a.text()
        assert "timeline" not in b.text().split("on postgresql")[1]
    finally:
        assert a.stop() == 0, a.text()
        assert b.stop() == 0, b.text()


def test_serve_reads_what_workers_keep(system: Runtime) -> None:
    rt = system
    start_project(rt, 1)
    worker = Worker(rt)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSION_LOG")}
    env["SESSION_LOG_TOKENS"] = "tok=rui"
    log = rt.data_dir / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "session_log.cli",
                "serve",
                "--data-dir",
                str(rt.data_dir),
                "--views",
                rt.views_url,
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        worker.wait_for("keeping credits")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                status = httpx.get(
                    f"{url}/api/status", headers={"Authorization": "Bearer tok"}
                )
                break
            except httpx.TransportError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        assert status.status_code == 200, status.text
        assert {v["view"] for v in status.json()["views"]} == set(view_names())
        # A command through the API: the worker, not the server, applies it.
        body = {
            "type": "register_party",
            "command_id": "reg-lena",
            "project": "p1",
            "party": "lena",
            "name": "Lena",
        }
        posted = httpx.post(
            f"{url}/api/commands",
            json=body,
            headers={"Authorization": "Bearer tok"},
            timeout=30,
        )
        assert posted.status_code == 201, posted.text
        caught_up(rt, 30)
        timeline = httpx.get(
            f"{url}/api/projects/p1/timeline", headers={"Authorization": "Bearer tok"}
        )
        kinds = [entry["kind"] for entry in timeline.json()["items"]]
        assert "PartyRegistered" in kinds, kinds
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        assert worker.stop() == 0, worker.text()


@pytest.mark.slow
def test_a_worker_killed_at_random_points_converges(system: Runtime) -> None:
    from session_log.demo import load_demo

    rt = system
    rng = random.Random(20261127)
    loading = threading.Thread(target=load_demo, args=(rt.app,))
    loading.start()
    kills = 0
    while loading.is_alive() or kills < 3:
        worker = Worker(rt)
        time.sleep(rng.uniform(0.5, 3.0))
        worker.kill()
        kills += 1
    loading.join()
    final = Worker(rt)
    try:
        final.wait_for("keeping credits")
        caught_up(rt, 120)
    finally:
        assert final.stop() == 0, final.text()
    # Compared once no worker writes (the shadow tables' DDL would otherwise
    # compete with the worker's transactions for the same catalog locks).
    assert_views_equal_a_clean_replay(rt)
    head = rt.head()
    print(f"FIGURES worker-kill: kills={kills} events={head} converged=yes")
    assert head > 2000
