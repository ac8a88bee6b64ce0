"""Filling rebuild shadows in several processes, one slice of projects each.

Every view keeps its rows per project (an aggregate id is
``project.kind.local`` and a decision names only things of its own project), so
the stream can be cut by project: worker ``i`` of ``n`` applies, in stream order,
the decisions of the projects whose CRC-32 is ``i`` modulo ``n`` (ids of another
shape go to worker 0) and skips the others before decoding them. Each worker
reads the stream itself (its own connection, its own decoding) up to the same
target position and fills shadow views in a scratch SQLite file of its own;
the rebuild then merges the files into its shadows, records the target as their
position and goes on as a one-process rebuild does (catch up, swap).

Workers are separate processes (``python -m projections.parallel``, told what to
do as JSON on their standard input, reporting their position and result on their
standard output), so the views are applied on every core instead of one thread
holding the GIL. They need a stream another process can read: the application
is constructed again in each worker from its class and environment, so
in-memory (POPO) applications are rebuilt in one process.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

import msgspec
from eventsourcing.application import Application
from eventsourcing.utils import get_topic, resolve_topic

from projections.errors import PoisonEventError, ProjectionError
from projections.failures import Failure
from projections.replay import (
    Progress,
    apply_to_each,
    fewer_collections,
    read_batches,
)
from projections.stores import SQLiteViewStore

POLL_S = 0.25
"""How often the rebuild reports the workers' progress."""

ORPHAN_CHECK_S = 0.5
"""How often a worker checks that the rebuild that started it still runs."""

STALL_S = 30.0
"""A worker whose reading makes no progress towards the target for this long
fails (the stream holds the target: it was its last position when the rebuild
started)."""


PARALLEL_FROM = 50_000
"""Streams shorter than this are rebuilt in one process by default (starting the
workers costs about a second)."""

MAX_WORKERS = 8


def auto_workers(events: int) -> int:
    """The default number of rebuild processes for a stream of ``events``: one per
    core (at most :data:`MAX_WORKERS`) from :data:`PARALLEL_FROM` events."""
    if events < PARALLEL_FROM:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


class PartResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one worker did: its scratch file, events applied and failures per view."""

    path: str
    events: dict[str, int]
    failures: dict[str, Failure]


def can_split(app: Application[Any]) -> bool:
    """Whether worker processes can read ``app``'s stream (not an in-memory one)."""
    return not type(app.recorder).__module__.startswith("eventsourcing.popo")


def part_of(originator_id: object, parts: int) -> int:
    """The worker (of ``parts``) that applies the decisions of this aggregate."""
    text = str(originator_id)
    project = text.split(".", 1)[0] if text.count(".") == 2 else ""
    return zlib.crc32(project.encode()) % parts


class PartSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What a worker is asked to do (sent as JSON on its standard input)."""

    app_topic: str
    env: dict[str, str]
    names: list[str]
    source: str
    target: int
    path: str
    part: int
    parts: int
    prefix: str
    batch_size: int


class PartFailedError(ProjectionError):
    """A rebuild worker process failed (its last error lines are in the message)."""


def fill_parts(
    app: Application[Any],
    names: list[str],
    *,
    source: str,
    target: int,
    folder: str,
    workers: int,
    prefix: str = "",
    batch_size: int = 1000,
    progress: Progress | None = None,
) -> list[PartResult]:
    """Fill ``names``' shadows up to ``target`` in ``workers`` processes.

    Returns one result per worker (its scratch SQLite file holds shadows named
    as :meth:`~projections.stores.ViewStore.fresh_view` ``(name, "part")``).
    Raises :class:`PartFailedError` if a worker fails (the others are stopped).
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    specs = [
        PartSpec(
            app_topic=get_topic(type(app)),
            env={str(k): str(v) for k, v in app.env.items()},
            names=names,
            source=source,
            target=target,
            path=os.path.join(folder, f"part-{part}.db"),
            part=part,
            parts=workers,
            prefix=prefix,
            batch_size=batch_size,
        )
        for part in range(workers)
    ]
    workers_ = [_Worker(spec, env) for spec in specs]
    try:
        while any(w.running() for w in workers_):
            for worker in workers_:
                worker.check()
            if progress is not None:
                progress(min(w.position for w in workers_), target)
            time.sleep(POLL_S)
        for worker in workers_:
            worker.check()
        if progress is not None:
            progress(target, target)
        return [worker.result() for worker in workers_]
    finally:
        for worker in workers_:
            worker.stop()


class _Worker:
    """One worker process and what it has said so far."""

    def __init__(self, spec: PartSpec, env: dict[str, str]) -> None:
        self.spec = spec
        self.position = 0
        self._result: PartResult | None = None
        self._errors: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "projections.parallel"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert self.process.stdin is not None
        self.process.stdin.write(msgspec.json.encode(spec))
        self.process.stdin.close()
        self._readers = [
            threading.Thread(target=self._read_out, daemon=True),
            threading.Thread(target=self._read_err, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_out(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            kind, _, body = line.partition(b" ")
            if kind == b"at":
                self.position = int(body)
            elif kind == b"done":
                self._result = msgspec.json.decode(body, type=PartResult)

    def _read_err(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._errors = [*self._errors[-19:], line.decode(errors="replace")]

    def running(self) -> bool:
        return self.process.poll() is None

    def check(self) -> None:
        code = self.process.poll()
        if code is not None and code != 0:
            for reader in self._readers:
                reader.join(5)
            detail = "".join(self._errors).strip() or f"exit status {code}"
            msg = (
                f"rebuild worker {self.spec.part} of {self.spec.parts} failed: {detail}"
            )
            raise PartFailedError(msg)

    def result(self) -> PartResult:
        self.process.wait()
        for reader in self._readers:
            reader.join(5)
        if self._result is None:
            msg = f"rebuild worker {self.spec.part} of {self.spec.parts} gave no result"
            raise PartFailedError(msg)
        return self._result

    def stop(self) -> None:
        """Kill the process if it still runs; close its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for reader in self._readers:
            reader.join(5)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


def fill_part(spec: PartSpec, report: Callable[[int], None]) -> PartResult:
    """Worker side: apply this part's decisions up to the target, in stream order."""
    app: Application[Any] = resolve_topic(spec.app_topic)(env=spec.env)
    store = SQLiteViewStore(spec.path, prefix=spec.prefix, pool_size=1, durable=False)
    events = dict.fromkeys(spec.names, 0)
    failed: dict[str, PoisonEventError] = {}
    parts, part = spec.parts, spec.part

    def mine(originator_id: object) -> bool:
        return part_of(originator_id, parts) == part

    reached = [0]

    def read_to(position: int) -> None:
        reached[0] = position
        report(position)

    try:
        shadows = {name: store.fresh_view(name, "part") for name in spec.names}
        stalled = time.monotonic()
        with fewer_collections():
            # A page can end short of the target (a stream replica that is
            # behind answered it): read on from where it ended, until the target.
            while reached[0] < spec.target:
                before = reached[0]
                for batch in read_batches(
                    app,
                    source=spec.source,
                    after=before,
                    stop=spec.target,
                    batch_size=spec.batch_size,
                    records=True,
                    select=mine,
                    on_read=read_to,
                    bulk=True,
                ):
                    apply_to_each(shadows, batch, events, failed)
                if reached[0] > before:
                    stalled = time.monotonic()
                elif time.monotonic() - stalled > STALL_S:
                    msg = (
                        f"reading {spec.source!r} stopped at {reached[0]}, "
                        f"before the rebuild's target {spec.target}"
                    )
                    raise PartFailedError(msg)
                else:
                    time.sleep(0.05)
        failures = {name: error.failure for name, error in failed.items()}
        return PartResult(path=spec.path, events=events, failures=failures)
    finally:
        store.close()
        app.close()


def _exit_with_parent(parent: int, path: str) -> None:
    """End this worker once the rebuild's process is gone (killed, it cannot
    stop its workers itself)."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_S)
    _abandon(path)


def _abandon(path: str) -> None:
    """Remove this worker's scratch file and end the process at once."""
    for name in (path, f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        with contextlib.suppress(OSError):
            os.remove(name)
    os._exit(3)


def _main() -> None:
    parent = os.getppid()
    spec = msgspec.json.decode(sys.stdin.buffer.read(), type=PartSpec)
    threading.Thread(
        target=_exit_with_parent, args=(parent, spec.path), daemon=True
    ).start()

    def say(line: bytes) -> None:
        try:
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()
        except OSError:  # the rebuild's process is gone: nobody reads on
            _abandon(spec.path)

    result = fill_part(spec, lambda position: say(b"at %d\n" % position))
    say(b"done " + msgspec.json.encode(result) + b"\n")


if __name__ == "__main__":
    _main()
