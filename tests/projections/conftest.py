"""Fixtures for the read side: view stores on SQLite and PostgreSQL, a test app."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from pgstores import dispose, make_store
from thinglog import INFRA_VIEWS, ThingLog

from projections import ProjectionsRunner, ViewStore
from projections.records import DecisionRecord
from projections.sql_view import Db
from projections.views.timeline import TimelineDefinition


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[ViewStore]:
    s = make_store(backend, tmp_path)
    try:
        yield s
    finally:
        dispose(s)


@pytest.fixture
def app() -> Iterator[ThingLog]:
    a = ThingLog()
    try:
        yield a
    finally:
        a.close()


class Boom(Exception):
    pass


@pytest.fixture
def poisoned_timeline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The timeline's code fails on notes saying "poison"."""
    original = TimelineDefinition.apply_many

    def apply_many(
        self: TimelineDefinition, db: Db, records: Sequence[DecisionRecord]
    ) -> None:
        for record in records:
            if record.field("text") == "poison":
                raise Boom(f"cannot digest {record.event_id}")
        original(self, db, records)

    monkeypatch.setattr(TimelineDefinition, "apply_many", apply_many)


@pytest.fixture
def runner(app: ThingLog, store: ViewStore) -> Iterator[ProjectionsRunner]:
    r = ProjectionsRunner(app, store, views=INFRA_VIEWS)
    try:
        yield r
    finally:
        r.stop()
