"""Verify a 100,000-event project: chain + checkpoint, against a raw read.

Run:  python benchmarks/bench_verify.py [--events N]

Writes N events of one project (plus as many of another project, interleaved)
through the JetStream store, then times, in this process: reading the project's
messages (the baseline: no verification), reading and verifying every hash
chain, and verifying against a signed checkpoint. Target: 100,000 events
verified in under 30 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from eventsourcing.persistence import StoredEvent

from session_log.embedded import EmbeddedNATS
from session_log.jetstream import JetStreamApplicationRecorder, JetStreamFactory
from session_log.tamper import (
    SigningKey,
    make_checkpoint,
    read_project,
    verify_messages,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    n = args.events
    state = b'{"take":7,"mark":"keeper","reason":"best pitch on the bridge"}'
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedNATS(store_dir=Path(tmp) / "nats") as server,
    ):
        factory = JetStreamFactory({"NATS_URL": server.url, "NATS_STREAM": "V"})
        recorder = factory.application_recorder()
        assert isinstance(recorder, JetStreamApplicationRecorder)
        aggregates = 200
        per = n // aggregates
        for a in range(aggregates):
            for start in range(1, per + 1, 500):
                stop = min(start + 500, per + 1)
                recorder.insert_events(
                    [
                        StoredEvent(f"alb.take.t{a}", v, "t", state)
                        for v in range(start, stop)
                    ]
                )
                recorder.insert_events(
                    [StoredEvent(f"other.take.t{a}", start, "t", state)]
                )
        stream = recorder.stream

        t = time.perf_counter()
        raw = sum(1 for _ in read_project(stream, "alb"))
        t_read = time.perf_counter() - t

        t = time.perf_counter()
        messages = list(read_project(stream, "alb"))
        report = verify_messages(messages)
        t_chain = time.perf_counter() - t
        assert report.ok
        assert report.events == raw == per * aggregates

        key = SigningKey.generate()
        checkpoint = make_checkpoint(messages, stream="V", project="alb", key=key)
        t = time.perf_counter()
        report = verify_messages(
            read_project(stream, "alb"), [checkpoint], {key.public_key}
        )
        t_full = time.perf_counter() - t
        assert report.ok
        factory.close()

    print(f"{'step':42} {'seconds':>8} {'events/s':>10} {'vs read':>8}")
    for label, secs in [
        ("read the project (baseline)", t_read),
        ("read + verify chains", t_chain),
        ("read + verify chains + checkpoint", t_full),
    ]:
        print(f"{label:42} {secs:8.2f} {raw / secs:10,.0f} {t_read / secs:8.0%}")
    print(f"{raw:,} events, target < 30 s: {'met' if t_full < 30 else 'MISSED'}")


if __name__ == "__main__":
    main()
