"""Parties: the people and organisations of a project, with optional ISNI and IPI."""

from __future__ import annotations

from typing import Literal

from session_log.domain.base import DecisionCreated, DecisionEvent, DecisionMeta
from session_log.domain.common import Aggregate, Payload
from session_log.errors import InvalidCommand, InvalidState

PartyKind = Literal["person", "organisation"]


def isni_is_valid(isni: str) -> bool:
    """True if ``isni`` is 16 characters with a valid ISO 7064 MOD 11-2 check."""
    if len(isni) != 16 or not isni[:15].isdigit() or isni[15] not in "0123456789X":
        return False
    total = 0
    for char in isni[:15]:
        total = (total + int(char)) * 2
    check = (12 - total % 11) % 11
    return isni[15] == ("X" if check == 10 else str(check))


def ipi_is_valid(ipi: str) -> bool:
    """True if ``ipi`` is an IPI name number: 9 to 11 digits."""
    return ipi.isdigit() and 9 <= len(ipi) <= 11


def check_identifiers(isni: str | None, ipi: str | None) -> None:
    if isni is not None and not isni_is_valid(isni):
        msg = f"isni: {isni!r} is not a valid ISNI (16 characters, MOD 11-2 check)"
        raise InvalidCommand(msg, field="isni")
    if ipi is not None and not ipi_is_valid(ipi):
        msg = f"ipi: {ipi!r} is not a valid IPI name number (9 to 11 digits)"
        raise InvalidCommand(msg, field="ipi")


class PartyRegisteredPayload(Payload, frozen=True, kw_only=True):
    name: str
    kind: PartyKind
    isni: str | None = None
    ipi: str | None = None


class PartyCorrectedPayload(Payload, frozen=True, kw_only=True):
    name: str
    isni: str | None
    ipi: str | None
    previous_name: str
    previous_isni: str | None
    previous_ipi: str | None


class PartyRegistered(DecisionCreated):
    """A person or organisation was registered in the project."""

    payload: PartyRegisteredPayload

    def apply(self, aggregate: Party) -> None:
        aggregate.name = self.payload.name
        aggregate.kind = self.payload.kind
        aggregate.isni = self.payload.isni
        aggregate.ipi = self.payload.ipi


class PartyCorrected(DecisionEvent):
    """A party's name or identifiers were corrected (the old values are kept)."""

    payload: PartyCorrectedPayload

    def apply(self, aggregate: Party) -> None:
        aggregate.name = self.payload.name
        aggregate.isni = self.payload.isni
        aggregate.ipi = self.payload.ipi


class Party(Aggregate):
    """A person or organisation."""

    KIND = "party"

    def __init__(self) -> None:
        self.name = ""
        self.kind: PartyKind = "person"
        self.isni: str | None = None
        self.ipi: str | None = None

    @classmethod
    def register(
        cls, originator_id: str, meta: DecisionMeta, payload: PartyRegisteredPayload
    ) -> Party:
        check_identifiers(payload.isni, payload.ipi)
        if not payload.name.strip():
            msg = "name: must not be blank"
            raise InvalidCommand(msg, field="name")
        return cls._start(PartyRegistered, originator_id, meta, payload)

    def correct(
        self, meta: DecisionMeta, name: str | None, isni: str | None, ipi: str | None
    ) -> None:
        new_name = self.name if name is None else name
        new_isni = self.isni if isni is None else (isni or None)
        new_ipi = self.ipi if ipi is None else (ipi or None)
        check_identifiers(new_isni, new_ipi)
        if not new_name.strip():
            msg = "name: must not be blank"
            raise InvalidCommand(msg, field="name")
        if (new_name, new_isni, new_ipi) == (self.name, self.isni, self.ipi):
            msg = "nothing to correct: name, isni and ipi are unchanged"
            raise InvalidState(msg)
        self._emit(
            PartyCorrected,
            meta,
            PartyCorrectedPayload(
                name=new_name,
                isni=new_isni,
                ipi=new_ipi,
                previous_name=self.name,
                previous_isni=self.isni,
                previous_ipi=self.ipi,
            ),
        )
