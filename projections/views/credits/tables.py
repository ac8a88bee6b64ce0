"""The credits view's tables: the facts credits are derived from, and the credits."""

from __future__ import annotations

from typing import Any

import msgspec

from projections.schema import Table, col

PERFORMING_ROLES = frozenset(
    {
        "Musician",
        "StudioMusician",
        "LeadVocalist",
        "BackgroundVocalist",
        "Programmer",
        "MainArtist",
        "FeaturedArtist",
        "Conductor",
    }
)
DEFAULT_VOCABULARY = "ERN-4.3"

PARTIES = Table(
    "parties",
    (
        col("party_id"),
        col("project"),
        col("name"),
        col("kind"),
        col("isni", null=True),
        col("ipi", null=True),
    ),
    primary_key=("party_id",),
    doc="Names and identifiers of the credited parties.",
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
    ),
    primary_key=("recording_id",),
    indexes=(("project",),),
    doc="Recordings and the works they record.",
)
CHECKINS = Table(
    "checkins",
    (
        col("session_id"),
        col("party_id"),
        col("project"),
        col("roles_json", "json"),
        col("role_vocabulary"),
        col("instruments_json", "json"),
        col("event_id"),
    ),
    primary_key=("session_id", "party_id"),
    doc="Check-ins to sessions (roles and instruments).",
)
SESSION_ENGINEERS = Table(
    "session_engineers",
    (col("session_id"), col("party_id"), col("project"), col("event_id")),
    primary_key=("session_id", "party_id"),
    doc="Engineers who opened, closed or logged takes in a session.",
)
TAKES = Table(
    "takes",
    (
        col("take_id"),
        col("project"),
        col("session_id"),
        col("recording_id"),
        col("part"),
        col("performer_ids_json", "json"),
        col("event_id"),
    ),
    primary_key=("take_id",),
    indexes=(("recording_id",), ("session_id",)),
    doc="Takes with their session, recording and performers.",
)
COMPS = Table(
    "comps",
    (
        col("recording_id"),
        col("comp"),
        col("project"),
        col("part"),
        col("take_ids_json", "json"),
        col("status"),
        col("event_id"),
    ),
    primary_key=("recording_id", "comp"),
    doc="Comps: assembled, approved (by the producer), superseded.",
)
DELIVERABLES = Table(
    "deliverables",
    (
        col("recording_id"),
        col("kind"),
        col("version", "int"),
        col("project"),
        col("submitted_by"),
        col("submitted_event_id"),
        col("is_final", "bool"),
        col("final_event_id", null=True),
    ),
    primary_key=("recording_id", "kind", "version"),
    doc="Mix and master versions: who submitted them, which is final.",
)
EDIT_PASSES = Table(
    "edit_passes",
    (
        col("recording_id"),
        col("comp"),
        col("party_id"),
        col("project"),
        col("event_id"),
    ),
    primary_key=("recording_id", "comp", "party_id", "event_id"),
    doc="Edit passes (timing, tuning ...) on comps, by whom.",
)
ASSERTED = Table(
    "asserted",
    (
        col("credits_id"),
        col("credit"),
        col("project"),
        col("subject_id"),
        col("party_id"),
        col("role"),
        col("role_vocabulary"),
        col("user_defined_role", null=True),
        col("instruments_json", "json"),
        col("status"),
        col("event_ids_json", "json"),
    ),
    primary_key=("credits_id", "credit"),
    indexes=(("subject_id",),),
    doc="Asserted credits and their status (asserted, confirmed, disputed, retracted).",
)
CREDITS = Table(
    "credits",
    (
        col("subject_id"),
        col("party_id"),
        col("role"),
        col("source"),
        col("project"),
        col("role_vocabulary"),
        col("user_defined_role", null=True),
        col("instruments_json", "json"),
        col("status"),
        col("evidence_json", "json"),
    ),
    primary_key=("subject_id", "party_id", "role", "source"),
    indexes=(("project", "subject_id"),),
    doc="The credits: per recording (or the release for album credits), party, "
    "DDEX role, instruments, source, status and evidence (event ids).",
)
SPLITS = Table(
    "splits",
    (
        col("work_id"),
        col("party_id"),
        col("role"),
        col("project"),
        col("title"),
        col("sheet_version", "int"),
        col("share_bp", "int"),
        col("event_id"),
    ),
    primary_key=("work_id", "party_id", "role"),
    doc="Writer splits per work from its latest finalised split sheet "
    "(share in basis points: 10000 = 100%).",
)


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()
