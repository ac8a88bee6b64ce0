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
3. Rebuilds all five views from the whole stream (``projections.rebuild_views``)
   into a SQLite file and into a PostgreSQL schema, each in a child process so
   its peak RSS is its own: in one process (the stream read and decoded once),
   then with ``--workers`` processes (default: one per core), each applying a
   slice of the projects. Events per second and peak RSS (the largest of the
   rebuild's processes).
4. Live lag: a runner (all five views, SQLite) follows a second stream (the
   demo album) while ``--writer-processes`` separate processes (default 2) of
   ``--writers`` threads each (default 16), standing in for the API, save
   copies of the album's commands under new project ids, one save per
   command, ``--rate`` commands per second in all for ``--lag-seconds``. Each
   thread starts at a different point of its first album (the commands before
   it saved in bulk, and applied by the views, before the clock starts), so
   that projects at every stage send their commands together, as in a
   studio's day; ``--lockstep`` starts them all at the first command instead.
   The lag of an event in a view is the moment it is visible there (the view's
   transaction returned) minus the moment its save was acknowledged to the
   writer, both ``time.monotonic()`` (one system-wide clock on Linux). Reports
   the commands and events per second the writers achieved and p50/p99/max
   lag, over every save and over the saves due after the first second (the
   writer threads start together), by stage (the feed, then each view), and
   each view's batches of the clocked part: count, mean size, p50/p99 time to
   apply one.
   ``--lag-processes N`` shares the views out between N runner processes
   (the costliest view first, each to the least loaded), as projection workers
   of one PostgreSQL schema run (``session-log project --view ...``); each
   process reports when each position became visible in its views, and the
   runner CPU is that of all of them; ``--lag-groups`` names the groups.
   ``--lag-in-process`` measures the earlier way instead (commands submitted
   through ``SessionLog`` in the runner's process, lag from an event's first
   sighting at the head of the stream); ``--lag-only`` skips 1 to 3.

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
from projections.replay import head  # noqa: E402
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


def generate(app: SessionLog, total: int) -> tuple[int, float, int]:
    """Write ``total`` events: the demo album under project after project (the
    last one cut short). Returns events written, events/s and projects."""
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
    return written, written / (time.perf_counter() - started), project


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
    from projections.replay import read_batches

    started = time.perf_counter()
    got = 0
    for batch in read_batches(
        app,
        source=app.name,
        after=0,
        batch_size=1000,
        prefetch=True,
        records=True,
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


def open_backend(
    backend: str, pg_url: str, tmp: str, schema: str | None = None
) -> ViewStore:
    """``sqlite``, ``sqlite:commit`` (WAL checkpoints in the commits, as SQLite
    does by default, instead of the store's checkpoint thread) or ``postgres``
    (in ``schema``, by default a new one)."""
    if backend in ("sqlite", "sqlite:thread"):
        return SQLiteViewStore(os.path.join(tmp, "views.db"))
    if backend == "sqlite:commit":
        return SQLiteViewStore(os.path.join(tmp, "views.db"), checkpoints="commit")
    from urllib.parse import urlparse

    parsed = urlparse(pg_url)
    return PostgresViewStore(
        dbname=(parsed.path or "/test").lstrip("/"),
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password or "",
        schema=schema or f"bench_{uuid.uuid4().hex[:10]}",
    )


def child_rebuild(args: argparse.Namespace) -> None:
    app = jetstream_app(args.nats_url, args.stream)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_backend(args.backend, args.pg_url, tmp)
        try:
            started = time.perf_counter()
            reports = rebuild_views(
                app, store, view_names(), batch_size=1000, workers=args.workers
            )
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
                "peak_rss_mb": max(peak_rss_mb(), children_peak_rss_mb()),
            }
        )
    )
    app.close()


def children_peak_rss_mb() -> float:
    """The largest peak RSS of this process's finished children (the workers)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def rebuild_in_child(
    args: argparse.Namespace, backend: str, workers: int
) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child-rebuild",
            "--workers",
            str(workers),
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

COMMAND_ID = re.compile(rb'"command_id":"([^"]*)"')


def by_command(events: list[StoredEvent]) -> list[list[StoredEvent]]:
    """The events in saves, one per command (a command's events are consecutive
    and share ``meta.command_id``)."""
    groups: list[list[StoredEvent]] = []
    last: bytes | None = None
    for event in events:
        found = COMMAND_ID.search(event.state)
        key = found.group(1) if found else None
        if groups and key is not None and key == last:
            groups[-1].append(event)
        else:
            groups.append([event])
        last = key
    return groups


def child_writer(args: argparse.Namespace) -> None:
    """Stands in for the API: saves one command's events at a time.

    Writer process ``p`` of ``--writer-processes`` runs ``--writers`` threads;
    together they save ``--rate`` commands per second for ``--lag-seconds``
    from the moment the parent gives on standard input. Each thread saves the
    commands of its own projects (the demo album copied under new project ids)
    in order, so saves never conflict. Unless ``--lockstep``, thread ``k`` of
    ``n`` starts ``k/n`` of the way through its first album (the commands
    before that are saved, in bulk, before it says it is ready), so that the
    projects are at different stages, as in a studio's working day; in
    lockstep every project reaches the same command (the budget approval of
    14 events, say) at the same moment. Writes to ``--out`` when each save was
    due and acknowledged (``time.monotonic()``, comparable across processes)
    and the notification ids it got.
    """
    app = jetstream_app(args.nats_url, args.stream)
    base = template()
    threads = max(1, args.writers)
    slots = threads * max(1, args.writer_processes)
    album_length = len(by_command(base))
    saves: list[list[tuple[float, float, float, list[int]]]] = [
        [] for _ in range(threads)
    ]
    errors: list[str] = []

    def album(slot: int, n: int) -> list[list[StoredEvent]]:
        return by_command(copy_for(base, f"{args.project}{slot}x{n}"))

    def offset(slot: int) -> int:
        return 0 if args.lockstep else slot * album_length // slots

    for k in range(threads):  # the part of each first album before its start
        slot = args.writer_index * threads + k
        chunk: list[StoredEvent] = []
        for group in album(slot, 1)[: offset(slot)]:
            if len(chunk) + len(group) > SAVE:
                app.recorder.insert_events(chunk)
                chunk = []
            chunk.extend(group)
        if chunk:
            app.recorder.insert_events(chunk)
    print("ready", flush=True)
    started = float(sys.stdin.readline())
    until = started + args.lag_seconds

    def commands(slot: int) -> Any:
        yield from album(slot, 1)[offset(slot) :]
        n = 1
        while True:
            n += 1
            yield from album(slot, n)

    def write(k: int) -> None:
        slot = args.writer_index * threads + k
        mine = saves[k]
        try:
            for i, group in enumerate(commands(slot)):
                due = started + (i * slots + slot) / args.rate
                if due >= until:
                    return
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                sent = time.monotonic()
                ids = app.recorder.insert_events(group)
                mine.append((due, sent, time.monotonic(), list(ids or [])))
        except Exception as error:
            errors.append(repr(error))

    pool = [threading.Thread(target=write, args=(k,)) for k in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    done = [save for mine in saves for save in mine]
    Path(args.out).write_text(json.dumps({"saves": done, "errors": errors}))
    app.close()


def spawn_child(*flags: str) -> subprocess.Popen[str]:
    """This script again, in a child process told what to do by ``flags``, with
    its standard input and output piped (lines of text)."""
    return subprocess.Popen(
        [sys.executable, __file__, *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def write_in_children(
    args: argparse.Namespace, stream: str, tmp: str, settle: Any
) -> tuple[float, list[Any], list[str]]:
    """Run the writer processes; returns the start and every save, with errors.

    ``settle()`` runs once every writer is ready, before the clock starts.
    """
    children: list[tuple[subprocess.Popen[str], str]] = []
    for index in range(args.writer_processes):
        out = os.path.join(tmp, f"writer-{index}.json")
        child = spawn_child(
            "--child-writer",
            f"--nats-url={args.nats_url}",
            f"--stream={stream}",
            f"--rate={args.rate}",
            f"--writers={args.writers}",
            f"--writer-processes={args.writer_processes}",
            f"--writer-index={index}",
            f"--lag-seconds={args.lag_seconds}",
            "--project=lag",
            *(["--lockstep"] if args.lockstep else []),
            f"--out={out}",
        )
        children.append((child, out))
    for child, _ in children:
        assert child.stdout is not None
        child.stdout.readline()  # ready
    settle()
    started = time.monotonic() + 0.1
    for child, _ in children:
        assert child.stdin is not None
        child.stdin.write(f"{started}\n")
        child.stdin.close()
    saves: list[Any] = []
    errors: list[str] = []
    for child, out in children:
        code = child.wait()
        if child.stdout is not None:
            child.stdout.close()
        if code != 0 or not os.path.exists(out):
            errors.append(f"writer exited with {code}")
            continue
        written = json.loads(Path(out).read_text())
        saves.extend(written["saves"])
        errors.extend(written["errors"])
    return started, saves, errors


Batches = dict[str, list[tuple[float, float, int]]]
"""Per view, each batch applied: when it started, how long it took (s), its events."""


def instrument(
    runner: ProjectionsRunner, source: str
) -> tuple[dict[str, dict[int, float]], Batches]:
    """Per view, when (``time.monotonic()``) each position became visible in it:
    the moment the transaction that applied it returned. (The position reached
    is that of the batch's last event: ``apply_events`` returns only when the
    whole batch is applied; asking the view would add a query per batch to the
    process measured.) Also every batch each view applied, timed."""
    reached: dict[str, dict[int, float]] = {name: {} for name in runner.names}
    batches: Batches = {name: [] for name in runner.names}
    for name in runner.names:
        view = runner.views[name]
        apply = view.apply_events
        done = [view.position(source)]

        def apply_and_time(
            events: Any,
            _apply: Any = apply,
            _done: list[int] = done,
            _reached: dict[int, float] = reached[name],
            _batches: list[tuple[float, float, int]] = batches[name],
        ) -> int:
            began = time.monotonic()
            applied: int = _apply(events)
            now = time.monotonic()
            _batches.append((began, now - began, len(events)))
            position = max(
                (t.notification_id for _, t in events if t.application_name == source),
                default=_done[0],
            )
            for p in range(_done[0] + 1, position + 1):
                _reached[p] = now
            _done[0] = max(_done[0], position)
            return applied

        view.apply_events = apply_and_time  # type: ignore[method-assign]
    # Where the feed stands: the moment each position was read, decoded and
    # handed to the views' inboxes (the first stage of every view's lag).
    handed: dict[int, float] = {}
    dispatch = runner.feed._dispatch

    def dispatch_and_time(run: Any, batch: Any) -> bool:
        now = time.monotonic()
        for _, tracking in batch:
            handed[tracking.notification_id] = now
        return dispatch(run, batch)

    runner.feed._dispatch = dispatch_and_time  # type: ignore[method-assign]
    reached[FEED] = handed
    return reached, batches


FEED = "(feed)"
"""Live lag: the stage that reads and decodes for every view, reported apart."""


WARMUP_S = 1.0
"""Live lag: saves due in the first second are also reported apart."""


LIVE_COST_US = {
    "credits": 391.2,
    "cost_ledger": 181.5,
    "timeline": 148.4,
    "decision_log": 148.3,
    "progress": 91.3,
}
"""Microseconds per event of each view applying 20-event batches on PostgreSQL
(``bench_view_batches.py``, docs/performance.md): for sharing the views out
between runner processes."""


def view_groups(processes: int) -> list[list[str]]:
    """The views shared out between ``processes`` runners, the costliest first,
    each to the group with the least cost so far."""
    groups: list[list[str]] = [[] for _ in range(max(1, processes))]
    costs = [0.0] * len(groups)
    for name in sorted(view_names(), key=lambda n: -LIVE_COST_US.get(n, 100.0)):
        least = costs.index(min(costs))
        groups[least].append(name)
        costs[least] += LIVE_COST_US.get(name, 100.0)
    return [group for group in groups if group]


def child_views(args: argparse.Namespace) -> None:
    """A second runner process for the live lag: runs ``--views`` and, when told,
    reports when each position became visible in each of them."""
    app = jetstream_app(args.nats_url, args.stream)
    store = open_backend(args.backend, args.pg_url, args.views_dir, args.schema)
    runner = ProjectionsRunner(app, store, views=args.views.split(","))
    reached, batches = instrument(runner, app.name)
    runner.start()
    runner.wait(timeout=300)
    print("ready", flush=True)
    cpu = os.times()
    for line in sys.stdin:
        runner.wait(timeout=300)
        if line.strip() == "settle":
            cpu = os.times()
            print("settled", flush=True)
        else:  # "stop"
            break
    used = os.times()
    runner.stop()
    store.close()
    app.close()
    Path(args.out).write_text(
        json.dumps(
            {
                "reached": reached,
                "batches": batches,
                "cpu": used.user + used.system - cpu.user - cpu.system,
            }
        )
    )


class ViewProcesses:
    """The runner processes beside this one's, each with a group of views."""

    def __init__(
        self,
        args: argparse.Namespace,
        stream: str,
        backend: str,
        store: ViewStore,
        tmp: str,
        groups: list[list[str]],
    ) -> None:
        self.children: list[tuple[subprocess.Popen[str], str]] = []
        schema = getattr(store, "schema", "")
        for index, group in enumerate(groups):
            out = os.path.join(tmp, f"views-{index}.json")
            child = spawn_child(
                "--child-views",
                f"--nats-url={args.nats_url}",
                f"--stream={stream}",
                f"--backend={backend}",
                f"--pg-url={args.pg_url}",
                f"--views-dir={tmp}",
                f"--schema={schema}",
                f"--views={','.join(group)}",
                f"--out={out}",
            )
            self.children.append((child, out))
        for child, _ in self.children:
            assert child.stdout is not None
            if child.stdout.readline().strip() != "ready":
                msg = f"a view process exited with {child.wait()}"
                raise RuntimeError(msg)

    def _tell(self, line: str) -> None:
        for child, _ in self.children:
            assert child.stdin is not None
            child.stdin.write(line + "\n")
            child.stdin.flush()

    def settle(self) -> None:
        """Once every view of every process holds the stream's head: CPU from now."""
        self._tell("settle")
        for child, _ in self.children:
            assert child.stdout is not None
            child.stdout.readline()

    def finish(self, reached: dict[str, dict[int, float]], batches: Batches) -> float:
        """Merge what the processes saw into ``reached`` and ``batches``; their
        CPU seconds since :meth:`settle`."""
        self._tell("stop")
        cpu = 0.0
        for child, out in self.children:
            assert child.stdin is not None
            child.stdin.close()
            code = child.wait()
            if child.stdout is not None:
                child.stdout.close()
            if code != 0:
                msg = f"a view process exited with {code}"
                raise RuntimeError(msg)
            seen = json.loads(Path(out).read_text())
            for name, times in seen["reached"].items():
                reached[name] = {int(p): t for p, t in times.items()}
            for name, each in seen["batches"].items():
                batches[name] = [tuple(b) for b in each]
            cpu += seen["cpu"]
        return cpu


def percentiles(lags: list[float]) -> dict[str, float]:
    lags = sorted(lags)
    if not lags:
        return {}
    return {
        "p50_ms": lags[len(lags) // 2],
        "p99_ms": lags[min(len(lags) - 1, int(len(lags) * 0.99))],
        "max_ms": lags[-1],
    }


def live_lag(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    """Lag of every view while writer processes save commands at ``--rate``.

    The stream holds the demo album first (the views catch up on it); then
    separate processes save copies of the album's commands, one save per
    command, while this process runs ``ProjectionsRunner`` on ``backend`` (a
    SQLite file, or a fresh PostgreSQL schema dropped afterwards). The lag of
    an event in a view is the moment it is visible there minus the moment its
    save was acknowledged to its writer.
    """
    stream = f"bench_lag_{uuid.uuid4().hex[:6]}"
    app = jetstream_app(args.nats_url, stream)
    base = template()
    for i in range(0, len(base), SAVE):
        app.recorder.insert_events(base[i : i + SAVE])
    groups = (
        [group.split(",") for group in args.lag_groups.split("|")]
        if args.lag_groups
        else view_groups(args.lag_processes)
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = open_backend(backend, args.pg_url, tmp)
        runner = ProjectionsRunner(app, store, views=groups[0])
        reached, batches = instrument(runner, app.name)
        others = ViewProcesses(args, stream, backend, store, tmp, groups[1:])
        runner.start()
        runner.wait(timeout=300)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
            r.state != "live" for r in runner.runners.values()
        ):
            time.sleep(0.01)
        cpu = [os.times()]
        before = head(app)
        burst: dict[str, float] = {"started": time.monotonic()}

        def settle() -> None:  # the views hold what the writers saved in bulk
            runner.wait(timeout=300)
            others.settle()
            cpu[0] = os.times()
            burst["seconds"] = time.monotonic() - burst["started"]
            burst["events"] = head(app) - before

        started, saves, errors = write_in_children(args, stream, tmp, settle)
        runner.wait(timeout=120)
        used = os.times()
        runner_cpu = used.user + used.system - cpu[0].user - cpu[0].system
        runner_cpu += others.finish(reached, batches)
        runner.stop()
        if isinstance(store, PostgresViewStore):
            store.drop_schema()
        store.close()
    app.close()
    if not saves:
        return {"error": "; ".join(errors) or "nothing written"}
    acked = {p: ack for _due, _sent, ack, ids in saves for p in ids}
    handed = reached.pop(FEED)
    lags = [
        (at - acked[p]) * 1000
        for name in reached
        for p, at in reached[name].items()
        if p in acked
    ]
    missing = len(acked) * len(reached) - len(lags)
    stages = {
        name: percentiles(
            [(at - acked[p]) * 1000 for p, at in times.items() if p in acked]
        )
        for name, times in {FEED: handed, **reached}.items()
    }
    # The same, leaving out saves due in the first WARMUP_S (the writer
    # threads starting together, the first saves of each connection).
    steady = {
        p: ack
        for due, _sent, ack, ids in saves
        if due >= started + WARMUP_S
        for p in ids
    }
    steady_lags = percentiles(
        [
            (at - steady[p]) * 1000
            for name in reached
            for p, at in reached[name].items()
            if p in steady
        ]
    )
    seconds = max(args.lag_seconds, max(save[2] for save in saves) - started)
    applying = {  # the batches of the clocked part
        name: [(took * 1000, n) for began, took, n in each if began >= started]
        for name, each in batches.items()
    }
    late_ms = percentiles([(ack - due) * 1000 for due, _, ack, _ in saves])
    save_ms = percentiles([(ack - sent) * 1000 for _, sent, ack, _ in saves])
    return {
        "groups": groups,
        "commands_per_second": len(saves) / seconds,
        "events_per_second": len(acked) / seconds,
        "save_p50_ms": save_ms.get("p50_ms", 0.0),
        "save_p99_ms": save_ms.get("p99_ms", 0.0),
        "late_p50_ms": late_ms.get("p50_ms", 0.0),
        "late_p99_ms": late_ms.get("p99_ms", 0.0),
        "missing": missing,
        "errors": errors,
        "runner_cpu_ms_per_event": runner_cpu * 1000 / max(1, len(acked)),
        "runner_cores": runner_cpu / seconds,
        **percentiles(lags),
        **{f"steady_{key}": value for key, value in steady_lags.items()},
        "stages": stages,
        "batches": {
            name: {
                "count": len(each),
                "events_mean": sum(n for _, n in each) / max(1, len(each)),
                **percentiles([took for took, _ in each]),
            }
            for name, each in applying.items()
        },
        "burst_events": burst.get("events", 0),
        "burst_seconds": burst.get("seconds", 0.0),
    }


def live_lag_in_process(url: str, seconds: float, rate: int) -> dict[str, Any]:
    """The earlier measurement: commands submitted through ``SessionLog`` in this
    process; lag from an event's first sighting at the head of the stream."""
    app = jetstream_app(url, f"bench_lag_{uuid.uuid4().hex[:6]}")
    load_demo(app)
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteViewStore(os.path.join(tmp, "lag.db"))
        runner = ProjectionsRunner(app, store)
        reached, _ = instrument(runner, app.name)
        runner.start()
        runner.wait(timeout=300)
        seen_at: dict[int, float] = {}
        stop = threading.Event()

        def monitor() -> None:
            last_head = app.recorder.max_notification_id() or 0
            while not stop.is_set():
                current = app.recorder.max_notification_id() or 0
                now = time.monotonic()
                for position in range(last_head + 1, current + 1):
                    seen_at[position] = now
                last_head = max(last_head, current)
                time.sleep(0.005)

        watcher = threading.Thread(target=monitor)
        base = app.recorder.max_notification_id() or 0
        watcher.start()
        submitted = 0
        started = time.monotonic()

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
            while time.monotonic() - started < seconds:
                due = started + submitted / rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(submit, submitted))
                submitted += 1
            for future in futures:
                future.result()
        achieved = submitted / (time.monotonic() - started)
        runner.wait(timeout=60)
        stop.set()
        watcher.join()
        runner.stop()
        store.close()
    reached.pop(FEED)
    lags = [
        (reached[name][p] - seen_at[p]) * 1000
        for name in reached
        for p in reached[name]
        if p > base and p in seen_at
    ]
    app.close()
    return {"commands_per_second": achieved, **percentiles(lags)}


def measure_lag(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    print(
        f"live lag ({backend}) at {args.rate} commands/s for {args.lag_seconds} s ...",
        flush=True,
    )
    if args.lag_in_process:
        return live_lag_in_process(args.nats_url, args.lag_seconds, args.rate)
    return {"backend": backend, **live_lag(args, backend)}


def restart_on_backlog(args: argparse.Namespace, backend: str) -> list[str]:
    """Views stopped at the demo album while ``--backlog`` events are written,
    then started again: how fast every view holds the backlog, with the views
    joining the feed together (``ProjectionsRunner.start``, one read and decode
    of the backlog) against each catching up by itself (``start_view`` per
    view, the way before), each on its own copy of the stopped views."""
    print(f"restart on a backlog ({backend}) ...", flush=True)
    stream = f"bench_restart_{uuid.uuid4().hex[:6]}"
    app = jetstream_app(args.nats_url, stream)
    base = template()
    for i in range(0, len(base), SAVE):
        app.recorder.insert_events(base[i : i + SAVE])
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        stores = {}
        for mode in ("together", "each by itself"):
            folder = os.path.join(tmp, mode.replace(" ", "-"))
            os.makedirs(folder)
            store = open_backend(backend, args.pg_url, folder)
            with ProjectionsRunner(app, store) as runner:
                runner.wait(timeout=300)
            stores[mode] = store
        written, _, _ = generate(app, args.backlog)
        seconds = {}
        for mode, store in stores.items():
            runner = ProjectionsRunner(app, store)
            started = time.perf_counter()
            if mode == "together":
                runner.start()
            else:
                for name in runner.names:
                    runner.start_view(name)
            runner.wait(timeout=600)
            seconds[mode] = time.perf_counter() - started
            runner.stop()
            if isinstance(store, PostgresViewStore):
                store.drop_schema()
            store.close()
        for mode, took in seconds.items():
            lines.append(
                f"restart on a backlog of {written:,} events, views on {backend} "
                f"{mode}: every view held it after {took:.1f} s "
                f"({written / took:,.0f} events/s, "
                f"{seconds['each by itself'] / took:.2f}x)"
            )
    app.close()
    return lines


def lag_line(lag: dict[str, Any], args: argparse.Namespace) -> str:
    def ms(key: str) -> str:
        return f"{lag[key]:.1f}" if key in lag else "-"

    if "error" in lag:
        return f"live lag: {lag['error']}"
    if args.lag_in_process:
        head = (
            f"live lag (in process): {lag['commands_per_second']:.0f} commands/s "
            f"achieved of {args.rate} asked"
        )
    else:
        groups = lag.get("groups") or [view_names()]
        runners = (
            ""
            if len(groups) < 2
            else f" in {len(groups)} runner processes ("
            + " | ".join(", ".join(group) for group in groups)
            + ")"
        )
        head = (
            f"live lag, views on {lag.get('backend', 'sqlite')}{runners} "
            f"({args.writer_processes} writer processes of {args.writers} threads): "
            f"{lag['commands_per_second']:.0f} commands/s "
            f"({lag['events_per_second']:.0f} events/s) achieved of {args.rate} "
            f"asked"
        )
    line = f"{head}; p50 {ms('p50_ms')} ms, p99 {ms('p99_ms')} ms"
    line += f", max {ms('max_ms')} ms"
    if "steady_p99_ms" in lag:
        line += f"\n  after the first {WARMUP_S:g} s: p50 {ms('steady_p50_ms')} ms, "
        line += f"p99 {ms('steady_p99_ms')} ms, max {ms('steady_max_ms')} ms"
    if not args.lag_in_process:
        line += f"\n  saves: p50 {ms('save_p50_ms')} ms, p99 {ms('save_p99_ms')} ms"
        line += f" sent to acknowledged; p50 {ms('late_p50_ms')} ms, p99 "
        line += f"{ms('late_p99_ms')} ms due to acknowledged"
        what = "runner process" if len(groups) < 2 else "runner processes together"
        line += (
            f"\n  {what}: {lag['runner_cpu_ms_per_event']:.2f} ms CPU per "
            f"event, {lag['runner_cores']:.2f} cores"
        )
        if lag.get("burst_events"):
            line += (
                f"\n  before the clock: {lag['burst_events']:,.0f} events saved in "
                f"bulk, held by every view {lag['burst_seconds']:.1f} s after the "
                "writers started"
            )
        if lag.get("stages"):
            line += "\n  p50/p99 ms by stage: " + ", ".join(
                f"{name} {each.get('p50_ms', 0):.0f}/{each.get('p99_ms', 0):.0f}"
                for name, each in lag["stages"].items()
            )
        if lag.get("batches"):
            line += "\n  batches applied: count, mean events, p50/p99 ms each: " + (
                ", ".join(
                    f"{name} {each['count']} x {each['events_mean']:.1f} "
                    f"{each.get('p50_ms', 0):.0f}/{each.get('p99_ms', 0):.0f}"
                    for name, each in lag["batches"].items()
                )
            )
        if lag["commands_per_second"] < 0.95 * args.rate:
            line += "\n  the writer fell short of the asked rate"
        if lag["missing"]:
            line += f"\n  {lag['missing']} (event, view) pairs never seen"
        if lag["errors"]:
            line += f"\n  writer errors: {lag['errors'][:3]}"
    return line


# --- main ----------------------------------------------------------------------------


def machine_ticks() -> list[int]:
    """The machine's CPU time so far, all cores, from ``/proc/stat``'s ``cpu``
    line, in clock ticks: user, nice, system, idle, iowait, irq, softirq, steal
    (empty where there is no such file)."""
    try:
        with open("/proc/stat") as file:
            fields = file.readline().split()
    except OSError:
        return []
    return [int(value) for value in fields[1:9]]


def machine_line(before: list[int], after: list[int]) -> str:
    """How busy the machine's cores were between two readings, and how much of
    their time the hypervisor gave to other machines (steal): a slow spell with
    much steal is other work on the same host, not this code."""
    if len(before) < 8 or len(after) < 8:
        return "machine: no /proc/stat here"
    used = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(used) or 1
    busy = total - used[3] - used[4] - used[7]
    return (
        f"machine ({os.cpu_count()} cores) over the run: {busy / total:.0%} busy, "
        f"{used[4] / total:.1%} waiting for I/O, {used[7] / total:.1%} stolen "
        "by the hypervisor"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="50,000 events, 3 s lag")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1/test"),
    )
    parser.add_argument(
        "--lag-seconds", type=float, help="live lag: seconds of writing (10; quick: 3)"
    )
    parser.add_argument("--rate", type=int, default=500, help="live lag: commands/s")
    parser.add_argument(
        "--lag-backends",
        default="sqlite,postgres",
        help=(
            "live lag: the view backends to run the runner on, one after the other "
            "(sqlite, postgres; sqlite:commit checkpoints SQLite's WAL in the "
            "commits, as before the store's checkpoint thread)"
        ),
    )
    parser.add_argument(
        "--writers", type=int, default=16, help="live lag: threads per writer process"
    )
    parser.add_argument(
        "--writer-processes",
        type=int,
        default=2,
        help="live lag: writer processes (each with --writers threads)",
    )
    parser.add_argument(
        "--lockstep",
        action="store_true",
        help="live lag: every writer thread starts at its album's first command",
    )
    parser.add_argument(
        "--lag-in-process",
        action="store_true",
        help="live lag measured the earlier way: commands submitted in this process",
    )
    parser.add_argument(
        "--lag-only", action="store_true", help="only the live lag (no history)"
    )
    parser.add_argument(
        "--lag-processes",
        type=int,
        default=1,
        help="live lag: runner processes sharing the views out between them, as "
        "projection workers of one PostgreSQL schema (1: one runner for all)",
    )
    parser.add_argument(
        "--lag-groups",
        default="",
        help="live lag: the views of each runner process instead, e.g. "
        "'timeline,decision_log,progress|cost_ledger,credits'",
    )
    parser.add_argument(
        "--backlog",
        type=int,
        default=None,
        help="restart: events written while the views are stopped "
        "(40,000; quick: 10,000)",
    )
    parser.add_argument(
        "--restart-only",
        action="store_true",
        help="only the restart on a backlog (views on each of --lag-backends)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="rebuild processes of the parallel rebuild (default: one per core)",
    )
    parser.add_argument("--child-rebuild", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--nats-url", help=argparse.SUPPRESS)
    parser.add_argument("--stream", default="bench_projections", help=argparse.SUPPRESS)
    parser.add_argument("--child-writer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--project", default="lag", help=argparse.SUPPRESS)
    parser.add_argument("--writer-index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--child-views", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--views-dir", help=argparse.SUPPRESS)
    parser.add_argument("--schema", default="", help=argparse.SUPPRESS)
    parser.add_argument("--views", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.lag_processes < 1:
        parser.error("--lag-processes must be at least 1")
    if args.lag_groups:
        named = [n for group in args.lag_groups.split("|") for n in group.split(",")]
        unknown = sorted(set(named) - set(view_names()))
        if unknown or len(named) != len(set(named)):
            parser.error(
                f"--lag-groups: each view at most once, among {', '.join(view_names())}"
                + (f" (unknown: {', '.join(unknown)})" if unknown else " (repeated)")
            )
    if args.child_rebuild:
        child_rebuild(args)
        return
    if args.child_views:
        child_views(args)
        return
    if args.child_writer:
        child_writer(args)
        return
    if args.quick:
        args.events = 50_000
    if args.lag_seconds is None:
        args.lag_seconds = 3.0 if args.quick else 10.0
    if args.backlog is None:
        args.backlog = 10_000 if args.quick else 40_000

    from session_log.embedded import EmbeddedNATS

    ticks = machine_ticks()
    with EmbeddedNATS() as server:
        args.nats_url = server.url
        lag_backends = [b for b in args.lag_backends.split(",") if b]
        if args.lag_only:
            for backend in lag_backends:
                print(lag_line(measure_lag(args, backend), args))
            print(machine_line(ticks, machine_ticks()))
            return
        if args.restart_only:
            for backend in lag_backends:
                print("\n".join(restart_on_backlog(args, backend)), flush=True)
            print(machine_line(ticks, machine_ticks()))
            return
        app = jetstream_app(server.url, args.stream)
        print(f"generating {args.events:,} events ...", flush=True)
        written, write_rate, projects = generate(app, args.events)
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
            for workers in sorted({1, args.workers}):
                label = f"rebuild all views -> {backend}, {workers} process"
                label += "es" if workers > 1 else ""
                print(f"{label} ...", flush=True)
                result = rebuild_in_child(args, backend, workers)
                if "error" in result:
                    rows.append((label, "error", "", str(result["error"])))
                    continue
                rows.append(
                    (
                        label,
                        f"{result['events_per_second']:,.0f}",
                        f"{result['peak_rss_mb']:,.0f}",
                        f"{result['events_per_second'] / raw:.2f}",
                    )
                )
        lags = [measure_lag(args, backend) for backend in lag_backends]
        restarts = [
            line
            for backend in lag_backends
            for line in restart_on_backlog(args, backend)
        ]

    print()
    print(f"events: {written:,} over {projects:,} projects, 5 views")
    print(f"{'workload':<50} {'events/s':>12} {'peak MB':>8} {'vs raw':>8}")
    for name, rate, mb, ratio in rows:
        print(f"{name:<50} {rate:>12} {mb:>8} {ratio:>8}")
    for lag in lags:
        print()
        print(lag_line(lag, args))
    print()
    print("\n".join(restarts))
    print(machine_line(ticks, machine_ticks()))


if __name__ == "__main__":
    main()
