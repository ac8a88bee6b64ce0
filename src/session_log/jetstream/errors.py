"""Translation of NATS and JetStream failures into eventsourcing's errors.

This is the one place where foreign errors become eventsourcing's own::

    eventsourcing.persistence.PersistenceError
     ├── DatabaseError
     │    ├── IntegrityError ........ JetStream err_code 10071 (wrong last subject
     │    │                           sequence) or 10164 (wrong expectation in an
     │    │                           atomic batch): another save got there first,
     │    │                           or the version already exists
     │    ├── OperationalError ...... timeouts, no responders, a closed or
     │    │    │                      disconnected connection, a server that cannot
     │    │    │                      be reached, any other JetStream API error
     │    │    ├── NotSentError ...... the connection is down: nothing was sent, so
     │    │    │                       nothing was stored
     │    │    └── OutcomeUnknownError  a write whose acknowledgement was lost and
     │    │                              whose outcome could not be established
     │    ├── DataError
     │    │    ├── InvalidOriginatorIdError  an id that cannot map to a subject
     │    │    └── EventTooLargeError  an event larger, as a NATS message, than the
     │    │                            server's max_payload: the save is refused
     │    │                            before anything of it is sent
     │    └── ProgrammingError
     │         ├── UnfitStreamError  an existing stream whose configuration could
     │         │                     lose history or breaks the recorder
     │         └── PermissionDeniedError  the server refused to take a request
     │                               (the user may not publish to its subject):
     │                               it was dropped, so nothing was stored; the
     │                               message names the subject
     └── ...

Every message names the operation and the server it was trying to reach.
"""

from __future__ import annotations

import asyncio

from eventsourcing.persistence import (
    DataError,
    IntegrityError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
)

# JetStream error codes that mean "your expectation about the stream was wrong".
WRONG_LAST_SEQUENCE = 10071
BATCH_WRONG_EXPECTATION = 10164
CONFLICT_CODES = frozenset({WRONG_LAST_SEQUENCE, BATCH_WRONG_EXPECTATION})
STREAM_NOT_FOUND = 10059
NO_MESSAGE = 10037  # a message get found no message


class InvalidOriginatorIdError(DataError, ValueError):
    """An originator id that cannot be mapped safely onto a NATS subject."""


class EventTooLargeError(DataError, ValueError):
    """An event too large for the server to take: nothing of its save was sent."""


class UnfitStreamError(ProgrammingError):
    """An existing stream whose configuration is not fit to hold events."""


class PermissionDeniedError(ProgrammingError):
    """The server refused a request for want of permission: nothing was stored."""


class NotSentError(OperationalError):
    """The connection was down, so nothing was sent (and nothing stored)."""


class OutcomeUnknownError(OperationalError):
    """A write was sent but its outcome could not be established."""


class JetStreamAPIError(Exception):
    """An error reply from the JetStream API (raised inside the client only)."""

    def __init__(self, code: int, err_code: int, description: str) -> None:
        super().__init__(f"code={code} err_code={err_code} {description}")
        self.code = code
        self.err_code = err_code
        self.description = description


class DisconnectedError(ConnectionError):
    """Not connected: the request was not sent (raised inside the client only)."""


class NoRespondersError(Exception):
    """Nothing answered a request (raised inside the client only)."""


class NotPermittedError(Exception):
    """The server refused a publish (raised inside the client only)."""


def translate(exc: BaseException, operation: str, server: str) -> PersistenceError:
    """The eventsourcing error for ``exc`` raised while doing ``operation``."""
    if isinstance(exc, PersistenceError):
        return exc
    where = f"{operation} on {server}"
    if isinstance(exc, JetStreamAPIError):
        if exc.err_code in CONFLICT_CODES:
            return IntegrityError(f"{where}: conflict: {exc.description}")
        if exc.err_code == STREAM_NOT_FOUND:
            return OperationalError(f"{where}: stream not found: {exc.description}")
        return OperationalError(
            f"{where}: JetStream error {exc.err_code}: {exc.description}"
        )
    if isinstance(exc, DisconnectedError):
        return NotSentError(f"{where}: not sent: {exc}")
    if isinstance(exc, NotPermittedError):
        return PermissionDeniedError(f"{where}: refused: {exc}")
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return OperationalError(f"{where}: timed out waiting for the server")
    if isinstance(exc, NoRespondersError):
        return OperationalError(
            f"{where}: no responders (is JetStream enabled and the stream there?)"
        )
    name = type(exc).__name__
    module = type(exc).__module__ or ""
    if module.startswith("nats") or isinstance(exc, OSError | ConnectionError):
        return OperationalError(f"{where}: {name}: {exc}")
    return OperationalError(f"{where}: unexpected {name}: {exc}")
