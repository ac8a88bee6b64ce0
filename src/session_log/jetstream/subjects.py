"""The mapping between originator ids and NATS subjects.

Every event of an aggregate is stored on one subject, so the server can check
optimistic concurrency per aggregate (``Nats-Expected-Last-Subject-Sequence``)
and consumers, dashboards and NATS permissions can address a project or a kind
of aggregate with wildcards. A subject is ``<prefix>.<project>.<kind>.<local>``:

=========================================  ===================================
originator id                              subject (prefix ``SessionLog``)
=========================================  ===================================
``"album-7.session.s12"`` (3 tokens)       ``SessionLog.album-7.session.s12``
``UUID("5f0c...")``                        ``SessionLog._.uuid.5f0c...`` (hex)
``"any-single-token"`` (1 token)           ``SessionLog._.str.any-single-token``
=========================================  ===================================

A token is 1 to 64 characters from ``A-Z a-z 0-9 _ -``; the project token ``_``
is reserved. Anything else (dots other than the two separators, ``*``, ``>``,
whitespace, other characters, empty or over-long tokens, two or four tokens) is
refused with :class:`~.errors.InvalidOriginatorIdError` before anything is
published. The mapping is reversible, so notifications carry the original id
(a UUID stays a UUID).
"""

from __future__ import annotations

import re
from uuid import UUID

from .errors import InvalidOriginatorIdError

TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
STREAM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
RESERVED_PROJECT = "_"


def id_to_tokens(originator_id: UUID | str) -> str:
    """The three subject tokens (joined by dots) for ``originator_id``."""
    if isinstance(originator_id, UUID):
        return f"{RESERVED_PROJECT}.uuid.{originator_id.hex}"
    if not isinstance(originator_id, str):
        msg = f"originator id must be a UUID or a str, not {type(originator_id)!r}"
        raise InvalidOriginatorIdError(msg)
    parts = originator_id.split(".")
    for part in parts:
        if not TOKEN.fullmatch(part):
            msg = (
                f"originator id {originator_id!r} cannot map to a NATS subject: "
                f"token {part!r} must be 1-64 characters from A-Z a-z 0-9 _ -"
            )
            raise InvalidOriginatorIdError(msg)
    if len(parts) == 1:
        return f"{RESERVED_PROJECT}.str.{originator_id}"
    if len(parts) == 3:
        if parts[0] == RESERVED_PROJECT:
            msg = f"originator id {originator_id!r}: project token '_' is reserved"
            raise InvalidOriginatorIdError(msg)
        return originator_id
    msg = (
        f"originator id {originator_id!r} cannot map to a NATS subject: use one "
        "token or three ('<project>.<kind>.<local>')"
    )
    raise InvalidOriginatorIdError(msg)


def tokens_to_id(tokens: str) -> UUID | str:
    """The originator id stored under subject tokens made by :func:`id_to_tokens`."""
    if tokens.startswith("_."):
        kind, _, local = tokens[2:].partition(".")
        if kind == "uuid":
            return UUID(local)
        return local
    return tokens


class SubjectScheme:
    """Subjects of one stream (events or snapshots) under one prefix."""

    def __init__(self, prefix: str) -> None:
        if not STREAM_NAME.fullmatch(prefix):
            msg = f"subject prefix {prefix!r} must be 1-64 of A-Z a-z 0-9 _ -"
            raise InvalidOriginatorIdError(msg)
        self.prefix = prefix
        self.events_filter = f"{prefix}.>"
        self.tracking_prefix = f"{prefix}_tracking"
        self.tracking_filter = f"{prefix}_tracking.>"
        self._cut = len(prefix) + 1

    def subject(self, originator_id: UUID | str) -> str:
        return f"{self.prefix}.{id_to_tokens(originator_id)}"

    def originator_id(self, subject: str) -> UUID | str:
        return tokens_to_id(subject[self._cut :])

    def tracking_subject(self, application_name: str) -> str:
        if TOKEN.fullmatch(application_name):
            return f"{self.tracking_prefix}.{application_name}"
        return f"{self.tracking_prefix}.x{application_name.encode().hex()[:120]}"
