"""How credits are derived: the facts kept from the events, and the recomputation
of a recording's credits from them (see the package docs)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from projections.records import DecisionRecord
from projections.sql_view import Db
from projections.views.credits.tables import (
    ASSERTED,
    CHECKINS,
    COMPS,
    CREDITS,
    DEFAULT_VOCABULARY,
    DELIVERABLES,
    EDIT_PASSES,
    PARTIES,
    PERFORMING_ROLES,
    RECORDINGS,
    SESSION_ENGINEERS,
    SPLITS,
    TAKES,
    _json,
)
from projections.views.dispatch import KindDispatchDefinition, handles


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

    @handles("SessionOpened", "SessionClosed", "TakeLogged")
    def _engineer(self, db: Db, r: DecisionRecord) -> None:
        if r.capacity != "engineer":
            return
        known = db.row(
            "SELECT 1 AS known FROM {session_engineers} WHERE session_id = :s "
            "AND party_id = :p",
            {"s": r.aggregate_id, "p": r.actor},
        )
        if known is not None:
            return
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
        self._mark(db, p.subject_id)

    @handles("CreditConfirmed", "CreditDisputed", "CreditRetracted")
    def _credit_changed(self, db: Db, r: DecisionRecord) -> None:
        p = r.payload
        status = {
            "CreditConfirmed": "confirmed",
            "CreditDisputed": "disputed",
            "CreditRetracted": "retracted",
        }[r.kind]
        row = db.row(
            "SELECT event_ids_json FROM {asserted} WHERE credits_id = :id "
            "AND credit = :credit",
            {"id": r.aggregate_id, "credit": p.credit},
        )
        events = [*(row["event_ids_json"] if row else []), r.event_id]
        db.execute(
            "UPDATE {asserted} SET status = :status, event_ids_json = :events "
            "WHERE credits_id = :id AND credit = :credit",
            {
                "status": status,
                "events": _json(events),
                "id": r.aggregate_id,
                "credit": p.credit,
            },
        )
        self._mark(db, p.subject_id)

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
        """Apply the facts, then recompute once each recording they touched."""
        for record in records:
            self.apply(db, record)
        subjects: set[str] = db.scratch.pop("subjects", set())
        for session_id in sorted(db.scratch.pop("sessions", set())):
            for row in db.rows(
                "SELECT DISTINCT t.recording_id FROM {takes} t JOIN {comps} c "
                "ON c.recording_id = t.recording_id AND c.status = 'approved' "
                "WHERE t.session_id = :id",
                {"id": session_id},
            ):
                subjects.add(row["recording_id"])
        for subject_id in sorted(subjects):
            self._derive(db, subject_id)

    @staticmethod
    def _mark(db: Db, subject_id: str) -> None:
        db.scratch.setdefault("subjects", set()).add(subject_id)

    @staticmethod
    def _mark_session(db: Db, session_id: str) -> None:
        db.scratch.setdefault("sessions", set()).add(session_id)

    def _derive(self, db: Db, subject_id: str) -> None:
        """Recompute the credits of one recording (or the release) from the facts."""
        found: dict[tuple[str, str, str], dict[str, Any]] = {}

        def add(
            party_id: str,
            role: str,
            source: str,
            evidence: Iterable[str],
            *,
            instruments: Iterable[str] = (),
            vocabulary: str = DEFAULT_VOCABULARY,
            user_defined: str | None = None,
            status: str = "derived",
        ) -> None:
            entry = found.setdefault(
                (party_id, role, source),
                {
                    "instruments": [],
                    "evidence": [],
                    "vocabulary": vocabulary,
                    "user_defined": user_defined,
                    "status": status,
                },
            )
            for item in instruments:
                if item not in entry["instruments"]:
                    entry["instruments"].append(item)
            for event_id in evidence:
                if event_id not in entry["evidence"]:
                    entry["evidence"].append(event_id)

        comps = db.rows(
            "SELECT comp, take_ids_json, event_id FROM {comps} "
            "WHERE recording_id = :id AND status = 'approved' ORDER BY comp",
            {"id": subject_id},
        )
        sessions: dict[str, list[str]] = {}
        checkins: dict[str, list[dict[str, Any]]] = {}

        def checkins_of(session_id: str) -> list[dict[str, Any]]:
            # Read once per derivation (nothing is written meanwhile).
            found = checkins.get(session_id)
            if found is None:
                found = checkins[session_id] = db.rows(
                    "SELECT party_id, roles_json, role_vocabulary, instruments_json, "
                    "event_id FROM {checkins} WHERE session_id = :s ORDER BY party_id",
                    {"s": session_id},
                )
            return found

        takes: dict[str, dict[str, Any]] = {}
        edits: dict[str, list[dict[str, Any]]] = {}
        if comps:
            # The recording's takes and edit passes in one read each (a comp's
            # takes are the recording's own; any other is looked up alone).
            for row in db.rows(
                "SELECT take_id, session_id, performer_ids_json, event_id "
                "FROM {takes} WHERE recording_id = :id",
                {"id": subject_id},
            ):
                takes[row["take_id"]] = row
            for edit in db.rows(
                "SELECT comp, party_id, event_id FROM {edit_passes} "
                "WHERE recording_id = :r ORDER BY comp, event_id",
                {"r": subject_id},
            ):
                edits.setdefault(edit["comp"], []).append(edit)

        for comp in comps:
            for edit in edits.get(comp["comp"], ()):
                add(
                    edit["party_id"],
                    "DigitalEditingEngineer",
                    "edit",
                    [comp["event_id"], edit["event_id"]],
                )
            for take_id in comp["take_ids_json"]:
                take = takes.get(take_id) or db.row(
                    "SELECT take_id, session_id, performer_ids_json, event_id "
                    "FROM {takes} WHERE take_id = :id",
                    {"id": take_id},
                )
                if take is None:
                    continue
                evidence = [comp["event_id"], take["event_id"]]
                sessions.setdefault(take["session_id"], []).extend(evidence)
                for party_id in take["performer_ids_json"]:
                    checkin = next(
                        (
                            c
                            for c in checkins_of(take["session_id"])
                            if c["party_id"] == party_id
                        ),
                        None,
                    )
                    if checkin is None:
                        add(party_id, "Musician", "performer", evidence)
                        continue
                    roles = [
                        role
                        for role in checkin["roles_json"]
                        if role in PERFORMING_ROLES
                    ] or ["Musician"]
                    for role in roles:
                        add(
                            party_id,
                            role,
                            "performer",
                            [*evidence, checkin["event_id"]],
                            instruments=checkin["instruments_json"],
                            vocabulary=checkin["role_vocabulary"],
                        )
        for session_id, evidence in sorted(sessions.items()):
            for checkin in checkins_of(session_id):
                for role in checkin["roles_json"]:
                    if role not in PERFORMING_ROLES:
                        add(
                            checkin["party_id"],
                            role,
                            "session",
                            [*evidence, checkin["event_id"]],
                            vocabulary=checkin["role_vocabulary"],
                        )
            for engineer in db.rows(
                "SELECT party_id, event_id FROM {session_engineers} "
                "WHERE session_id = :s ORDER BY party_id",
                {"s": session_id},
            ):
                add(
                    engineer["party_id"],
                    "RecordingEngineer",
                    "session",
                    [*evidence, engineer["event_id"]],
                )
        for deliverable in db.rows(
            "SELECT kind, submitted_by, submitted_event_id, final_event_id "
            "FROM {deliverables} WHERE recording_id = :id AND is_final = :yes "
            "ORDER BY kind",
            {"id": subject_id, "yes": True},
        ):
            role = (
                "MixingEngineer"
                if deliverable["kind"] == "mix"
                else "MasteringEngineer"
            )
            add(
                deliverable["submitted_by"],
                role,
                deliverable["kind"],
                [deliverable["submitted_event_id"], deliverable["final_event_id"]],
            )
        for credit in db.rows(
            "SELECT party_id, role, event_ids_json, instruments_json, "
            "role_vocabulary, user_defined_role, status FROM {asserted} "
            "WHERE subject_id = :id AND status <> 'retracted' "
            "ORDER BY credits_id, credit",
            {"id": subject_id},
        ):
            add(
                credit["party_id"],
                credit["role"],
                "asserted",
                credit["event_ids_json"],
                instruments=credit["instruments_json"],
                vocabulary=credit["role_vocabulary"],
                user_defined=credit["user_defined_role"],
                status=credit["status"],
            )
        self._write_credits(db, subject_id, found)

    @staticmethod
    def _write_credits(
        db: Db, subject_id: str, found: dict[tuple[str, str, str], dict[str, Any]]
    ) -> None:
        """Make the stored credits of ``subject_id`` those ``found``, writing only
        the rows that differ (a recomputation mostly finds what is stored)."""
        project = subject_id.split(".")[0]
        wanted = {
            key: {
                "project": project,
                "role_vocabulary": entry["vocabulary"],
                "user_defined_role": entry["user_defined"],
                "instruments_json": entry["instruments"],
                "status": entry["status"],
                "evidence_json": entry["evidence"],
            }
            for key, entry in found.items()
        }
        stored = {
            (row.pop("party_id"), row.pop("role"), row.pop("source")): row
            for row in db.rows(
                "SELECT party_id, role, source, project, role_vocabulary, "
                "user_defined_role, instruments_json, status, evidence_json "
                "FROM {credits} WHERE subject_id = :id",
                {"id": subject_id},
            )
        }
        stale = [key for key, row in stored.items() if wanted.get(key) != row]
        db.executemany(
            "DELETE FROM {credits} WHERE subject_id = :subject_id AND "
            "party_id = :party_id AND role = :role AND source = :source",
            [
                {"subject_id": subject_id, "party_id": p, "role": r, "source": s}
                for p, r, s in stale
            ],
        )
        fresh = sorted(key for key, row in wanted.items() if stored.get(key) != row)
        db.executemany(
            "INSERT INTO {credits} (subject_id, party_id, role, source, project, "
            "role_vocabulary, user_defined_role, instruments_json, status, "
            "evidence_json) VALUES (:subject_id, :party_id, :role, :source, "
            ":project, :vocabulary, :user_defined, :instruments, :status, :evidence)",
            [
                {
                    "subject_id": subject_id,
                    "party_id": party_id,
                    "role": role,
                    "source": source,
                    "project": project,
                    "vocabulary": wanted[key]["role_vocabulary"],
                    "user_defined": wanted[key]["user_defined_role"],
                    "instruments": _json(wanted[key]["instruments_json"]),
                    "status": wanted[key]["status"],
                    "evidence": _json(wanted[key]["evidence_json"]),
                }
                for key in fresh
                for party_id, role, source in (key,)
            ],
        )
