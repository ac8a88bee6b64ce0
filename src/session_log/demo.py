"""A deterministic demo: the album "Moonlit Harbour", pre-production to delivery.

Built only through the public commands (every command type is used), with a
scripted clock, so two runs produce identical events::

    from session_log.application import SessionLog
    from session_log.demo import load_demo

    app = SessionLog()               # or with PERSISTENCE_MODULE=session_log.jetstream
    summary = load_demo(app)         # DemoSummary(project="moonlit", commands=..., ...)

Loading it again on the same store writes nothing (every command id was already
accepted with the same body) and returns the same summary.

The story: the label's A&R administrator starts the project; 27 people and
organisations; 11 songs written, one dropped in pre-production; a budget rejected,
revised and approved with executive co-approval; 39 sessions (one rescheduled, one
cancelled with notice, one cancelled late under the AFM 7-day rule); takes, comps
and edit passes; an arrangement change in the middle of tracking that makes a new
recording of "Undertow"; two overruns settled by contingency draws (one draw
rejected first); a producer and a label reallocation; an increase rejected and one
approved; mix revision rounds (the third billed extra); masters, transfers and
safeties, sequence, credits (two disputes resolved) and label copy.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import msgspec

from session_log import commands as cmd
from session_log.application import SessionLog
from session_log.domain.budget import LineCategory
from session_log.domain.commandlog import CommandResult
from session_log.domain.money import Money
from session_log.domain.parties import isni_is_valid
from session_log.domain.project import Policy
from session_log.domain.recordings import Arrangement

__all__ = ["DEMO_PROJECT", "DemoSummary", "load_demo"]

DEMO_PROJECT = "moonlit"
C = TypeVar("C", bound=cmd.CommandBase)


class DemoSummary(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`load_demo` built."""

    project: str
    title: str
    commands: int
    events: int
    command_types: int
    parties: int
    recordings: int
    sessions: int
    takes: int
    comps: int
    mix_versions: int
    credits: int
    started_at: datetime
    finished_at: datetime
    commands_by_type: dict[str, int]


def usd(dollars: int, cents: int = 0) -> Money:
    return Money(amount=dollars * 100 + cents, currency="USD")


def sha(text: str) -> str:
    """A deterministic stand-in for a file's SHA-256."""
    return hashlib.sha256(text.encode()).hexdigest()


def isni(base: str) -> str:
    """Complete a 15-digit ISNI base with its MOD 11-2 check character."""
    for check in "0123456789X":  # pragma: no branch
        if isni_is_valid(base + check):
            return base + check
    raise AssertionError(base)  # pragma: no cover


def utc(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


# (token, name, kind, capacities, isni base, ipi)
PEOPLE: list[tuple[str, str, str, tuple[str, ...], str | None, str | None]] = [
    (
        "victor",
        "Victor Hale",
        "person",
        ("executive_approver",),
        "000000012345678",
        None,
    ),
    ("rui", "Rui Costa", "person", ("producer",), "000000011122233", "00712345678"),
    ("mara", "Mara Velez", "person", ("artist",), "000000043215678", "00498765432"),
    ("jonah", "Jonah Reyes", "person", ("contributor",), None, "00511223344"),
    ("ines", "Ines Duarte", "person", ("contributor",), None, "00522334455"),
    ("sam", "Sam Okafor", "person", ("engineer",), None, None),
    ("tove", "Tove Lind", "person", ("engineer",), None, None),
    ("ada", "Ada Novak", "person", ("engineer",), None, None),
    ("dee", "Dee Marsh", "person", ("engineer",), "000000055566677", None),
    ("hiro", "Hiro Tanaka", "person", ("engineer",), None, None),
    ("carl", "Carl Brandt", "person", ("contributor",), None, None),
    ("kofi", "Kofi Mensah", "person", ("contributor",), None, None),
    ("lucia", "Lucia Ferer", "person", ("contributor",), None, None),
    ("ben", "Ben Adler", "person", ("contributor",), None, None),
    ("noor", "Noor Haddad", "person", ("contributor",), None, None),
    ("eli", "Eli Brooks", "person", ("contributor",), None, None),
    ("greta", "Greta Holm", "person", ("contributor",), None, None),
    ("tess", "Tess Morgan", "person", ("contributor",), None, None),
    ("paulo", "Paulo Mendes", "person", ("contributor",), None, None),
    ("omar", "Omar Said", "person", ("contributor",), None, None),
    ("june", "June Park", "person", ("contributor",), None, None),
    (
        "harbour-studios",
        "Harbour Street Studios",
        "organisation",
        ("vendor",),
        None,
        None,
    ),
    ("backline", "Backline & Co.", "organisation", ("vendor",), None, None),
    ("vault", "Vault Media Archive", "organisation", ("vendor",), None, None),
    ("afm-payroll", "Union Payroll Services", "organisation", (), None, None),
    ("skyway", "Skyway Travel", "organisation", (), None, None),
    ("max", "Max Ortiz", "person", ("viewer",), None, None),
    ("priya", "Priya Shah", "person", ("viewer",), None, None),
]
VENDOR_LINES = {
    "harbour-studios": ("studio",),
    "backline": ("equipment", "cartage"),
    "vault": ("archive",),
}

# recording, work, title, key, tempo, meter, seconds, writers (party, role, bp)
SONGS: list[tuple[str, str, str, str, int, str, int, list[tuple[str, str, int]]]] = [
    (
        "harbour-lights",
        "w-harbour-lights",
        "Harbour Lights",
        "E minor",
        92,
        "4/4",
        254,
        [("mara", "ComposerLyricist", 6000), ("jonah", "Composer", 4000)],
    ),
    (
        "paper-moon",
        "w-paper-moon",
        "Paper Moon Parade",
        "G major",
        118,
        "4/4",
        221,
        [("mara", "ComposerLyricist", 5000), ("ines", "Lyricist", 5000)],
    ),
    (
        "salt-and-iron",
        "w-salt-and-iron",
        "Salt and Iron",
        "D minor",
        84,
        "6/8",
        287,
        [
            ("mara", "Composer", 5000),
            ("jonah", "Composer", 2500),
            ("ines", "Lyricist", 2500),
        ],
    ),
    (
        "low-tide",
        "w-low-tide",
        "Low Tide",
        "A major",
        76,
        "4/4",
        268,
        [("mara", "ComposerLyricist", 10000)],
    ),
    (
        "lantern",
        "w-lantern",
        "Lantern",
        "E major",
        100,
        "4/4",
        236,
        [("mara", "ComposerLyricist", 7000), ("jonah", "Composer", 3000)],
    ),
    (
        "northbound",
        "w-northbound",
        "Northbound",
        "B minor",
        128,
        "4/4",
        203,
        [
            ("mara", "ComposerLyricist", 5000),
            ("jonah", "Composer", 2500),
            ("ines", "Lyricist", 2500),
        ],
    ),
    (
        "glass-house",
        "w-glass-house",
        "Glass House",
        "C major",
        96,
        "4/4",
        249,
        [("mara", "ComposerLyricist", 10000)],
    ),
    (
        "undertow",
        "w-undertow",
        "Undertow",
        "F# minor",
        110,
        "4/4",
        262,
        [("mara", "Composer", 5000), ("ines", "Lyricist", 5000)],
    ),
    (
        "fieldnotes",
        "w-fieldnotes",
        "Field Notes",
        "A minor",
        88,
        "4/4",
        214,
        [("mara", "ComposerLyricist", 6000), ("ines", "Lyricist", 4000)],
    ),
    (
        "slow-return",
        "w-slow-return",
        "Slow Return",
        "D major",
        68,
        "4/4",
        301,
        [("mara", "ComposerLyricist", 10000)],
    ),
]
DROPPED = ("river-song", "w-river-song", "River Song")
UNDERTOW_NEW = ("undertow-slow", 298)
TRACKS = [
    "harbour-lights",
    "paper-moon",
    "salt-and-iron",
    "low-tide",
    "lantern",
    "northbound",
    "glass-house",
    "undertow-slow",
    "fieldnotes",
    "slow-return",
]
RHYTHM = [  # party, roles, instruments, leader
    ("carl", ("MusicArranger", "Musician"), ("Piano",), True),
    ("kofi", ("Musician",), ("Drums",), False),
    ("lucia", ("Musician",), ("BassGuitar",), False),
    ("ben", ("Musician",), ("HammondOrgan",), False),
    ("jonah", ("Musician",), ("ElectricGuitar",), False),
]
Player = tuple[str, tuple[str, ...], tuple[str, ...], bool, bool]
STRINGS: list[Player] = [  # party, roles, instruments, leader, contractor
    ("tess", ("Musician", "Contractor"), ("Violin",), True, True),
    ("noor", ("Musician",), ("Violin",), False, False),
    ("eli", ("Musician",), ("Viola",), False, False),
    ("greta", ("Musician",), ("Cello",), False, False),
]
HORNS: list[Player] = [
    ("paulo", ("Musician",), ("Trumpet",), True, False),
    ("omar", ("Musician",), ("Percussion",), False, False),
]
OVERDUBS: list[tuple[str, str, list[Player], list[str], int]] = [
    # session, part, players, recordings, day
    (
        "ovd-strings-a",
        "strings",
        STRINGS,
        ["harbour-lights", "lantern", "glass-house"],
        25,
    ),
    (
        "ovd-strings-b",
        "strings",
        STRINGS,
        ["low-tide", "slow-return", "paper-moon"],
        26,
    ),
    ("ovd-horns-a", "horns", HORNS, ["salt-and-iron", "northbound", "fieldnotes"], 27),
    ("ovd-horns-b", "horns", HORNS, ["undertow-slow"], 28),
]
BACKING_VOCALS = {"harbour-lights", "lantern", "paper-moon", "fieldnotes"}


class _Demo:
    def __init__(self, app: SessionLog, project: str) -> None:
        self.app = app
        self.project = project
        self.now = utc(1, 6)
        self.count = 0
        self.results: list[CommandResult] = []
        self.last_id = ""
        self.seconds: dict[str, int] = {}

    # --- plumbing -----------------------------------------------------------------

    def at(self, moment: datetime) -> None:
        assert moment >= self.now, (moment, self.now)
        self.now = moment

    def tick(self, minutes: int = 1) -> None:
        self.now += timedelta(minutes=minutes)

    def do(self, command_class: type[C], actor: str, **fields: Any) -> str:
        """Submit one command; return its command id."""
        self.count += 1
        command_id = f"d{self.count:04d}"
        command = command_class(
            command_id=command_id, project=self.project, actor=actor, **fields
        )
        self.results.append(self.app.submit(command))
        self.last_id = command_id
        self.tick()
        return command_id

    # --- the story -------------------------------------------------------------

    def run(self) -> None:
        self.start()
        self.plan()
        self.budget()
        self.preproduction()
        self.tracking()
        self.overdubs()
        self.vocals()
        self.editing()
        self.mixing()
        self.mastering()
        self.credits()
        self.delivery()

    def start(self) -> None:
        self.do(
            cmd.StartProject,
            "lena",
            title="Moonlit Harbour",
            main_artist="Mara Velez",
            release_format="album",
            currency="USD",
            founder_name="Lena Park",
            founder_isni=isni("000000019876543"),
            founder_capacities=("label_approver",),
            reason="Album commissioned under the 2025 recording agreement",
        )
        self.do(
            cmd.SetPolicy,
            "lena",
            policy=Policy(
                producer_reallocation_limit=usd(2500),
                budget_co_approval_threshold=usd(150_000),
                included_mix_revisions=2,
            ),
            reason="Standard album terms",
        )
        for token in ("victor", "rui"):
            self.register(token)
        self.do(
            cmd.GrantCapacity, "lena", party="victor", capacity="executive_approver"
        )
        self.do(cmd.GrantCapacity, "lena", party="rui", capacity="producer")
        self.at(utc(1, 7))
        for token, *_ in PEOPLE[2:]:
            self.register(token)
        for token, _name, _kind, capacities, _isni, _ipi in PEOPLE[2:]:
            for capacity in capacities:
                self.do(
                    cmd.GrantCapacity,
                    "rui",
                    party=token,
                    capacity=capacity,
                    budget_lines=VENDOR_LINES.get(token, ()),
                )
        self.do(
            cmd.CorrectParty,
            "rui",
            party="lucia",
            name="Lucia Ferrer",
            ipi="00533445566",
            reason="Name misspelt at registration; IPI from her publisher",
        )

    def register(self, token: str) -> None:
        for person, name, kind, _caps, isni_base, ipi in PEOPLE:
            if person == token:
                actor = "lena" if token in ("victor", "rui") else "rui"
                self.do(
                    cmd.RegisterParty,
                    actor,
                    party=token,
                    name=name,
                    kind=kind,
                    isni=isni(isni_base) if isni_base else None,
                    ipi=ipi,
                )

    def plan(self) -> None:
        self.at(utc(1, 7, 14))
        for recording, work, title, *_rest in SONGS:
            self.do(cmd.RegisterWork, "mara", work=work, title=title)
            self.do(
                cmd.AddRecording, "rui", recording=recording, work=work, title=title
            )
        self.do(cmd.RegisterWork, "mara", work=DROPPED[1], title=DROPPED[2])
        self.do(
            cmd.AddRecording,
            "rui",
            recording=DROPPED[0],
            work=DROPPED[1],
            title=DROPPED[2],
        )
        for _rec, work, _title, *_mid, writers in SONGS:
            shares = tuple(
                cmd.ShareInput(party=p, role=r, share_bp=bp) for p, r, bp in writers
            )
            self.do(cmd.ProposeSplitSheet, "mara", work=work, shares=shares)
            for party, _role, _bp in writers:
                self.do(cmd.SignSplitSheet, party, work=work, sheet_version=1)
            self.do(cmd.FinaliseSplitSheet, "rui", work=work, sheet_version=1)
        self.at(utc(1, 8))
        milestones = [
            ("preproduction", "Pre-production complete", utc(1, 24, 18)),
            ("tracking", "Tracking complete", utc(3, 7, 18)),
            ("mixing", "Mixes approved", utc(5, 9, 18)),
            ("delivery", "Delivery to the label", utc(6, 2, 18)),
        ]
        for milestone, name, due in milestones:
            self.do(
                cmd.ScheduleMilestone, "rui", milestone=milestone, name=name, due_at=due
            )

    def budget(self) -> None:
        self.at(utc(1, 8, 11))
        lines: list[tuple[str, LineCategory, str, Money]] = [
            (
                "studio",
                "studio",
                "Harbour Street Studios, tracking and vocal rooms",
                usd(65_000),
            ),
            (
                "engineer",
                "engineer",
                "Recording, assistant and editing engineers",
                usd(18_000),
            ),
            (
                "union-musicians",
                "union_musicians",
                "AFM scale, pension, health",
                usd(24_000),
            ),
            (
                "producer-fee",
                "producer_fee",
                "Producer fee (advance + balance)",
                usd(30_000),
            ),
            ("mixing", "mixing", "Mixing, 10 songs", usd(25_000)),
            ("mastering", "mastering", "Mastering, digital", usd(8_000)),
            ("equipment", "equipment", "Backline and amp rental", usd(4_000)),
            ("cartage", "cartage", "Cartage of instruments", usd(1_500)),
            ("travel", "travel", "String players' travel", usd(5_000)),
            ("archive", "other", "Transfers, safeties and archive", usd(1_200)),
            ("catering", "other", "Catering on tracking days", usd(2_000)),
        ]
        items = [
            cmd.LineInput(line=line, category=category, description=text, amount=amount)
            for line, category, text, amount in lines
        ]
        items.append(
            cmd.LineInput(
                line="contingency",
                category="contingency",
                description="Contingency, 10% of the other lines",
                contingency_bp=1000,
            )
        )
        self.do(cmd.DraftBudgetVersion, "rui", lines=tuple(items))
        self.do(cmd.SubmitBudgetVersion, "rui", budget_version=1)
        self.at(utc(1, 10, 16))
        self.do(
            cmd.RejectBudgetVersion,
            "lena",
            budget_version=1,
            reason=(
                "Studio block above the market rate; travel and catering not justified"
            ),
        )
        self.at(utc(1, 13, 10))
        self.do(cmd.DraftBudgetVersion, "rui", based_on_version=1)
        studio = cmd.LineInput(
            line="studio",
            category="studio",
            description="Harbour Street Studios, tracking and vocal rooms (block rate)",
            amount=usd(58_000),
        )
        travel = cmd.LineInput(
            line="travel",
            category="travel",
            description="String players' travel (two trips)",
            amount=usd(3_000),
        )
        self.do(cmd.SetBudgetLine, "rui", budget_version=2, line=studio)
        self.do(cmd.SetBudgetLine, "rui", budget_version=2, line=travel)
        self.do(
            cmd.RemoveBudgetLine,
            "rui",
            budget_version=2,
            line="catering",
            reason="Covered by the studio's block rate",
        )
        self.do(cmd.SubmitBudgetVersion, "rui", budget_version=2)
        self.at(utc(1, 15, 11))
        self.do(cmd.ApproveBudgetVersion, "lena", budget_version=2)
        self.at(utc(1, 16, 9, 30))
        self.do(
            cmd.ApproveBudgetVersion,
            "victor",
            budget_version=2,
            reason="Co-approved: total above the $150,000 threshold",
        )
        self.do(
            cmd.ReallocateBudget,
            "lena",
            reallocation="r-engineer-mixing",
            from_line="engineer",
            to_line="mixing",
            amount=usd(3_000),
            reason="Mixing engineer's rate confirmed above estimate; editing in-house",
        )
        self.do(
            cmd.PayAdvance,
            "lena",
            line="producer-fee",
            advance="adv-rui",
            payee="rui",
            amount=usd(15_000),
            recoupable_from="producer",
        )
        self.do(
            cmd.CommitSpend,
            "rui",
            line="studio",
            commitment="studio-block",
            payee="harbour-studios",
            amount=usd(52_000),
            description="Tracking and vocal block, 26 days",
        )
        self.do(
            cmd.CommitSpend,
            "rui",
            line="union-musicians",
            commitment="afm-tracking",
            payee="afm-payroll",
            amount=usd(16_500),
            description="AFM tracking sessions, 11 x 3 hours",
        )
        self.do(
            cmd.CommitSpend,
            "rui",
            line="equipment",
            commitment="amp-rental",
            payee="backline",
            amount=usd(3_200),
            description="Amp and keyboard rental, February",
        )
        self.do(
            cmd.CommitSpend,
            "rui",
            line="travel",
            commitment="strings-flights",
            payee="skyway",
            amount=usd(1_800),
            description="Flights for the string section",
        )
        self.do(
            cmd.RequestBudgetIncrease,
            "rui",
            increase="inc-travel",
            line="travel",
            amount=usd(1_000),
            reason="Second string trip",
        )
        self.at(utc(1, 17, 10))
        self.do(
            cmd.RejectBudgetIncrease,
            "victor",
            increase="inc-travel",
            reason="Book local string players instead",
        )

    def preproduction(self) -> None:
        self.at(utc(1, 17, 12))
        for session, day in (("pre-1", 20), ("pre-2", 21)):
            self.do(
                cmd.BookSession,
                "rui",
                session=session,
                session_type="PreProduction",
                starts_at=utc(1, day, 10),
                ends_at=utc(1, day, 16),
                studio="harbour-studios",
                room="Rehearsal B",
                recordings=tuple(song[0] for song in SONGS[:5] if day == 20)
                + tuple(song[0] for song in SONGS[5:] if day == 21),
            )
        for session, day, songs in (("pre-1", 20, SONGS[:5]), ("pre-2", 21, SONGS[5:])):
            self.at(utc(1, day, 10))
            self.do(cmd.OpenSession, "sam", session=session)
            for party in ("mara", "carl", "jonah"):
                role = "MainArtist" if party == "mara" else "MusicArranger"
                self.do(cmd.CheckIn, party, session=session, roles=(role,))
            for recording, _w, _t, key, tempo, meter, seconds, _writers in songs:
                self.seconds[recording] = seconds
                self.do(
                    cmd.AdoptArrangement,
                    "rui",
                    recording=recording,
                    arrangement=self.arrangement(key, tempo, meter),
                )
            self.at(utc(1, day, 16))
            self.do(cmd.CloseSession, "sam", session=session)
        self.do(
            cmd.DropRecording,
            "rui",
            recording=DROPPED[0],
            reason="Too close to Low Tide; the artist prefers to keep it for later",
        )
        self.at(utc(1, 23, 17))
        self.do(cmd.MeetMilestone, "rui", milestone="preproduction")

    @staticmethod
    def arrangement(
        key: str, tempo: int, meter: str, strings: bool = True
    ) -> Arrangement:
        form = (
            "intro",
            "verse",
            "chorus",
            "verse",
            "chorus",
            "bridge",
            "chorus",
            "outro",
        )
        instruments = ["Drums", "BassGuitar", "ElectricGuitar", "HammondOrgan", "Piano"]
        if strings:
            instruments += ["Violin", "Viola", "Cello"]
        return Arrangement(
            key=key,
            tempo_bpm=Decimal(tempo),
            meter=meter,
            form=form,
            instrumentation=tuple(instruments),
        )

    def take(
        self,
        session: str,
        recording: str,
        part: str,
        number: int,
        performers: tuple[str, ...],
        engineer: str = "sam",
    ) -> str:
        take = f"{recording}-{part.replace(' ', '-')}-{number}"
        self.do(
            cmd.RecordTake,
            engineer,
            take=take,
            session=session,
            recording=recording,
            part=part,
            take_number=number,
            performers=performers,
            file=f"s3://moonlit/takes/{take}.wav",
            sha256=sha(take),
            duration_seconds=self.seconds[recording] + (number - 2) * 3,
        )
        return take

    def tracking(self) -> None:
        self.at(utc(1, 24, 10))
        days = [3, 4, 5, 6, 10, 11, 12, 13, 14, 7]
        for (recording, *_rest), day in zip(SONGS, days, strict=True):
            self.do(
                cmd.BookSession,
                "rui",
                session=f"trk-{recording}",
                session_type="Tracking",
                starts_at=utc(2, day, 10),
                ends_at=utc(2, day, 13),
                union=True,
                studio="harbour-studios",
                room="Studio A",
                recordings=(recording,),
            )
        self.do(
            cmd.BookSession,
            "rui",
            session="trk-spare",
            session_type="Tracking",
            starts_at=utc(2, 28, 10),
            ends_at=utc(2, 28, 13),
            union=True,
            studio="harbour-studios",
            room="Studio A",
        )
        self.at(utc(2, 3, 9))
        self.do(
            cmd.RescheduleSession,
            "rui",
            session="trk-northbound",
            starts_at=utc(2, 17, 10),
            ends_at=utc(2, 17, 13),
            reason="Drummer ill; Northbound needs him",
        )
        order = sorted(
            ((day if rec != "northbound" else 17), rec)
            for (rec, *_r), day in zip(SONGS, days, strict=True)
        )
        for day, recording in order:
            if day == 17:
                self.book_overdubs()
            self.track_session(f"trk-{recording}", recording, utc(2, day, 10))
            self.do(
                cmd.RecordCost,
                "rui",
                line="union-musicians",
                cost=f"afm-{recording}",
                payee="afm-payroll",
                amount=usd(1_500),
                invoice_ref=f"B-4/{recording}",
                commitment="afm-tracking",
                session=f"trk-{recording}",
            )
            if recording == "undertow":
                self.change_undertow()
            if recording == "paper-moon":
                self.do(
                    cmd.ChangeArrangement,
                    "rui",
                    recording="lantern",
                    change_kind="minor",
                    arrangement=self.arrangement("F major", 100, "4/4"),
                    reason="Up a semitone for the vocal range found in pre-production",
                )
            if recording == "harbour-lights":
                self.do(
                    cmd.CancelSession,
                    "rui",
                    session="trk-spare",
                    reason="Not needed: tracking is ahead of schedule",
                )
        self.track_session("trk-undertow-slow", "undertow-slow", utc(2, 24, 10))
        self.do(
            cmd.RecordCost,
            "rui",
            line="union-musicians",
            cost="afm-undertow-slow",
            payee="afm-payroll",
            amount=usd(1_500),
            invoice_ref="B-4/undertow-slow",
            commitment="afm-tracking",
            session="trk-undertow-slow",
        )
        self.at(utc(2, 24, 18))
        for week in (1, 2, 3, 4):
            self.do(
                cmd.RecordCost,
                "harbour-studios",
                line="studio",
                cost=f"hs-week-{week}",
                amount=usd(12_000),
                invoice_ref=f"HS-2025-{week:03d}",
                commitment="studio-block",
            )
            self.tick(60)
            self.do(
                cmd.RecordPayment,
                "lena",
                line="studio",
                payment=f"pay-hs-week-{week}",
                cost=f"hs-week-{week}",
                amount=usd(12_000),
            )
        self.do(
            cmd.RecordCost,
            "backline",
            line="equipment",
            cost="amp-invoice",
            amount=usd(3_150),
            invoice_ref="BL-7781",
            commitment="amp-rental",
        )
        self.tick(120)
        self.do(
            cmd.CorrectCost,
            "backline",
            line="equipment",
            cost="amp-invoice",
            amount=usd(2_950),
            reason="Credit note BL-7781-C: one cabinet returned unused",
        )
        self.do(
            cmd.RecordPayment,
            "lena",
            line="equipment",
            payment="pay-amp",
            cost="amp-invoice",
            amount=usd(2_950),
        )
        self.do(
            cmd.CancelCommitment,
            "rui",
            line="travel",
            commitment="strings-flights",
            reason="Local string section booked instead",
        )
        self.do(
            cmd.ReallocateBudget,
            "rui",
            reallocation="r-travel-cartage",
            from_line="travel",
            to_line="cartage",
            amount=usd(1_000),
            reason="Organ and piano moves cost more than estimated",
        )
        self.do(
            cmd.RecordCost,
            "backline",
            line="cartage",
            cost="cartage-feb",
            amount=usd(2_200),
            invoice_ref="BL-7790",
        )
        self.do(
            cmd.RecordPayment,
            "lena",
            line="cartage",
            payment="pay-cartage-feb",
            cost="cartage-feb",
            amount=usd(2_200),
        )

    def track_session(self, session: str, recording: str, start: datetime) -> None:
        self.at(start)
        self.do(cmd.OpenSession, "sam", session=session)
        for party, roles, instruments, leader in RHYTHM:
            self.do(
                cmd.CheckIn,
                party,
                session=session,
                roles=roles,
                instruments=instruments,
                leader=leader,
            )
        self.do(
            cmd.CheckIn,
            "sam",
            session=session,
            party="tove",
            roles=("AssistantEngineer",),
        )
        performers = tuple(p for p, *_ in RHYTHM)
        takes = [
            self.take(session, recording, "rhythm section", n, performers)
            for n in (1, 2, 3)
        ]
        self.do(cmd.MarkTake, "rui", take=takes[0], mark="maybe")
        self.do(cmd.MarkTake, "rui", take=takes[1], mark="circle")
        self.do(cmd.MarkTake, "rui", take=takes[2], mark="keeper")
        if recording == "glass-house":
            self.do(
                cmd.MarkTake,
                "rui",
                take=takes[0],
                mark="reject",
                reason="Click bleed in the drum overheads",
            )
        self.at(start + timedelta(hours=3))
        self.do(cmd.CloseSession, "sam", session=session)

    def change_undertow(self) -> None:
        self.tick(90)
        new, seconds = UNDERTOW_NEW
        self.seconds[new] = seconds
        self.do(
            cmd.ChangeArrangement,
            "rui",
            recording="undertow",
            change_kind="new_recording_version",
            arrangement=self.arrangement("F# minor", 82, "6/8"),
            new_recording=new,
            new_title="Undertow",
            reason="Half-time 6/8 feel found at the session; the song needs a new take",
        )
        self.do(
            cmd.BookSession,
            "rui",
            session="trk-undertow-slow",
            session_type="Tracking",
            starts_at=utc(2, 24, 10),
            ends_at=utc(2, 24, 13),
            union=True,
            studio="harbour-studios",
            room="Studio A",
            recordings=(new,),
        )
        self.do(
            cmd.RescheduleMilestone,
            "rui",
            milestone="tracking",
            due_at=utc(3, 14, 18),
            reason="Undertow re-tracked on Feb 24 after the arrangement change",
        )

    def book_overdubs(self) -> None:
        self.at(utc(2, 14, 15))
        for session, _part, _players, recordings, day in OVERDUBS:
            self.do(
                cmd.BookSession,
                "rui",
                session=session,
                session_type="Overdub",
                starts_at=utc(2, day, 10),
                ends_at=utc(2, day, 13),
                union=True,
                studio="harbour-studios",
                room="Studio A",
                recordings=tuple(recordings),
            )
        self.do(
            cmd.BookSession,
            "rui",
            session="ovd-horns-c",
            session_type="Overdub",
            starts_at=utc(3, 4, 10),
            ends_at=utc(3, 4, 13),
            union=True,
            studio="harbour-studios",
            room="Studio A",
        )
        self.do(
            cmd.CommitSpend,
            "rui",
            line="union-musicians",
            commitment="afm-overdubs",
            payee="afm-payroll",
            amount=usd(5_600),
            description="AFM overdub sessions, strings and horns",
        )

    def overdubs(self) -> None:
        for session, part, players, recordings, day in OVERDUBS:
            self.at(utc(2, day, 10))
            self.do(cmd.OpenSession, "tove", session=session)
            for party, roles, instruments, leader, contractor in players:
                self.do(
                    cmd.CheckIn,
                    party,
                    session=session,
                    roles=roles,
                    instruments=instruments,
                    leader=leader,
                    contractor=contractor,
                )
            performers = tuple(p for p, *_ in players)
            for recording in recordings:
                for number in (1, 2):
                    take = self.take(
                        session, recording, part, number, performers, "tove"
                    )
                    self.do(cmd.MarkTake, "rui", take=take, mark="keeper")
            self.at(utc(2, day, 13))
            self.do(cmd.CloseSession, "tove", session=session)
            self.do(
                cmd.RecordCost,
                "rui",
                line="union-musicians",
                cost=f"afm-{session}",
                payee="afm-payroll",
                amount=usd(1_400),
                invoice_ref=f"B-4/{session}",
                commitment="afm-overdubs",
                session=session,
            )
        self.at(utc(3, 2, 12))
        self.do(
            cmd.CancelSession,
            "rui",
            session="ovd-horns-c",
            reason="Horn parts finished early",
        )
        cancel_id = self.last_id
        self.do(
            cmd.RecordCost,
            "rui",
            line="union-musicians",
            cost="afm-ovd-horns-c-fee",
            payee="afm-payroll",
            amount=usd(1_500),
            invoice_ref="AFM late cancellation, ovd-horns-c",
            session="ovd-horns-c",
            causation_id=cancel_id,
            reason="Cancelled with less than 7 days' notice: scale is owed",
        )
        self.do(
            cmd.RecordCost,
            "rui",
            line="union-musicians",
            cost="afm-strings-overtime",
            payee="afm-payroll",
            amount=usd(1_100),
            invoice_ref="B-4/ovd-strings-b overtime",
            session="ovd-strings-b",
            reason="Strings B ran 40 minutes over",
        )
        overrun_id = self.last_id
        self.do(
            cmd.RequestContingencyDraw,
            "rui",
            draw="draw-afm-1",
            line="union-musicians",
            amount=usd(4_000),
            causation_id=overrun_id,
            reason="Union line over by $700 after the late cancellation and overtime",
        )
        request_id = self.last_id
        self.at(utc(3, 3, 10))
        self.do(
            cmd.RejectContingencyDraw,
            "lena",
            draw="draw-afm-1",
            causation_id=request_id,
            reason="Draw only what the overrun needs",
        )
        self.do(
            cmd.RequestContingencyDraw,
            "rui",
            draw="draw-afm-2",
            line="union-musicians",
            amount=usd(1_000),
            causation_id=overrun_id,
            reason="Covers the $700 overrun",
        )
        request_id = self.last_id
        self.at(utc(3, 3, 15))
        self.do(
            cmd.ApproveContingencyDraw,
            "lena",
            draw="draw-afm-2",
            causation_id=request_id,
        )
        self.pay_afm()
        self.at(utc(3, 4, 17))
        self.do(cmd.MeetMilestone, "rui", milestone="tracking")

    def pay_afm(self) -> None:
        costs = [f"afm-{song[0]}" for song in SONGS] + ["afm-undertow-slow"]
        costs += [f"afm-{o[0]}" for o in OVERDUBS]
        costs += ["afm-ovd-horns-c-fee"]
        amounts = [1_500] * 11 + [1_400] * 4 + [1_500]
        for cost, amount in zip(costs, amounts, strict=True):
            self.do(
                cmd.RecordPayment,
                "lena",
                line="union-musicians",
                payment=f"pay-{cost}",
                cost=cost,
                amount=usd(amount),
            )
        self.do(
            cmd.RecordPayment,
            "lena",
            line="union-musicians",
            payment="pay-afm-strings-overtime",
            cost="afm-strings-overtime",
            amount=usd(1_100),
        )

    def vocals(self) -> None:
        self.at(utc(3, 5, 11))
        days = [10, 11, 12, 13, 14, 17, 18, 19, 20, 21]
        for recording, day in zip(TRACKS, days, strict=True):
            self.do(
                cmd.BookSession,
                "rui",
                session=f"vox-{recording}",
                session_type="ArtistVocals",
                starts_at=utc(3, day, 12),
                ends_at=utc(3, day, 18),
                studio="harbour-studios",
                room="Vocal booth 2",
                recordings=(recording,),
            )
        for recording, day in zip(TRACKS, days, strict=True):
            session = f"vox-{recording}"
            self.at(utc(3, day, 12))
            self.do(cmd.OpenSession, "sam", session=session)
            self.do(
                cmd.CheckIn,
                "mara",
                session=session,
                roles=("LeadVocalist",),
                instruments=("Vocals",),
            )
            singers: tuple[str, ...] = ("mara",)
            for number in (1, 2, 3):
                take = self.take(session, recording, "lead vocal", number, singers)
                self.do(
                    cmd.MarkTake,
                    "rui",
                    take=take,
                    mark="keeper" if number > 1 else "maybe",
                )
            if recording in BACKING_VOCALS:
                self.do(
                    cmd.CheckIn,
                    "june",
                    session=session,
                    roles=("BackgroundVocalist",),
                    instruments=("Vocals",),
                )
                for number in (1, 2):
                    take = self.take(
                        session, recording, "backing vocals", number, ("june",)
                    )
                    self.do(cmd.MarkTake, "rui", take=take, mark="keeper")
            self.at(utc(3, day, 18))
            self.do(cmd.CloseSession, "sam", session=session)
            self.comps(recording)
        self.at(utc(3, 21, 19))
        self.do(
            cmd.RecordCost,
            "harbour-studios",
            line="studio",
            cost="hs-final",
            amount=usd(9_500),
            invoice_ref="HS-2025-004",
            commitment="studio-block",
        )
        self.do(
            cmd.RecordCost,
            "harbour-studios",
            line="studio",
            cost="hs-vocal-room",
            amount=usd(3_000),
            invoice_ref="HS-2025-005",
            reason="Vocal booth overtime over the block",
        )
        overrun_id = self.last_id
        self.do(
            cmd.RequestContingencyDraw,
            "rui",
            draw="draw-studio",
            line="studio",
            amount=usd(2_500),
            causation_id=overrun_id,
            reason="Studio line over by $2,500 after the vocal booth overtime",
        )
        request_id = self.last_id
        self.at(utc(3, 24, 10))
        self.do(
            cmd.ApproveContingencyDraw,
            "lena",
            draw="draw-studio",
            causation_id=request_id,
        )
        for cost, amount in (("hs-final", 9_500), ("hs-vocal-room", 3_000)):
            self.do(
                cmd.RecordPayment,
                "lena",
                line="studio",
                payment=f"pay-{cost}",
                cost=cost,
                amount=usd(amount),
            )

    def comps(self, recording: str) -> None:
        parts = ["rhythm section", "lead vocal"]
        for _s, part, _p, recordings, _d in OVERDUBS:
            if recording in recordings:
                parts.append(part)
        if recording in BACKING_VOCALS:
            parts.append("backing vocals")
        for part in parts:
            slug = part.replace(" ", "-")
            first = 1 if part in ("strings", "horns", "backing vocals") else 2
            segments = (
                cmd.SegmentInput(
                    take=f"{recording}-{slug}-{first}", bar_from=1, bar_to=40
                ),
                cmd.SegmentInput(
                    take=f"{recording}-{slug}-{first + 1}", bar_from=41, bar_to=96
                ),
            )
            comp = f"{slug}-a"
            self.do(
                cmd.AssembleComp,
                "sam",
                recording=recording,
                comp=comp,
                part=part,
                segments=segments,
            )
            self.do(cmd.ApproveComp, "rui", recording=recording, comp=comp)
            self.do(cmd.ApproveComp, "mara", recording=recording, comp=comp)
        if recording == "lantern":
            segments = (
                cmd.SegmentInput(take="lantern-lead-vocal-3", bar_from=1, bar_to=64),
                cmd.SegmentInput(take="lantern-lead-vocal-2", bar_from=65, bar_to=96),
            )
            self.do(
                cmd.AssembleComp,
                "sam",
                recording="lantern",
                comp="lead-vocal-b",
                part="lead vocal",
                segments=segments,
                reason="Artist prefers the third take's verses",
            )
            self.do(
                cmd.SupersedeComp,
                "rui",
                recording="lantern",
                comp="lead-vocal-a",
                superseded_by="lead-vocal-b",
            )
            self.do(cmd.ApproveComp, "rui", recording="lantern", comp="lead-vocal-b")
            self.do(cmd.ApproveComp, "mara", recording="lantern", comp="lead-vocal-b")

    def editing(self) -> None:
        for index, day in enumerate((25, 26, 27)):
            self.do(
                cmd.BookSession,
                "rui",
                session=f"edit-{index + 1}",
                session_type="DigitalEditing",
                starts_at=utc(3, day, 10),
                ends_at=utc(3, day, 18),
                studio="harbour-studios",
                room="Edit suite",
                recordings=tuple(TRACKS[index * 4 : index * 4 + 4]),
            )
        for index, day in enumerate((25, 26, 27)):
            session = f"edit-{index + 1}"
            self.at(utc(3, day, 10))
            self.do(cmd.OpenSession, "ada", session=session)
            for recording in TRACKS[index * 4 : index * 4 + 4]:
                self.do(
                    cmd.RecordEditPass,
                    "ada",
                    recording=recording,
                    comp="rhythm-section-a",
                    pass_kind="timing",
                    file=f"s3://moonlit/edits/{recording}-rhythm-timing.ptx",
                    sha256=sha(f"{recording}-timing"),
                )
                vocal = "lead-vocal-b" if recording == "lantern" else "lead-vocal-a"
                self.do(
                    cmd.RecordEditPass,
                    "ada",
                    recording=recording,
                    comp=vocal,
                    pass_kind="tuning",
                    file=f"s3://moonlit/edits/{recording}-vocal-tuning.ptx",
                    sha256=sha(f"{recording}-tuning"),
                    notes="Light tuning, formant preserved",
                )
            self.at(utc(3, day, 18))
            self.do(cmd.CloseSession, "ada", session=session)
        engineers = (("sam", 10_000), ("tove", 2_500), ("ada", 2_000))
        for engineer, amount in engineers:
            self.do(
                cmd.CommitSpend,
                "rui",
                line="engineer",
                commitment=f"fee-{engineer}",
                payee=engineer,
                amount=usd(amount),
                description=f"Engineering fee, {engineer}",
            )
            self.do(
                cmd.RecordCost,
                "rui",
                line="engineer",
                cost=f"inv-{engineer}",
                payee=engineer,
                amount=usd(amount),
                invoice_ref=f"ENG-{engineer.upper()}-1",
                commitment=f"fee-{engineer}",
            )
            self.do(
                cmd.RecordPayment,
                "lena",
                line="engineer",
                payment=f"pay-{engineer}",
                cost=f"inv-{engineer}",
                amount=usd(amount),
            )

    def mixing(self) -> None:
        self.at(utc(3, 28, 10))
        for index in range(5):
            day = 7 + index
            self.do(
                cmd.BookSession,
                "rui",
                session=f"mix-{index + 1}",
                session_type="Mixing",
                starts_at=utc(4, day, 10),
                ends_at=utc(4, day, 20),
                studio="harbour-studios",
                room="Mix room",
                recordings=tuple(TRACKS[index * 2 : index * 2 + 2]),
            )
        self.do(
            cmd.CommitSpend,
            "rui",
            line="mixing",
            commitment="mix-fee",
            payee="dee",
            amount=usd(24_000),
            description="Mixing fee, 10 songs at $2,400",
        )
        for index in range(5):
            session = f"mix-{index + 1}"
            self.at(utc(4, 7 + index, 10))
            self.do(cmd.OpenSession, "dee", session=session)
            for recording in TRACKS[index * 2 : index * 2 + 2]:
                self.submit_mix(recording, 1)
                self.do(
                    cmd.NoteMix,
                    "rui",
                    recording=recording,
                    mix_version=1,
                    timecode_ms=62_500,
                    note="Kick a touch louder under the first chorus",
                )
            self.at(utc(4, 7 + index, 20))
            self.do(cmd.CloseSession, "dee", session=session)
        self.at(utc(4, 14, 10))
        rounds: dict[str, list[tuple[str, str]]] = {
            "harbour-lights": [("rui", "Vocal up 1 dB in the bridge")],
            "paper-moon": [("mara", "Less reverb on the lead vocal")],
            "undertow-slow": [
                ("rui", "Strings too wide"),
                ("mara", "Bring the bass forward"),
                ("lena", "Radio edit needs more low end"),
            ],
        }
        for recording in TRACKS:
            version = 1
            for actor, notes in rounds.get(recording, []):
                self.do(
                    cmd.NoteMix,
                    actor,
                    recording=recording,
                    mix_version=version,
                    timecode_ms=95_000,
                    note=notes,
                )
                self.do(
                    cmd.RequestMixRevision,
                    actor,
                    recording=recording,
                    mix_version=version,
                    notes=notes,
                )
                request_id = self.last_id
                if version == 3:
                    self.do(
                        cmd.RecordCost,
                        "rui",
                        line="mixing",
                        cost="mix-extra-undertow",
                        payee="dee",
                        amount=usd(1_500),
                        invoice_ref="DM-EXTRA-1",
                        recording=recording,
                        causation_id=request_id,
                        reason="Third revision is beyond the two included",
                    )
                version += 1
                self.tick(240)
                self.submit_mix(recording, version, causation_id=request_id)
            for actor in ("rui", "mara", "lena"):
                self.do(cmd.ApproveMix, actor, recording=recording, mix_version=version)
            self.do(
                cmd.RecordCost,
                "rui",
                line="mixing",
                cost=f"mix-{recording}",
                payee="dee",
                amount=usd(2_400),
                invoice_ref=f"DM-{recording}",
                commitment="mix-fee",
                recording=recording,
            )
            self.tick(60)
        for recording in TRACKS:
            self.do(
                cmd.RecordPayment,
                "lena",
                line="mixing",
                payment=f"pay-mix-{recording}",
                cost=f"mix-{recording}",
                amount=usd(2_400),
            )
        self.do(
            cmd.RecordPayment,
            "lena",
            line="mixing",
            payment="pay-mix-extra-undertow",
            cost="mix-extra-undertow",
            amount=usd(1_500),
        )
        self.at(utc(5, 12, 11))
        self.do(cmd.MeetMilestone, "rui", milestone="mixing")

    def submit_mix(self, recording: str, version: int, **extra: Any) -> None:
        self.do(
            cmd.SubmitMix,
            "dee",
            recording=recording,
            file=f"s3://moonlit/mixes/{recording}-v{version}.wav",
            sha256=sha(f"{recording}-mix-{version}"),
            **extra,
        )

    def mastering(self) -> None:
        self.at(utc(5, 12, 14))
        self.do(
            cmd.BookSession,
            "rui",
            session="master-1",
            session_type="Mastering",
            starts_at=utc(5, 19, 10),
            ends_at=utc(5, 19, 19),
            studio="harbour-studios",
            room="Mastering room",
            recordings=tuple(TRACKS),
        )
        self.do(
            cmd.BookSession,
            "rui",
            session="transfers-1",
            session_type="TransfersAndSafeties",
            starts_at=utc(5, 20, 10),
            ends_at=utc(5, 20, 16),
            studio="harbour-studios",
            room="Machine room",
            recordings=tuple(TRACKS),
        )
        self.do(
            cmd.CommitSpend,
            "rui",
            line="mastering",
            commitment="master-fee",
            payee="hiro",
            amount=usd(8_000),
            description="Mastering, 10 songs, digital",
        )
        self.do(
            cmd.RequestBudgetIncrease,
            "rui",
            increase="inc-vinyl",
            line="mastering",
            amount=usd(2_000),
            reason="The label added a vinyl release: vinyl premasters",
        )
        request_id = self.last_id
        self.at(utc(5, 13, 10))
        self.do(
            cmd.ApproveBudgetIncrease,
            "victor",
            increase="inc-vinyl",
            causation_id=request_id,
        )
        self.do(
            cmd.CommitSpend,
            "rui",
            line="mastering",
            commitment="vinyl-premasters",
            payee="hiro",
            amount=usd(2_000),
            description="Vinyl premasters",
        )
        self.at(utc(5, 19, 10))
        self.do(cmd.OpenSession, "hiro", session="master-1")
        for number, recording in enumerate(TRACKS, start=1):
            self.do(
                cmd.SubmitMaster,
                "hiro",
                recording=recording,
                file=f"s3://moonlit/masters/{recording}.wav",
                sha256=sha(f"{recording}-master"),
                isrc=f"USMH12500{number:03d}",
                loudness_lufs=Decimal("-10.5"),
            )
            for actor in ("rui", "mara", "lena"):
                self.do(cmd.ApproveMaster, actor, recording=recording, master_version=1)
        self.at(utc(5, 19, 19))
        self.do(cmd.CloseSession, "hiro", session="master-1")
        for commitment, cost, amount in (
            ("master-fee", "master-inv", 8_000),
            ("vinyl-premasters", "vinyl-inv", 2_000),
        ):
            self.do(
                cmd.RecordCost,
                "rui",
                line="mastering",
                cost=cost,
                payee="hiro",
                amount=usd(amount),
                invoice_ref=f"HT-{cost}",
                commitment=commitment,
            )
            self.do(
                cmd.RecordPayment,
                "lena",
                line="mastering",
                payment=f"pay-{cost}",
                cost=cost,
                amount=usd(amount),
            )
        self.at(utc(5, 20, 10))
        self.do(cmd.OpenSession, "tove", session="transfers-1")
        for recording in TRACKS:
            for material, actor in (("multitrack", "tove"), ("master", "vault")):
                self.do(
                    cmd.ArchiveTransfer,
                    actor,
                    recording=recording,
                    transfer=f"{material}-safety",
                    material=material,
                    medium="LTO-9" if material == "multitrack" else "cloud archive",
                    location="Vault Media, rack 12"
                    if actor == "vault"
                    else "Studio safe",
                    file=f"s3://moonlit/archive/{recording}-{material}.tar",
                    sha256=sha(f"{recording}-{material}-archive"),
                    archivist="vault" if actor == "vault" else None,
                )
        self.at(utc(5, 20, 16))
        self.do(cmd.CloseSession, "tove", session="transfers-1")
        self.do(
            cmd.RecordCost,
            "vault",
            line="archive",
            cost="vault-inv",
            amount=usd(1_100),
            invoice_ref="VMA-2025-118",
        )
        self.do(
            cmd.RecordPayment,
            "lena",
            line="archive",
            payment="pay-vault",
            cost="vault-inv",
            amount=usd(1_100),
        )
        self.do(cmd.ProposeSequence, "rui", tracks=tuple(TRACKS))
        self.at(utc(5, 21, 10))
        self.do(cmd.ApproveSequence, "lena", sequence_version=1)

    def credits(self) -> None:
        self.at(utc(5, 21, 14))
        overdubbed = {
            rec: players for _s, _p, players, recs, _d in OVERDUBS for rec in recs
        }
        for recording in TRACKS:
            credits: list[tuple[str, str, tuple[str, ...]]] = [
                ("rui", "StudioProducer", ()),
                ("sam", "RecordingEngineer", ()),
                ("tove", "AssistantEngineer", ()),
                ("ada", "DigitalEditingEngineer", ()),
                ("dee", "MixingEngineer", ()),
                ("hiro", "MasteringEngineer", ()),
                ("mara", "LeadVocalist", ("Vocals",)),
                ("carl", "MusicArranger", ()),
            ]
            credits += [
                (p, "Musician", instruments) for p, _r, instruments, _l in RHYTHM
            ]
            for party, _roles, instruments, _leader, _contractor in overdubbed.get(
                recording, []
            ):
                credits.append((party, "Musician", instruments))
            if recording in BACKING_VOCALS or recording == "northbound":
                credits.append(("june", "BackgroundVocalist", ("Vocals",)))
            for party, role, instruments in credits:
                key = f"{party}-{role}".lower()
                self.do(
                    cmd.AssertCredit,
                    "rui",
                    recording=recording,
                    credit=key,
                    party=party,
                    role=role,
                    instruments=instruments,
                )
                if (recording, party) not in (
                    ("northbound", "june"),
                    ("low-tide", "jonah"),
                ):
                    self.do(cmd.ConfirmCredit, "mara", recording=recording, credit=key)
        for party, role in (
            ("victor", "ExecutiveProducer"),
            ("lena", "AAndRAdministrator"),
        ):
            key = f"{party}-{role}".lower()
            self.do(cmd.AssertCredit, "rui", credit=key, party=party, role=role)
            self.do(cmd.ConfirmCredit, party, credit=key)
        self.at(utc(5, 22, 10))
        self.do(
            cmd.DisputeCredit,
            "june",
            recording="northbound",
            credit="june-backgroundvocalist",
            reason="I did not sing on Northbound",
        )
        dispute_id = self.last_id
        self.do(
            cmd.RetractCredit,
            "rui",
            recording="northbound",
            credit="june-backgroundvocalist",
            causation_id=dispute_id,
            reason="Asserted by mistake: no backing vocals on Northbound",
        )
        self.do(
            cmd.DisputeCredit,
            "jonah",
            recording="low-tide",
            credit="jonah-musician",
            reason="On Low Tide I played acoustic guitar, not electric",
        )
        dispute_id = self.last_id
        self.do(
            cmd.RetractCredit,
            "rui",
            recording="low-tide",
            credit="jonah-musician",
            causation_id=dispute_id,
            reason="Wrong instrument",
        )
        self.do(
            cmd.AssertCredit,
            "rui",
            recording="low-tide",
            credit="jonah-musician-acoustic",
            party="jonah",
            role="Musician",
            instruments=("AcousticGuitar",),
            causation_id=dispute_id,
        )
        self.do(
            cmd.ConfirmCredit,
            "jonah",
            recording="low-tide",
            credit="jonah-musician-acoustic",
        )
        self.do(
            cmd.AmendSplitSheet,
            "mara",
            work="w-salt-and-iron",
            shares=(
                cmd.ShareInput(party="mara", role="Composer", share_bp=4500),
                cmd.ShareInput(party="jonah", role="Composer", share_bp=2500),
                cmd.ShareInput(party="ines", role="Lyricist", share_bp=3000),
            ),
            reason="Ines rewrote the second verse at the vocal session",
        )
        for party in ("mara", "jonah", "ines"):
            self.do(cmd.SignSplitSheet, party, work="w-salt-and-iron", sheet_version=2)
        self.do(cmd.FinaliseSplitSheet, "rui", work="w-salt-and-iron", sheet_version=2)

    def delivery(self) -> None:
        self.at(utc(5, 28, 11))
        self.do(cmd.ApproveLabelCopy, "lena", sequence_version=1)
        self.at(utc(6, 2, 10))
        self.do(
            cmd.RecordCost,
            "rui",
            line="producer-fee",
            cost="producer-balance",
            payee="rui",
            amount=usd(15_000),
            invoice_ref="RC-2025-06",
            reason="Producer fee balance on delivery",
        )
        self.do(
            cmd.RecordPayment,
            "lena",
            line="producer-fee",
            payment="pay-producer-balance",
            cost="producer-balance",
            amount=usd(15_000),
        )
        self.do(cmd.MeetMilestone, "lena", milestone="delivery")
        self.at(utc(6, 3, 9))
        self.do(
            cmd.RevokeCapacity,
            "rui",
            party="priya",
            capacity="viewer",
            reason="Contract review finished",
        )

    def summary(self) -> DemoSummary:
        by_type = Counter(result.command_type for result in self.results)
        kinds = Counter(
            event.kind for result in self.results for event in result.events
        )
        return DemoSummary(
            project=self.project,
            title="Moonlit Harbour",
            commands=len(self.results),
            events=sum(len(result.events) for result in self.results),
            command_types=len(by_type),
            parties=kinds["PartyRegistered"],
            recordings=kinds["RecordingAdded"],
            sessions=kinds["SessionBooked"],
            takes=kinds["TakeRecorded"],
            comps=kinds["CompAssembled"],
            mix_versions=kinds["MixSubmitted"],
            credits=kinds["CreditAsserted"],
            started_at=utc(1, 6),
            finished_at=self.now,
            commands_by_type=dict(sorted(by_type.items())),
        )


def load_demo(app: SessionLog, project: str = DEMO_PROJECT) -> DemoSummary:
    """Load the demo album into ``app`` through the public commands.

    Deterministic: command ids ``d0001``... and a scripted clock (Jan 6 to Jun 3,
    2025), so every run records identical events. Idempotent: on a store that
    already holds it, nothing is written and the same summary is returned.
    """
    demo = _Demo(app, project)
    saved: Callable[[], datetime] = app.clock
    app.clock = lambda: demo.now
    try:
        demo.run()
    finally:
        app.clock = saved
    return demo.summary()
