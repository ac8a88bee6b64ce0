"""Errors raised by the read side."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from projections.failures import Failure


class ProjectionError(Exception):
    """Base class of read-side errors."""


class UndecodableEventError(ProjectionError):
    """A stored event the application's mapper could not decode."""


class NotADecisionError(ProjectionError):
    """An event without decision metadata where a decision was expected."""


class PoisonEventError(ProjectionError):
    """A view halted just before an event it could not process.

    ``failure`` is the persisted record (position, event id, error).
    """

    def __init__(self, failure: Failure) -> None:
        super().__init__(
            f"view {failure.view!r} halted before position {failure.position} "
            f"({failure.event_id}): {failure.error}"
        )
        self.failure = failure


class ViewHaltedError(ProjectionError):
    """Waiting on a view that is halted (see its failure) or stopped."""


class UnknownViewError(ProjectionError, KeyError):
    """No view of that name."""
