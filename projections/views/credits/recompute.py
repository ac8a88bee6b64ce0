"""Recomputing the credits of the recordings a batch touched, from the facts.

The facts of every recording to recompute are read together, a few statements
per batch however many recordings (one round trip each on PostgreSQL, where a
statement per recording and per session kept a live view seconds behind); the
credits are then derived in Python, one recording at a time, and only the rows
that changed are written.

A subject's credits come in two independent parts: the **derived** ones (source
``performer``, ``session``, ``edit``, ``mix``, ``master``: from comps, takes,
check-ins, session engineers, edit passes and deliverables) and the
**asserted** ones (source ``asserted``: from the credit assertions alone). No
fact of one part changes a credit of the other (the source is part of a
credit's key), so a batch that only asserted, confirmed, disputed or retracted
credits of a subject recomputes only its asserted part: two reads instead of
eight or nine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from projections.sql_view import Db
from projections.views.batch_reads import rows_for
from projections.views.credits.tables import (
    DEFAULT_VOCABULARY,
    PERFORMING_ROLES,
    _json,
)

Key = tuple[str, str, str]
"""(party id, role, source): one credit of a subject."""

Row = dict[str, Any]


def _grouped(rows: Iterable[Row], key: str) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return groups


def recordings_of_sessions(db: Db, sessions: Iterable[str]) -> set[str]:
    """Recordings with an approved comp holding a take of one of ``sessions``."""
    return {
        row["recording_id"]
        for row in rows_for(
            db,
            "SELECT DISTINCT t.recording_id FROM {takes} t JOIN {comps} c "
            "ON c.recording_id = t.recording_id AND c.status = 'approved' "
            "WHERE t.session_id {ids}",
            sorted(sessions),
        )
    }


ASSERTED_SOURCE = "asserted"
"""The source of the credits taken from the assertions (the asserted part)."""


class Facts:
    """What the credits of ``subjects`` are derived from, read in one go: the
    derived part's facts of ``subjects`` and the assertions of ``asserted``
    (by default the same subjects)."""

    def __init__(
        self, db: Db, subjects: Sequence[str], asserted: Sequence[str] | None = None
    ) -> None:
        self.comps = _grouped(
            rows_for(
                db,
                "SELECT recording_id, comp, take_ids_json, event_id FROM {comps} "
                "WHERE recording_id {ids} AND status = 'approved' "
                "ORDER BY recording_id, comp",
                subjects,
            ),
            "recording_id",
        )
        composed = sorted(self.comps)
        # A comp's takes are its recording's own; any other is read by its id.
        take_rows = rows_for(
            db,
            "SELECT take_id, session_id, performer_ids_json, event_id FROM {takes} "
            "WHERE recording_id {ids}",
            composed,
        )
        self.takes: dict[str, Row] = {row["take_id"]: row for row in take_rows}
        wanted = {
            take_id
            for comps in self.comps.values()
            for comp in comps
            for take_id in comp["take_ids_json"]
        }
        missing = sorted(wanted - self.takes.keys())
        for row in rows_for(
            db,
            "SELECT take_id, session_id, performer_ids_json, event_id FROM {takes} "
            "WHERE take_id {ids}",
            missing,
        ):
            self.takes[row["take_id"]] = row
        self.edits: dict[tuple[str, str], list[Row]] = {}
        for row in rows_for(
            db,
            "SELECT recording_id, comp, party_id, event_id FROM {edit_passes} "
            "WHERE recording_id {ids} ORDER BY recording_id, comp, event_id",
            composed,
        ):
            self.edits.setdefault((row["recording_id"], row["comp"]), []).append(row)
        sessions = sorted(
            {self.takes[t]["session_id"] for t in wanted if t in self.takes}
        )
        self.checkins = _grouped(
            rows_for(
                db,
                "SELECT session_id, party_id, roles_json, role_vocabulary, "
                "instruments_json, event_id FROM {checkins} "
                "WHERE session_id {ids} ORDER BY session_id, party_id",
                sessions,
            ),
            "session_id",
        )
        self.engineers = _grouped(
            rows_for(
                db,
                "SELECT session_id, party_id, event_id FROM {session_engineers} "
                "WHERE session_id {ids} ORDER BY session_id, party_id",
                sessions,
            ),
            "session_id",
        )
        self.deliverables = _grouped(
            rows_for(
                db,
                "SELECT recording_id, kind, submitted_by, submitted_event_id, "
                "final_event_id FROM {deliverables} WHERE recording_id {ids} "
                "AND is_final = :yes ORDER BY recording_id, kind",
                subjects,
                {"yes": True},
            ),
            "recording_id",
        )
        self.asserted = _grouped(
            rows_for(
                db,
                "SELECT subject_id, party_id, role, event_ids_json, "
                "instruments_json, role_vocabulary, user_defined_role, status "
                "FROM {asserted} WHERE subject_id {ids} "
                "AND status <> 'retracted' ORDER BY subject_id, credits_id, credit",
                subjects if asserted is None else asserted,
            ),
            "subject_id",
        )


def derive(subject_id: str, facts: Facts) -> dict[Key, Row]:
    """The credits of one recording (or the release), keyed by party, role and
    source, each with its instruments, vocabulary, status and evidence."""
    found: dict[Key, Row] = {}

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

    sessions: dict[str, list[str]] = {}
    for comp in facts.comps.get(subject_id, ()):
        for edit in facts.edits.get((subject_id, comp["comp"]), ()):
            add(
                edit["party_id"],
                "DigitalEditingEngineer",
                "edit",
                [comp["event_id"], edit["event_id"]],
            )
        for take_id in comp["take_ids_json"]:
            take = facts.takes.get(take_id)
            if take is None:
                continue
            evidence = [comp["event_id"], take["event_id"]]
            sessions.setdefault(take["session_id"], []).extend(evidence)
            checkins = facts.checkins.get(take["session_id"], ())
            for party_id in take["performer_ids_json"]:
                checkin = next((c for c in checkins if c["party_id"] == party_id), None)
                if checkin is None:
                    add(party_id, "Musician", "performer", evidence)
                    continue
                roles = [
                    role for role in checkin["roles_json"] if role in PERFORMING_ROLES
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
        for checkin in facts.checkins.get(session_id, ()):
            for role in checkin["roles_json"]:
                if role not in PERFORMING_ROLES:
                    add(
                        checkin["party_id"],
                        role,
                        "session",
                        [*evidence, checkin["event_id"]],
                        vocabulary=checkin["role_vocabulary"],
                    )
        for engineer in facts.engineers.get(session_id, ()):
            add(
                engineer["party_id"],
                "RecordingEngineer",
                "session",
                [*evidence, engineer["event_id"]],
            )
    for deliverable in facts.deliverables.get(subject_id, ()):
        role = "MixingEngineer" if deliverable["kind"] == "mix" else "MasteringEngineer"
        add(
            deliverable["submitted_by"],
            role,
            deliverable["kind"],
            [deliverable["submitted_event_id"], deliverable["final_event_id"]],
        )
    for credit in facts.asserted.get(subject_id, ()):
        add(
            credit["party_id"],
            credit["role"],
            ASSERTED_SOURCE,
            credit["event_ids_json"],
            instruments=credit["instruments_json"],
            vocabulary=credit["role_vocabulary"],
            user_defined=credit["user_defined_role"],
            status=credit["status"],
        )
    return found


STORED = (
    "SELECT subject_id, party_id, role, source, project, role_vocabulary, "
    "user_defined_role, instruments_json, status, evidence_json "
    "FROM {credits} WHERE subject_id {ids}"
)
ASSERTED_PARAMS = {"asserted": ASSERTED_SOURCE}


def _stored(db: Db, derived: set[str], claimed: set[str]) -> list[Row]:
    """The stored credits of the parts being recomputed: every credit of a
    subject in both sets, the derived ones of the others in ``derived``, the
    asserted ones of the others in ``claimed`` (a statement per group that
    has subjects)."""
    both = derived & claimed
    return [
        *rows_for(db, STORED, sorted(both)),
        *rows_for(
            db,
            STORED + " AND source <> :asserted",
            sorted(derived - both),
            ASSERTED_PARAMS,
        ),
        *rows_for(
            db,
            STORED + " AND source = :asserted",
            sorted(claimed - both),
            ASSERTED_PARAMS,
        ),
    ]


def recompute(db: Db, subjects: Iterable[str], asserted: Iterable[str]) -> None:
    """Make the stored credits what their facts give: the derived part of
    ``subjects``' and the asserted part of ``asserted``' (a subject in both,
    both), writing only the rows that differ (a recomputation mostly finds
    what is stored)."""
    derived = set(subjects)
    claimed = set(asserted)
    ids = sorted(derived | claimed)
    if not ids:
        return
    facts = Facts(db, sorted(derived), sorted(claimed))
    stored: dict[str, dict[Key, Row]] = {}
    for row in _stored(db, derived, claimed):
        key = (row.pop("party_id"), row.pop("role"), row.pop("source"))
        stored.setdefault(row.pop("subject_id"), {})[key] = row
    stale: list[Row] = []
    fresh: list[Row] = []
    for subject_id in ids:
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
            for key, entry in derive(subject_id, facts).items()
        }
        have = stored.get(subject_id, {})
        stale.extend(
            {"subject_id": subject_id, "party_id": p, "role": r, "source": s}
            for (p, r, s), row in have.items()
            if wanted.get((p, r, s)) != row
        )
        fresh.extend(
            {
                "subject_id": subject_id,
                "party_id": p,
                "role": r,
                "source": s,
                "project": project,
                "vocabulary": row["role_vocabulary"],
                "user_defined": row["user_defined_role"],
                "instruments": _json(row["instruments_json"]),
                "status": row["status"],
                "evidence": _json(row["evidence_json"]),
            }
            for (p, r, s), row in sorted(wanted.items())
            if have.get((p, r, s)) != row
        )
    db.executemany(
        "DELETE FROM {credits} WHERE subject_id = :subject_id AND "
        "party_id = :party_id AND role = :role AND source = :source",
        stale,
    )
    db.executemany(
        "INSERT INTO {credits} (subject_id, party_id, role, source, project, "
        "role_vocabulary, user_defined_role, instruments_json, status, "
        "evidence_json) VALUES (:subject_id, :party_id, :role, :source, "
        ":project, :vocabulary, :user_defined, :instruments, :status, :evidence)",
        fresh,
    )


__all__ = [
    "ASSERTED_SOURCE",
    "Facts",
    "derive",
    "recompute",
    "recordings_of_sessions",
]
