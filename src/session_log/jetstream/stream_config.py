"""The configuration of the streams that hold events, and its verification.

A stream that holds history must never lose it: no limits that discard
messages (``max_msgs``, ``max_bytes``, ``max_age``, ``max_msgs_per_subject``),
retention ``limits`` (not interest or work-queue), ``deny_delete`` and
``deny_purge``, no roll-ups and no per-message TTLs. Reads use direct gets
(``allow_direct``) and multi-event saves use atomic batches (``allow_atomic``,
nats-server >= 2.12). ``Nats-Msg-Id`` de-duplication uses ``duplicate_window``.

An existing stream is also refused when it is weaker than configured: memory
storage where file storage is asked for, a shorter duplicate window, or fewer
replicas than ``NATS_REPLICAS``. A stronger one (file where memory is asked
for, a longer window, more replicas) is accepted.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .errors import UnfitStreamError

NANOS = 1_000_000_000


class StreamSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What a stream must look like for a recorder."""

    name: str
    subjects: tuple[str, ...]
    storage: str = "file"
    replicas: int = 1
    duplicate_window_s: float = 120.0

    def create_config(self) -> dict[str, Any]:
        """The ``$JS.API.STREAM.CREATE`` body for this stream."""
        return {
            "name": self.name,
            "subjects": list(self.subjects),
            "retention": "limits",
            "storage": self.storage,
            "num_replicas": self.replicas,
            "discard": "old",
            "max_msgs": -1,
            "max_bytes": -1,
            "max_age": 0,
            "max_msgs_per_subject": -1,
            "max_msg_size": -1,
            "max_consumers": -1,
            "duplicate_window": int(self.duplicate_window_s * NANOS),
            "allow_direct": True,
            "allow_atomic": True,
            "deny_delete": True,
            "deny_purge": True,
            "allow_rollup_hdrs": False,
            "allow_msg_ttl": False,
        }

    def problems(self, config: dict[str, Any]) -> list[str]:
        """What makes an existing stream's ``config`` unfit (empty if fit)."""
        found: list[str] = []

        def need(key: str, ok: bool, want: str) -> None:
            if not ok:
                found.append(f"{key} is {config.get(key)!r}, needs {want}")

        need("retention", config.get("retention") == "limits", "'limits'")
        for key in ("max_msgs", "max_bytes", "max_msgs_per_subject"):
            need(key, config.get(key, -1) in (-1, 0), "-1 (no limit)")
        need("max_age", config.get("max_age", 0) == 0, "0 (no age limit)")
        need("deny_delete", config.get("deny_delete") is True, "true")
        need("deny_purge", config.get("deny_purge") is True, "true")
        need("allow_direct", config.get("allow_direct") is True, "true")
        need("allow_atomic", config.get("allow_atomic") is True, "true")
        need("allow_rollup_hdrs", not config.get("allow_rollup_hdrs"), "false")
        need("allow_msg_ttl", not config.get("allow_msg_ttl"), "false")
        need("sealed", not config.get("sealed"), "false")
        if self.storage == "file":
            need(
                "storage",
                config.get("storage") == "file",
                "'file' (memory loses history on restart)",
            )
        window = int(self.duplicate_window_s * NANOS)
        need(
            "duplicate_window",
            int(config.get("duplicate_window") or 0) >= window,
            f">= {window} ns (retries after a lost acknowledgement must be caught)",
        )
        need(
            "num_replicas",
            int(config.get("num_replicas") or 1) >= self.replicas,
            f">= {self.replicas} (NATS_REPLICAS)",
        )
        have = set(config.get("subjects") or [])
        missing = [s for s in self.subjects if s not in have]
        if missing:
            found.append(f"subjects {sorted(have)} do not include {missing}")
        return found

    def check(self, config: dict[str, Any]) -> None:
        problems = self.problems(config)
        if problems:
            msg = (
                f"stream {self.name!r} exists but is unfit to hold events: "
                + "; ".join(problems)
            )
            raise UnfitStreamError(msg)
