"""The per-aggregate hash chain that makes tampering with history evident.

Every stored event carries header ``SL-Hash``: the hex SHA-256 of

    previous hash (32 raw bytes; 32 zero bytes for an aggregate's first event)
    || subject "\\n" version "\\n" topic "\\n"   (UTF-8)
    || payload (the stored state bytes)

The previous hash is that of the aggregate's previous event, which the store
knows exactly because every save also states the previous event's stream
sequence (``Nats-Expected-Last-Subject-Sequence``): the server refuses a save
whose idea of the predecessor is wrong. So each aggregate's events form a chain
that any reader can recompute; altering, removing or reordering an event breaks
it. Truncation and forks of whole histories are caught by signed checkpoints
of the chain heads (``session_log.tamper``).
"""

from __future__ import annotations

import hashlib

HEADER_HASH = "SL-Hash"
GENESIS = bytes(32)


def link(prev: bytes, subject: str, version: int, topic: str, state: bytes) -> bytes:
    """The hash of an event given its predecessor's hash."""
    digest = hashlib.sha256(prev)
    digest.update(f"{subject}\n{version}\n{topic}\n".encode())
    digest.update(state)
    return digest.digest()


def parse(value: str | None) -> bytes:
    """A header value as 32 bytes (GENESIS if absent or malformed)."""
    if not value or len(value) != 64:
        return GENESIS
    try:
        return bytes.fromhex(value)
    except ValueError:
        return GENESIS
