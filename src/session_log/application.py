"""The session-log application: one method per command, and ``submit``.

Every command goes through the same steps (:meth:`SessionLog.submit`):

1. validate it as strictly as the JSON decoder does, and resolve the actor;
2. if its ``command_id`` was accepted before, return the original result when the
   body is the same, or refuse with :class:`DuplicateCommandConflict`;
3. load what it decides on, check the actor's authority at this moment under the
   project's policy, and let the aggregates check their invariants;
4. save every new event together with the command record in ONE atomic save.

Any refusal raises a :class:`~session_log.errors.CommandRejected` before step 4,
so a refused command records nothing. Losing a race on an aggregate raises
:class:`ConcurrentDecision` (additive commands are re-evaluated automatically).

Configuration: the transcoder defaults to ``session_log.codec:MsgspecTranscoder``;
choose the store with ``PERSISTENCE_MODULE`` (``session_log.jetstream`` in
production, eventsourcing's POPO store when unset). Time comes from ``clock``
(default :func:`~session_log.domain.base.utc_now`, which freezegun freezes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar, cast

import msgspec
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import DataError, IntegrityError

from session_log import commands as cmd
from session_log.domain.approvals import ApprovalLevel
from session_log.domain.authority import APPROVAL_LEVEL, Capacity, authorise
from session_log.domain.base import (
    DecisionAggregate,
    DecisionMeta,
    aggregate_id,
    check_token,
    utc_now,
)
from session_log.domain.budget import Budget, LineItem, ResolvedLine
from session_log.domain.commandlog import (
    CommandAcceptedPayload,
    CommandRecord,
    CommandResult,
    EventRef,
)
from session_log.domain.comps import CompAssembledPayload, CompLevel, Comps, Segment
from session_log.domain.credits import CreditAssertedPayload, Credits
from session_log.domain.masters import (
    Master,
    MasterSubmittedPayload,
    TransferArchivedPayload,
)
from session_log.domain.milestones import Milestone, MilestoneScheduledPayload
from session_log.domain.mixes import Mix
from session_log.domain.money import Money, require_currency, require_positive
from session_log.domain.parties import Party, PartyRegisteredPayload
from session_log.domain.project import (
    Policy,
    Project,
    ProjectStartedPayload,
    check_policy,
)
from session_log.domain.recordings import Recording, RecordingAddedPayload
from session_log.domain.release import (
    LabelCopyCredit,
    Release,
    TrackMaster,
    WorkSplit,
)
from session_log.domain.sessions import CheckIn, Session, SessionBookedPayload
from session_log.domain.spending import LineLedger
from session_log.domain.takes import Take, TakeRecordedPayload
from session_log.domain.works import Work, WorkRegisteredPayload, WriterShare
from session_log.errors import (
    AlreadyExists,
    CapacityNotHeld,
    ConcurrentDecision,
    DisputeOpen,
    DuplicateCommandConflict,
    InvalidCommand,
    InvalidState,
    NotAuthorised,
    NotFound,
    TakeNotUsable,
    UnknownReference,
)

__all__ = ["CommandResult", "SessionLog"]

A = TypeVar("A", bound=DecisionAggregate)
C = TypeVar("C", bound=cmd.CommandBase)

RELEASE_CREDITS = "_release"
"""Local id of the release's own credits (album-level credits)."""
CONFLICT_RETRIES = 3

Handler = Callable[["SessionLog", "Decision", Any], None]
_HANDLERS: dict[type[cmd.CommandBase], Handler] = {}


def handles(
    command_class: type[C],
) -> Callable[
    [Callable[[SessionLog, Decision, C], None]],
    Callable[[SessionLog, C], CommandResult],
]:
    """Register a handler for ``command_class`` and expose it as a public method.

    The method takes the command and returns its :class:`CommandResult`, going
    through :meth:`SessionLog.submit` (idempotency, atomic save).
    """

    def decorate(
        handler: Callable[[SessionLog, Decision, C], None],
    ) -> Callable[[SessionLog, C], CommandResult]:
        _HANDLERS[command_class] = handler

        def method(self: SessionLog, command: C) -> CommandResult:
            if not isinstance(command, command_class):
                msg = f"expected {command_class.__name__}, got {type(command).__name__}"
                raise InvalidCommand(msg, field="type")
            return self.submit(command)

        method.__name__ = handler.__name__
        method.__qualname__ = f"SessionLog.{handler.__name__}"
        method.__doc__ = handler.__doc__
        return method

    return decorate


class Decision:
    """One command being decided: what it loaded, changed, and its meta."""

    def __init__(self, app: SessionLog, command: cmd.Command, at: datetime) -> None:
        self.app = app
        self.command = command
        self.at = at
        self.project_token = command.project
        self.actor_local = command.actor or ""
        self._loaded: dict[str, DecisionAggregate | None] = {}
        self.changed: dict[str, DecisionAggregate] = {}
        self._meta: DecisionMeta | None = None

    # --- ids and loading ---

    def aid(self, kind: str, local: str) -> str:
        return aggregate_id(self.project_token, kind, local)

    @property
    def actor(self) -> str:
        """The actor's party id."""
        return self.aid(Party.KIND, self.actor_local)

    def find(self, cls: type[A], local: str) -> A | None:
        originator_id = self.aid(cls.KIND, local)
        if originator_id not in self._loaded:
            try:
                aggregate: Any = self.app.repository.get(
                    originator_id, projector_func=_project
                )
            except AggregateNotFoundError:
                aggregate = None
            self._loaded[originator_id] = cast("DecisionAggregate | None", aggregate)
        found = self._loaded[originator_id]
        if found is not None and not isinstance(found, cls):
            msg = f"{originator_id} is a {type(found).__name__}, not a {cls.__name__}"
            raise UnknownReference(msg)
        return found

    def get(self, cls: type[A], local: str, field: str) -> A:
        found = self.find(cls, local)
        if found is None:
            msg = f"{field}: no {cls.KIND} {local!r} in project {self.project_token}"
            raise UnknownReference(msg, field=field)
        return found

    def absent(self, cls: type[A], local: str, field: str) -> str:
        """The id for a new ``cls`` ``local``; refuse if it exists already."""
        if self.find(cls, local) is not None:
            msg = (
                f"{field}: {cls.KIND} {local!r} already exists in {self.project_token}"
            )
            raise AlreadyExists(msg, field=field)
        return self.aid(cls.KIND, local)

    def party(self, local: str, field: str) -> str:
        """The id of registered party ``local``."""
        return self.get(Party, local, field).id

    def recording(self, local: str, field: str = "recording") -> Recording:
        return self.get(Recording, local, field)

    def maybe(
        self, cls: type[DecisionAggregate], local: str | None, field: str
    ) -> str | None:
        """The id of optional reference ``local`` (which must exist), or None."""
        if local is None:
            return None
        return self.get(cls, local, field).id

    @property
    def project(self) -> Project:
        return self.get(Project, Project.LOCAL, "project")

    @property
    def policy(self) -> Policy:
        return self.project.policy_at(self.at)

    @property
    def currency(self) -> str:
        return self.project.currency

    def money(self, money: Money, field: str, positive: bool = True) -> Money:
        require_currency(money, self.currency, f"{field}.currency")
        if positive:
            require_positive(money, f"{field}.amount")
        return money

    # --- authority and meta ---

    def make_meta(self, capacity: str) -> DecisionMeta:
        c = self.command
        self._meta = DecisionMeta(
            actor=self.actor,
            capacity=capacity,
            occurred_at=self.at,
            command_id=c.command_id,
            correlation_id=c.correlation_id or c.command_id,
            causation_id=c.causation_id,
            reason=c.reason,
        )
        return self._meta

    def authorise(
        self, action: str, among: tuple[Capacity, ...] | None = None
    ) -> DecisionMeta:
        """Check the actor's authority now; return the meta of the decision."""
        capacity = authorise(
            self.project,
            self.actor,
            action,
            self.at,
            requested=self.command.acting_as,
            among=among,
        )
        return self.make_meta(capacity)

    @property
    def meta(self) -> DecisionMeta:
        assert self._meta is not None, "authorise() first"
        return self._meta

    def stage(self, *aggregates: DecisionAggregate) -> None:
        for aggregate in aggregates:
            self.changed[aggregate.id] = aggregate
            self._loaded[aggregate.id] = aggregate


class SessionLog(Application[str]):
    """Production decisions as events: who decided what, in which capacity, why."""

    env = {
        "TRANSCODER_TOPIC": "session_log.codec:MsgspecTranscoder",
        "MAPPER_TOPIC": "session_log.mapper:CheckedMapper",
    }

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(env)
        self.clock: Callable[[], datetime] = clock or utc_now

    # --- submitting ---

    def submit(
        self, command: cmd.CommandBase, *, actor: str | None = None
    ) -> CommandResult:
        """Decide ``command``; return what it recorded (the original result again
        when the same command is resubmitted).

        ``actor`` is the authenticated party (CLI/HTTP): it fills in a command
        without one, and a command naming somebody else is refused.
        """
        command = self._resolve_actor(command, actor)
        digest = hashlib.sha256(cmd.encode_command(command)).hexdigest()
        previous = self._previous(command, digest)
        if previous is not None:
            return previous
        attempts = CONFLICT_RETRIES if command.RETRY_ON_CONFLICT else 1
        for attempt in range(attempts):
            decision = self._decide(command)
            record = self._command_record(decision, command, digest)
            try:
                self.save(*decision.changed.values(), record)
            except IntegrityError as error:
                previous = self._previous(command, digest)
                if previous is not None:
                    return previous
                if attempt + 1 < attempts:
                    continue
                msg = (
                    "someone else decided on the same thing at the same moment; "
                    "nothing was recorded: reload and retry"
                )
                raise ConcurrentDecision(msg) from error
            except DataError as error:
                # The store refused the data before writing anything: an event
                # larger than the server takes (EventTooLargeError), say.
                msg = f"the command cannot be recorded as given: {error}"
                raise InvalidCommand(msg) from error
            assert record.result is not None
            return record.result
        raise AssertionError  # pragma: no cover

    def _resolve_actor(
        self, command: cmd.CommandBase, actor: str | None
    ) -> cmd.Command:
        checked = cmd.validate_command(command)
        if checked.project == "_":
            msg = "project: '_' is reserved"
            raise InvalidCommand(msg, field="project")
        if actor is not None:
            check_token(actor, "actor")
            if checked.actor is not None and checked.actor != actor:
                msg = f"actor: {actor} may not submit a command as {checked.actor}"
                raise NotAuthorised(msg, field="actor")
            checked = cast("cmd.Command", _replace(checked, actor=actor))
        if checked.actor is None:
            msg = "actor: who decides? (the actor's party id)"
            raise InvalidCommand(msg, field="actor")
        return checked

    def _previous(self, command: cmd.Command, digest: str) -> CommandResult | None:
        record_id = aggregate_id(
            command.project, CommandRecord.KIND, command.command_id
        )
        try:
            record: Any = self.repository.get(record_id, projector_func=_project)
        except AggregateNotFoundError:
            return None
        assert isinstance(record, CommandRecord)
        if record.digest != digest:
            msg = (
                f"command_id: {command.command_id} was already used for a different "
                f"{record.command_type} command"
            )
            raise DuplicateCommandConflict(msg, field="command_id")
        assert record.result is not None
        return record.result

    def _decide(self, command: cmd.Command) -> Decision:
        decision = Decision(self, command, self.clock())
        handler = _HANDLERS[type(command)]
        handler(self, decision, command)
        return decision

    def _command_record(
        self, decision: Decision, command: cmd.Command, digest: str
    ) -> CommandRecord:
        refs: list[EventRef] = []
        for aggregate in decision.changed.values():
            for event in aggregate.pending_events:
                refs.append(
                    EventRef(
                        originator_id=event.originator_id,
                        originator_version=event.originator_version,
                        kind=type(event).__name__,
                    )
                )
        record_id = decision.aid(CommandRecord.KIND, command.command_id)
        record_ref = EventRef(
            originator_id=record_id,
            originator_version=1,
            kind="CommandAccepted",
        )
        result = CommandResult(
            command_id=command.command_id,
            command_type=cmd.command_type(command),
            events=(*refs, record_ref),
        )
        return CommandRecord.accept(
            record_id,
            decision.meta,
            CommandAcceptedPayload(
                command_type=result.command_type,
                body=cmd.encode_command(command).decode(),
                digest=digest,
                result=result,
            ),
        )

    # --- queries ---

    def aggregate(self, originator_id: str) -> DecisionAggregate:
        """The current state of aggregate ``originator_id``."""
        try:
            found: Any = self.repository.get(originator_id)
        except AggregateNotFoundError:
            msg = f"there is no aggregate {originator_id}"
            raise NotFound(msg) from None
        return cast("DecisionAggregate", found)

    def project(self, project: str) -> Project:
        """The current state of ``project`` (membership, policy)."""
        found = self.aggregate(aggregate_id(project, Project.KIND, Project.LOCAL))
        assert isinstance(found, Project)
        return found

    def command_result(self, project: str, command_id: str) -> CommandResult:
        """The result of accepted command ``command_id``."""
        found = self.aggregate(aggregate_id(project, CommandRecord.KIND, command_id))
        assert isinstance(found, CommandRecord)
        assert found.result is not None
        return found.result

    # --- project, parties, membership, policy ---

    @handles(cmd.StartProject)
    def start_project(self, d: Decision, c: cmd.StartProject) -> None:
        """Start a project: the founder is registered and granted their capacities."""
        project_id = d.absent(Project, Project.LOCAL, "project")
        founder_id = d.absent(Party, d.actor_local, "actor")
        if not c.founder_capacities:
            msg = "founder_capacities: the founder needs at least one capacity"
            raise InvalidCommand(msg, field="founder_capacities")
        if len(set(c.founder_capacities)) != len(c.founder_capacities):
            msg = "founder_capacities: a capacity is listed twice"
            raise InvalidCommand(msg, field="founder_capacities")
        zero = Money.zero(c.currency)
        policy = c.policy or Policy(
            producer_reallocation_limit=zero, budget_co_approval_threshold=zero
        )
        check_policy(policy, c.currency)
        meta = d.make_meta(c.founder_capacities[0])
        project = Project.start(
            project_id,
            meta,
            ProjectStartedPayload(
                project=c.project,
                title=c.title,
                main_artist=c.main_artist,
                release_format=c.release_format,
                currency=c.currency,
                founder_id=founder_id,
                policy=policy,
            ),
        )
        founder = Party.register(
            founder_id,
            meta,
            PartyRegisteredPayload(
                name=c.founder_name,
                kind=c.founder_kind,
                isni=c.founder_isni,
                ipi=c.founder_ipi,
            ),
        )
        for capacity in c.founder_capacities:
            project.grant(meta, founder_id, capacity, founding=True)
        d.stage(project, founder)

    @handles(cmd.RegisterParty)
    def register_party(self, d: Decision, c: cmd.RegisterParty) -> None:
        """Register a person or organisation in the project."""
        meta = d.authorise("register_party")
        party_id = d.absent(Party, c.party, "party")
        d.stage(
            Party.register(
                party_id,
                meta,
                PartyRegisteredPayload(
                    name=c.name, kind=c.kind, isni=c.isni, ipi=c.ipi
                ),
            )
        )

    @handles(cmd.CorrectParty)
    def correct_party(self, d: Decision, c: cmd.CorrectParty) -> None:
        """Correct a party's name, ISNI or IPI."""
        meta = d.authorise("correct_party")
        party = d.get(Party, c.party, "party")
        party.correct(meta, c.name, c.isni, c.ipi)
        d.stage(party)

    @handles(cmd.GrantCapacity)
    def grant_capacity(self, d: Decision, c: cmd.GrantCapacity) -> None:
        """Grant a capacity (authority) to a registered party."""
        meta = d.authorise("grant_capacity")
        party_id = d.party(c.party, "party")
        lines = tuple(d.aid(LineLedger.KIND, line) for line in c.budget_lines)
        d.project.grant(meta, party_id, c.capacity, lines)
        d.stage(d.project)

    @handles(cmd.RevokeCapacity)
    def revoke_capacity(self, d: Decision, c: cmd.RevokeCapacity) -> None:
        """Revoke a capacity."""
        meta = d.authorise("revoke_capacity")
        party_id = d.party(c.party, "party")
        d.project.revoke(meta, party_id, c.capacity)
        d.stage(d.project)

    @handles(cmd.SetPolicy)
    def set_policy(self, d: Decision, c: cmd.SetPolicy) -> None:
        """Set the approval policy (limits, thresholds, union figures)."""
        meta = d.authorise("set_policy")
        d.project.set_policy(meta, c.policy)
        d.stage(d.project)

    # --- works and split sheets ---

    def _shares(
        self, d: Decision, shares: tuple[cmd.ShareInput, ...]
    ) -> tuple[WriterShare, ...]:
        return tuple(
            WriterShare(
                party_id=d.party(share.party, f"shares[{index}].party"),
                role=share.role,
                share_bp=share.share_bp,
            )
            for index, share in enumerate(shares)
        )

    @handles(cmd.RegisterWork)
    def register_work(self, d: Decision, c: cmd.RegisterWork) -> None:
        """Register a work (composition)."""
        meta = d.authorise("register_work")
        work_id = d.absent(Work, c.work, "work")
        d.stage(
            Work.register(
                work_id, meta, WorkRegisteredPayload(title=c.title, iswc=c.iswc)
            )
        )

    @handles(cmd.ProposeSplitSheet)
    def propose_split_sheet(self, d: Decision, c: cmd.ProposeSplitSheet) -> None:
        """Propose writer shares (they must total exactly 100%)."""
        meta = d.authorise("propose_split_sheet")
        work = d.get(Work, c.work, "work")
        work.propose_split(meta, self._shares(d, c.shares))
        d.stage(work)

    @handles(cmd.SignSplitSheet)
    def sign_split_sheet(self, d: Decision, c: cmd.SignSplitSheet) -> None:
        """A writer signs a split sheet version."""
        meta = d.authorise("sign_split_sheet")
        work = d.get(Work, c.work, "work")
        work.sign_split(meta, c.sheet_version)
        d.stage(work)

    @handles(cmd.FinaliseSplitSheet)
    def finalise_split_sheet(self, d: Decision, c: cmd.FinaliseSplitSheet) -> None:
        """Finalise a split sheet every writer has signed."""
        meta = d.authorise("finalise_split_sheet")
        work = d.get(Work, c.work, "work")
        work.finalise_split(meta, c.sheet_version)
        d.stage(work)

    @handles(cmd.AmendSplitSheet)
    def amend_split_sheet(self, d: Decision, c: cmd.AmendSplitSheet) -> None:
        """Amend a final split sheet (a new version every writer signs again)."""
        meta = d.authorise("amend_split_sheet")
        work = d.get(Work, c.work, "work")
        work.amend_split(meta, self._shares(d, c.shares))
        d.stage(work)

    # --- recordings and arrangements ---

    @handles(cmd.AddRecording)
    def add_recording(self, d: Decision, c: cmd.AddRecording) -> None:
        """Select a song: add a recording of a work."""
        meta = d.authorise("add_recording")
        if c.recording.startswith("_"):
            msg = "recording: ids starting with '_' are reserved"
            raise InvalidCommand(msg, field="recording")
        recording_id = d.absent(Recording, c.recording, "recording")
        work = d.get(Work, c.work, "work")
        d.stage(
            Recording.add(
                recording_id,
                meta,
                RecordingAddedPayload(
                    work_id=work.id, title=c.title, version_title=c.version_title
                ),
            )
        )

    @handles(cmd.DropRecording)
    def drop_recording(self, d: Decision, c: cmd.DropRecording) -> None:
        """Drop a song from the project (reason required)."""
        meta = d.authorise("drop_recording")
        recording = d.recording(c.recording)
        recording.drop(meta)
        d.stage(recording)

    @handles(cmd.AdoptArrangement)
    def adopt_arrangement(self, d: Decision, c: cmd.AdoptArrangement) -> None:
        """Adopt a recording's arrangement (key, tempo, meter, form, instruments)."""
        meta = d.authorise("adopt_arrangement")
        recording = d.recording(c.recording)
        recording.adopt_arrangement(meta, c.arrangement)
        d.stage(recording)

    @handles(cmd.ChangeArrangement)
    def change_arrangement(self, d: Decision, c: cmd.ChangeArrangement) -> None:
        """Change an arrangement: minor, new recording version, or new work."""
        meta = d.authorise("change_arrangement")
        recording = d.recording(c.recording)
        new_recording_id = (
            None if c.new_recording is None else d.aid(Recording.KIND, c.new_recording)
        )
        new_work_id = None if c.new_work is None else d.aid(Work.KIND, c.new_work)
        recording.change_arrangement(
            meta, c.change_kind, c.arrangement, new_recording_id, new_work_id
        )
        d.stage(recording)
        if c.new_recording is None:
            return
        if c.new_recording.startswith("_"):
            msg = "new_recording: ids starting with '_' are reserved"
            raise InvalidCommand(msg, field="new_recording")
        new_recording_id = d.absent(Recording, c.new_recording, "new_recording")
        work_id = recording.work_id
        if c.new_work is not None:
            new_work_id = d.absent(Work, c.new_work, "new_work")
            if not c.new_work_title:
                msg = "new_work_title: a new work needs a title"
                raise InvalidCommand(msg, field="new_work_title")
            work = Work.register(
                new_work_id,
                meta,
                WorkRegisteredPayload(
                    title=c.new_work_title, derived_from_work_id=recording.work_id
                ),
            )
            d.stage(work)
            work_id = new_work_id
        new_recording = Recording.add(
            new_recording_id,
            meta,
            RecordingAddedPayload(
                work_id=work_id,
                title=c.new_title or recording.title,
                version_title=c.version_title,
                derived_from_recording_id=recording.id,
            ),
        )
        new_recording.adopt_arrangement(meta, c.arrangement)
        d.stage(new_recording)

    # --- sessions ---

    @handles(cmd.BookSession)
    def book_session(self, d: Decision, c: cmd.BookSession) -> None:
        """Book a session (union sessions follow the AFM rules)."""
        meta = d.authorise("book_session")
        session_id = d.absent(Session, c.session, "session")
        recording_ids = []
        for index, local in enumerate(c.recordings):
            recording = d.recording(local, f"recordings[{index}]")
            recording.require_active()
            recording_ids.append(recording.id)
        d.stage(
            Session.book(
                session_id,
                meta,
                SessionBookedPayload(
                    session_type=c.session_type,
                    starts_at=c.starts_at,
                    ends_at=c.ends_at,
                    union=c.union,
                    studio_id=d.maybe(Party, c.studio, "studio"),
                    room=c.room,
                    recording_ids=tuple(recording_ids),
                ),
            )
        )

    @handles(cmd.RescheduleSession)
    def reschedule_session(self, d: Decision, c: cmd.RescheduleSession) -> None:
        """Move a booked session."""
        meta = d.authorise("reschedule_session")
        session = d.get(Session, c.session, "session")
        session.reschedule(meta, c.starts_at, c.ends_at)
        d.stage(session)

    @handles(cmd.CancelSession)
    def cancel_session(self, d: Decision, c: cmd.CancelSession) -> None:
        """Cancel a booked session; late union notice records the fee rule."""
        meta = d.authorise("cancel_session")
        session = d.get(Session, c.session, "session")
        session.cancel(meta, d.policy)
        d.stage(session)

    @handles(cmd.OpenSession)
    def open_session(self, d: Decision, c: cmd.OpenSession) -> None:
        """Open a booked session."""
        meta = d.authorise("open_session")
        session = d.get(Session, c.session, "session")
        session.open(meta)
        d.stage(session)

    @handles(cmd.CloseSession)
    def close_session(self, d: Decision, c: cmd.CloseSession) -> None:
        """Close an open session (its report facts are recorded)."""
        meta = d.authorise("close_session")
        session = d.get(Session, c.session, "session")
        session.close(meta)
        d.stage(session)

    @handles(cmd.CheckIn)
    def check_in(self, d: Decision, c: cmd.CheckIn) -> None:
        """Check a musician in to an open session with roles and instruments."""
        party_local = c.party or d.actor_local
        if party_local == d.actor_local:
            meta = d.authorise("check_in")
        else:
            meta = d.authorise("check_in_other")
        party_id = d.party(party_local, "party")
        session = d.get(Session, c.session, "session")
        session.check_in(
            meta,
            CheckIn(
                party_id=party_id,
                roles=c.roles,
                role_vocabulary=c.role_vocabulary,
                instruments=c.instruments,
                leader=c.leader,
                contractor=c.contractor,
                parts=c.parts,
            ),
            d.policy,
        )
        d.stage(session)

    # --- takes, comps, edit passes ---

    @handles(cmd.RecordTake)
    def record_take(self, d: Decision, c: cmd.RecordTake) -> None:
        """Log a take: recording, part, number, performers, file and hash."""
        meta = d.authorise("record_take")
        take_id = d.absent(Take, c.take, "take")
        session = d.get(Session, c.session, "session")
        recording = d.recording(c.recording)
        recording.require_trackable()
        performers = []
        for index, local in enumerate(c.performers):
            party_id = d.party(local, f"performers[{index}]")
            if session.checked_in(party_id) is None:
                msg = (
                    f"performers[{index}]: {party_id} is not checked in to {session.id}"
                )
                raise InvalidState(msg, field=f"performers[{index}]")
            performers.append(party_id)
        take = Take.record(
            take_id,
            meta,
            TakeRecordedPayload(
                session_id=session.id,
                recording_id=recording.id,
                part=c.part,
                take_number=c.take_number,
                performer_ids=tuple(performers),
                file=c.file,
                sha256=c.sha256,
                duration_seconds=c.duration_seconds,
                arrangement_version=recording.arrangement_version,
            ),
        )
        session.log_take(
            meta,
            take_id,
            recording.id,
            c.part,
            c.take_number,
            c.duration_seconds,
            d.policy,
        )
        d.stage(take, session)

    @handles(cmd.MarkTake)
    def mark_take(self, d: Decision, c: cmd.MarkTake) -> None:
        """Mark a take: circle, keeper, maybe or reject."""
        meta = d.authorise("mark_take")
        take = d.get(Take, c.take, "take")
        take.mark_as(meta, c.mark)
        d.stage(take)

    @handles(cmd.AssembleComp)
    def assemble_comp(self, d: Decision, c: cmd.AssembleComp) -> None:
        """Assemble a comp of a part from take segments (by bar range)."""
        meta = d.authorise("assemble_comp")
        recording = d.recording(c.recording)
        recording.require_active()
        segments = []
        take_ids: dict[str, None] = {}
        for index, segment in enumerate(c.segments):
            field = f"segments[{index}].take"
            take = d.find(Take, segment.take)
            if take is None:
                msg = f"{field}: there is no take {segment.take!r}"
                raise TakeNotUsable(msg, field=field)
            if take.recording_id != recording.id:
                msg = (
                    f"{field}: take {take.id} belongs to {take.recording_id}, "
                    f"not {recording.id}"
                )
                raise TakeNotUsable(msg, field=field)
            if take.part != c.part:
                msg = f"{field}: take {take.id} is of {take.part!r}, not {c.part!r}"
                raise TakeNotUsable(msg, field=field)
            if take.mark == "reject":
                msg = f"{field}: take {take.id} was rejected"
                raise TakeNotUsable(msg, field=field)
            segments.append(
                Segment(
                    take_id=take.id, bar_from=segment.bar_from, bar_to=segment.bar_to
                )
            )
            take_ids.setdefault(take.id, None)
        comps = Comps.assemble(
            d.find(Comps, c.recording),
            d.aid(Comps.KIND, c.recording),
            meta,
            CompAssembledPayload(
                recording_id=recording.id,
                comp=c.comp,
                part=c.part,
                segments=tuple(segments),
                take_ids=tuple(take_ids),
            ),
        )
        d.stage(comps)

    @handles(cmd.ApproveComp)
    def approve_comp(self, d: Decision, c: cmd.ApproveComp) -> None:
        """Approve a comp (the producer; then the artist at artist level)."""
        meta = d.authorise("approve_comp")
        comps = d.get(Comps, c.recording, "recording")
        level = cast(CompLevel, APPROVAL_LEVEL[cast(Capacity, meta.capacity)])
        comps.approve(meta, c.comp, level)
        d.stage(comps)

    @handles(cmd.SupersedeComp)
    def supersede_comp(self, d: Decision, c: cmd.SupersedeComp) -> None:
        """Supersede a comp by a later comp of the same part."""
        meta = d.authorise("supersede_comp")
        comps = d.get(Comps, c.recording, "recording")
        comps.supersede(meta, c.comp, c.superseded_by)
        d.stage(comps)

    @handles(cmd.RecordEditPass)
    def record_edit_pass(self, d: Decision, c: cmd.RecordEditPass) -> None:
        """Record a timing, tuning or cleanup edit pass on a comp."""
        meta = d.authorise("record_edit_pass")
        comps = d.get(Comps, c.recording, "recording")
        comps.record_edit_pass(meta, c.comp, c.pass_kind, c.file, c.sha256, c.notes)
        d.stage(comps)

    # --- mixes ---

    @handles(cmd.SubmitMix)
    def submit_mix(self, d: Decision, c: cmd.SubmitMix) -> None:
        """Submit a mix version (made from the recording's approved comps)."""
        meta = d.authorise("submit_mix")
        recording = d.recording(c.recording)
        recording.require_active()
        comps = d.find(Comps, c.recording)
        current = comps.current_comps() if comps is not None else []
        if not current:
            msg = f"recording {recording.id} has no approved comp to mix"
            raise InvalidState(msg, field="recording")
        mix = Mix.submit(
            d.find(Mix, c.recording),
            d.aid(Mix.KIND, c.recording),
            meta,
            recording.id,
            c.file,
            c.sha256,
            tuple(comp.comp for comp in current),
        )
        d.stage(mix)

    @handles(cmd.NoteMix)
    def note_mix(self, d: Decision, c: cmd.NoteMix) -> None:
        """Note a mix version at a timecode."""
        meta = d.authorise("note_mix")
        mix = d.get(Mix, c.recording, "recording")
        mix.note(meta, c.mix_version, c.timecode_ms, c.note)
        d.stage(mix)

    @handles(cmd.RequestMixRevision)
    def request_mix_revision(self, d: Decision, c: cmd.RequestMixRevision) -> None:
        """Send a mix version back for revision (included or billed extra)."""
        meta = d.authorise("request_mix_revision")
        mix = d.get(Mix, c.recording, "recording")
        mix.request_revision(
            meta, c.mix_version, c.notes, d.policy.included_mix_revisions
        )
        d.stage(mix)

    @handles(cmd.ApproveMix)
    def approve_mix(self, d: Decision, c: cmd.ApproveMix) -> None:
        """Approve a mix version at the actor's level (producer, artist, label)."""
        meta = d.authorise("approve_mix")
        mix = d.get(Mix, c.recording, "recording")
        level = cast(ApprovalLevel, APPROVAL_LEVEL[cast(Capacity, meta.capacity)])
        mix.approve(meta, c.mix_version, level)
        d.stage(mix)

    # --- masters, transfers, release ---

    @handles(cmd.SubmitMaster)
    def submit_master(self, d: Decision, c: cmd.SubmitMaster) -> None:
        """Submit a master version made from the final mix."""
        meta = d.authorise("submit_master")
        recording = d.recording(c.recording)
        recording.require_active()
        mix = d.find(Mix, c.recording)
        final_mix = mix.final_version if mix is not None else None
        if final_mix is None:
            msg = f"recording {recording.id} has no final (label-approved) mix"
            raise InvalidState(msg, field="recording")
        master = Master.submit(
            d.find(Master, c.recording),
            d.aid(Master.KIND, c.recording),
            meta,
            MasterSubmittedPayload(
                recording_id=recording.id,
                master_version=0,
                mix_version=final_mix,
                file=c.file,
                sha256=c.sha256,
                isrc=c.isrc,
                loudness_lufs=c.loudness_lufs,
            ),
        )
        d.stage(master)

    @handles(cmd.ApproveMaster)
    def approve_master(self, d: Decision, c: cmd.ApproveMaster) -> None:
        """Approve a master version at the actor's level."""
        meta = d.authorise("approve_master")
        master = d.get(Master, c.recording, "recording")
        level = cast(ApprovalLevel, APPROVAL_LEVEL[cast(Capacity, meta.capacity)])
        master.approve(meta, c.master_version, level)
        d.stage(master)

    @handles(cmd.ArchiveTransfer)
    def archive_transfer(self, d: Decision, c: cmd.ArchiveTransfer) -> None:
        """Archive a transfer or safety copy (multitracks, stems, mixes, masters)."""
        meta = d.authorise("archive_transfer")
        recording = d.recording(c.recording)
        master = Master.archive(
            d.find(Master, c.recording),
            d.aid(Master.KIND, c.recording),
            meta,
            TransferArchivedPayload(
                recording_id=recording.id,
                transfer=c.transfer,
                material=c.material,
                medium=c.medium,
                location=c.location,
                file=c.file,
                sha256=c.sha256,
                archivist_id=d.maybe(Party, c.archivist, "archivist"),
            ),
        )
        d.stage(master)

    @handles(cmd.ProposeSequence)
    def propose_sequence(self, d: Decision, c: cmd.ProposeSequence) -> None:
        """Propose the release's track sequence."""
        meta = d.authorise("propose_sequence")
        recording_ids = []
        for index, local in enumerate(c.tracks):
            recording = d.recording(local, f"tracks[{index}]")
            recording.require_active()
            recording_ids.append(recording.id)
        release = Release.propose_sequence(
            d.find(Release, Release.LOCAL),
            d.aid(Release.KIND, Release.LOCAL),
            meta,
            tuple(recording_ids),
        )
        d.stage(release)

    def _local(self, originator_id: str) -> str:
        return originator_id.rsplit(".", 1)[1]

    @handles(cmd.ApproveSequence)
    def approve_sequence(self, d: Decision, c: cmd.ApproveSequence) -> None:
        """Approve the sequence; every track needs a final master."""
        meta = d.authorise("approve_sequence")
        release = d.get(Release, Release.LOCAL, "sequence_version")
        sequence = release.require_sequence(c.sequence_version)
        tracks = []
        for index, recording_id in enumerate(sequence.recording_ids):
            master = d.find(Master, self._local(recording_id))
            final = master.final_version if master is not None else None
            if final is None:
                msg = f"tracks[{index}]: {recording_id} has no final master"
                raise InvalidState(msg, field=f"tracks[{index}]")
            tracks.append(TrackMaster(recording_id=recording_id, master_version=final))
        release.approve_sequence(meta, c.sequence_version, tuple(tracks))
        d.stage(release)

    @handles(cmd.ApproveLabelCopy)
    def approve_label_copy(self, d: Decision, c: cmd.ApproveLabelCopy) -> None:
        """Approve label copy: the credits and writer splits of the sequence."""
        meta = d.authorise("approve_label_copy")
        release = d.get(Release, Release.LOCAL, "sequence_version")
        sequence = release.require_sequence(c.sequence_version)
        subjects = [self._local(r) for r in sequence.recording_ids] + [RELEASE_CREDITS]
        credits: list[LabelCopyCredit] = []
        names: dict[str, str] = {}
        for local in subjects:
            aggregate = d.find(Credits, local)
            if aggregate is None:
                continue
            disputed = aggregate.disputed()
            if disputed:
                listed = ", ".join(disputed)
                msg = f"credits {listed} of {aggregate.subject_id} are disputed"
                raise DisputeOpen(msg, field="sequence_version")
            for key, state in aggregate.credits.items():
                if state.status == "retracted":
                    continue
                if state.party_id not in names:
                    names[state.party_id] = d.get(
                        Party, self._local(state.party_id), "party"
                    ).name
                credits.append(
                    LabelCopyCredit(
                        subject_id=aggregate.subject_id,
                        credits_id=aggregate.id,
                        credit=key,
                        party_id=state.party_id,
                        name=names[state.party_id],
                        role=state.role,
                        role_vocabulary=state.vocabulary,
                        user_defined_role=state.user_defined_role,
                        instruments=state.instruments,
                        status=state.status,
                    )
                )
        splits: list[WorkSplit] = []
        for recording_id in sequence.recording_ids:
            recording = d.recording(self._local(recording_id))
            work = d.get(Work, self._local(recording.work_id), "work")
            sheet = work.final_sheet
            if sheet is None:
                msg = f"work {work.id} ({work.title}) has no final split sheet"
                raise InvalidState(msg, field="sequence_version")
            if all(split.work_id != work.id for split in splits):
                splits.append(
                    WorkSplit(
                        work_id=work.id,
                        title=work.title,
                        sheet_version=sheet.version,
                        shares=sheet.shares,
                    )
                )
        release.approve_label_copy(
            meta, c.sequence_version, tuple(credits), tuple(splits)
        )
        d.stage(release)

    # --- credits ---

    def _credits_subject(self, d: Decision, recording: str | None) -> tuple[str, str]:
        """(credits local id, subject id) of a recording, or of the release."""
        if recording is None:
            return RELEASE_CREDITS, d.aid(Release.KIND, Release.LOCAL)
        return recording, d.recording(recording).id

    @handles(cmd.AssertCredit)
    def assert_credit(self, d: Decision, c: cmd.AssertCredit) -> None:
        """Assert a credit (party, DDEX role with vocabulary version, instruments)."""
        meta = d.authorise("assert_credit")
        local, subject_id = self._credits_subject(d, c.recording)
        credits = Credits.assert_credit(
            d.find(Credits, local),
            d.aid(Credits.KIND, local),
            meta,
            CreditAssertedPayload(
                subject_id=subject_id,
                credit=c.credit,
                party_id=d.party(c.party, "party"),
                role=c.role,
                role_vocabulary=c.role_vocabulary,
                user_defined_role=c.user_defined_role,
                instruments=c.instruments,
            ),
        )
        d.stage(credits)

    def _credit_decision(
        self, d: Decision, recording: str | None, credit: str, action: str
    ) -> tuple[Credits, DecisionMeta]:
        local, _ = self._credits_subject(d, recording)
        credits = d.get(Credits, local, "credit")
        state = credits.credit(credit)
        if state.party_id == d.actor:
            try:
                return credits, d.authorise(action)
            except CapacityNotHeld:
                return credits, d.authorise(f"{action.split('_')[0]}_own_credit")
        return credits, d.authorise(action)

    @handles(cmd.ConfirmCredit)
    def confirm_credit(self, d: Decision, c: cmd.ConfirmCredit) -> None:
        """Confirm a credit (the artist, or the credited party)."""
        credits, meta = self._credit_decision(
            d, c.recording, c.credit, "confirm_credit"
        )
        credits.confirm(meta, c.credit)
        d.stage(credits)

    @handles(cmd.DisputeCredit)
    def dispute_credit(self, d: Decision, c: cmd.DisputeCredit) -> None:
        """Dispute a credit (the artist, or the credited party), with a reason."""
        credits, meta = self._credit_decision(
            d, c.recording, c.credit, "dispute_credit"
        )
        credits.dispute(meta, c.credit)
        d.stage(credits)

    @handles(cmd.RetractCredit)
    def retract_credit(self, d: Decision, c: cmd.RetractCredit) -> None:
        """Retract a credit, with a reason."""
        meta = d.authorise("retract_credit")
        local, _ = self._credits_subject(d, c.recording)
        credits = d.get(Credits, local, "credit")
        credits.retract(meta, c.credit)
        d.stage(credits)

    # --- budget ---

    def _line_item(self, d: Decision, line: cmd.LineInput, field: str) -> LineItem:
        return LineItem(
            line=line.line,
            category=line.category,
            description=line.description,
            amount=line.amount,
            contingency_bp=line.contingency_bp,
            recoupable_from=line.recoupable_from,
            recording_id=d.maybe(Recording, line.recording, f"{field}.recording"),
        )

    def _budget(self, d: Decision) -> Budget:
        return d.get(Budget, Budget.LOCAL, "budget_version")

    @handles(cmd.DraftBudgetVersion)
    def draft_budget_version(self, d: Decision, c: cmd.DraftBudgetVersion) -> None:
        """Draft a budget version; earlier undecided versions lapse."""
        meta = d.authorise("draft_budget_version")
        lines = tuple(
            self._line_item(d, line, f"lines[{index}]")
            for index, line in enumerate(c.lines)
        )
        budget = Budget.draft(
            d.find(Budget, Budget.LOCAL),
            d.aid(Budget.KIND, Budget.LOCAL),
            meta,
            lines,
            c.based_on_version,
            d.currency,
        )
        d.stage(budget)

    @handles(cmd.SetBudgetLine)
    def set_budget_line(self, d: Decision, c: cmd.SetBudgetLine) -> None:
        """Add or change a line of a draft budget version."""
        meta = d.authorise("set_budget_line")
        budget = self._budget(d)
        budget.set_line(
            meta, c.budget_version, self._line_item(d, c.line, "line"), d.currency
        )
        d.stage(budget)

    @handles(cmd.RemoveBudgetLine)
    def remove_budget_line(self, d: Decision, c: cmd.RemoveBudgetLine) -> None:
        """Remove a line from a draft budget version."""
        meta = d.authorise("remove_budget_line")
        budget = self._budget(d)
        budget.remove_line(meta, c.budget_version, c.line)
        d.stage(budget)

    @handles(cmd.SubmitBudgetVersion)
    def submit_budget_version(self, d: Decision, c: cmd.SubmitBudgetVersion) -> None:
        """Submit a draft budget version for approval."""
        meta = d.authorise("submit_budget_version")
        budget = self._budget(d)
        budget.submit(meta, c.budget_version, d.policy, d.currency)
        d.stage(budget)

    @handles(cmd.RejectBudgetVersion)
    def reject_budget_version(self, d: Decision, c: cmd.RejectBudgetVersion) -> None:
        """Reject a submitted budget version, with a reason."""
        meta = d.authorise("reject_budget_version")
        budget = self._budget(d)
        budget.reject(meta, c.budget_version, d.currency)
        d.stage(budget)

    @handles(cmd.ApproveBudgetVersion)
    def approve_budget_version(self, d: Decision, c: cmd.ApproveBudgetVersion) -> None:
        """Approve a budget version (label; over the threshold, also the executive).

        When the last required approval is given, the version comes into force
        and every line's ledger is funded in the same save.
        """
        meta = d.authorise("approve_budget_version")
        budget = self._budget(d)
        previous = dict(budget.approved_lines)
        lines = budget.approve(meta, c.budget_version, d.policy, d.currency)
        d.stage(budget)
        if lines is None:
            return
        kept = {line.line for line in lines}
        removed = tuple(
            ResolvedLine(
                line_id=line.line_id,
                line=line.line,
                category=line.category,
                description=f"{line.description} (not in version {c.budget_version})",
                amount=Money.zero(d.currency),
                recoupable_from=line.recoupable_from,
                recording_id=line.recording_id,
            )
            for name, line in previous.items()
            if name not in kept
        )
        for line in (*lines, *removed):
            ledger = LineLedger.fund(
                d.find(LineLedger, line.line), meta, budget.id, c.budget_version, line
            )
            d.stage(ledger)

    def _ledger(self, d: Decision, line: str, field: str = "line") -> LineLedger:
        ledger = d.find(LineLedger, line)
        if ledger is None:
            msg = f"{field}: line {line!r} has no approved funding"
            raise UnknownReference(msg, field=field)
        return ledger

    @handles(cmd.ReallocateBudget)
    def reallocate_budget(self, d: Decision, c: cmd.ReallocateBudget) -> None:
        """Move money between lines (producer within the limit, else the label)."""
        meta = d.authorise("reallocate_budget")
        amount = d.money(c.amount, "amount")
        budget = self._budget(d)
        budget.reallocate(
            meta, c.reallocation, c.from_line, c.to_line, amount, d.policy
        )
        source = self._ledger(d, c.from_line, "from_line")
        target = self._ledger(d, c.to_line, "to_line")
        source.revise(meta, -amount.amount, "reallocation", c.reallocation)
        target.revise(meta, amount.amount, "reallocation", c.reallocation)
        d.stage(budget, source, target)

    @handles(cmd.RequestContingencyDraw)
    def request_contingency_draw(
        self, d: Decision, c: cmd.RequestContingencyDraw
    ) -> None:
        """Ask to move contingency money to a line."""
        meta = d.authorise("request_contingency_draw")
        amount = d.money(c.amount, "amount")
        budget = self._budget(d)
        budget.request_draw(meta, c.draw, c.line, amount)
        contingency = budget.contingency_line
        assert contingency is not None
        ledger = self._ledger(d, contingency.line)
        if amount.amount > ledger.available:
            msg = (
                f"amount: only {ledger.money(ledger.available)} of contingency is left"
            )
            raise InvalidState(msg, field="amount")
        d.stage(budget)

    def _decide_draw(self, d: Decision, draw: str, approve: bool) -> None:
        action = "approve_contingency_draw" if approve else "reject_contingency_draw"
        meta = d.authorise(action)
        budget = self._budget(d)
        request = budget.decide_draw(meta, draw, approve)
        d.stage(budget)
        if approve:
            contingency = budget.contingency_line
            assert contingency is not None
            source = self._ledger(d, contingency.line)
            target = self._ledger(d, self._local(request.line))
            source.revise(meta, -request.amount.amount, "contingency_draw", draw)
            target.revise(meta, request.amount.amount, "contingency_draw", draw)
            d.stage(source, target)

    @handles(cmd.ApproveContingencyDraw)
    def approve_contingency_draw(
        self, d: Decision, c: cmd.ApproveContingencyDraw
    ) -> None:
        """Approve a contingency draw (the label): the money moves."""
        self._decide_draw(d, c.draw, approve=True)

    @handles(cmd.RejectContingencyDraw)
    def reject_contingency_draw(
        self, d: Decision, c: cmd.RejectContingencyDraw
    ) -> None:
        """Reject a contingency draw, with a reason."""
        self._decide_draw(d, c.draw, approve=False)

    @handles(cmd.RequestBudgetIncrease)
    def request_budget_increase(
        self, d: Decision, c: cmd.RequestBudgetIncrease
    ) -> None:
        """Ask for an increase of the approved total, for a line."""
        meta = d.authorise("request_budget_increase")
        amount = d.money(c.amount, "amount")
        budget = self._budget(d)
        budget.request_increase(meta, c.increase, c.line, amount)
        d.stage(budget)

    def _decide_increase(self, d: Decision, increase: str, approve: bool) -> None:
        action = "approve_budget_increase" if approve else "reject_budget_increase"
        meta = d.authorise(action)
        budget = self._budget(d)
        request = budget.decide_increase(meta, increase, approve)
        d.stage(budget)
        if approve:
            ledger = self._ledger(d, self._local(request.line))
            ledger.revise(meta, request.amount.amount, "increase", increase)
            d.stage(ledger)

    @handles(cmd.ApproveBudgetIncrease)
    def approve_budget_increase(
        self, d: Decision, c: cmd.ApproveBudgetIncrease
    ) -> None:
        """Approve an increase (the executive): the approved total grows."""
        self._decide_increase(d, c.increase, approve=True)

    @handles(cmd.RejectBudgetIncrease)
    def reject_budget_increase(self, d: Decision, c: cmd.RejectBudgetIncrease) -> None:
        """Reject an increase, with a reason."""
        self._decide_increase(d, c.increase, approve=False)

    # --- spending ---

    @handles(cmd.CommitSpend)
    def commit_spend(self, d: Decision, c: cmd.CommitSpend) -> None:
        """Commit money against a line (refused beyond its revised amount)."""
        meta = d.authorise("commit_spend")
        ledger = self._ledger(d, c.line)
        ledger.commit(
            meta,
            c.commitment,
            d.party(c.payee, "payee"),
            d.money(c.amount, "amount"),
            c.description,
            d.maybe(Session, c.session, "session"),
            d.maybe(Recording, c.recording, "recording"),
        )
        d.stage(ledger)

    @handles(cmd.CancelCommitment)
    def cancel_commitment(self, d: Decision, c: cmd.CancelCommitment) -> None:
        """Cancel a commitment, releasing what was not invoiced."""
        meta = d.authorise("cancel_commitment")
        ledger = self._ledger(d, c.line)
        ledger.cancel_commitment(meta, c.commitment)
        d.stage(ledger)

    def _vendor_scope(self, d: Decision, meta: DecisionMeta, line: str) -> None:
        if meta.capacity != "vendor":
            return
        line_id = d.aid(LineLedger.KIND, line)
        if line_id not in d.project.vendor_lines(d.actor, d.at):
            msg = f"vendor {d.actor} is not assigned budget line {line!r}"
            raise CapacityNotHeld(msg, field="line")

    @handles(cmd.RecordCost)
    def record_cost(self, d: Decision, c: cmd.RecordCost) -> None:
        """Record a cost incurred (an invoice); an overrun is recorded and flagged."""
        meta = d.authorise("record_cost")
        self._vendor_scope(d, meta, c.line)
        payee = d.party(c.payee or d.actor_local, "payee")
        if meta.capacity == "vendor" and payee != d.actor:
            msg = "payee: a vendor records their own invoices"
            raise CapacityNotHeld(msg, field="payee")
        ledger = self._ledger(d, c.line)
        ledger.incur(
            meta,
            c.cost,
            payee,
            d.money(c.amount, "amount"),
            c.invoice_ref,
            c.commitment,
            d.maybe(Session, c.session, "session"),
            d.maybe(Recording, c.recording, "recording"),
        )
        d.stage(ledger)

    @handles(cmd.CorrectCost)
    def correct_cost(self, d: Decision, c: cmd.CorrectCost) -> None:
        """Correct a recorded cost, with a reason (the old amount stays recorded)."""
        meta = d.authorise("correct_cost")
        self._vendor_scope(d, meta, c.line)
        ledger = self._ledger(d, c.line)
        if meta.capacity == "vendor" and ledger.cost(c.cost).payee_id != d.actor:
            msg = "cost: a vendor corrects only their own invoices"
            raise CapacityNotHeld(msg, field="cost")
        ledger.correct_cost(meta, c.cost, d.money(c.amount, "amount"))
        d.stage(ledger)

    @handles(cmd.RecordPayment)
    def record_payment(self, d: Decision, c: cmd.RecordPayment) -> None:
        """Pay a cost (never beyond the line's revised amount)."""
        meta = d.authorise("record_payment")
        ledger = self._ledger(d, c.line)
        ledger.pay(meta, c.payment, c.cost, d.money(c.amount, "amount"))
        d.stage(ledger)

    @handles(cmd.PayAdvance)
    def pay_advance(self, d: Decision, c: cmd.PayAdvance) -> None:
        """Pay an advance, recoupable from the artist's or producer's royalties."""
        meta = d.authorise("pay_advance")
        ledger = self._ledger(d, c.line)
        ledger.pay_advance(
            meta,
            c.advance,
            d.party(c.payee, "payee"),
            d.money(c.amount, "amount"),
            c.recoupable_from,
        )
        d.stage(ledger)

    # --- milestones ---

    @handles(cmd.ScheduleMilestone)
    def schedule_milestone(self, d: Decision, c: cmd.ScheduleMilestone) -> None:
        """Schedule a milestone."""
        meta = d.authorise("schedule_milestone")
        milestone_id = d.absent(Milestone, c.milestone, "milestone")
        d.stage(
            Milestone.schedule(
                milestone_id,
                meta,
                MilestoneScheduledPayload(
                    name=c.name,
                    due_at=c.due_at,
                    recording_id=d.maybe(Recording, c.recording, "recording"),
                ),
            )
        )

    @handles(cmd.RescheduleMilestone)
    def reschedule_milestone(self, d: Decision, c: cmd.RescheduleMilestone) -> None:
        """Move a milestone, with a reason."""
        meta = d.authorise("reschedule_milestone")
        milestone = d.get(Milestone, c.milestone, "milestone")
        milestone.reschedule(meta, c.due_at)
        d.stage(milestone)

    @handles(cmd.MeetMilestone)
    def meet_milestone(self, d: Decision, c: cmd.MeetMilestone) -> None:
        """Record that a milestone was met (on time or late)."""
        meta = d.authorise("meet_milestone")
        milestone = d.get(Milestone, c.milestone, "milestone")
        milestone.meet(meta)
        d.stage(milestone)


def _project(aggregate: Any, events: Iterable[Any]) -> Any:
    """Replay ``events`` (eventsourcing's default projector, minus a costly
    runtime-protocol assertion per event)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def _replace(command: cmd.CommandBase, **changes: Any) -> cmd.CommandBase:
    return msgspec.structs.replace(command, **changes)


def handled_commands() -> Iterable[type[cmd.CommandBase]]:
    """Every command class the application handles."""
    return tuple(_HANDLERS)
