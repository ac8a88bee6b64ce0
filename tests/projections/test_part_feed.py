"""The rebuild's feed to its workers: frames, their end, and a worker gone."""

from __future__ import annotations

import io
import subprocess
import sys
import uuid

import pytest
from eventsourcing.persistence import Notification

from projections.part_feed import END, FeedEndedError, PartFeed, frame, read_frames


def notification(seq: int, originator_id: uuid.UUID | str) -> Notification:
    return Notification(
        id=seq,
        originator_id=originator_id,
        originator_version=seq + 1,
        topic="session_log.domain:Project.Created",
        state=b'{"x":' + str(seq).encode() + b"}\x00\xff",
    )


def test_frames_carry_notifications_as_they_were() -> None:
    first = [notification(3, "p1.recording.r1"), notification(5, uuid.uuid4())]
    stream = io.BytesIO(frame(5, first) + frame(9, []) + END + b"not read")
    assert list(read_frames(stream)) == [(5, first), (9, [])]
    assert isinstance(first[1].originator_id, uuid.UUID)
    assert stream.read() == b"not read"  # nothing after the end frame is read


@pytest.mark.parametrize("cut", [0, 2, 4, 10])
def test_a_feed_that_stops_before_its_end_frame_is_an_error(cut: int) -> None:
    data = frame(5, [notification(5, "p1.recording.r1")])
    with pytest.raises(FeedEndedError, match="ended"):
        list(read_frames(io.BytesIO(data[:cut] if cut else data)))


def test_a_feed_writes_its_frames_in_order_and_closes_the_pipe() -> None:
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert reader.stdin is not None
    assert reader.stdout is not None
    feed = PartFeed(reader.stdin, depth=2)
    frames = [frame(n, [notification(n, f"p{n}.take.t")]) for n in range(1, 50)]
    for data in frames:
        feed.put(data, lambda: None)
    feed.close(lambda: None)
    assert reader.stdout.read() == b"".join(frames) + END
    assert reader.wait(10) == 0
    reader.stdout.close()


def test_a_full_feed_checks_the_workers_while_it_waits() -> None:
    # A worker that reads nothing: the queue and the pipe fill, and ``put``
    # calls the check, which raises when the rebuild gives up.
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], stdin=subprocess.PIPE
    )
    assert sleeper.stdin is not None
    feed = PartFeed(sleeper.stdin, depth=1)
    checks = []

    def check() -> None:
        checks.append(1)
        if len(checks) >= 2:
            raise RuntimeError("a worker failed")

    data = frame(0, [notification(0, "p.take.t")] * 50)

    def fill() -> None:
        for _ in range(10_000):
            feed.put(data, check)

    try:
        with pytest.raises(RuntimeError, match="a worker failed"):
            fill()
    finally:
        sleeper.kill()
        feed.abandon()
        sleeper.wait()
    assert len(checks) == 2


def test_closing_a_feed_checks_the_workers_while_it_waits() -> None:
    # The worker reads nothing: the writer is stuck on a frame bigger than
    # the pipe holds, the end frame waits in the queue, and closing the feed
    # must go on checking the workers instead of waiting for room for ever.
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], stdin=subprocess.PIPE
    )
    assert sleeper.stdin is not None
    feed = PartFeed(sleeper.stdin, depth=1)
    big = Notification(
        id=1,
        originator_id="p.take.t",
        originator_version=1,
        topic="x:Y",
        state=b"x" * 300_000,
    )
    checks = []

    def check() -> None:
        checks.append(1)
        if len(checks) >= 2:
            raise RuntimeError("a worker hangs")

    try:
        feed.put(frame(1, [big]), check)
        with pytest.raises(RuntimeError, match="a worker hangs"):
            feed.close(check)
    finally:
        sleeper.kill()
        feed.abandon()
        sleeper.wait()
    assert len(checks) == 2
