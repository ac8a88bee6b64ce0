"""Progress: each recording's stage, the sessions, milestones on time or late.

Stages, in order (a recording only moves forward; ``status`` says whether it is
still ``selected``, or was ``dropped`` or ``superseded`` by a new version):
``added`` (RecordingAdded), ``arranged`` (ArrangementAdopted), ``tracking`` (first
TakeRecorded), ``editing`` (first CompAssembled), ``comped`` (a comp approved by the
producer), ``mixing`` (MixSubmitted), ``mixed`` (a final MixApproved),
``mastering`` (MasterSubmitted), ``mastered`` (a final MasterApproved),
``sequenced`` (in an approved sequence), ``delivered`` (in approved label copy).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import msgspec

from projections.records import DecisionRecord
from projections.schema import Table, col
from projections.sql_view import Db, SQLView, ViewDefinition
from projections.views.dispatch import KindDispatchDefinition, handles

STAGES = (
    "added",
    "arranged",
    "tracking",
    "editing",
    "comped",
    "mixing",
    "mixed",
    "mastering",
    "mastered",
    "sequenced",
    "delivered",
)

RECORDINGS = Table(
    "recordings",
    (
        col("recording_id"),
        col("project"),
        col("work_id"),
        col("title"),
        col("version_title", null=True),
        col("status"),
        col("stage"),
        col("stage_rank", "int"),
        col("stage_at", "timestamp"),
        col("stage_event_id"),
        col("arrangement_version", "int", null=True),
        col("takes", "int"),
        col("comps_approved", "int"),
        col("mix_version", "int", null=True),
        col("mix_status", null=True),
        col("master_version", "int", null=True),
        col("master_status", null=True),
        col("superseded_by", null=True),
    ),
    primary_key=("recording_id",),
    indexes=(("project", "stage_rank"),),
    doc="Each recording's stage (with the event that moved it there).",
)

RECORDING_SESSIONS = Table(
    "recording_sessions",
    (
        col("recording_id"),
        col("session_id"),
        col("project"),
        col("is_planned", "bool"),
        col("takes", "int"),
    ),
    primary_key=("recording_id", "session_id"),
    indexes=(("session_id",),),
    doc="Sessions per recording: planned at booking, and takes recorded in each.",
)

SESSIONS = Table(
    "sessions",
    (
        col("session_id"),
        col("project"),
        col("session_type"),
        col("status"),
        col("starts_at", "timestamp"),
        col("ends_at", "timestamp"),
        col("is_union", "bool"),
        col("studio_id", null=True),
        col("room", null=True),
        col("musicians", "int"),
        col("takes", "int"),
        col("music_seconds", "int"),
        col("reschedules", "int"),
        col("booked_at", "timestamp"),
        col("opened_at", "timestamp", null=True),
        col("closed_at", "timestamp", null=True),
        col("cancelled_at", "timestamp", null=True),
        col("is_late_notice", "bool", null=True),
        col("fee_rule", null=True),
    ),
    primary_key=("session_id",),
    indexes=(("project", "starts_at"),),
    doc="Every session: schedule, status, musicians, takes, music recorded.",
)

MILESTONES = Table(
    "milestones",
    (
        col("milestone_id"),
        col("project"),
        col("name"),
        col("recording_id", null=True),
        col("due_at", "timestamp"),
        col("original_due_at", "timestamp"),
        col("reschedules", "int"),
        col("status"),
        col("met_at", "timestamp", null=True),
        col("is_late", "bool", null=True),
        col("late_by_hours", "int", null=True),
    ),
    primary_key=("milestone_id",),
    indexes=(("project", "due_at"),),
    doc="Milestones: due, rescheduled, met on time or late.",
)


class ProgressDefinition(KindDispatchDefinition):
    name = "progress"
    tables = (RECORDINGS, RECORDING_SESSIONS, SESSIONS, MILESTONES)
    doc = "Each recording's stage, the sessions, milestones on time or late."
    apply_indexes = {}  # applying looks rows up by primary key only

    # -- recordings --------------------------------------------------------------

    @handles("RecordingAdded")
    def _added(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        db.execute(
            "INSERT INTO {recordings} (recording_id, project, work_id, title, "
            "version_title, status, stage, stage_rank, stage_at, stage_event_id, "
            "arrangement_version, takes, comps_approved, mix_version, mix_status, "
            "master_version, master_status, superseded_by) VALUES (:id, :project, "
            ":work_id, :title, :version_title, 'selected', 'added', 0, :at, "
            ":event_id, NULL, 0, 0, NULL, NULL, NULL, NULL, NULL)",
            {
                "id": r.aggregate_id,
                "project": r.project,
                "work_id": p.work_id,
                "title": p.title,
                "version_title": p.version_title,
                "at": r.occurred_at,
                "event_id": r.event_id,
            },
        )

    def _set(self, db: Db, recording_id: str, **values: Any) -> None:
        sets = ", ".join(f"{k} = :{k}" for k in values)
        db.execute(
            f"UPDATE {{recordings}} SET {sets} WHERE recording_id = :recording_id",
            {**values, "recording_id": recording_id},
        )

    def _advance(
        self, db: Db, r: DecisionRecord, recording_id: str, stage: str
    ) -> None:
        rank = STAGES.index(stage)
        db.execute(
            "UPDATE {recordings} SET stage = :stage, stage_rank = :rank, "
            "stage_at = :at, stage_event_id = :event_id "
            "WHERE recording_id = :recording_id AND stage_rank < :rank",
            {
                "stage": stage,
                "rank": rank,
                "at": r.occurred_at,
                "event_id": r.event_id,
                "recording_id": recording_id,
            },
        )

    @handles("RecordingDropped")
    def _dropped(self, db: Db, r: DecisionRecord) -> None:
        self._set(db, r.aggregate_id, status="dropped")

    @handles("ArrangementAdopted")
    def _arranged(self, db: Db, r: DecisionRecord) -> None:
        self._set(db, r.aggregate_id, arrangement_version=r.payload.arrangement_version)
        self._advance(db, r, r.aggregate_id, "arranged")

    @handles("ArrangementChanged")
    def _changed(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        if p.arrangement_version is not None:
            self._set(db, r.aggregate_id, arrangement_version=p.arrangement_version)
        if p.new_recording_id is not None:
            self._set(
                db,
                r.aggregate_id,
                status="superseded",
                superseded_by=p.new_recording_id,
            )

    @handles("TakeRecorded")
    def _take(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        db.execute(
            "UPDATE {recordings} SET takes = takes + 1 WHERE recording_id = :id",
            {"id": p.recording_id},
        )
        db.execute(
            "INSERT INTO {recording_sessions} (recording_id, session_id, project, "
            "is_planned, takes) VALUES (:recording_id, :session_id, :project, :no, 1) "
            "ON CONFLICT (recording_id, session_id) DO UPDATE SET "
            "takes = {recording_sessions}.takes + 1",
            {
                "recording_id": p.recording_id,
                "session_id": p.session_id,
                "project": r.project,
                "no": False,
            },
        )
        self._advance(db, r, p.recording_id, "tracking")

    @handles("CompAssembled")
    def _comp(self, db: Db, r: DecisionRecord) -> None:
        self._advance(db, r, r.payload.recording_id, "editing")

    @handles("CompApproved")
    def _comp_approved(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        if p.level == "producer":
            db.execute(
                "UPDATE {recordings} SET comps_approved = comps_approved + 1 "
                "WHERE recording_id = :id",
                {"id": p.recording_id},
            )
            self._advance(db, r, p.recording_id, "comped")

    @handles("CompSuperseded")
    def _comp_superseded(self, db: Db, r: DecisionRecord) -> None:
        db.execute(
            "UPDATE {recordings} SET comps_approved = comps_approved - 1 "
            "WHERE recording_id = :id AND comps_approved > 0",
            {"id": r.payload.recording_id},
        )

    @handles("MixSubmitted")
    def _mix(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        self._set(db, p.recording_id, mix_version=p.mix_version, mix_status="submitted")
        self._advance(db, r, p.recording_id, "mixing")

    @handles("MixRevisionRequested")
    def _mix_revision(self, db: Db, r: DecisionRecord) -> None:
        self._set(db, r.payload.recording_id, mix_status="revision_requested")

    @handles("MixApproved")
    def _mix_approved(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        status = "final" if p.final else f"approved_{p.level}"
        self._set(db, p.recording_id, mix_version=p.mix_version, mix_status=status)
        if p.final:
            self._advance(db, r, p.recording_id, "mixed")

    @handles("MasterSubmitted")
    def _master(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        self._set(
            db,
            p.recording_id,
            master_version=p.master_version,
            master_status="submitted",
        )
        self._advance(db, r, p.recording_id, "mastering")

    @handles("MasterApproved")
    def _master_approved(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        status = "final" if p.final else f"approved_{p.level}"
        self._set(
            db, p.recording_id, master_version=p.master_version, master_status=status
        )
        if p.final:
            self._advance(db, r, p.recording_id, "mastered")

    @handles("SequenceApproved")
    def _sequenced(self, db: Db, r: DecisionRecord) -> None:
        for track in r.payload.tracks:
            self._advance(db, r, track.recording_id, "sequenced")

    @handles("LabelCopyApproved")
    def _delivered(self, db: Db, r: DecisionRecord) -> None:
        for recording_id in r.payload.recording_ids:
            self._advance(db, r, recording_id, "delivered")

    # -- sessions ----------------------------------------------------------------

    @handles("SessionBooked")
    def _booked(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        db.execute(
            "INSERT INTO {sessions} (session_id, project, session_type, status, "
            "starts_at, ends_at, is_union, studio_id, room, musicians, takes, "
            "music_seconds, reschedules, booked_at, opened_at, closed_at, "
            "cancelled_at, is_late_notice, fee_rule) VALUES (:id, :project, :type, "
            "'booked', :starts_at, :ends_at, :union, :studio_id, :room, 0, 0, 0, 0, "
            ":at, NULL, NULL, NULL, NULL, NULL)",
            {
                "id": r.aggregate_id,
                "project": r.project,
                "type": p.session_type,
                "starts_at": p.starts_at,
                "ends_at": p.ends_at,
                "union": p.union,
                "studio_id": p.studio_id,
                "room": p.room,
                "at": r.occurred_at,
            },
        )
        db.executemany(
            "INSERT INTO {recording_sessions} (recording_id, session_id, project, "
            "is_planned, takes) VALUES (:recording_id, :session_id, :project, :yes, "
            "0) ON CONFLICT (recording_id, session_id) DO UPDATE SET is_planned = :yes",
            [
                {
                    "recording_id": rid,
                    "session_id": r.aggregate_id,
                    "project": r.project,
                    "yes": True,
                }
                for rid in p.recording_ids
            ],
        )

    def _session(self, db: Db, r: DecisionRecord, sets: str, **params: Any) -> None:
        db.execute(
            f"UPDATE {{sessions}} SET {sets} WHERE session_id = :session_id",
            {**params, "session_id": r.aggregate_id},
        )

    @handles("SessionRescheduled")
    def _rescheduled(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        self._session(
            db,
            r,
            "starts_at = :s, ends_at = :e, reschedules = reschedules + 1",
            s=p.starts_at,
            e=p.ends_at,
        )

    @handles("SessionCancelled")
    def _session_cancelled(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        self._session(
            db,
            r,
            "status = 'cancelled', cancelled_at = :at, is_late_notice = :late, "
            "fee_rule = :rule",
            at=r.occurred_at,
            late=p.late_notice,
            rule=p.fee_rule,
        )

    @handles("SessionOpened")
    def _opened(self, db: Db, r: DecisionRecord) -> None:
        self._session(db, r, "status = 'open', opened_at = :at", at=r.occurred_at)

    @handles("SessionClosed")
    def _closed(self, db: Db, r: DecisionRecord) -> None:
        self._session(
            db,
            r,
            "status = 'closed', closed_at = :at, music_seconds = :music",
            at=r.occurred_at,
            music=r.payload.report.music_seconds,
        )

    @handles("MusicianCheckedIn")
    def _checked_in(self, db: Db, r: DecisionRecord) -> None:
        self._session(db, r, "musicians = :n", n=r.payload.musicians)

    @handles("TakeLogged")
    def _take_logged(self, db: Db, r: DecisionRecord) -> None:
        self._session(
            db,
            r,
            "takes = takes + 1, music_seconds = :music",
            music=r.payload.music_seconds,
        )

    # -- milestones --------------------------------------------------------------

    @handles("MilestoneScheduled")
    def _scheduled(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        db.execute(
            "INSERT INTO {milestones} (milestone_id, project, name, recording_id, "
            "due_at, original_due_at, reschedules, status, met_at, is_late, "
            "late_by_hours) VALUES (:id, :project, :name, :recording_id, :due, :due, "
            "0, 'scheduled', NULL, NULL, NULL)",
            {
                "id": r.aggregate_id,
                "project": r.project,
                "name": p.name,
                "recording_id": p.recording_id,
                "due": p.due_at,
            },
        )

    @handles("MilestoneRescheduled")
    def _milestone_moved(self, db: Db, r: DecisionRecord) -> None:
        db.execute(
            "UPDATE {milestones} SET due_at = :due, reschedules = reschedules + 1 "
            "WHERE milestone_id = :id",
            {"due": r.payload.due_at, "id": r.aggregate_id},
        )

    @handles("MilestoneMet")
    def _met(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        db.execute(
            "UPDATE {milestones} SET status = 'met', met_at = :at, is_late = :late, "
            "late_by_hours = :hours WHERE milestone_id = :id",
            {
                "at": r.occurred_at,
                "late": p.late,
                "hours": p.late_by_hours,
                "id": r.aggregate_id,
            },
        )


class RecordingProgress(msgspec.Struct, frozen=True, kw_only=True):
    recording_id: str
    project: str
    work_id: str
    title: str
    version_title: str | None
    status: str
    stage: str
    stage_rank: int
    stage_at: datetime
    stage_event_id: str
    arrangement_version: int | None
    takes: int
    comps_approved: int
    mix_version: int | None
    mix_status: str | None
    master_version: int | None
    master_status: str | None
    superseded_by: str | None
    sessions: list[str]


class ProgressReads(SQLView):
    """Queries of the progress view."""

    definition: ClassVar[ViewDefinition] = ProgressDefinition()

    def recordings(self, project: str) -> list[RecordingProgress]:
        """Each recording with its stage and the sessions that worked on it."""
        with self.reading() as db:
            rows = db.rows(
                "SELECT * FROM {recordings} WHERE project = :project "
                "ORDER BY recording_id",
                {"project": project},
            )
            links = db.rows(
                "SELECT recording_id, session_id FROM {recording_sessions} "
                "WHERE project = :project ORDER BY recording_id, session_id",
                {"project": project},
            )
        sessions: dict[str, list[str]] = {}
        for link in links:
            sessions.setdefault(link["recording_id"], []).append(link["session_id"])
        return [
            RecordingProgress(**row, sessions=sessions.get(row["recording_id"], []))
            for row in rows
        ]

    def stages(self, project: str) -> dict[str, int]:
        """How many selected recordings are at each stage."""
        rows = self.rows(
            "SELECT stage, COUNT(*) AS n FROM {recordings} WHERE project = :project "
            "AND status = 'selected' GROUP BY stage",
            {"project": project},
        )
        counts = {r["stage"]: int(r["n"]) for r in rows}
        return {stage: counts.get(stage, 0) for stage in STAGES}

    def sessions(self, project: str) -> list[dict[str, Any]]:
        """Every session of the project, by start time."""
        return self.rows(
            "SELECT * FROM {sessions} WHERE project = :project "
            "ORDER BY starts_at, session_id",
            {"project": project},
        )

    def milestones(
        self, project: str, *, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Milestones by due date; with ``now``, each unmet one past due is
        ``overdue`` (its ``state``), else ``state`` is on_time, late or pending."""
        rows = self.rows(
            "SELECT * FROM {milestones} WHERE project = :project "
            "ORDER BY due_at, milestone_id",
            {"project": project},
        )
        for row in rows:
            if row["status"] == "met":
                row["state"] = "late" if row["is_late"] else "on_time"
            elif now is not None and row["due_at"] < now:
                row["state"] = "overdue"
            else:
                row["state"] = "pending"
        return rows
