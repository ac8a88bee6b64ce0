"""Filling rebuild shadows in several processes, one slice of projects each.

Every view keeps its rows per project (an aggregate id is
``project.kind.local`` and a decision names only things of its own project), so
the stream can be cut by project: worker ``i`` of ``n`` applies, in stream order,
the decisions of the projects whose CRC-32 is ``i`` modulo ``n`` (ids of another
shape go to worker 0). The rebuild's process reads the stream once, up to the
target position, and feeds each worker its part (:mod:`projections.part_feed`);
each worker decodes and applies its part into shadow views in a scratch SQLite
file of its own; the rebuild then merges the files into its shadows, records the
target as their position and goes on as a one-process rebuild does (catch up,
swap).

Workers are separate processes (``python -m projections.parallel``, told what to
do as one line of JSON on their standard input, fed after it, reporting their
position and result on their standard output), so the views are applied on
every core instead of one thread holding the GIL. Each constructs the
application again from its class and environment, for its mapper (the
transcoder, cipher and compressor of the stream); it reads nothing itself. An
in-memory (POPO) application is rebuilt in one process.
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
from typing import IO, Any, NoReturn

import msgspec
from eventsourcing.application import Application
from eventsourcing.utils import get_topic, resolve_topic

from projections.errors import PoisonEventError, ProjectionError
from projections.failures import Failure
from projections.part_feed import FeedEndedError, PartFeed, read_frames
from projections.part_feed import frame as feed_frame
from projections.replay import (
    Progress,
    apply_to_each,
    fewer_collections,
    notification_pages,
    records_of,
)
from projections.stores import SQLiteViewStore

POLL_S = 0.25
"""How often the rebuild reports the workers' progress."""

ORPHAN_CHECK_S = 0.5
"""How often a worker checks that the rebuild that started it still runs."""

STALL_S = 30.0
"""A rebuild whose reading makes no progress towards the target for this long
fails (the stream holds the target: it was its last position when the rebuild
started)."""

WORKER_STALL_S = 30.0
"""A rebuild with a worker that applies nothing of what it was fed for this
long fails (a frame takes a second at most)."""

WORKER_START_S = 120.0
"""The same for a worker that has not yet said it is ready (its imports, the
application and its scratch file take a second or two)."""

ROUTES_MAX = 100_000
"""Aggregates whose worker the reader remembers (an aggregate's events are many;
its part is computed once)."""


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
    """The application's class, constructed again for its mapper."""
    env: dict[str, str]
    names: list[str]
    source: str
    path: str
    """The worker's scratch SQLite file."""
    part: int
    parts: int
    prefix: str


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
    Raises :class:`PartFailedError` if a worker fails or hangs, or reading the
    stream stalls short of ``target`` (the workers are stopped).
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    specs = [
        PartSpec(
            app_topic=get_topic(type(app)),
            env={str(k): str(v) for k, v in app.env.items()},
            names=names,
            source=source,
            path=os.path.join(folder, f"part-{part}.db"),
            part=part,
            parts=workers,
            prefix=prefix,
        )
        for part in range(workers)
    ]
    workers_ = [_Worker(spec, env) for spec in specs]
    reported = [0.0]

    def check() -> None:
        """Raise if a worker failed; report progress every :data:`POLL_S`."""
        for worker in workers_:
            worker.check()
        now = time.monotonic()
        if progress is not None and now - reported[0] >= POLL_S:
            reported[0] = now
            progress(min(w.position for w in workers_), target)

    try:
        _feed(
            app,
            workers_,
            source=source,
            target=target,
            batch_size=batch_size,
            check=check,
        )
        while any(w.running() for w in workers_):
            check()
            time.sleep(POLL_S)
        for worker in workers_:
            worker.check()
        if progress is not None:
            progress(target, target)
        return [worker.result() for worker in workers_]
    finally:
        for worker in workers_:
            worker.stop()


def _feed(
    app: Application[Any],
    workers: list[_Worker],
    *,
    source: str,
    target: int,
    batch_size: int,
    check: Callable[[], None],
) -> None:
    """Read the stream up to ``target`` and write each worker its part, then
    the end of its feed. A page can end short of the target (a stream replica
    that is behind answered it): read on from where it ended, until the target."""
    parts = len(workers)
    routes: dict[object, int] = {}
    position = 0
    stalled = time.monotonic()
    with fewer_collections():
        while position < target:
            before = position
            for reached, page in notification_pages(
                app, after=position, stop=target, batch_size=batch_size
            ):
                split: list[list[Any]] = [[] for _ in workers]
                for notification in page:
                    originator_id = notification.originator_id
                    part = routes.get(originator_id)
                    if part is None:
                        if len(routes) >= ROUTES_MAX:
                            routes.clear()
                        part = routes[originator_id] = part_of(originator_id, parts)
                    split[part].append(notification)
                for worker, mine in zip(workers, split, strict=True):
                    worker.send(reached, mine, check)
                position = reached
                check()
            if position > before:
                stalled = time.monotonic()
            elif time.monotonic() - stalled > STALL_S:
                msg = (
                    f"reading {source!r} stopped at {position}, "
                    f"before the rebuild's target {target}"
                )
                raise PartFailedError(msg)
            else:
                check()
                time.sleep(0.05)
    for worker in workers:
        worker.feed.close(check)


class _Worker:
    """One worker process and what it has said so far."""

    def __init__(self, spec: PartSpec, env: dict[str, str]) -> None:
        self.spec = spec
        self.position = 0
        """The position the worker has applied up to (it says so per frame)."""
        self.fed = 0
        """The position the worker has been fed up to (its frames queued,
        :meth:`send`)."""
        self.reports = 0
        """How many times the worker has said where it is (first: ready, at 0)."""
        self._seen = 0
        self._moved = time.monotonic()
        self._result: PartResult | None = None
        self._errors: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "projections.parallel"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        stdin = self.process.stdin
        assert stdin is not None
        _widen(stdin)
        stdin.write(msgspec.json.encode(spec) + b"\n")
        stdin.flush()
        self.feed = PartFeed(stdin)
        """What the worker is fed after its task (the rest of its input)."""
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
                self.reports += 1
            elif kind == b"done":
                self._result = msgspec.json.decode(body, type=PartResult)

    def _read_err(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._errors = [*self._errors[-19:], line.decode(errors="replace")]

    def running(self) -> bool:
        return self.process.poll() is None

    def check(self) -> None:
        """Raise :class:`PartFailedError` if the worker failed, or has applied
        nothing of what it was fed for :data:`STALL_S` (hung)."""
        code = self.process.poll()
        if code is not None and code != 0:
            for reader in self._readers:
                reader.join(5)
            detail = "".join(self._errors).strip() or f"exit status {code}"
            msg = (
                f"rebuild worker {self.spec.part} of {self.spec.parts} failed: {detail}"
            )
            raise PartFailedError(msg)
        now = time.monotonic()
        if self.reports != self._seen:
            self._seen, self._moved = self.reports, now
            return
        limit = WORKER_STALL_S if self.reports else WORKER_START_S
        if self.position < self.fed and now - self._moved > limit:
            doing = "applied nothing" if self.reports else "did not start"
            msg = (
                f"rebuild worker {self.spec.part} of {self.spec.parts} {doing} "
                f"for {limit:g} s (at {self.position}, fed up to {self.fed})"
            )
            raise PartFailedError(msg)

    def send(
        self, position: int, notifications: list[Any], check: Callable[[], None]
    ) -> None:
        """Feed the worker ``notifications``, the read having reached
        ``position`` (``check`` is called while the feed is full)."""
        self.feed.put(feed_frame(position, notifications), check)
        self.fed = position

    def result(self) -> PartResult:
        self.process.wait()
        for reader in self._readers:
            reader.join(5)
        if self._result is None:
            msg = f"rebuild worker {self.spec.part} of {self.spec.parts} gave no result"
            raise PartFailedError(msg)
        return self._result

    def stop(self) -> None:
        """Kill the process if it still runs (dropping what its feed still
        holds); close its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.feed.abandon()
        self.process.wait()
        for reader in self._readers:
            reader.join(5)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


def _widen(pipe: IO[bytes]) -> None:
    """Give ``pipe`` a 1 MiB buffer where Linux allows it (fewer wake-ups of
    the worker and the feed's writer than with the default 64 KiB)."""
    with contextlib.suppress(OSError, AttributeError, ValueError):
        import fcntl

        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)


def fill_part(
    spec: PartSpec, feed: IO[bytes], report: Callable[[int], None]
) -> PartResult:
    """Worker side: apply the decisions of ``feed`` (this part's, in stream
    order, up to the target), reporting position 0 once ready, then the
    position reached after each frame."""
    app: Application[Any] = resolve_topic(spec.app_topic)(env=spec.env)
    store = SQLiteViewStore(spec.path, prefix=spec.prefix, pool_size=1, durable=False)
    events = dict.fromkeys(spec.names, 0)
    failed: dict[str, PoisonEventError] = {}
    try:
        shadows = {name: store.fresh_view(name, "part") for name in spec.names}
        report(0)  # ready
        with fewer_collections():
            for position, notifications in read_frames(feed):
                if notifications:
                    batch = records_of(app.mapper, notifications, spec.source)
                    apply_to_each(shadows, batch, events, failed)
                report(position)
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


def _abandon(path: str) -> NoReturn:
    """Remove this worker's scratch file and end the process at once."""
    for name in (path, f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        with contextlib.suppress(OSError):
            os.remove(name)
    os._exit(3)


def _main() -> None:
    parent = os.getppid()
    feed = sys.stdin.buffer
    spec = msgspec.json.decode(feed.readline(), type=PartSpec)
    threading.Thread(
        target=_exit_with_parent, args=(parent, spec.path), daemon=True
    ).start()

    def say(line: bytes) -> None:
        try:
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()
        except OSError:  # the rebuild's process is gone: nobody reads on
            _abandon(spec.path)

    try:
        result = fill_part(spec, feed, lambda position: say(b"at %d\n" % position))
    except FeedEndedError:  # the rebuild's process is gone
        _abandon(spec.path)
    say(b"done " + msgspec.json.encode(result) + b"\n")


if __name__ == "__main__":
    _main()
