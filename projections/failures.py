"""What a view records when it halts on a poison event."""

from __future__ import annotations

from datetime import datetime

import msgspec


class Failure(msgspec.Struct, frozen=True, kw_only=True):
    """A view halted just before ``position``: nothing of that event was applied.

    Persisted in the view's ``<view>_failures`` table, in the same database as the
    view, so the halt survives a restart. The runner retries the event on its next
    start; when it then succeeds the failure row is deleted in the same transaction.
    """

    view: str
    stream: str
    position: int
    event_id: str
    kind: str
    error_type: str
    error: str
    traceback: str
    first_failed_at: datetime
    last_failed_at: datetime
    attempts: int
