"""Every command session-log accepts, as one msgspec tagged union.

The CLI, the HTTP API and Python callers submit the same structures. JSON::

    {"type": "book_session", "command_id": "c-0042", "project": "moonlit",
     "actor": "rui", "session": "s07", "session_type": "Tracking",
     "starts_at": "2025-03-03T10:00:00Z", "ends_at": "2025-03-03T13:00:00Z",
     "union": true, "recordings": ["harbour-lights"]}

Common fields (:class:`CommandBase`): ``command_id`` (idempotency key, an id
token), ``project``, ``actor`` (the deciding party's id in the project; the HTTP
API sets it from the authenticated party), ``acting_as`` (the capacity the actor
acts in, when they hold several; otherwise the first that may decide is used),
``correlation_id`` and ``causation_id`` (the command this one follows from), and
``reason``. Ids of things in the project (sessions, recordings, lines...) are id
tokens (1 to 64 of ``A-Za-z0-9_-``); events carry the full aggregate ids.

:func:`decode_command` turns JSON into a command, raising
:class:`~session_log.errors.InvalidCommand` whose ``field`` names the offending
field (``$.segments[2].bar_to``).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

import msgspec

from session_log.domain.authority import Capacity
from session_log.domain.budget import LineCategory, Recoupable
from session_log.domain.comps import EditPassKind
from session_log.domain.ddex import CURRENT_VERSION
from session_log.domain.masters import Material
from session_log.domain.money import CURRENCY_PATTERN, CurrencyCode, Money
from session_log.domain.parties import PartyKind
from session_log.domain.project import Policy, ReleaseFormat
from session_log.domain.recordings import Arrangement, ChangeKind
from session_log.domain.takes import TakeMark
from session_log.errors import InvalidCommand

TOKEN_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
ISRC_PATTERN = r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$"
ISWC_PATTERN = r"^T-?[0-9]{3}\.?[0-9]{3}\.?[0-9]{3}-?[0-9]$"
PATTERN_WORDS = {
    TOKEN_PATTERN: "an id: 1 to 64 letters, digits, '-' or '_'",
    CURRENCY_PATTERN: "an ISO 4217 currency code: three capital letters (USD)",
    SHA256_PATTERN: "a SHA-256 digest: 64 lowercase hexadecimal digits",
    ISRC_PATTERN: "an ISRC: 12 letters and digits without dashes (USRC12500001)",
    ISWC_PATTERN: "an ISWC (T-034.524.680-1)",
}
"""What a value of each pattern is, said instead of the pattern when a command's
value does not match it."""

Token = Annotated[str, msgspec.Meta(pattern=TOKEN_PATTERN)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
Text = Annotated[str, msgspec.Meta(max_length=4000)]
UtcTime = Annotated[datetime, msgspec.Meta(tz=True)]
Positive = Annotated[int, msgspec.Meta(ge=1)]
NonNegative = Annotated[int, msgspec.Meta(ge=0)]
Sha256 = Annotated[str, msgspec.Meta(pattern=SHA256_PATTERN)]
Isrc = Annotated[str, msgspec.Meta(pattern=ISRC_PATTERN)]
Iswc = Annotated[str, msgspec.Meta(pattern=ISWC_PATTERN)]


class CommandBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Fields every command has."""

    RETRY_ON_CONFLICT: ClassVar[bool] = False
    """Additive commands re-evaluated automatically when they lose a race."""

    command_id: Token
    project: Token
    actor: Token | None = None
    acting_as: Capacity | None = None
    correlation_id: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    causation_id: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    reason: Text | None = None


# --- project, parties, membership, policy ---


class StartProject(CommandBase, tag="start_project", frozen=True, kw_only=True):
    """Start a project; the actor is the founder, registered and granted here.

    Who: the founder, in the capacity they start it with.
    """

    title: Name
    main_artist: Name
    release_format: ReleaseFormat = "album"
    currency: CurrencyCode = "USD"
    founder_name: Name
    founder_kind: PartyKind = "person"
    founder_isni: str | None = None
    founder_ipi: str | None = None
    founder_capacities: tuple[Capacity, ...] = ("producer",)
    policy: Policy | None = None
    """Defaults: producer reallocation limit 0, co-approval threshold 0."""


class RegisterParty(CommandBase, tag="register_party", frozen=True, kw_only=True):
    """Register a person or organisation in the project.

    Who: producer, label_approver.
    """

    party: Token
    name: Name
    kind: PartyKind = "person"
    isni: str | None = None
    ipi: str | None = None


class CorrectParty(CommandBase, tag="correct_party", frozen=True, kw_only=True):
    """Correct a party; omitted fields stay, an empty isni or ipi clears it.

    Who: producer, label_approver.
    """

    party: Token
    name: Name | None = None
    isni: str | None = None
    ipi: str | None = None


class GrantCapacity(CommandBase, tag="grant_capacity", frozen=True, kw_only=True):
    """Grant a party a capacity (authority to decide) in the project.

    Who: producer, label_approver, executive_approver (label-side capacities only by
    the label side; never to oneself).
    """

    party: Token
    capacity: Capacity
    budget_lines: tuple[Token, ...] = ()
    """For a vendor: the budget lines they may record costs against."""


class RevokeCapacity(CommandBase, tag="revoke_capacity", frozen=True, kw_only=True):
    """Revoke a party's capacity.

    Who: producer, label_approver, executive_approver (the last producer stays).
    """

    party: Token
    capacity: Capacity


class SetPolicy(CommandBase, tag="set_policy", frozen=True, kw_only=True):
    """Set the project's approval policy (replacing the previous one).

    Who: label_approver, executive_approver.
    """

    policy: Policy


# --- works and split sheets ---


class ShareInput(msgspec.Struct, frozen=True, kw_only=True):
    party: Token
    role: str
    share_bp: int
    """Basis points: 10,000 = 100%."""


class RegisterWork(CommandBase, tag="register_work", frozen=True, kw_only=True):
    """Register a work (a composition) to record.

    Who: producer, artist.
    """

    work: Token
    title: Name
    iswc: Iswc | None = None


class ProposeSplitSheet(
    CommandBase, tag="propose_split_sheet", frozen=True, kw_only=True
):
    """Propose the writers' shares of a work (unsigned).

    Who: producer, artist.
    """

    work: Token
    shares: tuple[ShareInput, ...]


class SignSplitSheet(CommandBase, tag="sign_split_sheet", frozen=True, kw_only=True):
    """Sign a split sheet version as one of its writers.

    Who: a writer on the sheet.
    """

    work: Token
    sheet_version: Positive


class FinaliseSplitSheet(
    CommandBase, tag="finalise_split_sheet", frozen=True, kw_only=True
):
    """Make a fully signed split sheet the work's final split.

    Who: producer, artist.
    """

    work: Token
    sheet_version: Positive


class AmendSplitSheet(CommandBase, tag="amend_split_sheet", frozen=True, kw_only=True):
    """Propose an amendment of a final split; it needs every signature again.

    Who: producer, artist.
    """

    work: Token
    shares: tuple[ShareInput, ...]


# --- recordings and arrangements ---


class AddRecording(CommandBase, tag="add_recording", frozen=True, kw_only=True):
    """Select a song: a recording of a registered work.

    Who: producer.
    """

    recording: Token
    work: Token
    title: Name
    version_title: Name | None = None


class DropRecording(CommandBase, tag="drop_recording", frozen=True, kw_only=True):
    """Drop a song from the project (reason given).

    Who: producer.
    """

    recording: Token


class AdoptArrangement(CommandBase, tag="adopt_arrangement", frozen=True, kw_only=True):
    """Adopt a recording's first arrangement (key, tempo, meter...).

    Who: producer.
    """

    recording: Token
    arrangement: Arrangement


class ChangeArrangement(
    CommandBase, tag="change_arrangement", frozen=True, kw_only=True
):
    """Change an arrangement: minor, a new recording version, or a new work.

    Who: producer.
    """

    recording: Token
    change_kind: ChangeKind
    arrangement: Arrangement
    new_recording: Token | None = None
    new_title: Name | None = None
    """Title of the new recording (defaults to the current title)."""
    version_title: Name | None = None
    new_work: Token | None = None
    new_work_title: Name | None = None


# --- sessions ---


class BookSession(CommandBase, tag="book_session", frozen=True, kw_only=True):
    """Book a session: its kind, studio, times, recordings and engineer.

    Who: producer.
    """

    session: Token
    session_type: str
    """A DDEX session type: Tracking, Overdub, Mixing..."""
    starts_at: UtcTime
    ends_at: UtcTime
    union: bool = False
    studio: Token | None = None
    room: Name | None = None
    recordings: tuple[Token, ...] = ()


class RescheduleSession(
    CommandBase, tag="reschedule_session", frozen=True, kw_only=True
):
    """Move a booked session to another time.

    Who: producer.
    """

    session: Token
    starts_at: UtcTime
    ends_at: UtcTime


class CancelSession(CommandBase, tag="cancel_session", frozen=True, kw_only=True):
    """Cancel a booked session; late notice records the fee rule.

    Who: producer.
    """

    session: Token


class OpenSession(CommandBase, tag="open_session", frozen=True, kw_only=True):
    """Start a session: check-ins and takes may be logged.

    Who: engineer, producer.
    """

    session: Token


class CloseSession(CommandBase, tag="close_session", frozen=True, kw_only=True):
    """End a session with its report facts.

    Who: engineer, producer.
    """

    session: Token


class CheckIn(CommandBase, tag="check_in", frozen=True, kw_only=True):
    """Check in to an open session (oneself, or someone, as engineer/producer).

    Who: the musician (contributor, artist, engineer, producer), or an engineer
    or producer checking someone in.
    """

    RETRY_ON_CONFLICT = True

    session: Token
    party: Token | None = None
    """Defaults to the actor."""
    roles: tuple[str, ...]
    role_vocabulary: str = CURRENT_VERSION
    instruments: tuple[str, ...] = ()
    leader: bool = False
    contractor: bool = False
    parts: Positive = 1


# --- takes, comps, edits ---


class RecordTake(CommandBase, tag="record_take", frozen=True, kw_only=True):
    """Log a take recorded in a session, with its performers.

    Who: engineer, producer.
    """

    take: Token
    session: Token
    recording: Token
    part: Name
    take_number: Positive
    performers: tuple[Token, ...]
    file: Name
    sha256: Sha256
    duration_seconds: Positive


class MarkTake(CommandBase, tag="mark_take", frozen=True, kw_only=True):
    """Mark a take: circle, keeper, maybe or reject.

    Who: producer.
    """

    take: Token
    mark: TakeMark


class SegmentInput(msgspec.Struct, frozen=True, kw_only=True):
    take: Token
    bar_from: int
    bar_to: int


class AssembleComp(CommandBase, tag="assemble_comp", frozen=True, kw_only=True):
    """Assemble a comp of a part from take segments.

    Who: engineer, producer.
    """

    recording: Token
    comp: Token
    part: Name
    segments: tuple[SegmentInput, ...]


class ApproveComp(CommandBase, tag="approve_comp", frozen=True, kw_only=True):
    """Approve a comp at producer, then artist level.

    Who: producer, artist.
    """

    recording: Token
    comp: Token


class SupersedeComp(CommandBase, tag="supersede_comp", frozen=True, kw_only=True):
    """Supersede a comp by a later comp of the same part.

    Who: producer.
    """

    recording: Token
    comp: Token
    superseded_by: Token


class RecordEditPass(CommandBase, tag="record_edit_pass", frozen=True, kw_only=True):
    """Record a timing, tuning or cleanup edit pass on a comp.

    Who: engineer.
    """

    recording: Token
    comp: Token
    pass_kind: EditPassKind
    file: Name
    sha256: Sha256
    notes: Text | None = None


# --- mixes, masters, release ---


class SubmitMix(CommandBase, tag="submit_mix", frozen=True, kw_only=True):
    """Submit a mix version of a recording.

    Who: engineer (the mixer).
    """

    recording: Token
    file: Name
    sha256: Sha256


class NoteMix(CommandBase, tag="note_mix", frozen=True, kw_only=True):
    """Note something on a mix version at a timecode.

    Who: producer, artist, label_approver, engineer.
    """

    RETRY_ON_CONFLICT = True

    recording: Token
    mix_version: Positive
    timecode_ms: NonNegative
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class RequestMixRevision(
    CommandBase, tag="request_mix_revision", frozen=True, kw_only=True
):
    """Ask for a revision of a mix version (in the fee or extra).

    Who: producer, artist, label_approver.
    """

    recording: Token
    mix_version: Positive
    notes: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class ApproveMix(CommandBase, tag="approve_mix", frozen=True, kw_only=True):
    """Approve a mix version at producer, artist or label level (final at label level).

    Who: producer, artist, label_approver.
    """

    recording: Token
    mix_version: Positive


class SubmitMaster(CommandBase, tag="submit_master", frozen=True, kw_only=True):
    """Submit a master version of a recording.

    Who: engineer (the mastering engineer).
    """

    recording: Token
    file: Name
    sha256: Sha256
    isrc: Isrc | None = None
    loudness_lufs: Decimal | None = None


class ApproveMaster(CommandBase, tag="approve_master", frozen=True, kw_only=True):
    """Approve a master at producer, artist or label level (final at label level).

    Who: producer, artist, label_approver.
    """

    recording: Token
    master_version: Positive


class ArchiveTransfer(CommandBase, tag="archive_transfer", frozen=True, kw_only=True):
    """Archive a transfer or safety copy of a recording's material.

    Who: engineer, vendor.
    """

    RETRY_ON_CONFLICT = True

    recording: Token
    transfer: Token
    material: Material
    medium: Name
    location: Name
    file: Name
    sha256: Sha256
    archivist: Token | None = None


class ProposeSequence(CommandBase, tag="propose_sequence", frozen=True, kw_only=True):
    """Propose the release's track sequence.

    Who: producer.
    """

    tracks: tuple[Token, ...]


class ApproveSequence(CommandBase, tag="approve_sequence", frozen=True, kw_only=True):
    """Approve the track sequence, each track with its final master.

    Who: label_approver.
    """

    sequence_version: Positive


class ApproveLabelCopy(
    CommandBase, tag="approve_label_copy", frozen=True, kw_only=True
):
    """Approve label copy: a snapshot of the credits and writer splits.

    Who: label_approver.
    """

    sequence_version: Positive


# --- credits ---


class AssertCredit(CommandBase, tag="assert_credit", frozen=True, kw_only=True):
    """Assert a credit on a recording (or, without one, on the release).

    Who: producer.
    """

    RETRY_ON_CONFLICT = True

    recording: Token | None = None
    credit: Token
    party: Token
    role: str
    role_vocabulary: str = CURRENT_VERSION
    user_defined_role: Name | None = None
    instruments: tuple[str, ...] = ()


class ConfirmCredit(CommandBase, tag="confirm_credit", frozen=True, kw_only=True):
    """Confirm a credit.

    Who: artist, or the credited party.
    """

    RETRY_ON_CONFLICT = True

    recording: Token | None = None
    credit: Token


class DisputeCredit(CommandBase, tag="dispute_credit", frozen=True, kw_only=True):
    """Dispute a credit (reason given).

    Who: artist, or the credited party.
    """

    RETRY_ON_CONFLICT = True

    recording: Token | None = None
    credit: Token


class RetractCredit(CommandBase, tag="retract_credit", frozen=True, kw_only=True):
    """Retract a credit (reason given).

    Who: producer.
    """

    recording: Token | None = None
    credit: Token


# --- budget ---


class LineInput(msgspec.Struct, frozen=True, kw_only=True):
    """A budget line as the producer drafts it."""

    line: Token
    category: LineCategory
    description: Name
    amount: Money | None = None
    contingency_bp: int | None = None
    recoupable_from: Recoupable = "artist"
    recording: Token | None = None


class DraftBudgetVersion(
    CommandBase, tag="draft_budget_version", frozen=True, kw_only=True
):
    """Draft a budget version (from ``lines``, or a copy of ``based_on_version``).

    Who: producer.
    """

    lines: tuple[LineInput, ...] = ()
    based_on_version: Positive | None = None


class SetBudgetLine(CommandBase, tag="set_budget_line", frozen=True, kw_only=True):
    """Add or change a line of a draft budget version.

    Who: producer.
    """

    budget_version: Positive
    line: LineInput


class RemoveBudgetLine(
    CommandBase, tag="remove_budget_line", frozen=True, kw_only=True
):
    """Remove a line from a draft budget version.

    Who: producer.
    """

    budget_version: Positive
    line: Token


class SubmitBudgetVersion(
    CommandBase, tag="submit_budget_version", frozen=True, kw_only=True
):
    """Submit a draft budget version for approval.

    Who: producer.
    """

    budget_version: Positive


class RejectBudgetVersion(
    CommandBase, tag="reject_budget_version", frozen=True, kw_only=True
):
    """Reject a submitted budget version (reason given).

    Who: label_approver, executive_approver.
    """

    budget_version: Positive


class ApproveBudgetVersion(
    CommandBase, tag="approve_budget_version", frozen=True, kw_only=True
):
    """Approve a submitted budget version (in force once fully approved).

    Who: label_approver (executive_approver too above the policy's threshold).
    """

    budget_version: Positive


class ReallocateBudget(CommandBase, tag="reallocate_budget", frozen=True, kw_only=True):
    """Move money between two lines of the approved budget.

    Who: producer (up to the policy's limit), label_approver.
    """

    reallocation: Token
    from_line: Token
    to_line: Token
    amount: Money


class RequestContingencyDraw(
    CommandBase, tag="request_contingency_draw", frozen=True, kw_only=True
):
    """Ask to move contingency money to a line.

    Who: producer.
    """

    draw: Token
    line: Token
    amount: Money


class ApproveContingencyDraw(
    CommandBase, tag="approve_contingency_draw", frozen=True, kw_only=True
):
    """Approve a contingency draw: the money moves.

    Who: label_approver.
    """

    draw: Token


class RejectContingencyDraw(
    CommandBase, tag="reject_contingency_draw", frozen=True, kw_only=True
):
    """Reject a contingency draw (reason given).

    Who: label_approver.
    """

    draw: Token


class RequestBudgetIncrease(
    CommandBase, tag="request_budget_increase", frozen=True, kw_only=True
):
    """Ask to increase the approved total for a line.

    Who: producer, label_approver.
    """

    increase: Token
    line: Token
    amount: Money


class ApproveBudgetIncrease(
    CommandBase, tag="approve_budget_increase", frozen=True, kw_only=True
):
    """Approve a budget increase: the approved total grows.

    Who: executive_approver.
    """

    increase: Token


class RejectBudgetIncrease(
    CommandBase, tag="reject_budget_increase", frozen=True, kw_only=True
):
    """Reject a budget increase (reason given).

    Who: executive_approver.
    """

    increase: Token


# --- spending ---


class CommitSpend(CommandBase, tag="commit_spend", frozen=True, kw_only=True):
    """Commit money against a line (a booking, an order, a quote).

    Who: producer, label_approver.
    """

    RETRY_ON_CONFLICT = True

    line: Token
    commitment: Token
    payee: Token
    amount: Money
    description: Name
    session: Token | None = None
    recording: Token | None = None


class CancelCommitment(CommandBase, tag="cancel_commitment", frozen=True, kw_only=True):
    """Cancel a commitment, releasing what was not invoiced.

    Who: producer, label_approver.
    """

    line: Token
    commitment: Token


class RecordCost(CommandBase, tag="record_cost", frozen=True, kw_only=True):
    """Record a cost (an invoice) against a line.

    Who: producer, label_approver, or a vendor on a line assigned to them.
    """

    RETRY_ON_CONFLICT = True

    line: Token
    cost: Token
    payee: Token | None = None
    """Defaults to the actor (a vendor recording their own invoice)."""
    amount: Money
    invoice_ref: Name
    commitment: Token | None = None
    session: Token | None = None
    recording: Token | None = None


class CorrectCost(CommandBase, tag="correct_cost", frozen=True, kw_only=True):
    """Correct a recorded cost (the old amount stays in the history).

    Who: producer, label_approver, or the vendor who recorded it.
    """

    line: Token
    cost: Token
    amount: Money


class RecordPayment(CommandBase, tag="record_payment", frozen=True, kw_only=True):
    """Record a payment of a cost (in part or in full).

    Who: label_approver, producer.
    """

    RETRY_ON_CONFLICT = True

    line: Token
    payment: Token
    cost: Token
    amount: Money


class PayAdvance(CommandBase, tag="pay_advance", frozen=True, kw_only=True):
    """Pay an advance, recoupable from the artist's or producer's royalties.

    Who: label_approver.
    """

    RETRY_ON_CONFLICT = True

    line: Token
    advance: Token
    payee: Token
    amount: Money
    recoupable_from: Literal["artist", "producer"]


# --- milestones ---


class ScheduleMilestone(
    CommandBase, tag="schedule_milestone", frozen=True, kw_only=True
):
    """Set a milestone (pre-production done, tracking done, delivery...).

    Who: producer, label_approver.
    """

    milestone: Token
    name: Name
    due_at: UtcTime
    recording: Token | None = None


class RescheduleMilestone(
    CommandBase, tag="reschedule_milestone", frozen=True, kw_only=True
):
    """Move a milestone's due date (reason given).

    Who: producer, label_approver.
    """

    milestone: Token
    due_at: UtcTime


class MeetMilestone(CommandBase, tag="meet_milestone", frozen=True, kw_only=True):
    """Record a milestone as met, on time or late.

    Who: producer, label_approver, engineer.
    """

    milestone: Token


Command = (
    StartProject
    | RegisterParty
    | CorrectParty
    | GrantCapacity
    | RevokeCapacity
    | SetPolicy
    | RegisterWork
    | ProposeSplitSheet
    | SignSplitSheet
    | FinaliseSplitSheet
    | AmendSplitSheet
    | AddRecording
    | DropRecording
    | AdoptArrangement
    | ChangeArrangement
    | BookSession
    | RescheduleSession
    | CancelSession
    | OpenSession
    | CloseSession
    | CheckIn
    | RecordTake
    | MarkTake
    | AssembleComp
    | ApproveComp
    | SupersedeComp
    | RecordEditPass
    | SubmitMix
    | NoteMix
    | RequestMixRevision
    | ApproveMix
    | SubmitMaster
    | ApproveMaster
    | ArchiveTransfer
    | ProposeSequence
    | ApproveSequence
    | ApproveLabelCopy
    | AssertCredit
    | ConfirmCredit
    | DisputeCredit
    | RetractCredit
    | DraftBudgetVersion
    | SetBudgetLine
    | RemoveBudgetLine
    | SubmitBudgetVersion
    | RejectBudgetVersion
    | ApproveBudgetVersion
    | ReallocateBudget
    | RequestContingencyDraw
    | ApproveContingencyDraw
    | RejectContingencyDraw
    | RequestBudgetIncrease
    | ApproveBudgetIncrease
    | RejectBudgetIncrease
    | CommitSpend
    | CancelCommitment
    | RecordCost
    | CorrectCost
    | RecordPayment
    | PayAdvance
    | ScheduleMilestone
    | RescheduleMilestone
    | MeetMilestone
)
"""Every command, as one tagged union (tag field ``type``)."""

COMMAND_TYPES: tuple[type[CommandBase], ...] = Command.__args__
"""Every command class."""

DECODER: msgspec.json.Decoder[Command] = msgspec.json.Decoder(Command)
"""The one decoder of commands (JSON bytes or str)."""

_REAL_DATETIME = (datetime,)  # kept in a tuple: freezegun rebinds module globals


def _enc_hook(obj: object) -> object:
    """Encode datetime subclasses (freezegun's FakeDatetime) as datetimes."""
    real = _REAL_DATETIME[0]
    if isinstance(obj, real):
        return real(
            obj.year,
            obj.month,
            obj.day,
            obj.hour,
            obj.minute,
            obj.second,
            obj.microsecond,
            obj.tzinfo,
            fold=obj.fold,
        )
    msg = f"cannot encode {type(obj).__name__}"
    raise NotImplementedError(msg)


_ENCODER = msgspec.json.Encoder(enc_hook=_enc_hook)
_AT = re.compile(r" - at `([^`]*)`$")
_MISSING = re.compile(r"missing required field `([^`]*)`")


def command_type(command: CommandBase) -> str:
    """The tag of ``command`` (e.g. ``"book_session"``)."""
    tag = type(command).__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def _field_of(error: msgspec.DecodeError) -> str:
    text = str(error)
    at = _AT.search(text)
    missing = _MISSING.search(text)
    if missing:
        base = at.group(1) if at else "$"
        return f"{base}.{missing.group(1)}"
    return at.group(1) if at else "$"


_PATTERN = re.compile(r"Expected `str` matching regex '(.+?)'(?= - at `|$)")


def _in_words(message: str) -> str:
    """msgspec's message with a known pattern said in words (:data:`PATTERN_WORDS`)."""
    found = _PATTERN.search(message)
    if found is None or found.group(1) not in PATTERN_WORDS:
        return message
    words = PATTERN_WORDS[found.group(1)]
    return message[: found.start()] + f"Expected {words}" + message[found.end() :]


def decode_command(data: bytes | str) -> Command:
    """Decode one command from JSON; :class:`InvalidCommand` names the bad field."""
    try:
        return DECODER.decode(data)
    except msgspec.ValidationError as error:
        field = _field_of(error)
        raise InvalidCommand(_in_words(str(error)), field=field) from None
    except msgspec.DecodeError as error:
        raise InvalidCommand(f"malformed JSON: {error}", field=None) from None


def encode_command(command: CommandBase) -> bytes:
    """The canonical JSON of ``command`` (with its ``type`` tag)."""
    return _ENCODER.encode(command)


def validate_command(command: CommandBase) -> Command:
    """Check a command built in Python as strictly as one decoded from JSON."""
    return decode_command(encode_command(command))
