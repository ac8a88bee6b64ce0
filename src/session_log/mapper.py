"""The application's mapper: eventsourcing's, with class versions checked.

eventsourcing upcasts a stored event from the ``class_version`` in its state to
its class's version by calling ``upcast_v<N>_v<N+1>`` for each step. It checks
nothing else about that number:

- a ``class_version`` the class never had (``0``, ``false``, ``1.5``: a damaged
  or foreign event) made that an ``AttributeError`` naming a method nobody
  wrote (found by ``tests/test_fuzz_decoders.py``);
- a ``class_version`` above the class's own (an event written by a newer
  release of session-log, read by an older one during an upgrade) was taken as
  it is: the older code read the fields it knows and silently lost or misread
  the others.

Both are now a ``ValueError`` naming the stored event, as every other
undecodable event is: a projection halts on it as a poison event (and resumes
once upgraded), a command reading it fails instead of deciding on a misread
history.

A state is first decoded by its class's own types
(:class:`~session_log.typed_states.TypedStates`, one msgspec pass), which gives
the same domain event in a fraction of the time when the state is of the shape
the class writes now (its own class version: nothing to check or upcast). Any
other state goes the generic way, checked and upcast as above.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import DatetimeAsISO, Mapper, StoredEvent
from eventsourcing.utils import resolve_topic

from session_log.codec import MsgspecTranscoder
from session_log.typed_states import EventParts, TypedStates

__all__ = ["CheckedMapper"]

_KEY = b"class_version"


class CheckedMapper(Mapper[str]):
    """A :class:`~eventsourcing.persistence.Mapper` that refuses, with
    ``ValueError``, a stored ``class_version`` its class cannot read: one it
    never had, or one newer than its own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._typed_states = TypedStates()

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[str]:
        if self._typed():
            event = self._typed_states.domain_event(stored_event)
            if event is not None:
                return event
        return self.to_domain_event_generically(stored_event)

    def event_parts(self, stored_event: StoredEvent) -> EventParts | None:
        """What :meth:`to_domain_event` decodes on its typed path (class, ids,
        timestamp, meta, payload), without making the event, or ``None`` when
        it would take the generic path; the views' records need no more."""
        return self._typed_states.parts(stored_event) if self._typed() else None

    def to_domain_event_generically(
        self, stored_event: StoredEvent
    ) -> DomainEventProtocol[str]:
        """The domain event as eventsourcing's mapper decodes it (the class
        version checked first), without the typed path."""
        self._check_class_version(stored_event)
        return super().to_domain_event(stored_event)

    def _typed(self) -> bool:
        """Whether states are plain JSON of this package's transcoder, with
        datetimes decoded as eventsourcing's ``DatetimeAsISO`` does (what
        :class:`TypedStates` decodes)."""
        transcoder = self.transcoder
        return (
            self.cipher is None
            and self.compressor is None
            and isinstance(transcoder, MsgspecTranscoder)
            and type(transcoder.names.get("datetime_iso")) is DatetimeAsISO
        )

    def _check_class_version(self, stored_event: StoredEvent) -> None:
        # eventsourcing writes the key only for classes above version 1, so most
        # states do not hold it and are not decoded twice. (An encrypted or
        # compressed state cannot be searched, and is.)
        plain = self.cipher is None and self.compressor is None
        if plain and _KEY not in stored_event.state:
            return
        try:
            cls = resolve_topic(stored_event.topic)
            state: Any = stored_event.state
            if self.cipher:
                state = self.cipher.decrypt(state)
            if self.compressor:
                state = self.compressor.decompress(state)
            state = self.transcoder.decode(state)
        except Exception:  # the library's own decoding reports it
            return
        if not isinstance(state, dict) or "class_version" not in state:
            return
        stored = state["class_version"]
        known = getattr(cls, "class_version", 1)
        where = (
            f"stored event {stored_event.originator_id!r} version "
            f"{stored_event.originator_version} ({stored_event.topic})"
        )
        if type(stored) is not int or stored < 1:
            msg = (
                f"{where} has a class_version its class cannot upcast from: "
                f"{stored!r} (the class is at version {known})"
            )
            raise ValueError(msg)
        if stored > known:
            msg = (
                f"{where} was written by a newer release (class_version {stored}; "
                f"this code reads up to {known}): upgrade session-log to read it"
            )
            raise ValueError(msg)
