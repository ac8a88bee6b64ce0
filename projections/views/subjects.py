"""Which things and people a decision concerns (for the timeline's filters).

Generic over the domain: the decision's own aggregate, its actor, and every
aggregate id (``project.kind.local``) or party reference found anywhere in its
payload. A take that names its recording and session therefore appears on the
recording's and the session's timelines, and on the timelines of its performers.
"""

from __future__ import annotations

from typing import Any

from projections.records import DecisionRecord, is_aggregate_id

PERSON_KINDS = frozenset({"party", "person", "member", "contributor"})
"""Aggregate kinds whose ids name people or organisations."""

PERSON_FIELDS = frozenset(
    {
        "party",
        "party_id",
        "party_ids",
        "parties",
        "person",
        "person_id",
        "performer",
        "performers",
        "performer_id",
        "performer_ids",
        "member",
        "member_id",
        "contributor",
        "contributor_id",
        "engineer",
        "engineer_id",
        "writer",
        "writer_id",
        "signer",
        "signed_by",
        "approver",
        "approved_by",
        "leader",
        "contractor",
        "vendor",
        "vendor_id",
        "payee",
        "payee_id",
        "artist",
        "artist_id",
        "producer",
        "producer_id",
        "mixer",
        "mixer_id",
        "grantee",
        "musician",
        "musician_id",
    }
)
"""Payload field names whose plain-string values are party ids."""


def full_id(project: str, kind: str, value: str) -> str:
    """The aggregate id ``value`` names: a local id (``rui``) is made
    ``<project>.<kind>.rui``; an aggregate id is taken as it is."""
    return value if "." in value else f"{project}.{kind}.{value}"


def subject_kind(aggregate_kind: str) -> str:
    return "person" if aggregate_kind in PERSON_KINDS else aggregate_kind


def subjects_of(record: DecisionRecord) -> list[tuple[str, str, str]]:
    """``(subject_id, subject_kind, role)`` triples, roles aggregate/actor/mentioned.

    The same as checking every ``(field, string)`` of
    :func:`~projections.records.walk_strings` over the payload (field: the last
    part of the dotted path), written as one recursion that handles strings in
    place: the timeline spends its time here.
    """
    found: dict[tuple[str, str], str] = {}
    own_kind = subject_kind(record.aggregate_kind or "aggregate")
    found[(record.aggregate_id, "aggregate")] = own_kind
    found[(record.actor, "actor")] = "person"
    data = record.payload_builtins
    if isinstance(data, str):
        _mention(data, "", record.aggregate_id, found)
    elif isinstance(data, dict | list | tuple):
        _walk(data, "", record.aggregate_id, found)
    return [(sid, kind, role) for (sid, role), kind in found.items()]


def _walk(
    value: dict[Any, Any] | list[Any] | tuple[Any, ...],
    field: str,
    own: str,
    found: dict[tuple[str, str], str],
) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                if item and item != own:
                    _mention(item, _field_name(key), own, found)
            elif isinstance(item, dict | list | tuple):
                _walk(item, _field_name(key), own, found)
    else:
        for item in value:
            if isinstance(item, str):
                if item and item != own:
                    _mention(item, field, own, found)
            elif isinstance(item, dict | list | tuple):
                _walk(item, field, own, found)


def _mention(
    value: str, field: str, own: str, found: dict[tuple[str, str], str]
) -> None:
    if not value or value == own:
        return
    kind = _ID_KINDS.get(value)
    if kind is None:
        if len(_ID_KINDS) >= _ID_KINDS_MAX:
            _ID_KINDS.clear()
        kind = _ID_KINDS[value] = (
            subject_kind(value.split(".")[1]) if is_aggregate_id(value) else ""
        )
    if kind:
        found.setdefault((value, "mentioned"), kind)
    elif field in PERSON_FIELDS:
        found.setdefault((value, "mentioned"), "person")


_ID_KINDS: dict[str, str] = {}
"""String -> its subject kind if it is an aggregate id, else "" (the same ids
recur in event after event)."""
_ID_KINDS_MAX = 65536

_FIELD_NAMES: dict[Any, str] = {}


def _field_name(key: Any) -> str:
    """The field a dict key names: the last part of a dotted key."""
    name = _FIELD_NAMES.get(key)
    if name is None:
        text = str(key)
        name = text.rsplit(".", 1)[-1] if "." in text else text
        if len(_FIELD_NAMES) < _ID_KINDS_MAX:
            _FIELD_NAMES[key] = name
    return name
