"""Event-store benchmark: session_log.jetstream against raw nats-py and sqlite.

Run:  python benchmarks/bench_store.py [--quick]

In one process, on one embedded nats-server (file storage, default fsync
policy), measures events per second and peak Python heap (tracemalloc, in a
second, separate pass so tracing does not slow the timed pass) for:

  (a) saving new aggregates of one event each, sequentially, via an Application
  (b) 16 threads saving to distinct aggregates via an Application
  (c) reading all notifications of a 100k-event stream
  (d) reading one aggregate with 10k events

each next to the raw nats-py baseline doing the same JetStream work (publish
with the concurrency header; ordered-consumer read) and to eventsourcing's own
sqlite module (file database) on the same application workload. Prints a table
with ratios against raw.

Then (e), group commit: saves of two events (a new take and its mark, one
atomic batch each) from 1, 4 and 16 threads via an Application, with
``NATS_GROUP_COMMIT=false`` (every save its own batch: the baseline) and with
it on (the default), in a second table with ratios against the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import uuid4

import nats
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import StoredEvent

from session_log.embedded import EmbeddedNATS
from session_log.jetstream._client import new_event_loop

PAYLOAD_STATE = {
    "song": "Harbour Lights",
    "part": "lead vocal",
    "take": 7,
    "file": "s3://studio/harbour/lv-07.wav",
    "sha256": "9f2c" * 16,
    "duration_ms": 214_000,
}


class Take(Aggregate):
    @event("Recorded")
    def __init__(
        self, song: str, part: str, take: int, file: str, sha256: str, duration_ms: int
    ) -> None:
        self.song = song
        self.part = part
        self.take = take
        self.file = file
        self.sha256 = sha256
        self.duration_ms = duration_ms
        self.mark = ""

    @event("Marked")
    def mark_as(self, mark: str) -> None:
        self.mark = mark


class Studio(Application[Any]):
    pass


def measure(fn: Callable[[], int]) -> tuple[float, float]:
    """(events/s, peak MiB): a timed pass, then a traced pass for memory."""
    gc.collect()
    started = time.perf_counter()
    count = fn()
    elapsed = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return count / elapsed, peak / 2**20


# --------------------------------------------------------------------- raw
class Raw:
    """Raw nats-py on its own asyncio loop (run in this thread)."""

    def __init__(self, url: str, loop: str = "asyncio") -> None:
        self.url = url
        self.loop = new_event_loop(loop)
        self.nc: Any = self.loop.run_until_complete(nats.connect(url))
        self.js = self.nc.jetstream()
        self.n = 0

    def stream(self, name: str) -> str:
        async def make() -> None:
            await self.nc.request(
                f"$JS.API.STREAM.CREATE.{name}",
                json.dumps(
                    {
                        "name": name,
                        "subjects": [f"{name}.>"],
                        "storage": "file",
                        "allow_direct": True,
                        "allow_atomic": True,
                        "deny_delete": True,
                        "deny_purge": True,
                    }
                ).encode(),
            )

        self.loop.run_until_complete(make())
        return name

    def headers(self) -> dict[str, str]:
        self.n += 1
        return {
            "Nats-Expected-Last-Subject-Sequence": "0",
            "SL-Topic": "bench:Take.Recorded",
            "SL-Version": "1",
            "Nats-Msg-Id": f"{uuid4().hex}-0",
        }

    def publish_sequential(self, stream: str, count: int, payload: bytes) -> int:
        async def run() -> None:
            for _ in range(count):
                await self.js.publish(
                    f"{stream}._.uuid.{uuid4().hex}", payload, headers=self.headers()
                )

        self.loop.run_until_complete(run())
        return count

    def publish_concurrent(
        self, stream: str, writers: int, each: int, payload: bytes
    ) -> int:
        async def writer() -> None:
            for _ in range(each):
                await self.js.publish(
                    f"{stream}._.uuid.{uuid4().hex}", payload, headers=self.headers()
                )

        async def run() -> None:
            await asyncio.gather(*(writer() for _ in range(writers)))

        self.loop.run_until_complete(run())
        return writers * each

    def ordered_read(self, subject: str, count: int) -> int:
        async def run() -> int:
            done = asyncio.Event()
            got = 0

            async def on_msg(msg: Any) -> None:
                nonlocal got
                got += 1
                if got >= count:
                    done.set()

            sub = await self.js.subscribe(subject, cb=on_msg, ordered_consumer=True)
            await asyncio.wait_for(done.wait(), 120)
            await sub.unsubscribe()
            return got

        return self.loop.run_until_complete(run())

    def close(self) -> None:
        self.loop.run_until_complete(self.nc.close())
        self.loop.close()


# --------------------------------------------------------------- workloads
def app_for(kind: str, url: str, name: str, tmp: str, **extra: str) -> Studio:
    if kind.startswith("jetstream"):
        env = {
            "PERSISTENCE_MODULE": "session_log.jetstream",
            "NATS_URL": url,
            "NATS_STREAM": name,
            **extra,
        }
        if kind == "jetstream+msgspec":
            env["TRANSCODER_TOPIC"] = "session_log.codec:MsgspecTranscoder"
    elif kind == "popo (no I/O)":
        env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    else:
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": os.path.join(tmp, f"{name}.db"),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    return Studio(env=env)


def save_sequential(app: Studio, count: int) -> int:
    for i in range(count):
        app.save(
            Take(take=i, **{k: v for k, v in PAYLOAD_STATE.items() if k != "take"})
        )
    return count


def save_threads(app: Studio, writers: int, each: int) -> int:
    def work() -> None:
        for i in range(each):
            app.save(
                Take(take=i, **{k: v for k, v in PAYLOAD_STATE.items() if k != "take"})
            )

    with ThreadPoolExecutor(writers) as pool:
        for f in [pool.submit(work) for _ in range(writers)]:
            f.result()
    return writers * each


def save_pairs(app: Studio, writers: int, each: int) -> int:
    """``writers`` threads each save ``each`` commands of two events."""

    def work() -> None:
        for i in range(each):
            take = Take(**{**PAYLOAD_STATE, "take": i})
            take.mark_as("keeper")
            app.save(take)

    with ThreadPoolExecutor(writers) as pool:
        for f in [pool.submit(work) for _ in range(writers)]:
            f.result()
    return 2 * writers * each


def fill(app: Studio, total: int, per_save: int = 500) -> None:
    """Write ``total`` events straight through the recorder, in big saves."""
    state = app.mapper.to_stored_event(
        Take(
            take=1, **{k: v for k, v in PAYLOAD_STATE.items() if k != "take"}
        ).collect_events()[0]
    ).state
    recorder = app.recorder
    done = 0
    while done < total:
        oid = uuid4()
        n = min(per_save, total - done)
        recorder.insert_events(
            [StoredEvent(oid, v, "bench:Take.Recorded", state) for v in range(1, n + 1)]
        )
        done += n


def read_all(app: Studio, total: int) -> int:
    got = 0
    start = 1
    while True:
        page = app.recorder.select_notifications(start, 1000)
        got += len(page)
        if len(page) < 1000:
            break
        start = page[-1].id + 1
    assert got >= total, (got, total)
    return got


def long_aggregate(app: Studio, events: int) -> Any:
    take = Take(take=1, **{k: v for k, v in PAYLOAD_STATE.items() if k != "take"})
    for i in range(events - 1):
        take.mark_as(f"mark-{i}")
        if len(take.pending_events) >= 500:
            app.save(take)
    app.save(take)
    return take.id


def read_aggregate(app: Studio, oid: Any, events: int) -> int:
    take = app.repository.get(oid)
    assert take.version == events
    return events


# ------------------------------------------------------------------- main
WRITE_BACKENDS = ("jetstream", "jetstream+msgspec", "sqlite", "popo (no I/O)")


def store_loop() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller counts")
    args = parser.parse_args()
    n_seq = 1000 if args.quick else 3000
    writers, each = 16, (60 if args.quick else 200)
    n_read = 20_000 if args.quick else 100_000
    n_agg = 10_000
    loops = ["asyncio"] + (["uvloop"] if store_loop() == "uvloop" else [])
    base_name = f"raw nats-py ({store_loop()})"

    rows: list[tuple[str, str, float, float]] = []
    tmp = tempfile.mkdtemp(prefix="bench-store-")
    with EmbeddedNATS(store_dir=os.path.join(tmp, "nats")) as server:
        raws = {loop: Raw(server.url, loop) for loop in loops}
        payload = (
            Studio()
            .mapper.to_stored_event(
                Take(
                    take=1, **{k: v for k, v in PAYLOAD_STATE.items() if k != "take"}
                ).collect_events()[0]
            )
            .state
        )
        print(
            f"nats-server {server.url}, payload {len(payload)} bytes, "
            f"store loop {store_loop()}",
            file=sys.stderr,
        )

        def raw_rows(key: str, work: Callable[[Raw], int]) -> None:
            for loop, raw in raws.items():
                rows.append(
                    (key, f"raw nats-py ({loop})", *measure(lambda raw=raw: work(raw)))
                )

        # (a)
        raw_rows(
            "a",
            lambda raw: raw.publish_sequential(
                raw.stream(f"rawa{len(rows)}"), n_seq, payload
            ),
        )
        for i, kind in enumerate(WRITE_BACKENDS):
            app = app_for(kind, server.url, f"a_{i}", tmp)
            rows.append(
                ("a", kind, *measure(lambda app=app: save_sequential(app, n_seq)))
            )
            app.close()

        # (b)
        raw_rows(
            "b",
            lambda raw: raw.publish_concurrent(
                raw.stream(f"rawb{len(rows)}"), writers, each, payload
            ),
        )
        for i, kind in enumerate(WRITE_BACKENDS):
            app = app_for(kind, server.url, f"b_{i}", tmp)
            rows.append(
                ("b", kind, *measure(lambda app=app: save_threads(app, writers, each)))
            )
            app.close()

        # (c)
        apps = {
            k: app_for(k, server.url, f"c_{k}", tmp) for k in ("jetstream", "sqlite")
        }
        for app in apps.values():
            fill(app, n_read)
        raw_rows("c", lambda raw: raw.ordered_read("c_jetstream.>", n_read))
        for kind, app in apps.items():
            rows.append(("c", kind, *measure(lambda app=app: read_all(app, n_read))))
            app.close()

        # (d)
        apps = {
            k: app_for(k, server.url, f"d_{k}", tmp) for k in ("jetstream", "sqlite")
        }
        ids = {kind: long_aggregate(app, n_agg) for kind, app in apps.items()}
        subject = f"d_jetstream._.uuid.{ids['jetstream'].hex}"
        raw_rows("d", lambda raw: raw.ordered_read(subject, n_agg))
        for kind, app in apps.items():
            rows.append(
                (
                    "d",
                    kind,
                    *measure(
                        lambda app=app, kind=kind: read_aggregate(app, ids[kind], n_agg)
                    ),
                )
            )
            app.close()
        for raw in raws.values():
            raw.close()

        # (e)
        grouped: list[tuple[int, str, float, float]] = []
        for threads in (1, 4, 16):
            each = max(1, (200 if args.quick else 800) // threads)
            for setting in ("false", "true"):
                app = app_for(
                    "jetstream",
                    server.url,
                    f"e_{threads}_{setting}",
                    tmp,
                    NATS_GROUP_COMMIT=setting,
                )
                rate, mib = measure(
                    lambda app=app, t=threads, n=each: save_pairs(app, t, n)
                )
                grouped.append((threads, setting, rate, mib))
                app.close()

    labels = {
        "a": f"(a) {n_seq} sequential saves, 1 event each",
        "b": f"(b) {writers} threads x {each} saves",
        "c": f"(c) read all of a {n_read:,}-event stream",
        "d": f"(d) read one {n_agg:,}-event aggregate",
    }
    targets = {"a": 0.80, "b": 0.60, "c": 0.50}
    print(f"ratios are against {base_name}, the loop the store runs on")
    print(
        f"{'workload':44} {'backend':22} {'events/s':>10} {'peak MiB':>9} {'ratio':>6}"
    )
    for key in "abcd":
        base = next(r for r in rows if r[0] == key and r[1] == base_name)[2]
        for k, backend, rate, mib in (r for r in rows if r[0] == key):
            ratio = rate / base
            mark = ""
            if backend.startswith("jetstream") and key in targets:
                verdict = "met" if ratio >= targets[key] else "MISSED"
                mark = f"  target {targets[key]:.0%}: {verdict}"
            figures = f"{rate:10,.0f} {mib:9.1f} {ratio:6.0%}"
            print(f"{labels[k]:44} {backend:22} {figures}{mark}")
    print()
    print("(e) saves of 2 events (one atomic batch each) from N threads, jetstream;")
    print("    ratios against NATS_GROUP_COMMIT=false at the same thread count")
    head = ("threads", "group commit", "saves/s", "peak MiB", "ratio")
    print("{:>7} {:>12} {:>9} {:>9} {:>6}".format(*head))
    for threads, setting, rate, mib in grouped:
        base = next(r for t, st, r, _ in grouped if t == threads and st == "false")
        label = "on" if setting == "true" else "off"
        print(f"{threads:7} {label:>12} {rate / 2:9,.0f} {mib:9.1f} {rate / base:6.0%}")


if __name__ == "__main__":
    main()
