"""Credits: what people did, asserted, confirmed, disputed or retracted.

Credits are contribution, not authority. Each credit carries its DDEX role and the
vocabulary version the role comes from. One aggregate holds the credits of one
recording (or of the release, for album-level credits such as ExecutiveProducer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from session_log.domain.base import DecisionEvent, DecisionMeta
from session_log.domain.common import OpenableAggregate, OpeningEvent, Payload
from session_log.domain.ddex import check_instrument, check_role
from session_log.errors import (
    AlreadyExists,
    InvalidCommand,
    InvalidState,
    UnknownReference,
)

CreditStatus = Literal["asserted", "confirmed", "disputed", "retracted"]


class CreditAssertedPayload(Payload, frozen=True, kw_only=True):
    subject_id: str
    """The recording (or release) credited."""
    credit: str
    party_id: str
    role: str
    role_vocabulary: str
    user_defined_role: str | None = None
    instruments: tuple[str, ...] = ()


class CreditChangedPayload(Payload, frozen=True, kw_only=True):
    subject_id: str
    credit: str
    party_id: str
    role: str
    previous_status: CreditStatus


class CreditAsserted(OpeningEvent):
    """The producer asserted a credit: a party, a DDEX role, instruments."""

    payload: CreditAssertedPayload

    def apply(self, aggregate: Credits) -> None:
        p = self.payload
        aggregate.subject_id = p.subject_id
        aggregate.credits[p.credit] = CreditState(
            party_id=p.party_id,
            role=p.role,
            vocabulary=p.role_vocabulary,
            user_defined_role=p.user_defined_role,
            instruments=p.instruments,
        )


class CreditConfirmed(DecisionEvent):
    """The artist or the credited party confirmed a credit."""

    payload: CreditChangedPayload

    def apply(self, aggregate: Credits) -> None:
        aggregate.credits[self.payload.credit].status = "confirmed"


class CreditDisputed(DecisionEvent):
    """The artist or the credited party disputed a credit (reason given)."""

    payload: CreditChangedPayload

    def apply(self, aggregate: Credits) -> None:
        aggregate.credits[self.payload.credit].status = "disputed"


class CreditRetracted(DecisionEvent):
    """The producer retracted a credit (reason given)."""

    payload: CreditChangedPayload

    def apply(self, aggregate: Credits) -> None:
        aggregate.credits[self.payload.credit].status = "retracted"


@dataclass
class CreditState:
    party_id: str
    role: str
    vocabulary: str
    user_defined_role: str | None
    instruments: tuple[str, ...]
    status: CreditStatus = "asserted"


class Credits(OpenableAggregate):
    """The credits of one recording, or of the release."""

    KIND = "credits"

    def __init__(self) -> None:
        self.subject_id = ""
        self.credits: dict[str, CreditState] = {}

    def credit(self, credit: str) -> CreditState:
        try:
            return self.credits[credit]
        except KeyError:
            msg = f"credit: {self.subject_id} has no credit {credit!r}"
            raise UnknownReference(msg, field="credit") from None

    def disputed(self) -> list[str]:
        return [k for k, c in self.credits.items() if c.status == "disputed"]

    @classmethod
    def assert_credit(
        cls,
        existing: Credits | None,
        originator_id: str,
        meta: DecisionMeta,
        payload: CreditAssertedPayload,
    ) -> Credits:
        check_role(payload.role, payload.role_vocabulary, payload.user_defined_role)
        for instrument in payload.instruments:
            check_instrument(instrument, payload.role_vocabulary)
        if existing is not None:
            if payload.credit in existing.credits:
                msg = f"credit: {payload.credit!r} already exists"
                raise AlreadyExists(msg, field="credit")
            for key, other in existing.credits.items():
                if (
                    other.status != "retracted"
                    and other.party_id == payload.party_id
                    and other.role == payload.role
                    and other.instruments == payload.instruments
                ):
                    msg = f"credit: the same credit is already asserted as {key!r}"
                    raise AlreadyExists(msg, field="credit")
        return cls.emit_opening(existing, CreditAsserted, originator_id, meta, payload)

    def _changed(self, credit: str) -> CreditChangedPayload:
        state = self.credits[credit]
        return CreditChangedPayload(
            subject_id=self.subject_id,
            credit=credit,
            party_id=state.party_id,
            role=state.role,
            previous_status=state.status,
        )

    def confirm(self, meta: DecisionMeta, credit: str) -> None:
        state = self.credit(credit)
        if state.status not in ("asserted", "disputed"):
            msg = f"credit {credit} is {state.status}"
            raise InvalidState(msg, field="credit")
        if state.status == "disputed" and not meta.reason:
            msg = "reason: confirming a disputed credit resolves the dispute: say how"
            raise InvalidCommand(msg, field="reason")
        self._emit(CreditConfirmed, meta, self._changed(credit))

    def dispute(self, meta: DecisionMeta, credit: str) -> None:
        state = self.credit(credit)
        if state.status not in ("asserted", "confirmed"):
            msg = f"credit {credit} is {state.status}"
            raise InvalidState(msg, field="credit")
        if not meta.reason:
            msg = "reason: say what is wrong with the credit"
            raise InvalidCommand(msg, field="reason")
        self._emit(CreditDisputed, meta, self._changed(credit))

    def retract(self, meta: DecisionMeta, credit: str) -> None:
        state = self.credit(credit)
        if state.status == "retracted":
            msg = f"credit {credit} is already retracted"
            raise InvalidState(msg, field="credit")
        if not meta.reason:
            msg = "reason: say why the credit is retracted"
            raise InvalidCommand(msg, field="reason")
        self._emit(CreditRetracted, meta, self._changed(credit))
