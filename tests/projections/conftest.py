"""Fixtures for the read side: view stores on SQLite and PostgreSQL, a test app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pgstores import dispose, make_store
from thinglog import ThingLog

from projections import ViewStore


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
