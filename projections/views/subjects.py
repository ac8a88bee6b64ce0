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


def subject_kind(aggregate_kind: str) -> str:
    return "person" if aggregate_kind in PERSON_KINDS else aggregate_kind


def subjects_of(record: DecisionRecord) -> list[tuple[str, str, str]]:
    """``(subject_id, subject_kind, role)`` triples, roles aggregate/actor/mentioned."""
    found: dict[tuple[str, str], str] = {}
    own_kind = subject_kind(record.aggregate_kind or "aggregate")
    found[(record.aggregate_id, "aggregate")] = own_kind
    found[(record.actor, "actor")] = "person"
    strings: list[tuple[str, str]] = []
    _collect_strings(record.payload_builtins, "", strings)
    for field, value in strings:
        if value == record.aggregate_id or not value:
            continue
        if is_aggregate_id(value):
            found.setdefault((value, "mentioned"), subject_kind(value.split(".")[1]))
        elif field in PERSON_FIELDS:
            found.setdefault((value, "mentioned"), "person")
    return [(sid, kind, role) for (sid, role), kind in found.items()]


def _collect_strings(value: Any, field: str, out: list[tuple[str, str]]) -> None:
    """Every string in plain data with the name of the field holding it (the last
    part of :func:`~projections.records.walk_strings`' dotted path), in the same
    order; a plain recursion, which is what the timeline spends its time on."""
    if isinstance(value, str):
        out.append((field, value))
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str | dict | list | tuple):
                name = str(key)
                _collect_strings(
                    item, name.rsplit(".", 1)[-1] if "." in name else name, out
                )
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, str | dict | list | tuple):
                _collect_strings(item, field, out)
