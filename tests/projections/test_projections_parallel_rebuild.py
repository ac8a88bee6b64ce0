"""Rebuilds filled by several worker processes equal one-process rebuilds.

The history is the demo album under three project ids, on a real nats-server;
the workers are real processes (``python -m projections.parallel``).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from eventsourcing.persistence import StoredEvent

from projections import ViewStore, parallel, part_feed, rebuild_views, view_names
from projections.errors import PoisonEventError
from projections.parallel import (
    PartFailedError,
    PartSpec,
    can_split,
    fill_part,
    part_of,
)
from projections.replay import records_of
from projections.stores import SQLiteViewStore
from session_log.application import SessionLog
from session_log.demo import DEMO_PROJECT, load_demo

PROJECTS = (DEMO_PROJECT, "harbour2", "harbour3")


def demo_events() -> list[StoredEvent]:
    app = SessionLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        load_demo(app)
        return [
            StoredEvent(
                originator_id=n.originator_id,
                originator_version=n.originator_version,
                topic=n.topic,
                state=n.state,
            )
            for n in app.recorder.select_notifications(1, 1_000_000)
        ]
    finally:
        app.close()


def under(events: list[StoredEvent], project: str) -> list[StoredEvent]:
    """The demo's events under another project id (ids in payloads included)."""
    pattern = re.compile(rb'"' + DEMO_PROJECT.encode() + rb'(?=[".])')
    return [
        StoredEvent(
            originator_id=str(e.originator_id).replace(
                f"{DEMO_PROJECT}.", f"{project}.", 1
            ),
            originator_version=e.originator_version,
            topic=e.topic,
            state=pattern.sub(b'"' + project.encode(), e.state),
        )
        for e in events
    ]


@pytest.fixture(scope="module")
def history(nats_url: str) -> Iterator[SessionLog]:
    app = SessionLog(
        env={
            "PERSISTENCE_MODULE": "session_log.jetstream",
            "NATS_URL": nats_url,
            "NATS_STREAM": f"parallel_{uuid.uuid4().hex[:8]}",
        }
    )
    template = demo_events()
    # Interleaved, as projects are in a real stream: one save of each in turn.
    copies = [under(template, project) for project in PROJECTS]
    for start in range(0, len(template), 300):
        for events in copies:
            app.recorder.insert_events(events[start : start + 300])
    try:
        yield app
    finally:
        app.close()


def test_part_of_keeps_a_project_together() -> None:
    ids = [
        f"{p}.{kind}.x{i}"
        for p in PROJECTS
        for kind in ("take", "budget")
        for i in range(3)
    ]
    for parts in (2, 3, 4):
        by_project: dict[str, set[int]] = {}
        for originator_id in ids:
            by_project.setdefault(originator_id.split(".")[0], set()).add(
                part_of(originator_id, parts)
            )
        assert all(len(found) == 1 for found in by_project.values())
    assert part_of("not-an-aggregate-id", 3) == part_of("", 3) == part_of("a.b", 3)


def test_splits_only_streams_other_processes_can_read(history: SessionLog) -> None:
    popo = SessionLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        assert can_split(history)
        assert not can_split(popo)
    finally:
        popo.close()


def test_parallel_rebuild_equals_a_one_process_rebuild(
    history: SessionLog, store: ViewStore, tmp_path: object
) -> None:
    from pgstores import make_store

    head = history.recorder.max_notification_id()
    assert len({part_of(f"{p}.x.y", 3) for p in PROJECTS}) > 1  # work is split
    names = view_names()
    one = make_store("sqlite", tmp_path)  # type: ignore[arg-type]
    try:
        reference = rebuild_views(history, one, names)
        expected = {name: one.view(name).dump() for name in names}
    finally:
        one.close()
    seen: list[tuple[int, int]] = []
    reports = rebuild_views(
        history, store, names, workers=3, progress=lambda *p: seen.append(p)
    )
    assert [(r.view, r.events, r.position) for r in reports] == [
        (r.view, r.events, r.position) for r in reference
    ]
    assert all(r.position == head and r.events == head for r in reports)
    assert seen[-1] == (head, head)
    for name in names:
        assert store.view(name).dump() == expected[name], name


def test_a_poison_event_keeps_the_live_views(nats_url: str, store: ViewStore) -> None:
    app = SessionLog(
        env={
            "PERSISTENCE_MODULE": "session_log.jetstream",
            "NATS_URL": nats_url,
            "NATS_STREAM": f"parallel_{uuid.uuid4().hex[:8]}",
        }
    )
    try:
        template = demo_events()[:400]
        app.recorder.insert_events(under(template, "harbour2"))
        names = ["timeline", "decision_log"]
        rebuild_views(app, store, names)
        before = {name: store.view(name).dump() for name in names}
        bad = under(template, "harbour2")[-1]
        app.recorder.insert_events(
            [
                StoredEvent(
                    originator_id=bad.originator_id,
                    originator_version=bad.originator_version + 1,
                    topic=bad.topic,
                    state=b"{not json",
                )
            ]
        )
        app.recorder.insert_events(under(template, "harbour3"))
        with pytest.raises(PoisonEventError) as caught:
            rebuild_views(app, store, names, workers=2)
        assert caught.value.failure.position == len(template) + 1
        assert caught.value.failure.error_type == "UndecodableEventError"
        assert {name: store.view(name).dump() for name in names} == before
    finally:
        app.close()


class ShortPagesLog(SessionLog):
    """Reads answered as a stream replica that is behind would answer them: every
    other read gives nothing, the others 30 positions at most (both the
    page-by-page reads and the store's bulk reader)."""

    def __init__(self, env: Any = None) -> None:
        super().__init__(env=env)
        recorder: Any = self.recorder
        select, read = recorder.select_notifications, recorder.read_notifications
        calls = itertools.count()

        def short(*args: Any, **kwargs: Any) -> Any:
            if next(calls) % 2:
                return []
            return select(*args, **kwargs)[:30]

        def short_pages(start: int = 1, stop: int | None = None, **kwargs: Any) -> Any:
            # As a replica holding 30 positions more would answer.
            if next(calls) % 2:
                return
            held = start + 29 if stop is None else min(stop, start + 29)
            for page in read(start=start, stop=held, **kwargs):
                yield page
                return

        recorder.select_notifications = short
        recorder.read_notifications = short_pages


class StuckLog(SessionLog):
    """A stream whose reads stop at position 10."""

    def __init__(self, env: Any = None) -> None:
        super().__init__(env=env)
        recorder: Any = self.recorder
        select, read = recorder.select_notifications, recorder.read_notifications

        def stuck(*args: Any, **kwargs: Any) -> Any:
            return [n for n in select(*args, **kwargs) if n.id <= 10]

        def stuck_pages(start: int = 1, stop: int | None = None, **kwargs: Any) -> Any:
            if start <= 10:
                yield from read(start=start, stop=min(stop or 10, 10), **kwargs)

        recorder.select_notifications = stuck
        recorder.read_notifications = stuck_pages


def spec_for(app: SessionLog, topic: str, path: str, part: int) -> PartSpec:
    return PartSpec(
        app_topic=topic,
        env={str(k): str(v) for k, v in app.env.items()},
        names=["timeline"],
        source=app.name,
        path=path,
        part=part,
        parts=2,
        prefix="",
    )


def reading(history: SessionLog, cls: type[SessionLog]) -> SessionLog:
    """``history``'s stream through an application of class ``cls``."""
    return cls(env={str(k): str(v) for k, v in history.env.items()})


def fill_timeline(
    app: SessionLog, *, target: int, folder: Path, workers: int, **options: Any
) -> list[parallel.PartResult]:
    """The timeline's parts of ``app``'s stream up to ``target``, by workers."""
    return parallel.fill_parts(
        app,
        ["timeline"],
        source=app.name,
        target=target,
        folder=str(folder),
        workers=workers,
        **options,
    )


def test_the_rebuild_reads_on_to_the_target_through_short_pages(
    history: SessionLog, tmp_path: Path
) -> None:
    # The first 900 positions hold events of the three projects (saves of 300
    # in turn), which go to more than one of three workers.
    notifications = history.recorder.select_notifications(1, 900)
    app = reading(history, ShortPagesLog)
    seen: list[tuple[int, int]] = []
    try:
        results = fill_timeline(
            app,
            target=900,
            folder=tmp_path,
            workers=3,
            progress=lambda at, target: seen.append((at, target)),
        )
    finally:
        app.close()
    counts = [
        len([n for n in notifications if part_of(n.originator_id, 3) == part])
        for part in range(3)
    ]
    assert len([c for c in counts if c]) > 1
    assert [r.events for r in results] == [{"timeline": c} for c in counts]
    assert seen[-1] == (900, 900)


def test_a_rebuild_whose_stream_stops_short_of_the_target_fails(
    history: SessionLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "STALL_S", 0.3)
    app = reading(history, StuckLog)
    try:
        with pytest.raises(
            PartFailedError, match="stopped at 10, before the rebuild's target 60"
        ):
            fill_timeline(app, target=60, folder=tmp_path, workers=2)
    finally:
        app.close()


def test_a_failing_worker_fails_the_rebuild_with_its_error(
    history: SessionLog, tmp_path: Path
) -> None:
    # The workers cannot open their scratch files: they fail at once, while
    # the rebuild's process still has the stream to feed them (its writes to
    # their pipes fail and are dropped). It raises the worker's error.
    folder = tmp_path / "no such folder"
    head = history.recorder.max_notification_id()
    started = time.monotonic()
    with pytest.raises(
        PartFailedError, match=r"(?s)rebuild worker \d of 2 failed: .*unable to open"
    ):
        fill_timeline(history, target=head, folder=folder, workers=2, batch_size=10)
    assert time.monotonic() - started < 60
    assert not folder.exists()


class HangingLog(SessionLog):
    """A log whose mapper never returns from decoding position 100 (in the
    worker that applies it)."""

    def __init__(self, env: Any = None) -> None:
        super().__init__(env=env)
        mapper: Any = self.mapper
        parts = mapper.event_parts

        def hang(notification: Any) -> Any:
            if notification.id == 100:
                time.sleep(600)
            return parts(notification)

        mapper.event_parts = hang


def test_a_hung_worker_fails_the_rebuild(
    history: SessionLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker that applies position 100 (the demo project's) hangs there:
    # the others go on, its pipe fills, and the rebuild fails naming it
    # instead of waiting for ever; every worker is ended (the hung one killed).
    monkeypatch.setattr(parallel, "WORKER_STALL_S", 2.0)
    started: list[parallel._Worker] = []
    original = parallel._Worker.__init__

    def start(worker: parallel._Worker, *args: Any, **kwargs: Any) -> None:
        original(worker, *args, **kwargs)
        started.append(worker)

    monkeypatch.setattr(parallel._Worker, "__init__", start)
    hung = part_of(f"{DEMO_PROJECT}.x.y", 3)
    app = reading(history, HangingLog)
    head = history.recorder.max_notification_id()
    try:
        with pytest.raises(
            PartFailedError,
            match=rf"rebuild worker {hung} of 3 applied nothing for 2 s "
            r"\(at \d+, fed up to \d+\)",
        ):
            fill_timeline(app, target=head, folder=tmp_path, workers=3, batch_size=50)
    finally:
        app.close()
    assert [w.process.poll() is not None for w in started] == [True] * 3
    assert started[hung].position < 100


def test_a_worker_applies_its_feed_to_the_end_frame(
    history: SessionLog, tmp_path: Path
) -> None:
    # Positions 1-60 are the demo project's (the others start at 301); a frame
    # may hold none of the worker's events and still move its position on.
    mine = list(history.recorder.select_notifications(1, 60))
    feed = io.BytesIO(
        part_feed.frame(20, [n for n in mine if n.id <= 20])
        + part_feed.frame(40, [])
        + part_feed.frame(60, [n for n in mine if n.id > 20])
        + part_feed.END
    )
    seen: list[int] = []
    path = tmp_path / "p.db"
    spec = spec_for(history, f"{__name__}:SessionLog", str(path), 1)
    result = fill_part(spec, feed, seen.append)
    assert seen == [0, 20, 40, 60]  # ready, then each frame
    assert result.events == {"timeline": 60}
    # The same events applied in one batch, in this process.
    reference = SQLiteViewStore(str(tmp_path / "ref.db"), durable=False)
    try:
        view = reference.fresh_view("timeline", "part")
        view.apply_events(records_of(history.mapper, mine, history.name))
    finally:
        reference.close()
    stored = []
    for file in (path, tmp_path / "ref.db"):
        with contextlib.closing(sqlite3.connect(file)) as db:
            stored.append(
                db.execute(
                    "SELECT * FROM timeline__part_entries ORDER BY position"
                ).fetchall()
            )
    assert len(stored[0]) > 30
    assert stored[0] == stored[1]


def test_workers_end_when_the_rebuild_process_is_killed(
    history: SessionLog, tmp_path: Path
) -> None:
    # A rebuild killed with SIGKILL cannot stop its workers: they notice and end.
    spec = spec_for(history, f"{__name__}:StuckLog", str(tmp_path / "p.db"), 0)
    code = (
        "import os, sys, time\n"
        f"sys.path[:0] = {sys.path!r}\n"
        "import msgspec\n"
        "from projections.parallel import PartSpec, _Worker\n"
        f"spec = msgspec.json.decode({msgspec.json.encode(spec)!r}, type=PartSpec)\n"
        "env = {**os.environ, 'PYTHONPATH': os.pathsep.join(sys.path)}\n"
        "worker = _Worker(spec, env)\n"
        "print(worker.process.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    rebuild = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
    )
    try:
        assert rebuild.stdout is not None
        worker = int(rebuild.stdout.readline())
        until_file(tmp_path / "p.db")
        rebuild.kill()  # SIGKILL
        rebuild.wait()
        deadline = time.monotonic() + 10
        while running(worker):
            assert time.monotonic() < deadline, "the worker outlived its rebuild"
            time.sleep(0.1)
        assert not (tmp_path / "p.db").exists()
    finally:
        rebuild.kill()
        rebuild.wait()
        if rebuild.stdout is not None:
            rebuild.stdout.close()


def until_file(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody reaps does not count)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = next(
        (line.split()[1] for line in status.splitlines() if line.startswith("State:")),
        "X",
    )
    return state not in ("Z", "X")


def test_the_first_part_is_copied_as_stored_records(tmp_path: Path) -> None:
    """Merging the workers' files: the first part goes into the empty shadow
    with ``SELECT *``, which SQLite runs as its transfer optimisation (the
    ``RowData`` opcode: stored records copied as they are); the others, into a
    table that holds rows by then, name their columns. A table whose columns
    differ is never copied by position."""
    import sqlite3
    from contextlib import closing

    from projections.stores import SQLiteViewStore, _same_columns, copy_statement

    for name in ("target", "part0"):
        store = SQLiteViewStore(str(tmp_path / f"{name}.db"), durable=False)
        store.fresh_view("timeline", name)
        store.close()
    with closing(sqlite3.connect(tmp_path / "target.db")) as db:
        db.execute(f"ATTACH DATABASE '{tmp_path / 'part0.db'}' AS part0")
        db.execute("CREATE TABLE main.other (stream TEXT, position INTEGER)")
        cursor = db.cursor()
        for table in ("entries", "subjects"):
            target = ("main", f"timeline__target_{table}")
            source = ("part0", f"timeline__part0_{table}")
            assert _same_columns(cursor, target, source)
            assert not _same_columns(cursor, ("main", "other"), source)
            opcodes = {}
            for whole in (True, False):
                sql = copy_statement(("stream",), target, source, whole=whole)
                opcodes[whole] = {row[1] for row in db.execute("EXPLAIN " + sql)}
            assert "RowData" in opcodes[True]
            assert "RowData" not in opcodes[False]
