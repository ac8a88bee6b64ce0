"""The rebuild's feed to its worker processes: the stream, read once, cut by part.

The rebuild's process reads the stream once and writes each worker the
notifications of its own projects, in stream order, as frames on the worker's
standard input (after the first line, which holds its task). A frame is a
4-byte big-endian length, then a msgpack array ``[position, notifications]``:
the position the read has reached (the worker's progress, whether the page held
any of its events or none) and each notification as ``[id, originator_id,
originator_version, topic, state]`` (an originator id that is a UUID goes as its
16 bytes, any other as a string). A frame of length 0 ends the feed; the end of
the input before it means the rebuild's process is gone.

Reading once instead of once per worker halves what nats-server sends and what
the clients parse (every worker used to receive every event and skip the
others'): with two workers, about a tenth less CPU for the whole fill, the
reader's own cost counted (docs/performance.md, the feed round).
"""

from __future__ import annotations

import contextlib
import queue
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import Notification

from projections.errors import ProjectionError

Item = tuple[int, Any, int, str, bytes]
"""A notification on the wire: id, originator id (str, or bytes for a UUID:
msgspec decodes no union of the two), version, topic, state."""

_LENGTH = struct.Struct(">I")
_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(tuple[int, list[Item]])

END = _LENGTH.pack(0)
"""The frame that ends a feed."""

DEPTH = 8
"""Frames queued for a worker before the reader waits for it to take them."""

WAIT_S = 0.25
"""How often a reader that waits for a worker checks on the workers."""


class FeedEndedError(ProjectionError):
    """The feed stopped before its end frame (the rebuild's process is gone)."""


def frame(position: int, notifications: Sequence[Notification]) -> bytes:
    """The frame of ``notifications``, the read having reached ``position``."""
    body = _ENCODER.encode(
        (
            position,
            [
                (
                    n.id,
                    n.originator_id.bytes
                    if isinstance(n.originator_id, UUID)
                    else n.originator_id,
                    n.originator_version,
                    n.topic,
                    n.state,
                )
                for n in notifications
            ],
        )
    )
    return _LENGTH.pack(len(body)) + body


def read_frames(stream: IO[bytes]) -> Iterator[tuple[int, list[Notification]]]:
    """The feed's frames as (position, notifications), until its end frame.

    Raises :class:`FeedEndedError` if the input ends before it."""
    while True:
        head = stream.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            msg = "the rebuild's feed ended before its end frame"
            raise FeedEndedError(msg)
        (size,) = _LENGTH.unpack(head)
        if not size:
            return
        body = stream.read(size)
        if len(body) < size:
            msg = f"the rebuild's feed ended inside a frame ({len(body)} of {size})"
            raise FeedEndedError(msg)
        position, items = _DECODER.decode(body)
        yield (
            position,
            [
                Notification(
                    id=seq,
                    originator_id=UUID(bytes=oid) if isinstance(oid, bytes) else oid,
                    originator_version=version,
                    topic=topic,
                    state=state,
                )
                for seq, oid, version, topic, state in items
            ],
        )


class PartFeed:
    """Frames for one worker, written to its input by a thread of their own (a
    write waits while the worker's pipe is full; the reader goes on reading)."""

    def __init__(self, pipe: IO[bytes], depth: int = DEPTH) -> None:
        self._pipe = pipe
        self._queue: queue.Queue[bytes | None] = queue.Queue(depth)
        self.error: OSError | None = None
        """Why writing failed (the worker is gone); later frames are dropped."""
        self._thread = threading.Thread(
            target=self._write, name="views-feed", daemon=True
        )
        self._thread.start()

    def put(self, data: bytes, check: Callable[[], None]) -> None:
        """Queue ``data``, calling ``check`` (which raises when a worker has
        failed or hangs) every :data:`WAIT_S` while the queue is full."""
        self._enqueue(data, check)

    def close(self, check: Callable[[], None]) -> None:
        """Write what is queued and the end frame, then close the worker's
        input; ``check`` is called while waiting, as by :meth:`put`."""
        self._enqueue(END, check)
        self._enqueue(None, check)
        while self._thread.is_alive():
            self._thread.join(WAIT_S)
            check()

    def abandon(self) -> None:
        """Stop writing (the worker is being stopped): drop what is queued."""
        self.error = self.error or BrokenPipeError("feed abandoned")
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put(None)

    def _enqueue(self, item: bytes | None, check: Callable[[], None]) -> None:
        while True:
            try:
                self._queue.put(item, timeout=WAIT_S)
                return
            except queue.Full:
                check()

    def _write(self) -> None:
        while True:
            data = self._queue.get()
            if data is None:
                break
            if self.error is None:
                try:
                    self._pipe.write(data)
                    self._pipe.flush()
                except OSError as error:
                    self.error = error
        with contextlib.suppress(OSError):  # the worker is gone: nothing to flush
            self._pipe.close()
