"""Projections benchmark: rebuild every view from a long history; live lag.

Run:  python benchmarks/bench_projections.py [--quick] [--events N]
      [--backends sqlite,postgres] [--pg-url postgresql://postgres@127.0.0.1/test]

In one run, on one embedded nats-server (file storage):

1. Generates a history of ``--events`` events over many projects: the demo album
   ("Moonlit Harbour", about 2,600 events) is recorded once, then its stored
   events are copied under new project ids (``p00001``...) until the count is
   reached, written through ``session_log.jetstream`` in saves of 500.
2. Measures the raw ordered-consumer read rate of that stream (nats-py, no
   decoding), eventsourcing's ``select_notifications`` rate through the store,
   and reading, decoding and making the views' records without applying them
   (``projections.replay.read_batches``: the ceiling of any rebuild in one
   process), as baselines.
3. Rebuilds all five views from the whole stream (read and decoded once,
   ``projections.rebuild_views``) into a SQLite file and into a PostgreSQL
   schema, each in a child process so its peak RSS is its own: events per second
   and peak RSS.
4. Live lag: a runner follows a second stream (the demo album) while commands
   arrive at ``--rate`` per second for ``--lag-seconds``; the lag of an event is
   the time from its first sighting at the head of the stream (sampled every
   2 ms) to the moment each view includes it. Reports p50/p99/max.

Targets (2 cores): SQLite >= 25,000 events/s, PostgreSQL >= 10,000 events/s,
peak RSS < 400 MB, live lag p99 < 100 ms at 500 commands/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from eventsourcing.persistence import StoredEvent  # noqa: E402

from projections import (  # noqa: E402
    PostgresViewStore,
    ProjectionsRunner,
    SQLiteViewStore,
    ViewStore,
    rebuild_views,
    view_names,
)
from session_log import commands as cmd  # noqa: E402
from session_log.application import SessionLog  # noqa: E402
from session_log.demo import DEMO_PROJECT, load_demo  # noqa: E402

SAVE = 500


def jetstream_app(url: str, stream: str) -> SessionLog:
    return SessionLog(
        env={
            "PERSISTENCE_MODULE": "session_log.jetstream",
            "NATS_URL": url,
            "NATS_STREAM": stream,
        }
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- 1. the history ----------------------------------------------------------------


def template() -> list[StoredEvent]:
    app = SessionLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    load_demo(app)
    events = list(app.recorder.select_notifications(1, 1_000_000))
    app.close()
    return [
        StoredEvent(
            originator_id=n.originator_id,
            originator_version=n.originator_version,
            topic=n.topic,
            state=n.state,
        )
        for n in events
    ]


def copy_for(events: list[StoredEvent], project: str) -> list[StoredEvent]:
    """The demo's events under another project id (ids in payloads included)."""
    old = DEMO_PROJECT.encode()
    new = project.encode()
    pattern = re.compile(rb'"' + old + rb'(?=[".])')
    return [
        StoredEvent(
            originator_id=str(e.originator_id).replace(
                f"{DEMO_PROJECT}.", f"{project}.", 1
            ),
            originator_version=e.originator_version,
            topic=e.topic,
            state=pattern.sub(b'"' + new, e.state),
        )
        for e in events
    ]


def generate(app: SessionLog, total: int) -> tuple[int, float]:
    base = template()
    written = 0
    project = 0
    started = time.perf_counter()
    while written < total:
        project += 1
        events = copy_for(base, f"p{project:05d}")[: total - written]
        for i in range(0, len(events), SAVE):
            app.recorder.insert_events(events[i : i + SAVE])
        written += len(events)
    return written, written / (time.perf_counter() - started)


# --- 2. baselines --------------------------------------------------------------------


def raw_ordered_read(url: str, stream: str, count: int) -> float:
    import nats

    async def run() -> float:
        nc = await nats.connect(url)
        js = nc.jetstream()
        done = asyncio.Event()
        got = 0

        async def on_msg(_msg: Any) -> None:
            nonlocal got
            got += 1
            if got >= count:
                done.set()

        started = time.perf_counter()
        sub = await js.subscribe(f"{stream}.>", cb=on_msg, ordered_consumer=True)
        await asyncio.wait_for(done.wait(), 900)
        elapsed = time.perf_counter() - started
        await sub.unsubscribe()
        await nc.close()
        return count / elapsed

    return asyncio.run(run())


def decoded_read(app: SessionLog, count: int) -> float:
    from projections.rebuild import _as_record
    from projections.replay import read_batches

    started = time.perf_counter()
    got = 0
    for batch in read_batches(
        app,
        source=app.name,
        after=0,
        batch_size=1000,
        prefetch=True,
        prepare=_as_record,
    ):
        got += len(batch)
        if got >= count:
            break
    return got / (time.perf_counter() - started)


def store_read(app: SessionLog, count: int) -> float:
    started = time.perf_counter()
    got, position = 0, 0
    while got < count:
        page = app.recorder.select_notifications(
            position, 1000, inclusive_of_start=False
        )
        if not page:
            break
        got += len(page)
        position = page[-1].id
    return got / (time.perf_counter() - started)


# --- 3. rebuild (child process) ------------------------------------------------------


def open_backend(backend: str, pg_url: str, tmp: str) -> ViewStore:
    if backend == "sqlite":
        return SQLiteViewStore(os.path.join(tmp, "views.db"))
    from urllib.parse import urlparse

    parsed = urlparse(pg_url)
    return PostgresViewStore(
        dbname=(parsed.path or "/test").lstrip("/"),
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password or "",
        schema=f"bench_{uuid.uuid4().hex[:10]}",
    )


def child_rebuild(args: argparse.Namespace) -> None:
    app = jetstream_app(args.nats_url, args.stream)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_backend(args.backend, args.pg_url, tmp)
        try:
            started = time.perf_counter()
            reports = rebuild_views(app, store, view_names(), batch_size=1000)
            seconds = time.perf_counter() - started
        finally:
            if isinstance(store, PostgresViewStore):
                store.drop_schema()
            store.close()
    events = reports[0].position if reports else 0
    print(
        json.dumps(
            {
                "events": events,
                "seconds": seconds,
                "events_per_second": events / seconds,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )
    app.close()


def rebuild_in_child(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child-rebuild",
            "--backend",
            backend,
            "--nats-url",
            args.nats_url,
            "--stream",
            args.stream,
            "--pg-url",
            args.pg_url,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1:] or ["failed"]}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# --- 4. live lag ---------------------------------------------------------------------


def live_lag(url: str, seconds: float, rate: int) -> dict[str, float]:
    app = jetstream_app(url, f"bench_lag_{uuid.uuid4().hex[:6]}")
    load_demo(app)
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteViewStore(os.path.join(tmp, "lag.db"))
        runner = ProjectionsRunner(app, store).start()
        runner.wait(timeout=300)
        seen_at: dict[int, float] = {}
        reached: dict[str, dict[int, float]] = {name: {} for name in view_names()}
        stop = threading.Event()

        def instrument(name: str) -> None:
            # Record when each position becomes visible in the view (commit time).
            view = runner.views[name]
            apply = view.apply_events
            done = [view.position(app.name)]

            def apply_and_time(events: Any) -> int:
                applied = apply(events)
                now = time.perf_counter()
                position = view.position(app.name)
                for p in range(done[0] + 1, position + 1):
                    reached[name][p] = now
                done[0] = max(done[0], position)
                return applied

            view.apply_events = apply_and_time  # type: ignore[method-assign]

        for name in view_names():
            instrument(name)

        def monitor() -> None:
            last_head = app.recorder.max_notification_id() or 0
            while not stop.is_set():
                current = app.recorder.max_notification_id() or 0
                now = time.perf_counter()
                for position in range(last_head + 1, current + 1):
                    seen_at[position] = now
                last_head = max(last_head, current)
                time.sleep(0.005)

        watcher = threading.Thread(target=monitor)
        base = app.recorder.max_notification_id() or 0
        watcher.start()
        submitted = 0
        started = time.perf_counter()

        def submit(i: int) -> None:
            app.submit(
                cmd.RegisterParty(
                    command_id=f"lag-{i}",
                    project=DEMO_PROJECT,
                    actor="lena",
                    party=f"guest-{i}",
                    name=f"Guest {i}",
                )
            )

        with ThreadPoolExecutor(8) as pool:
            futures = []
            while time.perf_counter() - started < seconds:
                due = started + submitted / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(submit, submitted))
                submitted += 1
            for future in futures:
                future.result()
        achieved = submitted / (time.perf_counter() - started)
        runner.wait(timeout=60)
        stop.set()
        watcher.join()
        runner.stop()
        store.close()
    lags = sorted(
        (reached[name][p] - seen_at[p]) * 1000
        for name in reached
        for p in reached[name]
        if p > base and p in seen_at
    )
    app.close()
    if not lags:
        return {"commands_per_second": achieved}
    return {
        "commands_per_second": achieved,
        "p50_ms": lags[len(lags) // 2],
        "p99_ms": lags[min(len(lags) - 1, int(len(lags) * 0.99))],
        "max_ms": lags[-1],
    }


# --- main ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="50,000 events, 3 s lag")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1/test"),
    )
    parser.add_argument("--lag-seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--child-rebuild", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--nats-url", help=argparse.SUPPRESS)
    parser.add_argument("--stream", default="bench_projections", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_rebuild:
        child_rebuild(args)
        return
    if args.quick:
        args.events, args.lag_seconds = 50_000, 3.0

    from session_log.embedded import EmbeddedNATS

    with EmbeddedNATS() as server:
        args.nats_url = server.url
        app = jetstream_app(server.url, args.stream)
        print(f"generating {args.events:,} events ...", flush=True)
        written, write_rate = generate(app, args.events)
        rows: list[tuple[str, str, str, str]] = [
            ("history write (jetstream, saves of 500)", f"{write_rate:,.0f}", "", ""),
        ]
        raw = raw_ordered_read(server.url, args.stream, written)
        rows.append(("raw ordered consumer read (nats-py)", f"{raw:,.0f}", "", "1.00"))
        read = store_read(app, written)
        rows.append(
            (
                "select_notifications (store, no decode)",
                f"{read:,.0f}",
                "",
                f"{read / raw:.2f}",
            )
        )
        decoded = decoded_read(app, written)
        rows.append(
            (
                "read + decode + records (no views)",
                f"{decoded:,.0f}",
                "",
                f"{decoded / raw:.2f}",
            )
        )
        app.close()
        for backend in [b for b in args.backends.split(",") if b]:
            print(f"rebuilding all views into {backend} ...", flush=True)
            result = rebuild_in_child(args, backend)
            if "error" in result:
                rows.append(
                    (
                        f"rebuild all views -> {backend}",
                        "error",
                        "",
                        str(result["error"]),
                    )
                )
                continue
            rows.append(
                (
                    f"rebuild all views -> {backend}",
                    f"{result['events_per_second']:,.0f}",
                    f"{result['peak_rss_mb']:,.0f}",
                    f"{result['events_per_second'] / raw:.2f}",
                )
            )
        print(
            f"live lag at {args.rate} commands/s for {args.lag_seconds} s ...",
            flush=True,
        )
        lag = live_lag(server.url, args.lag_seconds, args.rate)

    print()
    print(f"events: {written:,} over {max(1, written // 2600):,} projects, 5 views")
    print(f"{'workload':<44} {'events/s':>12} {'peak MB':>8} {'vs raw':>8}")
    for name, rate, mb, ratio in rows:
        print(f"{name:<44} {rate:>12} {mb:>8} {ratio:>8}")
    print()
    print(
        "live lag: {:.0f} commands/s achieved; p50 {} ms, p99 {} ms, max {} ms".format(
            lag.get("commands_per_second", 0),
            f"{lag['p50_ms']:.1f}" if "p50_ms" in lag else "-",
            f"{lag['p99_ms']:.1f}" if "p99_ms" in lag else "-",
            f"{lag['max_ms']:.1f}" if "max_ms" in lag else "-",
        )
    )


if __name__ == "__main__":
    main()
