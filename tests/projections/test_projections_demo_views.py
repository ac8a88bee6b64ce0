"""Every view on the demo album ("Moonlit Harbour", session_log.demo), on SQLite and
PostgreSQL, against figures worked out by hand from the demo's commands (the
derivations are in the comments), not from the projections' output."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pgstores import dispose, make_store

from projections import ProjectionsRunner, view_as_of, view_names
from projections.stores import SQLiteViewStore
from session_log.application import SessionLog
from session_log.demo import TRACKS, load_demo

P = "moonlit"


def party(token: str) -> str:
    return f"{P}.party.{token}"


def rec(token: str) -> str:
    return f"{P}.recording.{token}"


def utc(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


DEMO_COMMANDS: list[int] = []


@pytest.fixture(scope="session")
def demo_app() -> Iterator[SessionLog]:
    app = SessionLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    DEMO_COMMANDS.append(load_demo(app).commands)
    yield app
    app.close()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def demo(
    request: pytest.FixtureRequest,
    demo_app: SessionLog,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ProjectionsRunner]:
    store = make_store(str(request.param), Path(tmp_path_factory.mktemp("demo")))
    runner = ProjectionsRunner(demo_app, store).start()
    try:
        runner.wait(timeout=60)
        yield runner
    finally:
        runner.stop()
        dispose(store)


# --- cost ledger -----------------------------------------------------------------

# Budget v1 (rejected): 65,000 + 18,000 + 24,000 + 30,000 + 25,000 + 8,000 + 4,000
# + 1,500 + 5,000 + 1,200 + 2,000 = 183,700, contingency 10% = 18,370, total
# 202,070. v2: studio 58,000, travel 3,000, catering removed: 172,700 + 17,270 =
# 189,970. Then: engineer -> mixing 3,000 and travel -> cartage 1,000
# (reallocations); contingency draws of 1,000 (union) and 2,500 (studio); a 2,000
# increase for vinyl premasters (mastering). Spending, line by line:
# - studio: block committed 52,000; invoices 4 x 12,000 + 9,500 against it (the
#   block is used up) and 3,000 vocal booth overtime outside it, all paid: 60,500
#   (over the 58,000 by 2,500 until the contingency draw);
# - engineer: fees sam 10,000 + tove 2,500 + ada 2,000, committed, invoiced, paid;
# - union: committed 16,500 + 5,600; invoiced 11 x 1,500 + 4 x 1,400 against
#   them, a 1,500 late-cancellation fee and 1,100 overtime outside: 24,700 paid;
# - producer fee: 15,000 advance + 15,000 balance invoice, paid;
# - mixing: fee 24,000 committed, 10 x 2,400 invoiced, 1,500 extra revision: paid;
# - mastering: 8,000 + 2,000 committed, invoiced, paid;
# - equipment: 3,200 committed; invoice 3,150 corrected to 2,950, paid;
# - cartage: 2,200 invoiced and paid; archive: 1,100 invoiced and paid;
# - travel: 1,800 committed then cancelled: nothing spent, the estimate stands.
LEDGER_FIELDS = (
    "drafted", "approved", "revised", "reallocated", "drawn", "increased",
    "committed", "open_committed", "actual", "paid", "exposure", "overrun",
    "forecast", "forecast_basis", "variance", "forecast_variance",
)  # fmt: skip
D = 100  # cents per dollar
LEDGER = {
    "studio": (
        58_000, 58_000, 60_500, 0, 2_500, 0,
        52_000, 0, 60_500, 60_500, 60_500, 0,
        60_500, "paid", 0, 0,
    ),
    "engineer": (
        18_000, 18_000, 15_000, -3_000, 0, 0,
        14_500, 0, 14_500, 14_500, 14_500, 0,
        14_500, "paid", 500, 500,
    ),
    "union-musicians": (
        24_000, 24_000, 25_000, 0, 1_000, 0,
        22_100, 0, 24_700, 24_700, 24_700, 0,
        24_700, "paid", 300, 300,
    ),
    "producer-fee": (
        30_000, 30_000, 30_000, 0, 0, 0,
        0, 0, 30_000, 30_000, 30_000, 0,
        30_000, "paid", 0, 0,
    ),
    "mixing": (
        25_000, 25_000, 28_000, 3_000, 0, 0,
        24_000, 0, 25_500, 25_500, 25_500, 0,
        25_500, "paid", 2_500, 2_500,
    ),
    "mastering": (
        8_000, 8_000, 10_000, 0, 0, 2_000,
        10_000, 0, 10_000, 10_000, 10_000, 0,
        10_000, "paid", 0, 0,
    ),
    "equipment": (
        4_000, 4_000, 4_000, 0, 0, 0,
        3_200, 250, 2_950, 2_950, 3_200, 0,
        3_200, "quoted", 1_050, 800,
    ),
    "cartage": (
        1_500, 1_500, 2_500, 1_000, 0, 0,
        0, 0, 2_200, 2_200, 2_200, 0,
        2_200, "paid", 300, 300,
    ),
    "travel": (
        3_000, 3_000, 2_000, -1_000, 0, 0,
        0, 0, 0, 0, 0, 0,
        2_000, "estimated", 2_000, 0,
    ),
    "archive": (
        1_200, 1_200, 1_200, 0, 0, 0,
        0, 0, 1_100, 1_100, 1_100, 0,
        1_100, "paid", 100, 100,
    ),
    "contingency": (
        17_270, 17_270, 13_770, 0, -3_500, 0,
        0, 0, 0, 0, 0, 0,
        13_770, "estimated", 13_770, 0,
    ),
}  # fmt: skip


def _cents(value: object) -> object:
    return value * D if isinstance(value, int) else value


def test_ledger_lines(demo: ProjectionsRunner) -> None:
    lines = {line.line: line for line in demo.cost_ledger.lines(P)}
    assert set(lines) == {*LEDGER, "catering"}
    for name, expected in LEDGER.items():
        got = {f: getattr(lines[name], f) for f in LEDGER_FIELDS}
        assert got == {
            f: _cents(v) for f, v in zip(LEDGER_FIELDS, expected, strict=True)
        }, name
        assert lines[name].approved_version == 2
    catering = lines["catering"]  # drafted in v1 only, removed from v2
    assert (catering.drafted, catering.approved, catering.revised) == (
        2_000 * D,
        None,
        0,
    )


def test_ledger_totals_accounts_versions_requests(demo: ProjectionsRunner) -> None:
    ledger = demo.cost_ledger
    (summary,) = ledger.summary(P)
    assert summary.approved_version == 2
    assert summary.approved_total == 189_970 * D
    assert summary.revised == 191_970 * D  # + the 2,000 increase
    assert summary.actual == summary.paid == 171_450 * D
    assert summary.contingency_left == 13_770 * D
    # The producer recoups the 15,000 advance; every other cost is recoupable
    # from the artist (the lines were drafted with the default "artist").
    assert ledger.accounts(P) == [
        {"account": "artist", "currency": "USD", "recoupable": 156_450 * D,
         "paid": 156_450 * D},
        {"account": "producer", "currency": "USD", "recoupable": 15_000 * D,
         "paid": 15_000 * D},
    ]  # fmt: skip
    versions = ledger.budget_versions(P)
    assert [(v["version"], v["status"], v["total"]) for v in versions] == [
        (1, "rejected", 202_070 * D),
        (2, "approved", 189_970 * D),
    ]
    assert versions[0]["reason"] == (
        "Studio block above the market rate; travel and catering not justified"
    )
    assert versions[1]["approvals_json"] == ["label_approver", "executive_approver"]
    assert versions[1]["is_co_approval_needed"] is True
    assert versions[1]["decided_by"] == party("victor")
    requests = {q["request"]: q for q in ledger.requests(P)}
    assert {
        k: (q["kind"], q["amount"] // D, q["status"]) for k, q in requests.items()
    } == {
        "r-engineer-mixing": ("reallocation", 3_000, "approved"),
        "inc-travel": ("increase", 1_000, "rejected"),
        "r-travel-cartage": ("reallocation", 1_000, "approved"),
        "draw-afm-1": ("contingency_draw", 4_000, "rejected"),
        "draw-afm-2": ("contingency_draw", 1_000, "approved"),
        "draw-studio": ("contingency_draw", 2_500, "approved"),
        "inc-vinyl": ("increase", 2_000, "approved"),
    }
    assert requests["draw-afm-1"]["reason"] == "Draw only what the overrun needs"
    assert requests["inc-travel"]["decided_by"] == party("victor")


def test_ledger_traces_and_agrees_with_the_domain(
    demo: ProjectionsRunner, demo_app: SessionLog
) -> None:
    ledger = demo.cost_ledger
    for line in ledger.lines(P):
        if line.approved is None:
            continue
        aggregate = demo_app.repository.get(line.line_id)
        assert (line.revised, line.exposure, line.actual, line.paid) == (
            aggregate.funded,
            aggregate.exposure,
            aggregate.actual,
            aggregate.paid,
        )
        for figure in ("revised", "committed", "actual", "paid"):
            entries = ledger.trace(line.line_id, figure)
            assert sum(getattr(e, f"{figure}_delta") for e in entries) == getattr(
                line, figure
            )
    equipment = ledger.trace(f"{P}.line.equipment", "actual")
    assert [(e.kind, e.actual_delta // D) for e in equipment] == [
        ("CostIncurred", 3_150),
        ("CostCorrected", -200),
    ]
    # The mix invoices name their recording: 2,400 each, plus the third mix
    # revision of Undertow (billed extra, 1,500); nothing else names a song.
    songs = {r["recording_id"]: r for r in ledger.per_song(P)}
    expected = {rec(t): 2_400 * D for t in TRACKS}
    expected[rec("undertow-slow")] += 1_500 * D
    assert {k: (r["actual"], r["paid"], r["committed"]) for k, r in songs.items()} == {
        k: (v, v, 0) for k, v in expected.items()
    }


# --- progress --------------------------------------------------------------------


def test_progress(demo: ProjectionsRunner) -> None:
    progress = demo.progress
    # Ten recordings delivered in the approved label copy; River Song dropped in
    # pre-production; Undertow superseded by its new version "undertow-slow".
    assert progress.stages(P)["delivered"] == 10
    recordings = {r.recording_id: r for r in progress.recordings(P)}
    assert len(recordings) == 12
    assert recordings[rec("river-song")].status == "dropped"
    undertow = recordings[rec("undertow")]
    assert (undertow.status, undertow.superseded_by) == (
        "superseded",
        rec("undertow-slow"),
    )
    lights = recordings[rec("harbour-lights")]
    # Rhythm takes 1-3, strings 1-2 (overdub A), lead vocal 1-3, backing 1-2.
    assert (lights.takes, lights.comps_approved) == (10, 4)
    assert lights.sessions == sorted(
        f"{P}.session.{s}"
        for s in (
            "pre-1", "trk-harbour-lights", "ovd-strings-a", "vox-harbour-lights",
            "edit-1", "mix-1", "master-1", "transfers-1",
        )
    )  # fmt: skip
    sessions = {s["session_id"].split(".")[-1]: s for s in progress.sessions(P)}
    assert len(sessions) == 39  # 2 pre, 12 tracking, 5 overdub, 10 vocal, 3 edit,
    # 5 mix, 1 mastering, 1 transfers
    assert sorted(k for k, s in sessions.items() if s["status"] == "cancelled") == [
        "ovd-horns-c",
        "trk-spare",
    ]
    assert sessions["ovd-horns-c"]["is_late_notice"] is True  # 46 hours' notice
    assert sessions["trk-spare"]["is_late_notice"] is False
    assert sessions["trk-northbound"]["reschedules"] == 1
    assert sessions["trk-northbound"]["starts_at"] == utc(2, 17, 10)
    milestones = {m["milestone_id"].split(".")[-1]: m for m in progress.milestones(P)}
    assert {k: (m["state"], m["late_by_hours"]) for k, m in milestones.items()} == {
        "preproduction": ("on_time", 0),  # met Jan 23, due Jan 24
        "tracking": ("on_time", 0),  # due moved to Mar 14, met Mar 4
        "mixing": ("late", 65),  # due May 9 18:00, met May 12 11:00
        "delivery": ("on_time", 0),  # due Jun 2 18:00, met Jun 2 morning
    }
    assert milestones["tracking"]["reschedules"] == 1
    assert milestones["tracking"]["original_due_at"] == utc(3, 7, 18)


# --- credits ---------------------------------------------------------------------

# Harbour Lights: the rhythm section (tracking), strings A (overdub), Mara's lead
# vocal and June's backing vocals made the approved comps; Sam opened and logged
# the tracking and vocal sessions, Tove the strings session and checked in as
# assistant engineer at tracking; Carl arranged; Tess contracted the strings; Ada
# edited the comps; Dee's and Hiro's final mix and master. The producer asserted
# the credits and Mara confirmed them.
HARBOUR_LIGHTS = [
    ("ada", "DigitalEditingEngineer", [], "confirmed", ["asserted", "edit"]),
    ("ben", "Musician", ["HammondOrgan"], "confirmed", ["asserted", "performer"]),
    ("carl", "MusicArranger", [], "confirmed", ["asserted", "session"]),
    ("carl", "Musician", ["Piano"], "confirmed", ["asserted", "performer"]),
    ("dee", "MixingEngineer", [], "confirmed", ["asserted", "mix"]),
    ("eli", "Musician", ["Viola"], "confirmed", ["asserted", "performer"]),
    ("greta", "Musician", ["Cello"], "confirmed", ["asserted", "performer"]),
    ("hiro", "MasteringEngineer", [], "confirmed", ["asserted", "master"]),
    ("jonah", "Musician", ["ElectricGuitar"], "confirmed", ["asserted", "performer"]),
    ("june", "BackgroundVocalist", ["Vocals"], "confirmed", ["asserted", "performer"]),
    ("kofi", "Musician", ["Drums"], "confirmed", ["asserted", "performer"]),
    ("lucia", "Musician", ["BassGuitar"], "confirmed", ["asserted", "performer"]),
    ("mara", "LeadVocalist", ["Vocals"], "confirmed", ["asserted", "performer"]),
    ("noor", "Musician", ["Violin"], "confirmed", ["asserted", "performer"]),
    ("rui", "StudioProducer", [], "confirmed", ["asserted"]),
    ("sam", "RecordingEngineer", [], "confirmed", ["asserted", "session"]),
    ("tess", "Contractor", [], "derived", ["session"]),
    ("tess", "Musician", ["Violin"], "confirmed", ["asserted", "performer"]),
    ("tove", "AssistantEngineer", [], "confirmed", ["asserted", "session"]),
    ("tove", "RecordingEngineer", [], "derived", ["session"]),
]


def test_recording_credits(demo: ProjectionsRunner, demo_app: SessionLog) -> None:
    credits = demo.credits.merged_credits(subject_id=rec("harbour-lights"))
    assert [
        (c.party_id, c.role, c.instruments, c.status, c.sources) for c in credits
    ] == [(party(p), *rest) for p, *rest in HARBOUR_LIGHTS]
    names = {c.party_id: c.name for c in credits}
    assert names[party("mara")] == "Mara Velez"
    # Every credit names the events it comes from, all stored in the stream.
    stored = {
        f"{n.originator_id}@{n.originator_version}"
        for n in demo_app.recorder.select_notifications(1, 10_000)
    }
    for c in credits:
        assert c.evidence
        assert set(c.evidence) <= stored


def test_an_asserted_credit_names_its_assertion_and_every_change(
    demo: ProjectionsRunner, demo_app: SessionLog
) -> None:
    # From the stream: each credit asserted on Harbour Lights (by credits
    # aggregate and credit key), with the events that asserted and changed it.
    asserted: dict[tuple[str, str], tuple[str, str, list[str]]] = {}
    for n in demo_app.recorder.select_notifications(1, 10_000):
        event = demo_app.mapper.to_domain_event(n)
        kind = type(event).__name__
        payload = getattr(event, "payload", None)
        if getattr(payload, "subject_id", None) != rec("harbour-lights"):
            continue
        key = (n.originator_id, payload.credit)
        event_id = f"{n.originator_id}@{n.originator_version}"
        if kind == "CreditAsserted":
            asserted[key] = (payload.party_id, payload.role, [event_id])
        elif kind in ("CreditConfirmed", "CreditDisputed", "CreditRetracted"):
            asserted[key][2].append(event_id)
    # The 18 credits of HARBOUR_LIGHTS with an "asserted" source, each confirmed.
    assert len(asserted) == 18
    assert all(len(events) == 2 for _, _, events in asserted.values())
    merged = {
        (c.party_id, c.role): set(c.evidence)
        for c in demo.credits.merged_credits(subject_id=rec("harbour-lights"))
    }
    for party_id, role, events in asserted.values():
        assert set(events) <= merged[(party_id, role)], (party_id, role)


def test_disputed_credits_resolved(demo: ProjectionsRunner) -> None:
    # June disputed her backing vocal credit on Northbound (she did not sing on it):
    # retracted, and no take of hers is in Northbound's comps.
    northbound = demo.credits.merged_credits(subject_id=rec("northbound"))
    assert party("june") not in {c.party_id for c in northbound}
    # Jonah played acoustic, not electric, on Low Tide: the corrected assertion
    # (confirmed by Jonah) wins over his tracking check-in.
    low_tide = demo.credits.merged_credits(subject_id=rec("low-tide"))
    (jonah,) = [c for c in low_tide if c.party_id == party("jonah")]
    assert (jonah.role, jonah.instruments, jonah.status) == (
        "Musician",
        ["AcousticGuitar"],
        "confirmed",
    )
    assert jonah.sources == ["asserted", "performer"]


def test_album_credits_and_writer_splits(demo: ProjectionsRunner) -> None:
    release = demo.credits.merged_credits(subject_id=f"{P}.release.main")
    assert [(c.party_id, c.role, c.status) for c in release] == [
        (party("lena"), "AAndRAdministrator", "confirmed"),
        (party("victor"), "ExecutiveProducer", "confirmed"),
    ]
    album = demo.credits.album_credits(P)
    # Mara sang lead on all ten released recordings.
    assert len(album[(party("mara"), "LeadVocalist")]) == 10
    splits = {}
    for s in demo.credits.writer_splits(P):
        splits.setdefault(s.work_id.split(".")[-1], []).append(
            (s.party_id.split(".")[-1], s.role, s.share_bp, s.sheet_version)
        )
    assert len(splits) == 10  # River Song never had a split sheet
    assert splits["w-harbour-lights"] == [
        ("jonah", "Composer", 4000, 1),
        ("mara", "ComposerLyricist", 6000, 1),
    ]
    assert splits["w-salt-and-iron"] == [  # amended: Ines rewrote a verse
        ("ines", "Lyricist", 3000, 2),
        ("jonah", "Composer", 2500, 2),
        ("mara", "Composer", 4500, 2),
    ]
    for shares in splits.values():
        assert sum(bp for _p, _r, bp, _v in shares) == 10_000


def test_credit_exports(demo: ProjectionsRunner) -> None:
    credits = demo.credits.merged_credits(project=P)
    document = json.loads(demo.credits.export_json(P))
    assert len(document["credits"]) == len(credits)
    assert len(document["writer_splits"]) == len(demo.credits.writer_splits(P))
    rows = list(csv.DictReader(io.StringIO(demo.credits.export_csv(P))))
    assert len(rows) == len(credits)
    assert {r["role"] for r in rows if r["name"] == "Hiro Tanaka"} == {
        "MasteringEngineer"
    }
    root = ET.fromstring(demo.credits.export_rin(P).split("\n", 1)[1])
    recordings = root.findall("ResourceList/SoundRecording")
    assert len(recordings) == 10  # selected recordings only
    assert len(root.findall("MusicalWorkList/MusicalWork")) == 10
    assert len(root.findall("ReleaseContributorList/Contributor")) == 2
    (lights,) = [r for r in recordings if r.findtext("Title") == "Harbour Lights"]
    assert len(lights.findall("Contributor")) == len(HARBOUR_LIGHTS)


def test_credit_exports_of_one_recording(demo: ProjectionsRunner) -> None:
    lights = f"{P}.recording.harbour-lights"
    rows = list(csv.DictReader(io.StringIO(demo.credits.export_csv(P, lights))))
    assert {r["subject_id"] for r in rows} == {lights}
    assert sorted((r["party_id"].rsplit(".", 1)[1], r["role"]) for r in rows) == (
        sorted((party, role) for party, role, *_ in HARBOUR_LIGHTS)
    )
    document = json.loads(demo.credits.export_json(P, lights))
    assert [r["recording_id"] for r in document["recordings"]] == [lights]
    assert {c["subject_id"] for c in document["credits"]} == {lights}
    assert len(document["credits"]) == len(HARBOUR_LIGHTS)


# --- timeline and decision log ---------------------------------------------------


def test_timeline_and_decision_log(
    demo: ProjectionsRunner, demo_app: SessionLog
) -> None:
    events = demo_app.recorder.max_notification_id() or 0
    commands = DEMO_COMMANDS[0]  # one CommandAccepted receipt per command
    seen: list[int] = []
    cursor = None
    while True:
        page = demo.timeline.timeline(project=P, after=cursor, limit=400)
        seen += [e.position for e in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == events - commands
    assert seen == sorted(set(seen))
    (rejection,) = demo.decision_log.decisions(
        project=P, kinds=["BudgetVersionRejected"]
    ).items
    assert (rejection.actor, rejection.capacity, rejection.command_type) == (
        party("lena"),
        "label_approver",
        "reject_budget_version",
    )
    assert rejection.occurred_at == utc(1, 10, 16)
    assert rejection.reason.startswith("Studio block above the market rate")
    draws = demo.decision_log.decisions(
        project=P, actor=party("lena"), kinds=["ContingencyDrawRejected"]
    ).items
    assert [d.payload_json["draw"] for d in draws] == ["draw-afm-1"]
    # The comp that replaced Lantern's first lead vocal comp says so.
    (superseded,) = demo.decision_log.decisions(kinds=["CompSuperseded"]).items
    assert superseded.payload_json["superseded_by"] == "lead-vocal-b"
    june = demo.timeline.timeline(person=party("june"), kinds=["CreditDisputed"])
    assert [e.actor for e in june.items] == [party("june")]
    march = demo.timeline.timeline(
        project=P, kinds=["SessionCancelled"], since=utc(3, 1), until=utc(4, 1)
    )
    assert [e.aggregate_id for e in march.items] == [f"{P}.session.ovd-horns-c"]


# --- time travel and rebuild on the demo ----------------------------------------


def test_time_travel_into_the_budget_approval(demo_app: SessionLog) -> None:
    # Jan 15 12:00: Lena (label) has approved v2; Victor's co-approval (needed above
    # the $150,000 threshold) comes on Jan 16, so nothing is funded yet.
    with view_as_of(demo_app, "cost_ledger", at=utc(1, 15, 12)) as past:
        versions = past.budget_versions(P)  # type: ignore[attr-defined]
        assert [(v["version"], v["status"]) for v in versions] == [
            (1, "rejected"),
            (2, "submitted"),
        ]
        assert versions[1]["approvals_json"] == ["label_approver"]
        assert all(line.approved is None for line in past.lines(P))  # type: ignore[attr-defined]


def _time_travel_matches(
    demo: ProjectionsRunner, app: SessionLog, positions: list[int], names: list[str]
) -> None:
    from viewcheck import clean_replay

    for position in positions:
        for name in names:
            with demo.as_of(name, position=position) as past:
                assert past.dump() == clean_replay(app, demo.store, name, stop=position)


def test_time_travel_equals_a_replay_cut_on_the_demo(
    demo: ProjectionsRunner, demo_app: SessionLog
) -> None:
    events = demo_app.recorder.max_notification_id() or 0
    _time_travel_matches(demo, demo_app, [events // 2], ["cost_ledger", "credits"])


@pytest.mark.slow
def test_time_travel_equals_a_replay_cut_at_many_demo_points(
    demo: ProjectionsRunner, demo_app: SessionLog
) -> None:
    events = demo_app.recorder.max_notification_id() or 0
    points = [1, events // 5, events // 3, events // 2, events - 1, events]
    _time_travel_matches(demo, demo_app, points, view_names())


def _rebuild_matches(demo: ProjectionsRunner, names: list[str]) -> None:
    for name in names:
        before = demo.view(name).dump()
        report = demo.rebuild(name)
        assert report.position == before["tracking"][0]["notification_id"]
        assert demo.view(name).dump() == before


def test_rebuild_equals_live_on_the_demo(demo: ProjectionsRunner) -> None:
    _rebuild_matches(demo, ["credits"])


@pytest.mark.slow
def test_rebuild_every_view_equals_live_on_the_demo(demo: ProjectionsRunner) -> None:
    _rebuild_matches(demo, view_names())


def _applied_alone(
    demo: ProjectionsRunner,
    demo_app: SessionLog,
    tmp_path: Path,
    name: str,
    read: Callable[[ProjectionsRunner], Any],
) -> list[Any]:
    """``read`` of view ``name`` applied by itself into fresh stores of the demo's
    backend, in 1,000-event batches and one event at a time."""
    backend = "sqlite" if isinstance(demo.store, SQLiteViewStore) else "postgres"
    out = []
    for batch_size in (1000, 1):
        store = make_store(backend, tmp_path)
        try:
            runner = ProjectionsRunner(
                demo_app, store, views=[name], batch_size=batch_size
            ).start()
            try:
                runner.wait(timeout=120)
            finally:
                runner.stop()
            out.append(read(runner))
        finally:
            dispose(store)
    return out


def test_credits_recomputed_in_small_chunks_and_one_event_at_a_time_agree(
    demo: ProjectionsRunner,
    demo_app: SessionLog,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The recomputation reads the facts of all the recordings a batch touched
    with one statement per kind of fact, splitting long id lists. With lists
    of one id, and with batches of one event (each recomputation finding the
    credits a previous one wrote, and writing only what changed), the credits
    are those of the demo's view, which applied whole batches."""
    from projections.views import batch_reads

    monkeypatch.setattr(batch_reads, "CHUNK", 1)
    expected = demo.credits.credits(project=P)
    assert len(expected) > 50
    applied = _applied_alone(
        demo, demo_app, tmp_path, "credits", lambda r: r.credits.credits(project=P)
    )
    assert applied == [expected, expected]


def test_cost_ledger_in_small_chunks_and_one_event_at_a_time_agrees(
    demo: ProjectionsRunner,
    demo_app: SessionLog,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lines a batch touched are recomputed together (their sums read with
    one statement, long id lists split) and the accounts in their upserts. With
    lists of one id, and with batches of one event, every table of the ledger
    is row for row that of the demo's view, which applied whole batches."""
    from projections.views import batch_reads

    monkeypatch.setattr(batch_reads, "CHUNK", 1)
    expected = demo.view("cost_ledger").dump()
    assert len(expected["lines"]) > 10
    assert len(expected["accounts"]) > 1
    applied = _applied_alone(
        demo, demo_app, tmp_path, "cost_ledger", lambda r: r.view("cost_ledger").dump()
    )
    assert applied == [expected, expected]
