"""Credit exports: JSON, CSV and a RIN-like XML structure."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

import msgspec

from projections.views.credits.results import MergedCredit, WriterSplit

if TYPE_CHECKING:
    from projections.views.credits.reads import CreditsReads

CSV_FIELDS = (
    "subject_id",
    "party_id",
    "name",
    "role",
    "role_vocabulary",
    "user_defined_role",
    "instruments",
    "sources",
    "status",
    "evidence",
)


def export_json(reads: CreditsReads, project: str, recording: str | None = None) -> str:
    """Credits, recordings and writer splits as one JSON document (with
    ``recording``, an aggregate id, only that recording and its credits)."""
    recordings = reads.rows(
        "SELECT recording_id, work_id, title, version_title, status "
        "FROM {recordings} WHERE project = :project ORDER BY recording_id",
        {"project": project},
    )
    document = {
        "project": project,
        "recordings": [r for r in recordings if recording in (None, r["recording_id"])],
        "credits": [
            msgspec.to_builtins(c)
            for c in reads.merged_credits(project=project, subject_id=recording)
        ],
        "writer_splits": [msgspec.to_builtins(s) for s in reads.writer_splits(project)],
    }
    return msgspec.json.encode(document).decode()


def export_csv(reads: CreditsReads, project: str, recording: str | None = None) -> str:
    """One row per credit (instruments and evidence joined with ``;``); with
    ``recording`` (an aggregate id), only that recording's."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for c in reads.merged_credits(project=project, subject_id=recording):
        writer.writerow(
            [
                c.subject_id,
                c.party_id,
                c.name,
                c.role,
                c.role_vocabulary,
                c.user_defined_role or "",
                ";".join(c.instruments),
                ";".join(c.sources),
                c.status,
                ";".join(c.evidence),
            ]
        )
    return out.getvalue()


def export_rin(reads: CreditsReads, project: str) -> str:
    """A RIN-like XML document (DDEX Recording Information Notification shape:
    parties, sound recordings with contributors, musical works with writers)."""
    credits = reads.merged_credits(project=project)
    splits = reads.writer_splits(project)
    recordings = reads.rows(
        "SELECT * FROM {recordings} WHERE project = :project "
        "AND status = 'selected' ORDER BY recording_id",
        {"project": project},
    )
    parties = reads.rows(
        "SELECT * FROM {parties} WHERE project = :project ORDER BY party_id",
        {"project": project},
    )
    refs = {p["party_id"]: f"P{i}" for i, p in enumerate(parties, 1)}
    root = ET.Element("RecordingInformationNotification", {"ProjectId": project})
    party_list = ET.SubElement(root, "PartyList")
    for p in parties:
        party = ET.SubElement(
            party_list, "Party", {"PartyReference": refs[p["party_id"]]}
        )
        ET.SubElement(party, "PartyId", {"Namespace": "session-log"}).text = p[
            "party_id"
        ]
        for scheme in ("isni", "ipi"):
            if p[scheme]:
                ET.SubElement(party, scheme.upper()).text = p[scheme]
        name = ET.SubElement(party, "PartyName")
        ET.SubElement(name, "FullName").text = p["name"]
    resources = ET.SubElement(root, "ResourceList")
    release_subjects = {c.subject_id for c in credits} - {
        r["recording_id"] for r in recordings
    }
    for i, rec in enumerate(recordings, 1):
        sound = ET.SubElement(
            resources, "SoundRecording", {"ResourceReference": f"A{i}"}
        )
        ET.SubElement(sound, "ResourceId", {"Namespace": "session-log"}).text = rec[
            "recording_id"
        ]
        ET.SubElement(sound, "Title").text = rec["title"]
        if rec["version_title"]:
            ET.SubElement(sound, "VersionTitle").text = rec["version_title"]
        ET.SubElement(sound, "WorkId").text = rec["work_id"]
        for c in credits:
            if c.subject_id == rec["recording_id"]:
                _contributor(sound, c, refs)
    release = ET.SubElement(root, "ReleaseContributorList")
    for c in credits:
        if c.subject_id in release_subjects:
            _contributor(release, c, refs)
    works = ET.SubElement(root, "MusicalWorkList")
    by_work: dict[str, list[WriterSplit]] = {}
    for s in splits:
        by_work.setdefault(s.work_id, []).append(s)
    for work_id, shares in by_work.items():
        work = ET.SubElement(works, "MusicalWork")
        ET.SubElement(work, "WorkId", {"Namespace": "session-log"}).text = work_id
        ET.SubElement(work, "Title").text = shares[0].title
        for s in shares:
            writer = ET.SubElement(work, "Writer")
            ET.SubElement(writer, "PartyReference").text = refs.get(
                s.party_id, s.party_id
            )
            ET.SubElement(writer, "Role").text = s.role
            ET.SubElement(
                writer, "SharePercentage"
            ).text = f"{s.share_bp // 100}.{s.share_bp % 100:02d}"
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def _contributor(parent: ET.Element, c: MergedCredit, refs: dict[str, str]) -> None:
    element = ET.SubElement(parent, "Contributor", {"Status": c.status})
    ET.SubElement(element, "ContributorPartyReference").text = refs.get(
        c.party_id, c.party_id
    )
    role = ET.SubElement(element, "Role", {"VocabularyVersion": c.role_vocabulary})
    role.text = c.role
    if c.user_defined_role:
        role.set("UserDefinedValue", c.user_defined_role)
    for instrument in c.instruments:
        ET.SubElement(element, "InstrumentType").text = instrument
    ET.SubElement(element, "Evidence").text = " ".join(c.evidence)
