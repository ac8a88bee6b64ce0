"""Ports of test and embedded servers, and a node that cannot start."""

from __future__ import annotations

import gc
import socket
from pathlib import Path

import pytest

from session_log import embedded
from session_log.cluster import ClusterError, ClusterNode
from session_log.embedded import LOWEST_PORT, free_port


def test_free_ports_are_below_the_ephemeral_range() -> None:
    """A port the system hands out for bind(0) is one it may also give an
    outgoing connection, which took a cluster node's port while the node was
    down; free_port picks below that range."""
    if embedded._ephemeral_low() is None:
        pytest.skip("no ephemeral port range to read on this system")
    low = embedded._ephemeral_low()
    assert low is not None
    ports = [free_port() for _ in range(20)]
    assert all(LOWEST_PORT <= port < low for port in ports), ports
    with socket.socket() as sock:  # free indeed
        sock.bind(("127.0.0.1", ports[0]))
        sock.listen()


def test_ports_asked_for_together_never_coincide() -> None:
    """Nothing holds a port between free_port and its server's bind, so a
    cluster's nine ports, picked at random, could coincide: the slow suite once
    failed with a node's route port already taken when the cluster first
    started. Each port is handed out once per process (2,000 random picks from
    the ~22,000 ports below the range would hold about 90 pairs)."""
    ports = [free_port() for _ in range(2_000)]
    assert len(set(ports)) == len(ports)


def test_free_port_falls_back_to_the_systems_choice(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(embedded, "EPHEMERAL_RANGE", tmp_path / "missing")
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_a_node_that_cannot_start_says_why_and_leaks_nothing(tmp_path: Path) -> None:
    """Its port taken, nats-server exits: ClusterError with the server's
    reason, and the pipe of its standard error closed (a leaked pipe surfaced
    as a ResourceWarning in a later test)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "n1.conf"
        config.write_text(f"listen: 127.0.0.1:{port}\n")
        node = ClusterNode(
            "n1",
            config,
            host="127.0.0.1",
            store_dir=tmp_path / "store",
            log_path=tmp_path / "n1.log",
        )
        with pytest.raises(ClusterError, match="address already in use"):
            node.start(ready_timeout=10)
    assert not node.running
    gc.collect()  # an unclosed pipe would warn here, failing the test
