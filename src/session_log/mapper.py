"""The application's mapper: eventsourcing's, with a damaged class version refused.

eventsourcing upcasts a stored event from the ``class_version`` in its state to
its class's version by calling ``upcast_v<N>_v<N+1>`` for each step; a state
whose ``class_version`` is not a version the class knows (``0``, ``false``,
``1.5``) made that an ``AttributeError`` naming a method nobody wrote. Found by
``tests/test_fuzz_decoders.py``; it is now a ``ValueError`` naming the stored
event, as every other undecodable event is (a projection halts on it as a
poison event).
"""

from __future__ import annotations

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent

__all__ = ["CheckedMapper"]


class CheckedMapper(Mapper[str]):
    """A :class:`~eventsourcing.persistence.Mapper` that refuses an unknown
    stored ``class_version`` with ``ValueError``."""

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[str]:
        try:
            return super().to_domain_event(stored_event)
        except AttributeError as error:
            if not str(error.name or "").startswith("upcast_v"):
                raise
            msg = (
                f"stored event {stored_event.originator_id!r} version "
                f"{stored_event.originator_version} ({stored_event.topic}) has a "
                f"class_version its class cannot upcast from: no {error.name}"
            )
            raise ValueError(msg) from error
