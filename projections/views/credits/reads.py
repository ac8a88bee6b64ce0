"""Queries of the credits view (exports in ``exports``)."""

from __future__ import annotations

from typing import ClassVar

from projections.sql_view import SQLView, ViewDefinition
from projections.views.credits import exports
from projections.views.credits.derivation import CreditsDefinition
from projections.views.credits.results import Credit, MergedCredit, WriterSplit, merge


class CreditsReads(SQLView):
    """Queries and exports of the credits view."""

    definition: ClassVar[ViewDefinition] = CreditsDefinition()

    def credits(
        self, *, project: str | None = None, subject_id: str | None = None
    ) -> list[Credit]:
        """Credits (recording or release), ordered by subject, party, role."""
        where, params = [], {}
        if project is not None:
            where.append("c.project = :project")
            params["project"] = project
        if subject_id is not None:
            where.append("c.subject_id = :subject_id")
            params["subject_id"] = subject_id
        sql = (
            "SELECT c.*, COALESCE(p.name, c.party_id) AS name FROM {credits} c "
            "LEFT JOIN {parties} p ON p.party_id = c.party_id"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.rows(
            sql + " ORDER BY c.subject_id, c.party_id, c.role, c.source", params
        )
        return [
            Credit(
                subject_id=r["subject_id"],
                party_id=r["party_id"],
                name=r["name"],
                role=r["role"],
                source=r["source"],
                role_vocabulary=r["role_vocabulary"],
                user_defined_role=r["user_defined_role"],
                instruments=r["instruments_json"],
                status=r["status"],
                evidence=r["evidence_json"],
            )
            for r in rows
        ]

    def merged_credits(
        self, *, project: str | None = None, subject_id: str | None = None
    ) -> list[MergedCredit]:
        """Credits with their sources merged per (subject, party, role)."""
        return merge(self.credits(project=project, subject_id=subject_id))

    def album_credits(self, project: str) -> dict[tuple[str, str], list[str]]:
        """(party id, role) -> the subjects credited (recordings still selected,
        and the release itself)."""
        rows = self.rows(
            "SELECT c.party_id, c.role, c.subject_id FROM {credits} c "
            "LEFT JOIN {recordings} r ON r.recording_id = c.subject_id "
            "WHERE c.project = :project AND (r.status IS NULL OR "
            "r.status = 'selected') "
            "ORDER BY c.party_id, c.role, c.subject_id",
            {"project": project},
        )
        album: dict[tuple[str, str], list[str]] = {}
        for r in rows:
            subjects = album.setdefault((r["party_id"], r["role"]), [])
            if r["subject_id"] not in subjects:
                subjects.append(r["subject_id"])
        return album

    def writer_splits(self, project: str) -> list[WriterSplit]:
        rows = self.rows(
            "SELECT s.*, COALESCE(p.name, s.party_id) AS name FROM {splits} s "
            "LEFT JOIN {parties} p ON p.party_id = s.party_id "
            "WHERE s.project = :project ORDER BY s.work_id, s.party_id, s.role",
            {"project": project},
        )
        return [
            WriterSplit(
                work_id=r["work_id"],
                title=r["title"],
                sheet_version=r["sheet_version"],
                party_id=r["party_id"],
                name=r["name"],
                role=r["role"],
                share_bp=r["share_bp"],
                event_id=r["event_id"],
            )
            for r in rows
        ]

    def export_json(self, project: str, recording: str | None = None) -> str:
        """Credits, recordings and writer splits as one JSON document (one
        recording's, given its aggregate id)."""
        return exports.export_json(self, project, recording)

    def export_csv(self, project: str, recording: str | None = None) -> str:
        """One row per merged credit (instruments and evidence joined with
        ``;``), of one recording given its aggregate id."""
        return exports.export_csv(self, project, recording)

    def export_rin(self, project: str) -> str:
        """A RIN-like XML document (see ``exports.export_rin``)."""
        return exports.export_rin(self, project)
