"""Instructions a rebuild worker spends per event, counted (not timed).

Run:  python benchmarks/bench_instructions.py [--events 10000]
      [--against REV] [--views timeline,decision_log,...]

The two-core machines this project is measured on are shared: the same CPU
work took 44 to 72 us an event in consecutive runs on one afternoon, so a
change worth a few percent cannot be seen in timings. ``valgrind
--tool=callgrind`` counts the instructions a process executes instead, which
is repeatable for the same code and input whatever else the machine does.

No NATS: the demo album's stored events are copied under project ids
``p00001``... as ``bench_projections.py`` writes them, and the first
``--events`` of that stream are made into records (``records_of``, as a
worker decodes its feed) and applied in pages of 1,000 to fresh shadow views
in a scratch SQLite file (``apply_to_each``), as a parallel rebuild's worker
does. A run that makes the same events and applies none (imports, the
application, the views' tables, making the events) is subtracted, so the
figure is the worker's own path per event; a third run that only makes the
records (no views) gives the decoding's share. Every run has
``PYTHONHASHSEED=0`` (string hashes, and so dict and set layouts, the same
each run): two runs of the same code give the same count.

``--against REV`` also counts a git revision of this repository, checked out
in a temporary worktree, and prints both and the ratio: the baseline is that
revision, counted the same way in the same run. Each count runs under
valgrind (about 50 times slower than without: some minutes for 10,000 events).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PAGE = 1000

GIT = ("git", "-C", str(ROOT))


MODES = ("none", "records", "views")
"""What a counted run does with its events after making them: nothing (the
baseline), records only (``records_of``), records applied to the views."""


def child(root: Path, events: int, mode: str) -> None:
    """Make ``events`` stored events and do ``mode`` with them the way a worker
    does, with ``root``'s code (run under valgrind)."""
    sys.path[:0] = [str(root / "src"), str(root), str(root / "benchmarks")]
    from bench_projections import copy_for, template
    from eventsourcing.persistence import Notification

    from projections import SQLiteViewStore, view_names
    from projections.errors import PoisonEventError
    from projections.replay import apply_to_each, fewer_collections, records_of
    from session_log.application import SessionLog

    names = [n for n in os.environ.get("BENCH_VIEWS", "").split(",") if n]
    base = template()
    stored = []
    project = 0
    while len(stored) < events:
        project += 1
        stored.extend(copy_for(base, f"p{project:05d}")[: events - len(stored)])
    notifications = [
        Notification(
            id=position,
            originator_id=e.originator_id,
            originator_version=e.originator_version,
            topic=e.topic,
            state=e.state,
        )
        for position, e in enumerate(stored, start=1)
    ]
    app = SessionLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteViewStore(
            os.path.join(folder, "part.db"), pool_size=1, durable=False
        )
        shadows = {n: store.fresh_view(n, "part") for n in names or view_names()}
        counts = dict.fromkeys(shadows, 0)
        failed: dict[str, PoisonEventError] = {}
        with fewer_collections():
            for start in range(0, len(notifications) if mode != "none" else 0, PAGE):
                batch = records_of(app.mapper, notifications[start : start + PAGE], "b")
                if mode == "views":
                    apply_to_each(shadows, batch, counts, failed)
        store.close()
    app.close()
    if mode == "views" and (failed or any(n != events for n in counts.values())):
        sys.exit(f"not every event applied: {counts}, failed {sorted(failed)}")


def count(root: Path, events: int, views: str, mode: str) -> int:
    """Instructions of a run of ``root``'s code making ``events`` events and
    doing ``mode`` with them."""
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "callgrind.out")
        env = {**os.environ, "BENCH_VIEWS": views, "PYTHONDONTWRITEBYTECODE": "1"}
        env["PYTHONHASHSEED"] = "0"  # the same hashes (and dict layouts) each run
        run = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--child",
                str(events),
                "--mode",
                mode,
                "--root",
                str(root),
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        found = re.search(r"Collected : (\d+)", run.stderr)
        if run.returncode != 0 or found is None:
            sys.exit(f"{root} ({mode}) failed:\n{run.stderr[-2000:]}")
        return int(found.group(1))


def per_event(root: Path, events: int, views: str) -> tuple[float, float]:
    """Instructions per event of the worker's path and of its records alone."""
    base, records, applied = (count(root, events, views, m) for m in MODES)
    return (applied - base) / events, (records - base) / events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--against", help="a git revision to count as the baseline")
    parser.add_argument("--views", default="", help="these views only (default: all)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.root, args.child, args.mode)
        return
    if args.events < 1:
        parser.error("--events must be at least 1")
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    from projections import view_names

    unknown = sorted({v for v in args.views.split(",") if v} - set(view_names()))
    if unknown:
        parser.error(
            f"--views: unknown {', '.join(unknown)} (views: {', '.join(view_names())})"
        )
    rows = [("this checkout", per_event(ROOT, args.events, args.views))]
    if args.against:
        with tempfile.TemporaryDirectory() as folder:
            tree = Path(folder) / "baseline"
            subprocess.run(
                [*GIT, "worktree", "add", "--detach", "-q", str(tree), args.against],
                check=True,
            )
            try:
                rows.insert(0, (args.against, per_event(tree, args.events, args.views)))
            finally:
                subprocess.run(
                    [*GIT, "worktree", "remove", "--force", str(tree)],
                    check=False,
                )
    first = rows[0][1]
    print(f"worker path, {args.events:,} events, views: {args.views or 'all'}")
    print("instructions per event (records: decoding the feed into records)")
    head = ("code", "whole path", "vs first", "records", "vs first")
    print("{:<24} {:>12} {:>9} {:>10} {:>9}".format(*head))
    for name, (path, records) in rows:
        print(
            f"{name:<24} {path:>12,.0f} {path / first[0]:>9.3f} "
            f"{records:>10,.0f} {records / first[1]:>9.3f}"
        )


if __name__ == "__main__":
    main()
