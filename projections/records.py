"""The decision record every view is fed: one domain event, flattened.

A :class:`DecisionRecord` is built from a decoded ``DecisionEvent`` and the position
(notification id) it was delivered at. Views never see eventsourcing objects, only
records, so view code is the same for every event store and every backend.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import msgspec
from eventsourcing.persistence import Notification, Tracking

from projections.errors import NotADecisionError, UndecodableEventError

_AGGREGATE_ID = re.compile(
    r"^[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{1,64}$"
)


BOOKKEEPING_KINDS = frozenset({"CommandAccepted"})
"""Event kinds that record *that* a command was accepted (its receipt), not a
decision: the timeline leaves them out and the decision log folds them into the
decisions of the same command (``command_type``)."""


def event_id_of(originator_id: object, originator_version: int) -> str:
    """The id of an event: its aggregate id and version, ``"<aggregate>@<version>"``.

    Unique in a stream (an aggregate version is written once) and stable across
    rebuilds and backends, so a view row can be traced back to its event.
    """
    return f"{originator_id}@{originator_version}"


def utc_text(moment: datetime) -> str:
    """``moment`` as fixed-width ISO 8601 UTC text (sorts chronologically)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def is_aggregate_id(value: object) -> bool:
    """Whether ``value`` looks like a ``project.kind.local`` aggregate id."""
    return isinstance(value, str) and _looks_like_aggregate_id(value)


@lru_cache(maxsize=65536)
def _looks_like_aggregate_id(value: str) -> bool:
    # The same ids recur in event after event: matched once each.
    return _AGGREGATE_ID.match(value) is not None


class DecisionRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One decision as the views see it.

    ``stream`` names the source the position belongs to (the application name the
    runner tracks); ``position`` is the notification id (for JetStream: the stream
    sequence). ``kind`` is the event class name, ``payload`` the event's payload
    Struct (``data`` is its plain-data form).
    """

    stream: str
    position: int
    event_id: str
    aggregate_id: str
    project: str
    aggregate_kind: str
    version: int
    kind: str
    topic: str
    recorded_at: datetime
    occurred_at: datetime
    actor: str
    capacity: str
    command_id: str
    correlation_id: str
    causation_id: str | None
    reason: str | None
    payload: Any
    data: Any = None
    """The payload as plain data (computed once, by :func:`to_record`)."""

    @property
    def payload_builtins(self) -> Any:
        return self.data

    def payload_json(self) -> str:
        return msgspec.json.encode(self.data).decode()

    def field(self, name: str, default: Any = None) -> Any:
        """A payload field by name (``default`` when the payload has none)."""
        return getattr(self.payload, name, default)


def to_builtins(value: Any) -> Any:
    """Plain JSON-able data for a payload (Structs, dataclasses, enums, datetimes)."""
    return msgspec.to_builtins(value, builtin_types=(), order="deterministic")


def split_aggregate_id(aggregate_id: str) -> tuple[str, str, str]:
    """``(project, kind, local)``; ids of another shape are ``("", "", id)``."""
    parts = _SPLITS.get(aggregate_id)
    if parts is None:
        if len(_SPLITS) >= _SPLITS_MAX:
            _SPLITS.clear()
        parts = _SPLITS[aggregate_id] = _split(aggregate_id)
    return parts


def _split(aggregate_id: str) -> tuple[str, str, str]:
    if is_aggregate_id(aggregate_id):
        project, kind, local = aggregate_id.split(".")
        return project, kind, local
    return "", "", aggregate_id


_SPLITS: dict[str, tuple[str, str, str]] = {}
"""Aggregate id -> its parts: an aggregate's events come close together."""
_SPLITS_MAX = 65536


class UndecodableEvent:
    """Stands in for a notification the application's mapper could not decode."""

    def __init__(self, notification: Notification, error: BaseException) -> None:
        self.notification = notification
        self.error = error
        self.originator_id = notification.originator_id
        self.originator_version = notification.originator_version
        self.topic = notification.topic


def to_record(domain_event: Any, stream: str, position: int) -> DecisionRecord:
    """The record of ``domain_event`` delivered at ``position`` of ``stream``.

    Raises :class:`UndecodableEventError` for an :class:`UndecodableEvent` and
    :class:`NotADecisionError` for an event without decision metadata, so that the
    view halts on it instead of skipping it.
    """
    if isinstance(domain_event, UndecodableEvent):
        raise UndecodableEventError(
            f"could not decode {domain_event.topic!r} "
            f"{domain_event.originator_id}@{domain_event.originator_version}: "
            f"{type(domain_event.error).__name__}: {domain_event.error}"
        ) from domain_event.error
    return _record(
        type(domain_event),
        domain_event.originator_id,
        domain_event.originator_version,
        getattr(domain_event, "timestamp", None),
        getattr(domain_event, "meta", None),
        getattr(domain_event, "payload", None),
        stream,
        position,
    )


def record_of_parts(parts: Any, stream: str, position: int) -> DecisionRecord:
    """The record :func:`to_record` makes of the domain event whose parts
    (class, ids, timestamp, meta, payload) ``parts`` holds, without the event:
    what a mapper's ``event_parts`` gives (``session_log``'s mapper decodes a
    state straight into them)."""
    return _record(
        parts.cls,
        parts.originator_id,
        parts.originator_version,
        parts.timestamp,
        parts.meta,
        parts.payload,
        stream,
        position,
    )


def _record(
    cls: type,
    stored_id: Any,
    stored_version: Any,
    timestamp: datetime | None,
    meta: Any,
    payload: Any,
    stream: str,
    position: int,
) -> DecisionRecord:
    originator_id = str(stored_id)
    version = int(stored_version)
    if meta is None or not hasattr(meta, "actor") or not hasattr(meta, "occurred_at"):
        raise NotADecisionError(
            f"{cls.__qualname__} {originator_id}@{version} "
            "has no decision metadata (meta)"
        )
    project, aggregate_kind, _ = split_aggregate_id(originator_id)
    return DecisionRecord(
        stream=stream,
        position=position,
        event_id=event_id_of(originator_id, version),
        aggregate_id=originator_id,
        project=project,
        aggregate_kind=aggregate_kind,
        version=version,
        kind=cls.__name__,
        topic=_topic_of(cls),
        recorded_at=_aware(timestamp or meta.occurred_at),
        occurred_at=_aware(meta.occurred_at),
        actor=str(meta.actor),
        capacity=str(meta.capacity),
        command_id=str(meta.command_id),
        correlation_id=str(meta.correlation_id),
        causation_id=meta.causation_id,
        reason=meta.reason,
        payload=payload,
        data=to_builtins(payload),
    )


def as_record(event: Any, tracking: Tracking) -> tuple[Any, Tracking]:
    """The event's record, made once for every view (the event itself if it
    cannot be made: each view then halts on it and records why)."""
    try:
        record = to_record(event, tracking.application_name, tracking.notification_id)
    except Exception:
        return event, tracking
    return record, tracking


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is UTC:
        return moment
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


_TOPICS: dict[type, str] = {}


def _topic_of(cls: type) -> str:
    topic = _TOPICS.get(cls)
    if topic is None:
        topic = _TOPICS[cls] = f"{cls.__module__}:{cls.__qualname__}"
    return topic


def walk_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in plain data, with the dotted path of the field holding it."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from walk_strings(item, path)
