"""Fixtures for the domain tests: a frozen clock, a POPO-backed app, a world."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from domain_support import (
    ARRANGEMENT,
    MEMBERS,
    STANDARD_LINES,
    START,
    World,
    usd,
)
from freezegun import freeze_time

import session_log.codec  # noqa: F401  (import before freezegun patches datetime)
from session_log import commands as cmd
from session_log.application import SessionLog
from session_log.domain.project import Policy


@pytest.fixture(autouse=True)
def _popo(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.endswith("PERSISTENCE_MODULE"):
            monkeypatch.delenv(key)


@pytest.fixture
def clock() -> Iterator[Any]:
    with freeze_time(START) as frozen:
        yield frozen


@pytest.fixture
def app(clock: Any) -> SessionLog:
    return SessionLog()


@pytest.fixture
def bare(app: SessionLog, clock: Any) -> World:
    return World(app, clock)


@pytest.fixture
def world(bare: World) -> World:
    """A project: lena (label, founder), victor (exec), rui (producer), mara
    (artist), sam (engineer), kofi and jonah (contributors), studio (vendor on the
    studio line), max (viewer). Policy: producer limit $2,500, threshold $100,000."""
    w = bare
    w.do(
        cmd.StartProject,
        "lena",
        title="Moonlit",
        main_artist="Mara Velez",
        founder_name="Lena Park",
        founder_capacities=("label_approver",),
        policy=Policy(
            producer_reallocation_limit=usd(2_500),
            budget_co_approval_threshold=usd(100_000),
        ),
    )
    for token, name, capacity, by in MEMBERS:
        w.do(cmd.RegisterParty, by, party=token, name=name)
        lines = ("studio",) if capacity == "vendor" else ()
        w.do(cmd.GrantCapacity, by, party=token, capacity=capacity, budget_lines=lines)
    return w


@pytest.fixture
def songs(world: World) -> World:
    """Two works and recordings with arrangements: song1 (work1), song2 (work2)."""
    w = world
    for n in (1, 2):
        w.do(cmd.RegisterWork, "mara", work=f"work{n}", title=f"Song {n}")
        w.do(
            cmd.AddRecording,
            "rui",
            recording=f"song{n}",
            work=f"work{n}",
            title=f"Song {n}",
        )
        w.do(cmd.AdoptArrangement, "rui", recording=f"song{n}", arrangement=ARRANGEMENT)
    return w


@pytest.fixture
def in_session(songs: World) -> World:
    """An open union tracking session s1 (song1, song2), kofi and jonah checked in."""
    w = songs
    w.do(
        cmd.BookSession,
        "rui",
        session="s1",
        session_type="Tracking",
        starts_at=START + timedelta(days=10),
        ends_at=START + timedelta(days=10, hours=3),
        union=True,
        recordings=("song1", "song2"),
    )
    w.move_to(START + timedelta(days=10))
    w.do(cmd.OpenSession, "sam", session="s1")
    w.do(cmd.CheckIn, "kofi", session="s1", roles=("Musician",), instruments=("Drums",))
    w.do(
        cmd.CheckIn,
        "jonah",
        session="s1",
        roles=("Musician",),
        instruments=("BassGuitar",),
    )
    return w


@pytest.fixture
def funded(world: World) -> World:
    """An approved budget (total $88,000 < threshold): studio 50k, musicians 20k,
    mixing 10k, contingency 10% (8k)."""
    w = world
    w.do(cmd.DraftBudgetVersion, "rui", lines=STANDARD_LINES)
    w.do(cmd.SubmitBudgetVersion, "rui", budget_version=1)
    w.do(cmd.ApproveBudgetVersion, "lena", budget_version=1)
    return w
