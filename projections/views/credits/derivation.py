"""How credits are derived: the facts kept from the events, and the recomputation
of a recording's credits from them (see the package docs)."""

from __future__ import annotations

from collections.abc import Sequence

from projections.records import DecisionRecord
from projections.sql_view import Db
from projections.views.batch_reads import rows_for
from projections.views.credits.recompute import recompute, recordings_of_sessions
from projections.views.credits.tables import (
    ASSERTED,
    CHECKINS,
    COMPS,
    CREDITS,
    DELIVERABLES,
    EDIT_PASSES,
    PARTIES,
    RECORDINGS,
    SESSION_ENGINEERS,
    SPLITS,
    TAKES,
    _json,
)
from projections.views.dispatch import KindDispatchDefinition, handles

ENGINEER_KINDS = ("SessionOpened", "SessionClosed", "TakeLogged")
"""Decisions an engineer makes in a session, which credit them for it."""


class CreditsDefinition(KindDispatchDefinition):
    name = "credits"
    tables = (
        PARTIES,
        RECORDINGS,
        CHECKINS,
        SESSION_ENGINEERS,
        TAKES,
        COMPS,
        DELIVERABLES,
        EDIT_PASSES,
        ASSERTED,
        CREDITS,
        SPLITS,
    )
    doc = "Credits per recording and album (DDEX roles), writer splits per work."

    # -- facts ---------------------------------------------------------------------

    @handles("PartyRegistered", "PartyCorrected")
    def _party(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        kind = getattr(p, "kind", None)
        db.execute(
            "INSERT INTO {parties} (party_id, project, name, kind, isni, ipi) VALUES "
            "(:id, :project, :name, :kind, :isni, :ipi) ON CONFLICT (party_id) DO "
            "UPDATE SET name = excluded.name, isni = excluded.isni, ipi = excluded.ipi",
            {
                "id": r.aggregate_id,
                "project": r.project,
                "name": p.name,
                "kind": kind or "person",
                "isni": p.isni,
                "ipi": p.ipi,
            },
        )

    @handles("RecordingAdded")
    def _recording(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        db.execute(
            "INSERT INTO {recordings} (recording_id, project, work_id, title, "
            "version_title, status) VALUES (:id, :project, :work_id, :title, "
            ":version_title, 'selected')",
            {
                "id": r.aggregate_id,
                "project": r.project,
                "work_id": p.work_id,
                "title": p.title,
                "version_title": p.version_title,
            },
        )

    @handles("RecordingDropped")
    def _dropped(self, db: Db, r: DecisionRecord) -> None:
        db.execute(
            "UPDATE {recordings} SET status = 'dropped' WHERE recording_id = :id",
            {"id": r.aggregate_id},
        )

    @handles("ArrangementChanged")
    def _changed(self, db: Db, r: DecisionRecord) -> None:
        if r.payload.new_recording_id is not None:
            db.execute(
                "UPDATE {recordings} SET status = 'superseded' "
                "WHERE recording_id = :id",
                {"id": r.aggregate_id},
            )

    @handles("MusicianCheckedIn")
    def _checked_in(self, db: Db, r: DecisionRecord) -> None:
        c = r.payload.check_in
        db.execute(
            "INSERT INTO {checkins} (session_id, party_id, project, roles_json, "
            "role_vocabulary, instruments_json, event_id) VALUES (:session_id, "
            ":party_id, :project, :roles, :vocabulary, :instruments, :event_id) "
            "ON CONFLICT (session_id, party_id) DO UPDATE SET "
            "roles_json = excluded.roles_json, "
            "role_vocabulary = excluded.role_vocabulary, "
            "instruments_json = excluded.instruments_json, "
            "event_id = excluded.event_id",
            {
                "session_id": r.aggregate_id,
                "party_id": c.party_id,
                "project": r.project,
                "roles": _json(list(c.roles)),
                "vocabulary": c.role_vocabulary,
                "instruments": _json(list(c.instruments)),
                "event_id": r.event_id,
            },
        )
        self._mark_session(db, r.aggregate_id)

    @handles(*ENGINEER_KINDS)
    def _engineer(self, db: Db, r: DecisionRecord) -> None:
        if r.capacity != "engineer":
            return
        known: set[tuple[str, str]] | None = db.scratch.get("engineers")
        if known is None:  # one event applied by itself
            found = db.row(
                "SELECT 1 AS known FROM {session_engineers} WHERE session_id = :s "
                "AND party_id = :p",
                {"s": r.aggregate_id, "p": r.actor},
            )
            if found is not None:
                return
        elif (r.aggregate_id, r.actor) in known:
            return
        else:
            known.add((r.aggregate_id, r.actor))
        db.execute(
            "INSERT INTO {session_engineers} (session_id, party_id, project, "
            "event_id) VALUES (:session_id, :party_id, :project, :event_id) "
            "ON CONFLICT (session_id, party_id) DO NOTHING",
            {
                "session_id": r.aggregate_id,
                "party_id": r.actor,
                "project": r.project,
                "event_id": r.event_id,
            },
        )
        self._mark_session(db, r.aggregate_id)

    @handles("TakeRecorded")
    def _take(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        db.execute(
            "INSERT INTO {takes} (take_id, project, session_id, recording_id, part, "
            "performer_ids_json, event_id) VALUES (:id, :project, :session_id, "
            ":recording_id, :part, :performers, :event_id)",
            {
                "id": r.aggregate_id,
                "project": r.project,
                "session_id": p.session_id,
                "recording_id": p.recording_id,
                "part": p.part,
                "performers": _json(list(p.performer_ids)),
                "event_id": r.event_id,
            },
        )

    @handles("CompAssembled")
    def _comp(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        db.execute(
            "INSERT INTO {comps} (recording_id, comp, project, part, take_ids_json, "
            "status, event_id) VALUES (:recording_id, :comp, :project, :part, "
            ":takes, 'assembled', :event_id)",
            {
                "recording_id": p.recording_id,
                "comp": p.comp,
                "project": r.project,
                "part": p.part,
                "takes": _json(list(p.take_ids)),
                "event_id": r.event_id,
            },
        )

    @handles("CompApproved")
    def _comp_approved(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        if p.level != "producer":
            return
        db.execute(
            "UPDATE {comps} SET status = 'approved', event_id = :event_id "
            "WHERE recording_id = :recording_id AND comp = :comp",
            {"event_id": r.event_id, "recording_id": p.recording_id, "comp": p.comp},
        )
        self._mark(db, p.recording_id)

    @handles("CompSuperseded")
    def _comp_superseded(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        db.execute(
            "UPDATE {comps} SET status = 'superseded' "
            "WHERE recording_id = :recording_id AND comp = :comp",
            {"recording_id": p.recording_id, "comp": p.comp},
        )
        self._mark(db, p.recording_id)

    @handles("EditPassRecorded")
    def _edit_pass(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        db.execute(
            "INSERT INTO {edit_passes} (recording_id, comp, party_id, project, "
            "event_id) VALUES (:recording_id, :comp, :party_id, :project, :event_id)",
            {
                "recording_id": p.recording_id,
                "comp": p.comp,
                "party_id": r.actor,
                "project": r.project,
                "event_id": r.event_id,
            },
        )
        self._mark(db, p.recording_id)

    @handles("MixSubmitted", "MasterSubmitted")
    def _submitted(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        kind = "mix" if r.kind == "MixSubmitted" else "master"
        version = p.mix_version if kind == "mix" else p.master_version
        db.execute(
            "INSERT INTO {deliverables} (recording_id, kind, version, project, "
            "submitted_by, submitted_event_id, is_final, final_event_id) VALUES "
            "(:recording_id, :kind, :version, :project, :by, :event_id, :no, NULL)",
            {
                "recording_id": p.recording_id,
                "kind": kind,
                "version": version,
                "project": r.project,
                "by": r.actor,
                "event_id": r.event_id,
                "no": False,
            },
        )

    @handles("MixApproved", "MasterApproved")
    def _final(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        if not p.final:
            return
        kind = "mix" if r.kind == "MixApproved" else "master"
        version = p.mix_version if kind == "mix" else p.master_version
        db.execute(
            "UPDATE {deliverables} SET is_final = :no, final_event_id = NULL "
            "WHERE recording_id = :recording_id AND kind = :kind",
            {"no": False, "recording_id": p.recording_id, "kind": kind},
        )
        db.execute(
            "UPDATE {deliverables} SET is_final = :yes, final_event_id = :event_id "
            "WHERE recording_id = :recording_id AND kind = :kind "
            "AND version = :version",
            {
                "yes": True,
                "event_id": r.event_id,
                "recording_id": p.recording_id,
                "kind": kind,
                "version": version,
            },
        )
        self._mark(db, p.recording_id)

    @handles("CreditAsserted")
    def _asserted(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        db.execute(
            "INSERT INTO {asserted} (credits_id, credit, project, subject_id, "
            "party_id, role, role_vocabulary, user_defined_role, instruments_json, "
            "status, event_ids_json) VALUES (:credits_id, :credit, :project, "
            ":subject_id, :party_id, :role, :vocabulary, :user_defined, "
            ":instruments, 'asserted', :events)",
            {
                "credits_id": r.aggregate_id,
                "credit": p.credit,
                "project": r.project,
                "subject_id": p.subject_id,
                "party_id": p.party_id,
                "role": p.role,
                "vocabulary": p.role_vocabulary,
                "user_defined": p.user_defined_role,
                "instruments": _json(list(p.instruments)),
                "events": _json([r.event_id]),
            },
        )
        self._mark_asserted(db, p.subject_id)

    @handles("CreditConfirmed", "CreditDisputed", "CreditRetracted")
    def _credit_changed(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        status = {
            "CreditConfirmed": "confirmed",
            "CreditDisputed": "disputed",
            "CreditRetracted": "retracted",
        }[r.kind]
        # Appended in the statement: no read (a round trip on PostgreSQL).
        db.execute(
            "UPDATE {asserted} SET status = :status, event_ids_json = "
            f"{db.json_append('event_ids_json', 'event')} "
            "WHERE credits_id = :id AND credit = :credit",
            {
                "status": status,
                "event": r.event_id,
                "id": r.aggregate_id,
                "credit": p.credit,
            },
        )
        self._mark_asserted(db, p.subject_id)

    @handles("SplitSheetFinalised")
    def _split(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        title = db.scalar(
            "SELECT title FROM {recordings} WHERE work_id = :id LIMIT 1",
            {"id": r.aggregate_id},
        )
        db.execute("DELETE FROM {splits} WHERE work_id = :id", {"id": r.aggregate_id})
        db.executemany(
            "INSERT INTO {splits} (work_id, party_id, role, project, title, "
            "sheet_version, share_bp, event_id) VALUES (:work_id, :party_id, :role, "
            ":project, :title, :version, :share, :event_id)",
            [
                {
                    "work_id": r.aggregate_id,
                    "party_id": s.party_id,
                    "role": s.role,
                    "project": r.project,
                    "title": title or "",
                    "version": p.sheet_version,
                    "share": s.share_bp,
                    "event_id": r.event_id,
                }
                for s in p.shares
            ],
        )

    @handles("WorkRegistered")
    def _work(self, db: Db, r: DecisionRecord) -> None:
        db.execute(
            "UPDATE {splits} SET title = :title WHERE work_id = :id",
            {"title": r.payload.title, "id": r.aggregate_id},
        )

    # -- derivation ------------------------------------------------------------------

    def apply_many(self, db: Db, records: Sequence[DecisionRecord]) -> None:
        """Apply the facts, then recompute once each recording they touched:
        the part of its credits they touched (derived, asserted or both).

        The sessions' engineers already recorded are read once for the batch
        (an engineer logs every take: a read per event was a round trip each
        on PostgreSQL)."""
        engineered = sorted(
            {
                r.aggregate_id
                for r in records
                if r.capacity == "engineer" and r.kind in ENGINEER_KINDS
            }
        )
        db.scratch["engineers"] = {
            (row["session_id"], row["party_id"])
            for row in rows_for(
                db,
                "SELECT session_id, party_id FROM {session_engineers} "
                "WHERE session_id {ids}",
                engineered,
            )
        }
        for record in records:
            self.apply(db, record)
        subjects: set[str] = db.scratch.pop("subjects", set())
        sessions: set[str] = db.scratch.pop("sessions", set())
        if sessions:
            subjects |= recordings_of_sessions(db, sessions)
        recompute(db, subjects, db.scratch.pop("asserted", set()))

    @staticmethod
    def _mark(db: Db, subject_id: str) -> None:
        """The derived credits of ``subject_id`` (a recording) may change."""
        db.scratch.setdefault("subjects", set()).add(subject_id)

    @staticmethod
    def _mark_asserted(db: Db, subject_id: str) -> None:
        """The asserted credits of ``subject_id`` may change."""
        db.scratch.setdefault("asserted", set()).add(subject_id)

    @staticmethod
    def _mark_session(db: Db, session_id: str) -> None:
        db.scratch.setdefault("sessions", set()).add(session_id)
