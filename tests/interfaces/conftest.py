"""Fixtures for the CLI, the HTTP API and the dashboard.

``demo_dir`` runs the README's first command for real, once per session:
``session-log demo`` in a fresh directory, as a subprocess, on the embedded
nats-server it starts under ``.session-log/``. Every other fixture reuses that
data directory (its embedded server is restarted by ``demo_runtime``, and the CLI
invocations find it through ``server.json``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from interfaces_support import DemoRun, LiveServer, clean_env, run_demo, token_book
from litestar import Litestar

from session_log.api import create_app
from session_log.runtime import Runtime


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """``session-log demo`` on a fresh machine: a fresh directory, nothing running."""
    cwd = tmp_path_factory.mktemp("fresh-machine")
    started = time.monotonic()
    result = run_demo(cwd, clean_env())
    return DemoRun(cwd, result, time.monotonic() - started)


@pytest.fixture(scope="session")
def demo_runtime(demo_dir: DemoRun) -> Iterator[Runtime]:
    """A runtime on the demo's data directory, its views following the stream."""
    assert demo_dir.result.returncode == 0, demo_dir.result.stderr[-3000:]
    runtime = Runtime(data_dir=demo_dir.data_dir)
    try:
        runtime.follow()
        runtime.runner.wait(timeout=60)
        yield runtime
    finally:
        runtime.close()


@pytest.fixture(scope="session")
def api_app(demo_runtime: Runtime) -> Litestar:
    return create_app(demo_runtime, token_book())


@pytest.fixture(scope="session")
def live_server(demo_runtime: Runtime) -> Iterator[LiveServer]:
    """The API and dashboard served by uvicorn on a free loopback port (an app
    of its own: an app's lifespan cannot be run by two servers at once)."""
    server = LiveServer(create_app(demo_runtime, token_book()))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cli_env(demo_dir: DemoRun, demo_runtime: Runtime) -> dict[str, str]:
    """Environment for CLI invocations on the demo's data directory."""
    return {
        "SESSION_LOG_DATA_DIR": str(demo_dir.data_dir),
        "SESSION_LOG_PROJECT": "",
        "COLUMNS": "200",
    }
