"""What applying a batch costs each view, per event: live-sized batches against
rebuild-sized ones.

Run:  python benchmarks/bench_view_batches.py [--projects 32] [--events 4000]
      [--small 20] [--large 2000] [--backends sqlite,postgres]
      [--pg-url postgresql://postgres@127.0.0.1/test]

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
PostgreSQL).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
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


def per_event(
    store: ViewStore, name: str, prefix: list[Any], timed: list[Any], batch: int
) -> tuple[float, float]:
    """Microseconds and reads per timed event."""
    view = store.view(name)
    for i in range(0, len(prefix), PREFIX_BATCH):
        view.apply_events(prefix[i : i + PREFIX_BATCH])
    clock = time.process_time if not isinstance(store, PostgresViewStore) else None
    tick = clock or time.perf_counter
    READS[0] = 0
    started = tick()
    for i in range(0, len(timed), batch):
        view.apply_events(timed[i : i + batch])
    took = tick() - started
    return took / len(timed) * 1e6, READS[0] / len(timed)


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
    args = parser.parse_args()
    count_reads()
    prefix, timed = workload(args.projects, args.events)
    print(
        f"{len(prefix):,} events applied first, {len(timed):,} timed, "
        f"{args.projects} projects; batches of {args.small} vs {args.large}"
    )
    head = ("backend", "view", "small us/ev", "large us/ev", "ratio", "reads/ev")
    print("{:10} {:14} {:>12} {:>12} {:>6} {:>9}".format(*head))
    for backend in [b for b in args.backends.split(",") if b]:
        totals = [0.0, 0.0, 0.0]
        for name in view_names():
            figures: list[tuple[float, float]] = []
            for batch in (args.small, args.large):
                with tempfile.TemporaryDirectory() as tmp:
                    store = open_backend(backend, args.pg_url, tmp)
                    try:
                        figures.append(per_event(store, name, prefix, timed, batch))
                    finally:
                        if isinstance(store, PostgresViewStore):
                            store.drop_schema()
                        store.close()
            (small, reads), (large, _) = figures
            totals[0] += small
            totals[1] += large
            totals[2] += reads
            ratio = small / large
            print(
                f"{backend:10} {name:14} {small:12.1f} {large:12.1f} {ratio:6.2f} "
                f"{reads:9.3f}"
            )
        print(
            f"{backend:10} {'all views':14} {totals[0]:12.1f} {totals[1]:12.1f} "
            f"{totals[0] / totals[1]:6.2f} {totals[2]:9.3f}"
        )


if __name__ == "__main__":
    main()
