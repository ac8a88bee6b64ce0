"""Studio sessions: booking, rescheduling, cancelling, opening, closing, check-ins.

The session also keeps the music logged in it, because the AFM rule that a basic
union session holds at most 15 minutes of recorded music spans every take of the
session: counted as the longest take of each recording (the finished length of
each tune recorded), summed over the recordings.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from session_log.domain.base import DecisionCreated, DecisionEvent, DecisionMeta
from session_log.domain.common import Aggregate, Payload
from session_log.domain.ddex import check_instrument, check_role, check_session_type
from session_log.domain.project import Policy
from session_log.errors import (
    AlreadyExists,
    InvalidCommand,
    InvalidState,
    UnionRuleViolated,
)

SessionStatus = Literal["booked", "open", "closed", "cancelled"]
AFM_LATE_CANCELLATION_RULE = (
    "AFM sound recording agreement: a session cancelled with less than {days} days' "
    "notice is paid to the musicians booked as if it had taken place"
)


class SessionBookedPayload(Payload, frozen=True, kw_only=True):
    session_type: str
    """DDEX session type (Tracking, Overdub, Mixing...)."""
    starts_at: datetime
    ends_at: datetime
    union: bool
    """Held under the AFM sound recording agreement."""
    studio_id: str | None = None
    """The studio (an organisation party)."""
    room: str | None = None
    recording_ids: tuple[str, ...] = ()
    """The recordings planned for the session."""


class SessionBookedPayloadV1(Payload, frozen=True, kw_only=True):
    """Version 1 of the booking payload: a duration instead of an end time."""

    session_type: str
    starts_at: datetime
    duration_minutes: int
    union: bool
    studio_id: str | None = None
    room: str | None = None
    recording_ids: tuple[str, ...] = ()


class SessionRescheduledPayload(Payload, frozen=True, kw_only=True):
    starts_at: datetime
    ends_at: datetime
    previous_starts_at: datetime
    previous_ends_at: datetime


class SessionCancelledPayload(Payload, frozen=True, kw_only=True):
    starts_at: datetime
    notice_hours: int
    union: bool
    late_notice: bool
    """Less notice than the policy's cancellation notice (7 days by default)."""
    fee_rule: str | None
    """The rule that makes the cancellation payable, when one applies."""


class SessionOpenedPayload(Payload, frozen=True, kw_only=True):
    starts_at: datetime


class CheckIn(Payload, frozen=True, kw_only=True):
    party_id: str
    roles: tuple[str, ...]
    role_vocabulary: str
    instruments: tuple[str, ...] = ()
    leader: bool = False
    contractor: bool = False
    parts: int = 1
    """Separate parts (a doubled instrument) are separate session payments."""


class MusicianCheckedInPayload(Payload, frozen=True, kw_only=True):
    check_in: CheckIn
    musicians: int
    """Musicians checked in to the session after this one."""


class TakeLoggedPayload(Payload, frozen=True, kw_only=True):
    take_id: str
    recording_id: str
    part: str
    take_number: int
    duration_seconds: int
    music_seconds: int
    """Music held by the session after this take (longest take per recording)."""


class SessionReport(Payload, frozen=True, kw_only=True):
    """The facts an AFM B-4 session report is filed from."""

    union: bool
    music_seconds: int
    musicians: tuple[CheckIn, ...]
    leader_id: str | None
    contractor_id: str | None
    recording_ids: tuple[str, ...]


class SessionClosedPayload(Payload, frozen=True, kw_only=True):
    report: SessionReport


class SessionBooked(DecisionCreated):
    """A session was booked (class version 2: an end time, not a duration)."""

    class_version = 2
    payload: SessionBookedPayload

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Version 1 stored ``duration_minutes``; version 2 stores ``ends_at``.

        A payload without those (a damaged state, or one of version 2 marked as
        version 1) is a ``ValueError``, as any other undecodable event."""
        old = state["payload"]
        try:
            if isinstance(old, dict):
                fields = dict(old)
            else:
                fields = {name: getattr(old, name) for name in old.__struct_fields__}
            starts_at = fields["starts_at"]
            minutes = fields.pop("duration_minutes")
        except (KeyError, AttributeError) as missing:
            msg = (
                "cannot upcast SessionBooked from class_version 1: its payload "
                f"has no {missing}"
            )
            raise ValueError(msg) from missing
        if isinstance(starts_at, str):
            starts_at = datetime.fromisoformat(starts_at)
        duration = timedelta(minutes=int(minutes))
        fields["starts_at"] = starts_at
        fields["ends_at"] = starts_at + duration
        fields["recording_ids"] = tuple(fields.get("recording_ids", ()))
        state["payload"] = SessionBookedPayload(**fields)

    def apply(self, aggregate: Session) -> None:
        p = self.payload
        aggregate.session_type = p.session_type
        aggregate.starts_at = p.starts_at
        aggregate.ends_at = p.ends_at
        aggregate.union = p.union
        aggregate.studio_id = p.studio_id
        aggregate.recording_ids = p.recording_ids


class SessionRescheduled(DecisionEvent):
    """A booked session moved to another time."""

    payload: SessionRescheduledPayload

    def apply(self, aggregate: Session) -> None:
        aggregate.starts_at = self.payload.starts_at
        aggregate.ends_at = self.payload.ends_at


class SessionCancelled(DecisionEvent):
    """A booked session was cancelled; late notice records the fee rule."""

    payload: SessionCancelledPayload

    def apply(self, aggregate: Session) -> None:
        aggregate.status = "cancelled"


class SessionOpened(DecisionEvent):
    """The session started: check-ins and takes may be logged."""

    payload: SessionOpenedPayload

    def apply(self, aggregate: Session) -> None:
        aggregate.status = "open"


class MusicianCheckedIn(DecisionEvent):
    """A musician (or singer, arranger...) checked in with roles and instruments."""

    payload: MusicianCheckedInPayload

    def apply(self, aggregate: Session) -> None:
        aggregate.check_ins.append(self.payload.check_in)


class TakeLogged(DecisionEvent):
    """A take recorded in this session counts towards its music."""

    payload: TakeLoggedPayload

    def apply(self, aggregate: Session) -> None:
        p = self.payload
        aggregate.take_keys.add((p.recording_id, p.part, p.take_number))
        longest = aggregate.music.get(p.recording_id, 0)
        aggregate.music[p.recording_id] = max(longest, p.duration_seconds)


class SessionClosed(DecisionEvent):
    """The session ended; the payload holds its session report facts."""

    payload: SessionClosedPayload

    def apply(self, aggregate: Session) -> None:
        aggregate.status = "closed"


class Session(Aggregate):
    """A booked studio session."""

    KIND = "session"

    def __init__(self) -> None:
        self.session_type = ""
        self.starts_at = datetime.min
        self.ends_at = datetime.min
        self.union = False
        self.studio_id: str | None = None
        self.recording_ids: tuple[str, ...] = ()
        self.status: SessionStatus = "booked"
        self.check_ins: list[CheckIn] = []
        self.music: dict[str, int] = {}
        self.take_keys: set[tuple[str, str, int]] = set()

    @property
    def music_seconds(self) -> int:
        return sum(self.music.values())

    def checked_in(self, party_id: str) -> CheckIn | None:
        for check_in in self.check_ins:
            if check_in.party_id == party_id:
                return check_in
        return None

    def require_status(self, *allowed: SessionStatus) -> None:
        if self.status not in allowed:
            msg = f"session {self.id} is {self.status}, not {' or '.join(allowed)}"
            raise InvalidState(msg, field="session")

    @staticmethod
    def check_times(starts_at: datetime, ends_at: datetime) -> None:
        if ends_at <= starts_at:
            msg = "ends_at: must be after starts_at"
            raise InvalidCommand(msg, field="ends_at")
        if ends_at - starts_at > timedelta(hours=24):
            msg = "ends_at: a session lasts at most 24 hours"
            raise InvalidCommand(msg, field="ends_at")

    @classmethod
    def book(
        cls, originator_id: str, meta: DecisionMeta, payload: SessionBookedPayload
    ) -> Session:
        check_session_type(payload.session_type)
        cls.check_times(payload.starts_at, payload.ends_at)
        return cls._start(SessionBooked, originator_id, meta, payload)

    def reschedule(
        self, meta: DecisionMeta, starts_at: datetime, ends_at: datetime
    ) -> None:
        self.require_status("booked")
        self.check_times(starts_at, ends_at)
        if (starts_at, ends_at) == (self.starts_at, self.ends_at):
            msg = "starts_at: the session is already at that time"
            raise InvalidState(msg, field="starts_at")
        self._emit(
            SessionRescheduled,
            meta,
            SessionRescheduledPayload(
                starts_at=starts_at,
                ends_at=ends_at,
                previous_starts_at=self.starts_at,
                previous_ends_at=self.ends_at,
            ),
        )

    def cancel(self, meta: DecisionMeta, policy: Policy) -> None:
        self.require_status("booked")
        if not meta.reason:
            msg = "reason: say why the session is cancelled"
            raise InvalidCommand(msg, field="reason")
        notice = self.starts_at - meta.occurred_at
        notice_hours = max(0, int(notice.total_seconds() // 3600))
        late = notice < timedelta(days=policy.cancellation_notice_days)
        fee_rule = None
        if late and self.union:
            fee_rule = AFM_LATE_CANCELLATION_RULE.format(
                days=policy.cancellation_notice_days
            )
        self._emit(
            SessionCancelled,
            meta,
            SessionCancelledPayload(
                starts_at=self.starts_at,
                notice_hours=notice_hours,
                union=self.union,
                late_notice=late,
                fee_rule=fee_rule,
            ),
        )

    def open(self, meta: DecisionMeta) -> None:
        self.require_status("booked")
        self._emit(SessionOpened, meta, SessionOpenedPayload(starts_at=self.starts_at))

    def check_in(self, meta: DecisionMeta, check_in: CheckIn, policy: Policy) -> None:
        self.require_status("open")
        if self.checked_in(check_in.party_id) is not None:
            msg = f"{check_in.party_id} is already checked in to {self.id}"
            raise AlreadyExists(msg, field="party")
        if not check_in.roles:
            msg = "roles: give at least one DDEX role"
            raise InvalidCommand(msg, field="roles")
        for role in check_in.roles:
            check_role(role, check_in.role_vocabulary, "x", field="roles")
        for instrument in check_in.instruments:
            check_instrument(instrument, check_in.role_vocabulary)
        if check_in.parts < 1:
            msg = "parts: at least 1"
            raise InvalidCommand(msg, field="parts")
        if check_in.leader and any(c.leader for c in self.check_ins):
            msg = f"{self.id} already has a leader"
            raise UnionRuleViolated(msg, field="leader")
        musicians = len(self.check_ins) + 1
        has_contractor = check_in.contractor or any(
            c.contractor for c in self.check_ins
        )
        if (
            self.union
            and musicians >= policy.union_contractor_from
            and not has_contractor
        ):
            msg = (
                f"AFM: a session with {policy.union_contractor_from} or more musicians "
                "needs a contractor: check the contractor in first"
            )
            raise UnionRuleViolated(msg, field="contractor")
        self._emit(
            MusicianCheckedIn,
            meta,
            MusicianCheckedInPayload(check_in=check_in, musicians=musicians),
        )

    def log_take(
        self,
        meta: DecisionMeta,
        take_id: str,
        recording_id: str,
        part: str,
        take_number: int,
        duration_seconds: int,
        policy: Policy,
    ) -> None:
        self.require_status("open")
        if (recording_id, part, take_number) in self.take_keys:
            msg = (
                f"take {take_number} of {part!r} on {recording_id} is already "
                f"logged in {self.id}"
            )
            raise AlreadyExists(msg, field="take_number")
        music = dict(self.music)
        music[recording_id] = max(music.get(recording_id, 0), duration_seconds)
        music_seconds = sum(music.values())
        limit = policy.union_music_seconds_per_session
        if self.union and music_seconds > limit:
            msg = (
                f"AFM: a union session holds at most {limit // 60} minutes of music; "
                f"this take brings {self.id} to {music_seconds // 60}:"
                f"{music_seconds % 60:02d}: book another session"
            )
            raise UnionRuleViolated(msg, field="duration_seconds")
        self._emit(
            TakeLogged,
            meta,
            TakeLoggedPayload(
                take_id=take_id,
                recording_id=recording_id,
                part=part,
                take_number=take_number,
                duration_seconds=duration_seconds,
                music_seconds=music_seconds,
            ),
        )

    def close(self, meta: DecisionMeta) -> None:
        self.require_status("open")
        leader = next((c.party_id for c in self.check_ins if c.leader), None)
        contractor = next((c.party_id for c in self.check_ins if c.contractor), None)
        self._emit(
            SessionClosed,
            meta,
            SessionClosedPayload(
                report=SessionReport(
                    union=self.union,
                    music_seconds=self.music_seconds,
                    musicians=tuple(self.check_ins),
                    leader_id=leader,
                    contractor_id=contractor,
                    recording_ids=tuple(sorted(self.music)),
                )
            ),
        )
