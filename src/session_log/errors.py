"""The errors session-log raises.

Every refusal of a command is a :class:`CommandRejected` and records nothing: no
decision event, no command record. Catch the branch you can act on::

    SessionLogError
    +-- NotFound                        a lookup found nothing            (404)
    +-- CommandRejected                 a command was refused; nothing was recorded
        +-- InvalidCommand              malformed input; ``field`` names it  (422)
        +-- UnknownReference            the command names something that does not
        |                               exist (also a NotFound)           (404)
        +-- AlreadyExists               the id is already taken           (409)
        +-- NotAuthorised               the actor lacked the authority    (403)
        |   +-- CapacityNotHeld         ... did not hold a capacity that may decide
        |   +-- LimitExceeded           ... held it, but the amount is over their limit
        |   +-- SelfGrant               ... tried to grant themselves a capacity
        +-- InvariantViolated           the decision would break a rule   (409)
        |   +-- InvalidState            wrong stage (session not open, comp superseded)
        |   +-- BudgetVersionNotDecidable  superseded or already decided version
        |   +-- FundsExceeded           spending beyond a line's revised amount
        |   +-- SplitSharesInvalid      split sheet shares do not total 100%
        |   +-- TakeNotUsable           take missing, rejected, or of another
        |   |                           recording or part
        |   +-- UnionRuleViolated       AFM rules (15 minutes, contractor from 12)
        |   +-- CurrencyMismatch        money not in the project's currency
        |   +-- ApprovalOrderViolated   e.g. label approval before artist approval
        |   +-- DisputeOpen             label copy with a disputed credit
        +-- DuplicateCommandConflict    command id reused with a different body (409)
        +-- ConcurrentDecision          someone decided on the same thing first;
                                        nothing was recorded, retry     (409)

Every error has a stable machine-readable ``code`` and a suggested ``http_status``
so the CLI and the HTTP API report refusals the same way.
"""

from __future__ import annotations

from typing import ClassVar


class SessionLogError(Exception):
    """Base class of every session-log error."""

    code: ClassVar[str] = "session-log-error"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, str | None]:
        """A JSON-friendly description of the error (code, message, field)."""
        return {"code": self.code, "message": self.message, "field": self.field}


class NotFound(SessionLogError, LookupError):
    """A lookup (query) found nothing."""

    code = "not-found"
    http_status = 404


class CommandRejected(SessionLogError):
    """A command was refused; nothing was recorded."""

    code = "command-rejected"
    http_status = 409


class InvalidCommand(CommandRejected, ValueError):
    """The command is malformed; ``field`` names the offending field."""

    code = "invalid-command"
    http_status = 422


class UnknownReference(CommandRejected, NotFound):
    """The command refers to a project, party, session... that does not exist."""

    code = "unknown-reference"
    http_status = 404


class AlreadyExists(CommandRejected):
    """The command would create something whose id is taken."""

    code = "already-exists"
    http_status = 409


class NotAuthorised(CommandRejected, PermissionError):
    """The actor did not hold the authority for this decision at that moment."""

    code = "not-authorised"
    http_status = 403


class CapacityNotHeld(NotAuthorised):
    """The actor held no capacity that may make this decision."""

    code = "capacity-not-held"


class LimitExceeded(NotAuthorised):
    """The actor's capacity may decide this, but not for this amount."""

    code = "limit-exceeded"


class SelfGrant(NotAuthorised):
    """Nobody may grant or extend their own authority."""

    code = "self-grant"


class InvariantViolated(CommandRejected):
    """The decision would break a rule of the domain."""

    code = "invariant-violated"
    http_status = 409


class InvalidState(InvariantViolated):
    """The thing decided on is at the wrong stage for this decision."""

    code = "invalid-state"


class BudgetVersionNotDecidable(InvariantViolated):
    """The budget version is superseded or already decided."""

    code = "budget-version-not-decidable"


class FundsExceeded(InvariantViolated):
    """Spending beyond a budget line's revised amount without approval."""

    code = "funds-exceeded"


class SplitSharesInvalid(InvariantViolated):
    """Writer shares must total exactly 100% (10,000 basis points)."""

    code = "split-shares-invalid"


class TakeNotUsable(InvariantViolated):
    """The take does not exist, is rejected, or belongs elsewhere."""

    code = "take-not-usable"


class UnionRuleViolated(InvariantViolated):
    """An AFM sound recording agreement rule would be broken."""

    code = "union-rule-violated"


class CurrencyMismatch(InvariantViolated):
    """Money must be in the project's currency."""

    code = "currency-mismatch"


class ApprovalOrderViolated(InvariantViolated):
    """Approvals happen in order: producer, then artist, then label."""

    code = "approval-order-violated"


class DisputeOpen(InvariantViolated):
    """A disputed credit must be resolved first."""

    code = "dispute-open"


class DuplicateCommandConflict(CommandRejected):
    """The command id was already used for a different command."""

    code = "duplicate-command-conflict"
    http_status = 409


class ConcurrentDecision(CommandRejected):
    """Someone else decided on the same thing first; nothing was recorded.

    Retrying re-evaluates the command against the new state.
    """

    code = "concurrent-decision"
    http_status = 409
