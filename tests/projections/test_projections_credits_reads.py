"""The facts the credits are derived from, read for several recordings at once:
a comp holding another recording's take, and long id lists in chunks."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import Notification, StoredEvent

from projections.replay import records_of
from projections.sql_view import Db
from projections.stores import ViewStore
from projections.views import batch_reads
from projections.views.credits.recompute import Facts, derive
from projections.views.credits.tables import _json as J
from session_log.application import SessionLog

TAKES = ("take_id", "project", "session_id", "recording_id", "part")
TAKES += ("performer_ids_json", "event_id")
COMPS = ("recording_id", "comp", "project", "part", "take_ids_json", "status")
COMPS += ("event_id",)
CHECKINS = ("session_id", "party_id", "project", "roles_json", "role_vocabulary")
CHECKINS += ("instruments_json", "event_id")
ENGINEERS = ("session_id", "party_id", "project", "event_id")


def _facts(store: ViewStore, subjects: list[str]) -> Facts:
    view = store.view("credits")
    with view._transaction(commit=True) as cursor:  # as a batch reads them
        db = Db(cursor, view)
        db.insert_many(
            "takes",
            TAKES,
            [
                ("t1", "p", "s1", "r1", "gtr", J(["ann"]), "e-t1"),
                ("t2", "p", "s2", "r2", "gtr", J(["bob"]), "e-t2"),  # another's
                ("t3", "p", "s3", "r1", "gtr", J(["cid"]), "e-t3"),  # not comped
                ("t4", "p", "s1", "r3", "vox", J(["ann"]), "e-t4"),
            ],
        )
        db.insert_many(
            "comps",
            COMPS,
            [
                ("r1", "c1", "p", "gtr", J(["t1", "t2"]), "approved", "e-c1"),
                ("r3", "c1", "p", "vox", J(["t4"]), "approved", "e-c3"),
            ],
        )
        db.insert_many(
            "checkins",
            CHECKINS,
            [
                (
                    "s1",
                    "ann",
                    "p",
                    J(["StudioMusician"]),
                    "DDEX",
                    J(["guitar"]),
                    "e-k1",
                ),
                ("s1", "eve", "p", J(["Producer"]), "DDEX", J([]), "e-k2"),
                (
                    "s2",
                    "bob",
                    "p",
                    J(["StudioMusician"]),
                    "DDEX",
                    J(["guitar"]),
                    "e-k3",
                ),
                (
                    "s3",
                    "cid",
                    "p",
                    J(["StudioMusician"]),
                    "DDEX",
                    J(["guitar"]),
                    "e-k4",
                ),
            ],
        )
        db.insert_many(
            "session_engineers",
            ENGINEERS,
            [("s1", "ed", "p", "e-g1"), ("s2", "flo", "p", "e-g2")],
        )
        return Facts(db, subjects)


@pytest.mark.parametrize("chunk", [500, 1])
def test_a_comp_of_another_recordings_take_reads_its_session(
    store: ViewStore, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A take of another recording that an approved comp holds (the
    application refuses one, but the view takes the stream as it is) is read
    by its id, with its session's check-ins and engineers, and credited. With
    lists of one id, a session shared by two recordings keeps one row per
    party, in party order."""
    monkeypatch.setattr(batch_reads, "CHUNK", chunk)
    facts = _facts(store, ["r1", "r3"])
    assert {"t1", "t2", "t4"} <= facts.takes.keys()
    checkins = {s: [r["party_id"] for r in rows] for s, rows in facts.checkins.items()}
    assert checkins["s1"] == ["ann", "eve"]
    assert checkins["s2"] == ["bob"]
    engineers = {
        s: [r["party_id"] for r in rows] for s, rows in facts.engineers.items()
    }
    assert engineers["s1"] == ["ed"]
    assert engineers["s2"] == ["flo"]
    credits = derive("r1", facts)
    assert credits[("bob", "StudioMusician", "performer")]["evidence"] == [
        "e-c1",
        "e-t2",
        "e-k3",
    ]
    assert credits[("flo", "RecordingEngineer", "session")]["evidence"] == [
        "e-c1",
        "e-t2",
        "e-g2",
    ]
    assert not any(party == "cid" for party, _, _ in credits)


ASSERTION_KINDS = {
    "CreditAsserted",
    "CreditConfirmed",
    "CreditDisputed",
    "CreditRetracted",
}


def test_a_batch_that_only_changes_assertions_recomputes_only_their_part(
    store: ViewStore,
    demo_events: tuple[SessionLog, list[StoredEvent]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A subject's asserted credits depend on the assertions alone and its
    derived ones on everything else (the source is part of a credit's key):
    applied one event at a time, a batch that only asserts, confirms, disputes
    or retracts a credit reads the subject's assertions and its stored
    asserted credits, two statements; a batch approving a comp reads every
    kind of fact but the assertions. (That the credits come out right applied
    this way is
    test_credits_recomputed_in_small_chunks_and_one_event_at_a_time_agree.)"""
    app, events = demo_events
    notifications = [
        Notification(
            id=n,
            originator_id=e.originator_id,
            originator_version=e.originator_version,
            topic=e.topic,
            state=e.state,
        )
        for n, e in enumerate(events, start=1)
    ]
    view = store.view("credits")
    reads = [0]
    original = Db.rows

    def counted(self: Db, *args: Any, **kwargs: Any) -> Any:
        reads[0] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Db, "rows", counted)
    made: dict[str, list[int]] = {}
    for record, tracking in records_of(app.mapper, notifications, "demo"):
        reads[0] = 0
        view.apply_events([(record, tracking)])
        made.setdefault(record.kind, []).append(reads[0])
    assertions = [n for kind in ASSERTION_KINDS for n in made.get(kind, [])]
    assert len(assertions) > 20
    assert set(assertions) == {2}
    # comps, takes, edit passes, check-ins, engineers, deliverables, stored
    # credits (the assertions are not read):
    assert max(made["CompApproved"]) == 7
