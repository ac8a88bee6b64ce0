"""What the credits queries return, and how sources merge into one credit."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec


class Credit(msgspec.Struct, frozen=True, kw_only=True):
    subject_id: str
    party_id: str
    name: str
    role: str
    source: str
    role_vocabulary: str
    user_defined_role: str | None
    instruments: list[str]
    status: str
    evidence: list[str]


class MergedCredit(msgspec.Struct, frozen=True, kw_only=True):
    """One (party, role) on a subject, all sources merged (what label copy shows).

    An asserted credit (asserted, confirmed or disputed) gives the status and the
    instruments; without one the credit is ``derived`` with the instruments of the
    check-ins. ``sources`` lists where it comes from, ``evidence`` every event id.
    """

    subject_id: str
    party_id: str
    name: str
    role: str
    role_vocabulary: str
    user_defined_role: str | None
    instruments: list[str]
    status: str
    sources: list[str]
    evidence: list[str]


def merge(credits: Iterable[Credit]) -> list[MergedCredit]:
    groups: dict[tuple[str, str, str], list[Credit]] = {}
    for c in credits:
        groups.setdefault((c.subject_id, c.party_id, c.role), []).append(c)
    merged = []
    for (subject_id, party_id, role), items in groups.items():
        asserted = [c for c in items if c.source == "asserted"]
        lead = asserted[0] if asserted else items[0]
        instruments: list[str] = []
        evidence: list[str] = []
        for c in asserted or items:
            instruments.extend(i for i in c.instruments if i not in instruments)
        for c in items:
            evidence.extend(e for e in c.evidence if e not in evidence)
        merged.append(
            MergedCredit(
                subject_id=subject_id,
                party_id=party_id,
                name=lead.name,
                role=role,
                role_vocabulary=lead.role_vocabulary,
                user_defined_role=lead.user_defined_role,
                instruments=instruments,
                status=lead.status,
                sources=sorted({c.source for c in items}),
                evidence=evidence,
            )
        )
    return merged


class WriterSplit(msgspec.Struct, frozen=True, kw_only=True):
    work_id: str
    title: str
    sheet_version: int
    party_id: str
    name: str
    role: str
    share_bp: int
    event_id: str
