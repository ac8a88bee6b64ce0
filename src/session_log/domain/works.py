"""Works (compositions) and their split sheets.

A split sheet lists the writers' shares, in basis points (10,000 = 100%). It is
final only when every writer has signed and it has been finalised; a final sheet
is changed only by an amendment (a new version that every writer signs again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from session_log.domain.base import DecisionCreated, DecisionEvent, DecisionMeta
from session_log.domain.common import Aggregate, Payload
from session_log.domain.ddex import WORK_ROLES
from session_log.errors import (
    AlreadyExists,
    InvalidCommand,
    InvalidState,
    NotAuthorised,
    SplitSharesInvalid,
)

SheetStatus = Literal["proposed", "final", "superseded"]
FULL_SHARE_BP = 10_000


class WriterShare(Payload, frozen=True, kw_only=True):
    party_id: str
    role: str
    """DDEX work role: Composer, Lyricist, ComposerLyricist or Arranger."""
    share_bp: int
    """Basis points of the work (10,000 = 100%)."""


class WorkRegisteredPayload(Payload, frozen=True, kw_only=True):
    title: str
    iswc: str | None = None
    derived_from_work_id: str | None = None
    """Set when an arrangement change created this work from another."""


class SplitSheetProposedPayload(Payload, frozen=True, kw_only=True):
    sheet_version: int
    shares: tuple[WriterShare, ...]
    supersedes_version: int | None = None


class SplitSheetSignedPayload(Payload, frozen=True, kw_only=True):
    sheet_version: int
    party_id: str


class SplitSheetFinalisedPayload(Payload, frozen=True, kw_only=True):
    sheet_version: int
    shares: tuple[WriterShare, ...]


class SplitSheetAmendedPayload(Payload, frozen=True, kw_only=True):
    sheet_version: int
    shares: tuple[WriterShare, ...]
    amends_version: int


class WorkRegistered(DecisionCreated):
    """A work (composition) was registered."""

    payload: WorkRegisteredPayload

    def apply(self, aggregate: Work) -> None:
        aggregate.title = self.payload.title
        aggregate.iswc = self.payload.iswc


class SplitSheetProposed(DecisionEvent):
    """Writer shares were proposed for a work (unsigned)."""

    payload: SplitSheetProposedPayload

    def apply(self, aggregate: Work) -> None:
        aggregate.add_sheet(self.payload.sheet_version, self.payload.shares)


class SplitSheetSigned(DecisionEvent):
    """A writer signed a split sheet version."""

    payload: SplitSheetSignedPayload

    def apply(self, aggregate: Work) -> None:
        aggregate.sheet(self.payload.sheet_version).signed.append(self.payload.party_id)


class SplitSheetFinalised(DecisionEvent):
    """A fully signed split sheet became the work's final split."""

    payload: SplitSheetFinalisedPayload

    def apply(self, aggregate: Work) -> None:
        for sheet in aggregate.sheets:
            if sheet.status == "final":
                sheet.status = "superseded"
        aggregate.sheet(self.payload.sheet_version).status = "final"


class SplitSheetAmended(DecisionEvent):
    """An amendment of the final split was proposed; it needs every signature."""

    payload: SplitSheetAmendedPayload

    def apply(self, aggregate: Work) -> None:
        aggregate.add_sheet(self.payload.sheet_version, self.payload.shares)


@dataclass
class SplitSheet:
    version: int
    shares: tuple[WriterShare, ...]
    status: SheetStatus = "proposed"
    signed: list[str] = field(default_factory=list)

    @property
    def writers(self) -> list[str]:
        return [share.party_id for share in self.shares]


def check_shares(shares: tuple[WriterShare, ...]) -> None:
    """Shares must be positive, one per writer, valid roles, totalling 100%."""
    if not shares:
        msg = "shares: a split sheet needs at least one writer"
        raise SplitSharesInvalid(msg, field="shares")
    seen: set[str] = set()
    for index, share in enumerate(shares):
        if share.share_bp <= 0:
            msg = f"shares[{index}].share_bp: must be positive"
            raise SplitSharesInvalid(msg, field=f"shares[{index}].share_bp")
        if share.role not in WORK_ROLES:
            msg = f"shares[{index}].role: {share.role!r} is not a DDEX work role"
            raise InvalidCommand(msg, field=f"shares[{index}].role")
        if share.party_id in seen:
            msg = f"shares[{index}].party: {share.party_id} is listed twice"
            raise SplitSharesInvalid(msg, field=f"shares[{index}].party")
        seen.add(share.party_id)
    total = sum(share.share_bp for share in shares)
    if total != FULL_SHARE_BP:
        msg = (
            f"shares: writer shares total {total / 100:.2f}%, "
            "they must total exactly 100.00% (10,000 basis points)"
        )
        raise SplitSharesInvalid(msg, field="shares")


class Work(Aggregate):
    """A composition, with its split sheet versions."""

    KIND = "work"

    def __init__(self) -> None:
        self.title = ""
        self.iswc: str | None = None
        self.sheets: list[SplitSheet] = []

    def add_sheet(self, version: int, shares: tuple[WriterShare, ...]) -> None:
        for sheet in self.sheets:
            if sheet.status == "proposed":
                sheet.status = "superseded"
        self.sheets.append(SplitSheet(version=version, shares=shares))

    def sheet(self, version: int) -> SplitSheet:
        for sheet in self.sheets:
            if sheet.version == version:
                return sheet
        msg = f"sheet_version: {self.id} has no split sheet version {version}"
        raise InvalidState(msg, field="sheet_version")

    @property
    def final_sheet(self) -> SplitSheet | None:
        for sheet in self.sheets:
            if sheet.status == "final":
                return sheet
        return None

    @classmethod
    def register(
        cls, originator_id: str, meta: DecisionMeta, payload: WorkRegisteredPayload
    ) -> Work:
        if not payload.title.strip():
            msg = "title: must not be blank"
            raise InvalidCommand(msg, field="title")
        return cls._start(WorkRegistered, originator_id, meta, payload)

    def propose_split(
        self, meta: DecisionMeta, shares: tuple[WriterShare, ...]
    ) -> None:
        if self.final_sheet is not None:
            msg = (
                f"{self.id} has a final split sheet (version "
                f"{self.final_sheet.version}): amend it instead"
            )
            raise InvalidState(msg)
        check_shares(shares)
        pending = [s.version for s in self.sheets if s.status == "proposed"]
        self._emit(
            SplitSheetProposed,
            meta,
            SplitSheetProposedPayload(
                sheet_version=len(self.sheets) + 1,
                shares=shares,
                supersedes_version=pending[-1] if pending else None,
            ),
        )

    def amend_split(self, meta: DecisionMeta, shares: tuple[WriterShare, ...]) -> None:
        final = self.final_sheet
        if final is None:
            msg = f"{self.id} has no final split sheet to amend: propose one"
            raise InvalidState(msg)
        if not meta.reason:
            msg = "reason: an amendment of a final split sheet needs a reason"
            raise InvalidCommand(msg, field="reason")
        check_shares(shares)
        if shares == final.shares:
            msg = "shares: the amendment does not change the final split"
            raise InvalidState(msg, field="shares")
        self._emit(
            SplitSheetAmended,
            meta,
            SplitSheetAmendedPayload(
                sheet_version=len(self.sheets) + 1,
                shares=shares,
                amends_version=final.version,
            ),
        )

    def sign_split(self, meta: DecisionMeta, sheet_version: int) -> None:
        sheet = self.sheet(sheet_version)
        if sheet.status != "proposed":
            msg = f"split sheet version {sheet_version} is {sheet.status}, not open"
            raise InvalidState(msg, field="sheet_version")
        if meta.actor not in sheet.writers:
            msg = f"{meta.actor} is not a writer on split sheet {sheet_version}"
            raise NotAuthorised(msg)
        if meta.actor in sheet.signed:
            msg = f"{meta.actor} already signed split sheet {sheet_version}"
            raise AlreadyExists(msg)
        self._emit(
            SplitSheetSigned,
            meta,
            SplitSheetSignedPayload(sheet_version=sheet_version, party_id=meta.actor),
        )

    def finalise_split(self, meta: DecisionMeta, sheet_version: int) -> None:
        sheet = self.sheet(sheet_version)
        if sheet.status != "proposed":
            msg = f"split sheet version {sheet_version} is {sheet.status}"
            raise InvalidState(msg, field="sheet_version")
        missing = [w for w in sheet.writers if w not in sheet.signed]
        if missing:
            msg = (
                f"split sheet {sheet_version} lacks signatures of: {', '.join(missing)}"
            )
            raise InvalidState(msg, field="sheet_version")
        self._emit(
            SplitSheetFinalised,
            meta,
            SplitSheetFinalisedPayload(
                sheet_version=sheet_version, shares=sheet.shares
            ),
        )
