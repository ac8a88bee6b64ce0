"""DDEX vocabularies: contributor roles, session types and instruments, by version.

Credits store the vocabulary version with the role, because DDEX's allowed-value
sets change between versions. The sets below are the subsets session-log knows
for each version (the ERN 4.3 set has 264 roles, 19 session types and 709
instrument types); ``UserDefined`` plus a value covers the rest.
"""

from __future__ import annotations

from session_log.errors import InvalidCommand

ERN_4_3 = "ERN-4.3"
CURRENT_VERSION = ERN_4_3
USER_DEFINED = "UserDefined"

RECORDING_ROLES: dict[str, frozenset[str]] = {
    ERN_4_3: frozenset(
        {
            "StudioProducer",
            "CoProducer",
            "AssistantProducer",
            "VocalProducer",
            "ExecutiveProducer",
            "AAndRAdministrator",
            "RecordingEngineer",
            "TrackingEngineer",
            "OverdubEngineer",
            "VocalEngineer",
            "AssistantEngineer",
            "TrackingSecondEngineer",
            "DigitalEditingEngineer",
            "MixingEngineer",
            "MixingSecondEngineer",
            "MasteringEngineer",
            "TransfersAndSafetiesEngineer",
            "Musician",
            "StudioMusician",
            "LeadVocalist",
            "BackgroundVocalist",
            "Programmer",
            "Conductor",
            "Contractor",
            "MusicArranger",
            "MusicCopyist",
            "Composer",
            "Lyricist",
            "ComposerLyricist",
            "Arranger",
            "MainArtist",
            "FeaturedArtist",
            USER_DEFINED,
        }
    )
}

WORK_ROLES: frozenset[str] = frozenset(
    {"Composer", "Lyricist", "ComposerLyricist", "Arranger"}
)

SESSION_TYPES: dict[str, frozenset[str]] = {
    ERN_4_3: frozenset(
        {
            "PreProduction",
            "Tracking",
            "Overdub",
            "ArtistVocals",
            "Vocal",
            "DigitalEditing",
            "Editing",
            "Mixing",
            "Remixing",
            "Mastering",
            "TransfersAndSafeties",
            USER_DEFINED,
        }
    )
}

INSTRUMENTS: dict[str, frozenset[str]] = {
    ERN_4_3: frozenset(
        {
            "AcousticGuitar",
            "ElectricGuitar",
            "BassGuitar",
            "DoubleBass",
            "Drums",
            "Percussion",
            "Piano",
            "ElectricPiano",
            "HammondOrgan",
            "Keyboards",
            "Synthesizer",
            "Violin",
            "Viola",
            "Cello",
            "Harp",
            "Trumpet",
            "Trombone",
            "FrenchHorn",
            "Tuba",
            "AltoSaxophone",
            "TenorSaxophone",
            "BaritoneSaxophone",
            "Flute",
            "Clarinet",
            "Oboe",
            "Harmonica",
            "PedalSteelGuitar",
            "Mandolin",
            "Banjo",
            "Vocals",
            "DrumMachine",
            USER_DEFINED,
        }
    )
}


def _check(
    value: str,
    user_defined: str | None,
    version: str,
    sets: dict[str, frozenset[str]],
    what: str,
    field: str,
) -> None:
    if version not in sets:
        msg = f"{field}: unknown DDEX vocabulary version {version!r}"
        raise InvalidCommand(msg, field=field)
    if value not in sets[version]:
        msg = f"{field}: {value!r} is not a DDEX {version} {what}; use UserDefined"
        raise InvalidCommand(msg, field=field)
    if value == USER_DEFINED and not (user_defined and user_defined.strip()):
        msg = f"{field}: UserDefined needs a user_defined value"
        raise InvalidCommand(msg, field=field)


def check_role(
    role: str, version: str, user_defined: str | None = None, field: str = "role"
) -> None:
    """Refuse a role that is not in the DDEX vocabulary ``version``."""
    _check(role, user_defined, version, RECORDING_ROLES, "contributor role", field)


def check_session_type(
    session_type: str, version: str = CURRENT_VERSION, field: str = "session_type"
) -> None:
    _check(session_type, "x", version, SESSION_TYPES, "session type", field)


def check_instrument(
    instrument: str, version: str = CURRENT_VERSION, field: str = "instruments"
) -> None:
    _check(instrument, "x", version, INSTRUMENTS, "instrument type", field)
