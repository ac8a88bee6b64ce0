"""Existing streams weaker than configured are refused.

Found while testing the cluster deployment: an operator may have created the
stream before the application first ran. A memory stream (history lost on
restart), a duplicate window too short to catch retries, or fewer replicas
than ``NATS_REPLICAS`` must be refused with ``UnfitStreamError``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import nats
import pytest

from session_log.cluster import LoopbackCluster
from session_log.jetstream import JetStreamFactory, UnfitStreamError
from session_log.jetstream.stream_config import StreamSpec


def create_stream(cluster: LoopbackCluster, name: str, **overrides: Any) -> None:
    """Create a stream as an operator could have, before the application ran."""
    config = StreamSpec(name=name, subjects=(f"{name}.>", f"{name}_tracking.>"))
    body = {**config.create_config(), **overrides}

    async def create() -> None:
        user, password = cluster.credentials("label-a-admin")
        nc = await nats.connect(cluster.urls, user=user, password=password)
        try:
            reply = await nc.request(
                f"$JS.API.STREAM.CREATE.{name}", json.dumps(body).encode(), timeout=10
            )
            assert b'"error"' not in reply.data, reply.data
        finally:
            await nc.close()

    asyncio.run(create())


def open_recorder(cluster: LoopbackCluster, name: str) -> None:
    factory = JetStreamFactory(
        cluster.env("label-a-admin", NATS_STREAM=name, NATS_REPLICAS="3")
    )
    try:
        factory.application_recorder()
    finally:
        factory.close()


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("MemoryStream", {"storage": "memory"}),
        ("TinyDedupeWindow", {"duplicate_window": 100_000_000}),
    ],
)
def test_an_existing_stream_with_weaker_storage_is_refused(
    shared_cluster: LoopbackCluster, name: str, overrides: dict[str, Any]
) -> None:
    create_stream(shared_cluster, name, num_replicas=3, **overrides)
    with pytest.raises(UnfitStreamError):
        open_recorder(shared_cluster, name)


def test_an_existing_stream_with_fewer_replicas_than_configured_is_refused(
    shared_cluster: LoopbackCluster,
) -> None:
    create_stream(shared_cluster, "SingleReplica", num_replicas=1)
    with pytest.raises(UnfitStreamError):
        open_recorder(shared_cluster, "SingleReplica")
