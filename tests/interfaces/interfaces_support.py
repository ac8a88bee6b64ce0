"""Helpers shared by the interface tests (fixtures are in conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from litestar import Litestar

from session_log.api import TokenBook
from session_log.embedded import free_port

TOKENS = {
    "t-rui": "rui",
    "t-lena": "lena",
    "t-mara": "mara",
    "t-max": "max",
    "t-elsewhere": "rui@another-project",
}
DEMO_SECONDS_LIMIT = 60.0


def clean_env() -> dict[str, str]:
    """This process's environment without session-log's settings, with this
    Python's scripts (``session-log``) first on the PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSION_LOG_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "120"
    return env


def run_in(
    cwd: Path, env: dict[str, str], *argv: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """``argv`` run in ``cwd`` (no standard input), its output captured."""
    return subprocess.run(
        list(argv),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_demo(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``session-log demo`` in ``cwd``, as a new user runs it."""
    return run_in(cwd, env, sys.executable, "-m", "session_log.cli", "demo")


class DemoRun:
    def __init__(
        self, cwd: Path, result: subprocess.CompletedProcess[str], seconds: float
    ):
        self.cwd = cwd
        self.data_dir = cwd / ".session-log"
        self.result = result
        self.seconds = seconds


def token_book() -> TokenBook:
    entries = ",".join(f"{token}={who}" for token, who in TOKENS.items())
    return TokenBook(None, env={"SESSION_LOG_TOKENS": entries})


class LiveServer:
    def __init__(self, app: Litestar) -> None:
        import uvicorn

        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                timeout_graceful_shutdown=2,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.app.state.api.stopping.set()
        self.server.should_exit = True
        self.thread.join(15)
