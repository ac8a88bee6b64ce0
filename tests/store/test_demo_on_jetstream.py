"""The demo album on a real nats-server reads back equal to the same run on POPO."""

from __future__ import annotations

from typing import Any

from session_log.application import SessionLog
from session_log.demo import load_demo

from .harness import fresh_stream_name, server_url

VOLATILE = {"_created_on", "_modified_on", "_pending_events"}


def state(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k not in VOLATILE}


def test_demo_on_jetstream_equals_popo() -> None:
    popo = SessionLog()
    jetstream = SessionLog(
        env={
            "PERSISTENCE_MODULE": "session_log.jetstream",
            "NATS_URL": server_url(),
            "NATS_STREAM": fresh_stream_name("demo"),
            "AGGREGATE_CACHE_MAXSIZE": "5000",
            "AGGREGATE_CACHE_FASTFORWARD": "y",
        }
    )
    try:
        summary_popo = load_demo(popo)
        summary_js = load_demo(jetstream)
        assert summary_js == summary_popo

        popo_notes = popo.recorder.select_notifications(None, 100_000)
        js_notes = jetstream.recorder.select_notifications(None, 100_000)
        assert len(js_notes) == len(popo_notes) == summary_popo.events
        # Same events in the same order, same ids and versions and topics.
        assert [
            (n.id, n.originator_id, n.originator_version, n.topic) for n in js_notes
        ] == [
            (n.id, n.originator_id, n.originator_version, n.topic) for n in popo_notes
        ]
        ids = {n.originator_id for n in popo_notes}
        fresh = SessionLog(env=dict(jetstream.env))  # no caches: read from NATS
        try:
            for oid in sorted(ids):
                assert state(fresh.repository.get(oid)) == state(
                    popo.repository.get(oid)
                ), oid
        finally:
            fresh.close()
    finally:
        jetstream.close()
        popo.close()
