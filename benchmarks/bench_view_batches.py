"""What applying a batch costs each view, per event: live-sized batches against
rebuild-sized ones.

Run:  python benchmarks/bench_view_batches.py [--projects 32] [--events 4000]
      [--small 20] [--large 2000] [--backends sqlite,postgres]
      [--pg-url postgresql://postgres@127.0.0.1/test] [--threads-vs-one] [--cpu]

No NATS: the demo album is recorded in memory, copied under ``--projects``
project ids, and each copy is taken up at a different point of the album (the
commands before it applied first, in big batches, untimed), so that the
``--events`` timed events interleave projects at every stage, as a live runner
sees them at 500 commands/s. Each view then applies those events in batches of
``--small`` events (what a live view applies per transaction at about 1,000
events/s) and, on a second copy of the same store, of ``--large`` (the
baseline: a rebuild's batches). Prints microseconds per event (CPU time on
SQLite, wall time on PostgreSQL, whose server works in other processes) and
the ratio small/large, per view and backend, and the reads per event in the
small batches (statements that wait for their reply: a round trip each on
PostgreSQL). With ``--cpu``, PostgreSQL's figures are CPU time instead: this
process's (the client: the views' code, psycopg) and, on a line of its own,
the server's (every process named ``postgres`` on this machine, read from
``/proc``: the backends, the WAL writer, the checkpointer ...), so run it
where PostgreSQL has no other work.

``--threads-vs-one`` instead applies the timed events to all five views of one
store in ``--small`` batches, as a live runner does (a thread per view, whose
write transactions the store serialises on SQLite) and, as its baseline, in
one thread taking the views in turn; alternating ``--rounds`` times. Prints
the CPU time (of the process) and wall time per event of each run and the
ratio of the medians, thread per view over one thread.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT), str(ROOT / "benchmarks")]

from bench_projections import by_command, copy_for, open_backend, template  # noqa: E402
from eventsourcing.persistence import Tracking  # noqa: E402

from projections import view_names  # noqa: E402
from projections.records import as_record  # noqa: E402
from projections.sql_view import Db  # noqa: E402
from projections.stores import PostgresViewStore, ViewStore  # noqa: E402
from session_log.application import SessionLog  # noqa: E402

PREFIX_BATCH = 2000


def workload(projects: int, events: int) -> tuple[list[Any], list[Any]]:
    """(the untimed prefix, the timed events), as records with tracking."""
    base = template()
    albums = [by_command(copy_for(base, f"q{k:03d}")) for k in range(projects)]
    length = len(albums[0])
    starts = [k * length // projects for k in range(projects)]
    prefix = [e for k in range(projects) for g in albums[k][: starts[k]] for e in g]
    timed: list[Any] = []
    at = list(starts)
    while len(timed) < events and any(i < length for i in at):
        for k in range(projects):
            if at[k] < length:
                timed.extend(albums[k][at[k]])
                at[k] += 1
    mapper = SessionLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper
    records = [
        as_record(mapper.to_domain_event(e), Tracking("bench", n))
        for n, e in enumerate(prefix + timed, start=1)
    ]
    return records[: len(prefix)], records[len(prefix) :]


READS = [0]
"""Reads made by views' code (``Db.row``, ``Db.rows``): each waits for its
reply, a round trip on PostgreSQL, where the writes of a batch are pipelined."""


def count_reads() -> None:
    for name in ("row", "rows"):
        method = getattr(Db, name)

        def counted(self: Db, *args: Any, _method: Any = method, **kw: Any) -> Any:
            READS[0] += 1
            return _method(self, *args, **kw)

        setattr(Db, name, counted)


def postgres_cpu() -> dict[int, float]:
    """CPU seconds (user and system) of every process named ``postgres`` on this
    machine, by process id (``/proc/<pid>/stat``)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as file:
                stat = file.read()
        except OSError:  # ended meanwhile
            continue
        if stat[stat.index("(") + 1 : stat.rindex(")")] != "postgres":
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    return found


def server_seconds(before: dict[int, float], after: dict[int, float]) -> float:
    """The CPU PostgreSQL's processes used between two readings (a process that
    started meanwhile counts whole)."""
    return sum(used - before.get(pid, 0.0) for pid, used in after.items())


def per_event(
    store: ViewStore,
    name: str,
    prefix: list[Any],
    timed: list[Any],
    batch: int,
    *,
    cpu: bool = False,
) -> tuple[float, float, float | None]:
    """Microseconds and reads per timed event; with ``cpu`` on PostgreSQL, the
    first figure is the client's CPU (not the wall time) and the third the
    server's CPU (None otherwise)."""
    view = store.view(name)
    for i in range(0, len(prefix), PREFIX_BATCH):
        view.apply_events(prefix[i : i + PREFIX_BATCH])
    postgres = isinstance(store, PostgresViewStore)
    tick = time.perf_counter if postgres and not cpu else time.process_time
    READS[0] = 0
    server = postgres_cpu() if postgres and cpu else None
    started = tick()
    for i in range(0, len(timed), batch):
        view.apply_events(timed[i : i + batch])
    took = tick() - started
    served = None
    if server is not None:
        served = server_seconds(server, postgres_cpu()) / len(timed) * 1e6
    return took / len(timed) * 1e6, READS[0] / len(timed), served


def all_views(
    backend: str,
    pg_url: str,
    prefix: list[Any],
    timed: list[Any],
    batch: int,
    *,
    threaded: bool,
) -> tuple[float, float]:
    """CPU and wall microseconds per timed event, applied to every view."""
    with tempfile.TemporaryDirectory() as tmp:
        store = open_backend(backend, pg_url, tmp)
        try:
            views = [store.view(name) for name in view_names()]
            for view in views:
                for i in range(0, len(prefix), PREFIX_BATCH):
                    view.apply_events(prefix[i : i + PREFIX_BATCH])
            cpu, wall = time.process_time(), time.perf_counter()
            if threaded:

                def follow(view: Any) -> None:
                    for i in range(0, len(timed), batch):
                        view.apply_events(timed[i : i + batch])

                threads = [threading.Thread(target=follow, args=(v,)) for v in views]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            else:
                for i in range(0, len(timed), batch):
                    for view in views:
                        view.apply_events(timed[i : i + batch])
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        finally:
            if isinstance(store, PostgresViewStore):
                store.drop_schema()
            store.close()
    return cpu / len(timed) * 1e6, wall / len(timed) * 1e6


def threads_vs_one(
    args: argparse.Namespace, prefix: list[Any], timed: list[Any]
) -> None:
    print(f"all views, batches of {args.small}, {args.rounds} alternating rounds")
    head = ("backend", "applied by", "round", "CPU us/ev", "wall us/ev")
    print("{:10} {:16} {:>5} {:>10} {:>10}".format(*head))
    for backend in [b for b in args.backends.split(",") if b]:
        runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for number in range(1, args.rounds + 1):
            for threaded in (True, False):
                cpu, wall = all_views(
                    backend, args.pg_url, prefix, timed, args.small, threaded=threaded
                )
                runs[threaded].append((cpu, wall))
                label = "thread per view" if threaded else "one thread"
                print(f"{backend:10} {label:16} {number:5} {cpu:10.1f} {wall:10.1f}")
        cpu_ratio = statistics.median(c for c, _ in runs[True]) / statistics.median(
            c for c, _ in runs[False]
        )
        wall_ratio = statistics.median(w for _, w in runs[True]) / statistics.median(
            w for _, w in runs[False]
        )
        print(
            f"{backend:10} thread per view / one thread (medians): "
            f"CPU {cpu_ratio:.2f}x, wall {wall_ratio:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=32)
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--small", type=int, default=20)
    parser.add_argument("--large", type=int, default=2000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1/test"),
    )
    parser.add_argument(
        "--threads-vs-one",
        action="store_true",
        help="all views: a thread per view against one thread taking them in turn",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="PostgreSQL: the client's and the server's CPU per event, not wall time",
    )
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    count_reads()
    prefix, timed = workload(args.projects, args.events)
    if args.threads_vs_one:
        threads_vs_one(args, prefix, timed)
        return
    print(
        f"{len(prefix):,} events applied first, {len(timed):,} timed, "
        f"{args.projects} projects; batches of {args.small} vs {args.large}"
    )
    if args.cpu:
        print("PostgreSQL: CPU time, the client's (this process) and the server's")
    head = ("backend", "view", "small us/ev", "large us/ev", "ratio", "reads/ev")
    print("{:10} {:18} {:>12} {:>12} {:>6} {:>9}".format(*head))
    for backend in [b for b in args.backends.split(",") if b]:
        sums: dict[str, list[float]] = {}
        reads_in_all = 0.0
        for name in view_names():
            figures: list[tuple[float, float, float | None]] = []
            for batch in (args.small, args.large):
                with tempfile.TemporaryDirectory() as tmp:
                    store = open_backend(backend, args.pg_url, tmp)
                    try:
                        figures.append(
                            per_event(store, name, prefix, timed, batch, cpu=args.cpu)
                        )
                    finally:
                        if isinstance(store, PostgresViewStore):
                            store.drop_schema()
                        store.close()
            (small, reads, small_server), (large, _, large_server) = figures
            reads_in_all += reads
            lines = [("", small, large)]
            if small_server is not None and large_server is not None:
                lines = [
                    ("client", small, large),
                    ("server", small_server, large_server),
                ]
            for part, at_small, at_large in lines:
                total = sums.setdefault(part, [0.0, 0.0])
                total[0] += at_small
                total[1] += at_large
                print(
                    f"{backend:10} {(name + ' ' + part).strip():18} {at_small:12.1f} "
                    f"{at_large:12.1f} {at_small / at_large:6.2f} {reads:9.3f}"
                )
        if len(sums) > 1:
            sums["together"] = [sum(t[i] for t in sums.values()) for i in (0, 1)]
        for part, (at_small, at_large) in sums.items():
            print(
                f"{backend:10} {('all views ' + part).strip():18} {at_small:12.1f} "
                f"{at_large:12.1f} {at_small / at_large:6.2f} {reads_in_all:9.3f}"
            )


if __name__ == "__main__":
    main()
