"""A module-level embedded server for the library's unittest-style suites."""

from __future__ import annotations

import atexit
import itertools
import os
import threading
from typing import Any

from session_log.embedded import EmbeddedNATS
from session_log.jetstream import JetStreamFactory

_server: EmbeddedNATS | None = None
_lock = threading.Lock()
_names = itertools.count(1)


def server_url() -> str:
    """URL of a server shared by the suites of this process (started once)."""
    global _server
    with _lock:
        if _server is None:
            _server = EmbeddedNATS().start()
            atexit.register(_stop)
        return _server.url


def _stop() -> None:
    if _server is not None:
        _server.stop()
        _server.cleanup()


def fresh_stream_name(label: str) -> str:
    return f"t{os.getpid()}_{next(_names)}_{label}"[:60]


def new_factory(label: str, **env: Any) -> JetStreamFactory:
    values = {
        "NATS_URL": server_url(),
        "NATS_STREAM": fresh_stream_name(label),
        **{k: str(v) for k, v in env.items()},
    }
    return JetStreamFactory(values)
