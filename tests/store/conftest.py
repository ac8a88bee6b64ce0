"""Fixtures of the store's own tests: a fresh stream per test on the shared server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from session_log.jetstream import JetStreamApplicationRecorder, JetStreamFactory

from .harness import new_factory


@pytest.fixture
def factory() -> Iterator[JetStreamFactory]:
    f = new_factory("own")
    yield f
    f.close()


@pytest.fixture
def recorder(factory: JetStreamFactory) -> JetStreamApplicationRecorder:
    r = factory.application_recorder()
    assert isinstance(r, JetStreamApplicationRecorder)
    return r
