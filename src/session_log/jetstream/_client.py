"""The asyncio side of the store: one event-loop thread that owns the connection.

This is the only module of the store with ``async def`` code. Everything the
recorders call is synchronous: :meth:`NATSBridge.call` schedules a coroutine on
the loop thread and blocks the calling thread on a plain lock until it is done
(lighter than ``run_coroutine_threadsafe``'s condition-based future). Errors are
translated into eventsourcing's errors by :func:`.errors.translate`.

Replies to requests (publish acknowledgements, direct gets, API calls) arrive on
one wildcard inbox subscription and are routed by token, so a request costs one
publish and no subscription set-up.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import re
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg

from .errors import (
    DisconnectedError,
    JetStreamAPIError,
    NoRespondersError,
    NotPermittedError,
    translate,
)

T = TypeVar("T")

Headers = dict[str, str]

BATCH_HEADER_BYTES = 128
"""Room for the headers :meth:`NATSBridge.publish_batch` adds to each message
(``Nats-Batch-Id``, ``Nats-Batch-Sequence``, ``Nats-Batch-Commit``: 98 bytes at
most with a 32-character id and a four-digit sequence)."""


def message_size(payload: bytes, headers: Headers) -> int:
    """The size the server checks against its ``max_payload``: the header block
    as nats-py writes it (``NATS/1.0``, one ``key: value`` line per header, an
    empty line) plus the payload. nats-py itself checks only the payload; a
    message over the limit with its headers makes the server close the
    connection instead of answering."""
    size = len(b"NATS/1.0\r\n\r\n") + len(payload)
    for key, value in headers.items():
        size += len(key.strip().encode()) + len(value.strip().encode()) + 4
    return size


class RawMessage(msgspec.Struct, frozen=True):
    """A stored message as returned by a direct get."""

    subject: str
    seq: int
    headers: Headers
    data: bytes


class PulledPage(msgspec.Struct, frozen=True):
    """What one pull request gave: the messages kept, whether the consumer held
    no more, how many messages it delivered (kept or skipped) and the stream
    sequence of the last of them (0 when none)."""

    messages: list[RawMessage]
    drained: bool
    delivered: int
    last: int


class _APIErrorBody(msgspec.Struct):
    code: int = 0
    err_code: int = 0
    description: str = ""


class PubAck(msgspec.Struct):
    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    batch: str | None = None
    count: int = 0
    error: _APIErrorBody | None = None


_decode_ack = msgspec.json.Decoder(PubAck).decode
_decode_api = msgspec.json.Decoder(dict[str, Any]).decode
_encode = msgspec.json.Encoder().encode


def new_event_loop(kind: str = "auto") -> asyncio.AbstractEventLoop:
    """uvloop where installed (its thread hand-offs are ~2.5x cheaper), else
    asyncio's default loop. ``kind`` is ``auto``, ``uvloop`` or ``asyncio``.
    """
    if kind not in ("auto", "uvloop", "asyncio"):
        msg = f"event loop {kind!r} is not one of auto, uvloop, asyncio"
        raise ValueError(msg)
    if kind != "asyncio":
        try:
            import uvloop
        except ImportError:
            if kind == "uvloop":
                raise
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class _Waiter:
    """A one-shot rendezvous between the loop thread and a calling thread."""

    __slots__ = ("error", "lock", "result")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.result: Any = None
        self.error: BaseException | None = None

    def done(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            self.error = TimeoutError("cancelled")
        else:
            self.error = task.exception()
            if self.error is None:
                self.result = task.result()
        self.lock.release()


@dataclass
class _Pending:
    """A request waiting for its reply (or replies, for a batch direct get)."""

    future: asyncio.Future[Any]
    multi: bool = False
    messages: list[RawMessage] = field(default_factory=list)
    subjects: tuple[str, ...] = ()
    """What the request was published to (see ``NATSBridge._waiting``)."""


class NATSBridge:
    """Owns one NATS connection on a private event-loop thread."""

    def __init__(
        self,
        servers: Sequence[str],
        *,
        timeout: float = 5.0,
        connect_timeout: float = 2.0,
        name: str = "session-log",
        options: dict[str, Any] | None = None,
        loop: str = "auto",
    ) -> None:
        self.servers = list(servers)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.name = name
        self.options = dict(options or {})
        self._loop = new_event_loop(loop)
        self._thread = threading.Thread(
            target=self._run, name="session-log-nats", daemon=True
        )
        self._nc: Client | None = None
        self._inbox = ""
        self._pending: dict[str, _Pending] = {}
        self._waiting: dict[str, set[asyncio.Future[Any]]] = {}
        """The futures of the requests in flight, by the subjects they were
        published to (a refusal of a subject fails its requests)."""
        self._signal_refusals: dict[int, tuple[str, Callable[[str], None]]] = {}
        """What to call, by signal subscription, if the server refuses it."""
        self._tokens = itertools.count(1)
        self._closed = False
        self._started = False
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- lifecycle
    @property
    def server(self) -> str:
        """The server in use (for error messages)."""
        nc = self._nc
        if nc is not None and nc.connected_url is not None:
            return nc.connected_url.geturl()
        return ",".join(self.servers)

    @property
    def is_connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    @property
    def max_payload(self) -> int | None:
        """The largest message (headers and payload) the server takes, from its
        INFO (``max_payload``, 1 MiB by default); None before connecting."""
        nc = self._nc
        return nc.max_payload if nc is not None and nc.max_payload > 0 else None

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._thread.start()
            self._started = True
        try:
            self.call(self._connect, operation="connect", timeout=None)
        except BaseException:
            self.close()
            raise

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    async def _connect(self) -> None:
        options: dict[str, Any] = {
            "name": self.name,
            "connect_timeout": self.connect_timeout,
            "allow_reconnect": True,
            "max_reconnect_attempts": -1,
            "reconnect_time_wait": 0.25,
            "ping_interval": 5,
            "max_outstanding_pings": 2,
        }
        options.update(self.options)

        async def _quiet(_exc: Exception) -> None:
            return None

        options.setdefault("error_cb", _quiet)
        # The first connection must not retry forever: fail within seconds.
        self._nc = await asyncio.wait_for(
            _connect(self.servers, options),
            timeout=max(self.connect_timeout * 2, self.timeout),
        )
        self._inbox = self._nc.new_inbox()
        sub = await self._nc.subscribe(self._inbox + ".*", cb=self._on_reply)
        if isinstance(self._nc, _Client):
            self._nc.handle_directly(sub, self._reply)
            self._nc.on_refused = self._refused
            self._nc.on_refused_subscription = self._refused_subscription

    def close(self) -> None:
        """Close the connection and stop the loop thread (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            started = self._started
        if started:
            if self._nc is not None:
                try:
                    fut = asyncio.run_coroutine_threadsafe(self._aclose(), self._loop)
                    fut.result(self.timeout + 1)
                except Exception:
                    pass
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        if not self._loop.is_running():
            self._loop.close()

    async def _aclose(self) -> None:
        nc = self._nc
        if nc is not None and not nc.is_closed:
            await nc.close()
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.cancel()
        self._pending.clear()
        self._waiting.clear()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()

    # ------------------------------------------------------------------- bridge
    def call(
        self,
        fn: Callable[..., Awaitable[T]],
        *args: Any,
        operation: str,
        timeout: float | None = -1.0,
    ) -> T:
        """Run ``fn(*args)`` on the loop thread and return its result.

        Any failure is raised as an eventsourcing ``PersistenceError``.
        """
        if self._closed:
            raise translate(
                DisconnectedError("the connection is closed"), operation, self.server
            )
        if timeout is not None and timeout < 0:
            timeout = self.timeout * 2 + 1
        waiter = _Waiter()
        holder: list[asyncio.Task[T]] = []

        def start() -> None:
            task: asyncio.Task[T] = self._loop.create_task(fn(*args))  # type: ignore[arg-type]
            holder.append(task)
            task.add_done_callback(waiter.done)

        self._loop.call_soon_threadsafe(start)
        if not waiter.lock.acquire(timeout=-1 if timeout is None else timeout):
            if holder:
                self._loop.call_soon_threadsafe(holder[0].cancel)
            raise translate(TimeoutError(), operation, self.server)
        if waiter.error is not None:
            raise translate(waiter.error, operation, self.server) from waiter.error
        return waiter.result  # type: ignore[no-any-return]

    def call_soon(self, fn: Callable[[], Any]) -> None:
        """Run a plain callback on the loop thread."""
        if not self._closed:
            self._loop.call_soon_threadsafe(fn)

    # -------------------------------------------------------------- reply mux
    def _new_request(self, *subjects: str, multi: bool = False) -> tuple[str, _Pending]:
        token = str(next(self._tokens))
        pending = _Pending(self._loop.create_future(), multi=multi, subjects=subjects)
        self._pending[token] = pending
        self._wait_on(subjects, pending.future)
        return token, pending

    def _wait_on(self, subjects: Sequence[str], future: asyncio.Future[Any]) -> None:
        for subject in subjects:
            self._waiting.setdefault(subject, set()).add(future)

    def _done_with(self, subjects: Sequence[str], future: asyncio.Future[Any]) -> None:
        for subject in subjects:
            futures = self._waiting.get(subject)
            if futures is not None:
                futures.discard(future)
                if not futures:
                    del self._waiting[subject]

    def _refused(self, lowered: str, reason: str) -> None:
        """The server refused a publish (no permission): fail the requests
        waiting on its subject now rather than at their timeout (run in the
        loop). nats-py gives the server's words lower-cased; NATS subjects are
        not, so where two subjects waited on differ only in case, which one was
        refused is unknown and both are left to their timeout.
        """
        subjects = [subject for subject in self._waiting if subject.lower() == lowered]
        if len(subjects) != 1:
            return
        (subject,) = subjects
        error = NotPermittedError(f"{reason} (subject {subject})")
        for future in self._waiting[subject]:
            if not future.done():
                future.set_exception(error)

    def _refused_subscription(self, lowered: str, reason: str) -> None:
        """The server refused a subscription (no permission; run in the loop):
        tell the signal subscriptions to that subject. (Lower-cased as for a
        publish; a subscription of another case is told too, which costs it
        only its signals' replacement, a quicker poll.)"""
        for subject, refused in list(self._signal_refusals.values()):
            if subject.lower() == lowered:
                refused(reason)

    async def _on_reply(self, msg: Msg) -> None:
        self._reply(msg.subject, msg.reply, msg.headers, msg.data, msg)

    def _reply(
        self,
        subject: str,
        _reply_to: str,
        msg_headers: dict[str, str] | None,
        data: bytes,
        msg: Msg | None = None,
    ) -> None:
        """A reply on this bridge's inbox (run in the loop, as messages arrive)."""
        token = subject[len(self._inbox) + 1 :]
        pending = self._pending.get(token)
        if pending is None or pending.future.done():
            return
        headers = msg_headers or {}
        status = headers.get("Status")
        if status is not None and not data:
            if status == "503":
                pending.future.set_exception(NoRespondersError())
            elif pending.multi and status in ("204", "404"):
                left = int(headers.get("Nats-Num-Pending", "0") or 0)
                pending.future.set_result((pending.messages, left))
            elif status == "404":
                pending.future.set_result(None)
            else:
                description = str(headers.get("Description", ""))
                pending.future.set_exception(
                    JetStreamAPIError(int(status), 0, description or "status")
                )
            return
        if pending.multi:
            pending.messages.append(_raw(headers, data))
        else:
            if msg is None:
                client = cast(Client, self._nc)  # set before any request is sent
                msg = Msg(
                    _client=client, subject=subject, data=data, headers=msg_headers
                )
            pending.future.set_result(msg)

    async def _exchange(
        self, token: str, pending: _Pending, sending: Awaitable[None]
    ) -> Any:
        """Send a request (``sending``) and wait for its reply. The request is
        forgotten however this ends, a send that raises included (a message
        nats-py refuses to send, a connection closed meanwhile)."""
        try:
            await sending
            return await asyncio.wait_for(pending.future, self.timeout)
        finally:
            self._pending.pop(token, None)
            self._done_with(pending.subjects, pending.future)

    def _require_connected(self) -> Client:
        nc = self._nc
        if nc is None or nc.is_closed:
            msg = "not connected"
            raise DisconnectedError(msg)
        if not nc.is_connected:
            # Refuse rather than buffer: a buffered write could land after we
            # reported failure to the caller.
            msg = "disconnected from the server, reconnecting"
            raise DisconnectedError(msg)
        return nc

    # -------------------------------------------------------------- operations
    async def publish(self, subject: str, payload: bytes, headers: Headers) -> PubAck:
        """Publish one message to a stream and wait for its acknowledgement."""
        nc = self._require_connected()
        token, pending = self._new_request(subject)
        sending = nc.publish(
            subject, payload, reply=f"{self._inbox}.{token}", headers=headers
        )
        reply: Msg = await self._exchange(token, pending, sending)
        return _check_ack(reply.data)

    async def publish_batch(
        self, messages: Sequence[tuple[str, bytes, Headers]], batch_id: str
    ) -> PubAck:
        """Publish an atomic batch (stored whole or not at all)."""
        nc = self._require_connected()
        token, pending = self._new_request(*{subject for subject, _, _ in messages})

        async def send() -> None:
            last = len(messages)
            for index, (subject, payload, headers) in enumerate(messages, start=1):
                headers["Nats-Batch-Id"] = batch_id
                headers["Nats-Batch-Sequence"] = str(index)
                if index == last:
                    headers["Nats-Batch-Commit"] = "1"
                    await nc.publish(
                        subject,
                        payload,
                        reply=f"{self._inbox}.{token}",
                        headers=headers,
                    )
                else:
                    headers.pop("Nats-Batch-Commit", None)  # left by an earlier batch
                    await nc.publish(subject, payload, headers=headers)

        reply: Msg = await self._exchange(token, pending, send())
        return _check_ack(reply.data)

    async def direct_get(
        self, stream: str, request: dict[str, Any]
    ) -> RawMessage | None:
        """One message by ``seq``/``last_by_subj``/``next_by_subj``, or None."""
        nc = self._require_connected()
        token, pending = self._new_request(f"$JS.API.DIRECT.GET.{stream}")
        sending = nc.publish(
            f"$JS.API.DIRECT.GET.{stream}",
            _encode(request),
            reply=f"{self._inbox}.{token}",
        )
        reply: Msg | None = await self._exchange(token, pending, sending)
        if reply is None:
            return None
        return _raw(reply.headers or {}, reply.data)

    async def direct_get_batch(
        self, stream: str, request: dict[str, Any]
    ) -> tuple[list[RawMessage], int]:
        """Up to ``request['batch']`` messages in stream order (empty at the end),
        and how many matching messages the server holds after them.
        """
        nc = self._require_connected()
        token, pending = self._new_request(f"$JS.API.DIRECT.GET.{stream}", multi=True)
        sending = nc.publish(
            f"$JS.API.DIRECT.GET.{stream}",
            _encode(request),
            reply=f"{self._inbox}.{token}",
        )
        result: tuple[list[RawMessage], int] = await self._exchange(
            token, pending, sending
        )
        return result

    async def pull_page(
        self,
        stream: str,
        consumer: str,
        batch: int,
        keep: Callable[[bytes], bool] | None = None,
    ) -> PulledPage:
        """Up to ``batch`` messages from pull consumer ``consumer``, without
        waiting for more than it holds now.

        With ``keep``, a message whose subject (bytes) it refuses is counted and
        skipped before its headers and payload are parsed (a reader that wants
        only some aggregates' events: ``read_notifications(select=...)``).
        """
        nc = self._require_connected()
        if not isinstance(nc, _Client):
            raise JetStreamAPIError(0, 0, "pull pages need the bridge's client")
        page = _PullPage(self._loop.create_future(), batch, keep)
        inbox = nc.new_inbox()
        sub = await nc.subscribe(inbox)
        nc.handle_directly(
            sub, page.on_message, page.skip if keep is not None else None
        )
        subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._wait_on([subject], page.future)
        try:
            await nc.publish(
                subject,
                _encode({"batch": batch, "no_wait": True}),
                reply=inbox,
            )
            result: PulledPage = await asyncio.wait_for(page.future, self.timeout)
            return result
        finally:
            self._done_with([subject], page.future)
            nc.stop_handling(sub)
            await sub.unsubscribe()

    async def api(
        self, subject: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A JetStream API request; an error reply raises JetStreamAPIError."""
        nc = self._require_connected()
        token, pending = self._new_request(f"$JS.API.{subject}")
        sending = nc.publish(
            f"$JS.API.{subject}",
            _encode(body) if body is not None else b"",
            reply=f"{self._inbox}.{token}",
        )
        reply: Msg | None = await self._exchange(token, pending, sending)
        if reply is None:
            raise JetStreamAPIError(404, 0, "not found")
        result = _decode_api(reply.data)
        error = result.get("error")
        if error:
            raise JetStreamAPIError(
                int(error.get("code", 0)),
                int(error.get("err_code", 0)),
                str(error.get("description", "")),
            )
        return result

    async def subscribe_signal(
        self,
        subject: str,
        callback: Callable[[], None],
        on_refused: Callable[[str], None] | None = None,
    ) -> Any:
        """A core subscription calling ``callback`` (in the loop) per message.

        The messages themselves are not looked at: with the bridge's client they
        are not even made into objects (a live feed is signalled once for every
        event stored, next to reading it).

        The server answers a subscription it refuses (no permission) only with
        an asynchronous error, and no message ever comes: ``on_refused`` is
        then called (in the loop) with the server's words.
        """
        nc = self._require_connected()

        async def on_msg(_msg: Msg) -> None:
            callback()

        sub = await nc.subscribe(subject, cb=on_msg)
        if isinstance(nc, _Client):
            nc.signal_only(sub, callback)
        if on_refused is not None:
            self._signal_refusals[sub._id] = (subject, on_refused)
        return sub

    async def unsubscribe(self, sub: Any) -> None:
        self._signal_refusals.pop(sub._id, None)
        nc = self._nc
        if isinstance(nc, _Client):
            nc.stop_handling(sub)
        if nc is not None and not nc.is_closed:
            await sub.unsubscribe()


_REFUSED_PUBLISH = re.compile(
    r'permissions violation for publish to "([^"]+)"', re.IGNORECASE
)
"""How nats-server words the refusal of a publish (``-ERR '...'``)."""

_REFUSED_SUBSCRIPTION = re.compile(
    r'permissions violation for subscription to "([^"]+)"', re.IGNORECASE
)
"""And of a subscription."""

DirectHandler = Callable[[str, str, dict[str, str] | None, bytes], None]
"""Called with a message's subject, reply subject, headers and payload."""

SkipHandler = Callable[[bytes, bytes], bool]
"""Called with a message's subject and reply subject (bytes) before anything
else of it is parsed; true when it has taken the message (no
:data:`DirectHandler` call follows)."""


class _Client(Client):
    """nats-py's client with a faster header parser and direct reply dispatch.

    Messages of a subscription given to :meth:`handle_directly` are handed to a
    plain function as the parser meets them (subject, headers, payload), without
    nats-py's per-message ``Msg``, queue and task hop: a stream read of a
    thousand messages is a thousand replies to the bridge's inbox.

    nats-py 2.16 checks each header name for whitespace one character at a
    time in Python; with the dozen headers of a stored event that was most of
    the loop thread's time when reading a stream (profile of
    ``select_notifications``: 8.8 of 11.1 s). This parser gives the same
    result: a name holds whitespace exactly when ``str.split()`` (the same
    notion of whitespace as ``str.isspace``) does not give it back whole
    (``tests/store/test_header_parser.py`` compares the two on any bytes).
    """

    def __init__(self) -> None:
        super().__init__()
        self.on_refused: Callable[[str, str], None] | None = None
        """Called with the subject and the server's words (both lower-cased by
        nats-py's parser) when the server refuses a publish for want of
        permission."""
        self.on_refused_subscription: Callable[[str, str], None] | None = None
        """The same for a subscription the server refuses."""
        self._direct: dict[int, DirectHandler] = {}
        self._skips: dict[int, SkipHandler] = {}
        self._signals: dict[int, Callable[[], None]] = {}

    def handle_directly(
        self, sub: Any, handler: DirectHandler, skip: SkipHandler | None = None
    ) -> None:
        """Hand ``sub``'s messages to ``handler`` in the parser's turn; with
        ``skip``, only those it does not take."""
        self._direct[sub._id] = handler
        if skip is not None:
            self._skips[sub._id] = skip

    def signal_only(self, sub: Any, callback: Callable[[], None]) -> None:
        """Call ``callback()`` for each of ``sub``'s messages, in the parser's
        turn, without decoding anything of the message."""
        self._signals[sub._id] = callback

    def stop_handling(self, sub: Any) -> None:
        self._direct.pop(sub._id, None)
        self._skips.pop(sub._id, None)
        self._signals.pop(sub._id, None)

    async def _process_err(self, err_msg: str) -> None:
        # nats-py hands a permissions violation to the error callback and
        # keeps the connection; the request it refused would wait for its
        # timeout, as the server drops the message and nothing answers.
        refused = _REFUSED_PUBLISH.search(err_msg)
        if refused is not None and self.on_refused is not None:
            self.on_refused(refused.group(1), err_msg.strip("'"))
        refused = _REFUSED_SUBSCRIPTION.search(err_msg)
        if refused is not None and self.on_refused_subscription is not None:
            self.on_refused_subscription(refused.group(1), err_msg.strip("'"))
        await super()._process_err(err_msg)

    async def _process_msg(
        self, sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes
    ) -> None:
        signal = self._signals.get(sid)
        if signal is not None and sid in self._subs:
            self.stats["in_msgs"] += 1
            self.stats["in_bytes"] += len(data)
            try:
                signal()
            except Exception as error:  # as nats-py treats a failing callback
                await self._error_cb(error)
            return
        handler = self._direct.get(sid)
        if handler is None or sid not in self._subs:
            await super()._process_msg(sid, subject, reply, data, headers)
            return
        self.stats["in_msgs"] += 1
        self.stats["in_bytes"] += len(data)
        skip = self._skips.get(sid)
        if skip is not None:
            try:
                if skip(subject, reply):
                    return
            except Exception as error:  # as nats-py treats a failing callback
                await self._error_cb(error)
                return
        if not headers:
            hdr = None
        elif headers[:_PLAIN_HEAD_SIZE] == _PLAIN_HEAD:
            hdr = self._plain_headers(headers)
        else:
            hdr = await self._process_headers(headers)
        try:
            handler(subject.decode(), reply.decode(), hdr, data)
        except Exception as error:  # as nats-py treats a failing callback
            await self._error_cb(error)

    def _plain_headers(self, headers: bytes) -> dict[str, str] | None:
        """What nats-py's ``_process_headers`` gives for a header block without
        an inline status (it starts with :data:`_PLAIN_HEAD`), without a
        coroutine per message (a rebuild reads millions)."""
        return self._parse_header_lines(headers[_PLAIN_HEAD_SIZE:]) or None

    @staticmethod
    def _parse_header_lines(raw: bytes) -> dict[str, str]:
        out: dict[str, str] = {}
        names = _HEADER_NAMES
        for line in raw.split(b"\r\n"):
            name, sep, value = line.partition(b":")
            if not sep:
                continue
            try:
                key = names[name]
            except KeyError:
                key = _header_name(name)
                if len(names) < _HEADER_NAMES_MAX:
                    names[name] = key
            if key is None:
                continue
            out[key] = value.strip().decode("utf-8", "replace")
        return out


_PLAIN_HEAD = b"NATS/1.0\r\n"
"""How a header block without an inline status starts."""
_PLAIN_HEAD_SIZE = len(_PLAIN_HEAD)

_HEADER_NAMES: dict[bytes, str | None] = {}
"""Raw header name -> the key it is read as (None: the line is ignored); the
same few names recur in every message."""
_HEADER_NAMES_MAX = 1024


def _header_name(name: bytes) -> str | None:
    """The key of a header line's raw name: stripped ASCII without whitespace
    inside (as nats-py reads it), else ``None`` (the line is ignored)."""
    try:
        key = name.strip().decode("ascii")
    except UnicodeDecodeError:
        return None
    if key and key.split() != [key]:
        return None
    return key


async def _connect(servers: list[str], options: dict[str, Any]) -> Client:
    client = _Client()
    await client.connect(servers, **options)
    return client


def message_from_api(message: dict[str, Any]) -> RawMessage:
    """A message from the body of a ``STREAM.MSG.GET`` reply (base64 parts)."""
    headers: Headers = {}
    raw_headers = base64.b64decode(message.get("hdrs") or b"")
    for line in raw_headers.decode().split("\r\n")[1:]:
        key, sep, value = line.partition(":")
        if sep:
            headers[key.strip()] = value.strip()
    return RawMessage(
        subject=str(message.get("subject", "")),
        seq=int(message.get("seq", 0)),
        headers=headers,
        data=base64.b64decode(message.get("data") or b""),
    )


class _PullPage:
    """The messages of one pull request, until ``batch`` or a status ends it."""

    def __init__(
        self,
        future: asyncio.Future[PulledPage],
        batch: int,
        keep: Callable[[bytes], bool] | None = None,
    ):
        self.future = future
        self.batch = batch
        self.keep = keep
        self.messages: list[RawMessage] = []
        self.delivered = 0
        self.last_reply = ""

    def skip(self, subject: bytes, reply: bytes) -> bool:
        """Take a delivery whose subject ``keep`` refuses (statuses, which have
        no reply subject, go on to :meth:`on_message`)."""
        if not reply or self.future.done() or self.keep is None:
            return False
        try:
            if self.keep(subject):
                return False
        except Exception as error:  # the read fails with it, not with a timeout
            self.future.set_exception(error)
            return True
        self.last_reply = reply.decode()
        self._delivered()
        return True

    def on_message(
        self, subject: str, reply: str, headers: dict[str, str] | None, data: bytes
    ) -> None:
        if self.future.done():
            return
        status = headers.get("Status") if headers else None
        if status is not None and not data:
            if status in ("404", "408"):  # no (more) messages now; request ended
                self._end(drained=True)
            else:
                description = str((headers or {}).get("Description", ""))
                self.future.set_exception(
                    JetStreamAPIError(int(status), 0, description or "status")
                )
            return
        self.messages.append(
            RawMessage(
                subject=subject,
                seq=_stream_sequence(reply),
                headers=headers or {},
                data=data,
            )
        )
        self.last_reply = reply
        self._delivered()

    def _delivered(self) -> None:
        self.delivered += 1
        if self.delivered >= self.batch:
            self._end(drained=False)

    def _end(self, *, drained: bool) -> None:
        last = _stream_sequence(self.last_reply) if self.last_reply else 0
        self.future.set_result(PulledPage(self.messages, drained, self.delivered, last))


def _stream_sequence(reply: str) -> int:
    """The stream sequence in a consumer delivery's ``$JS.ACK`` reply subject
    (``$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>...``, or with a
    domain and an account hash before the stream)."""
    tokens = reply.split(".")
    if len(tokens) == 9:  # the v1 form
        return int(tokens[5])
    return int(tokens[7])


def _raw(headers: Headers, data: bytes) -> RawMessage:
    return RawMessage(
        subject=headers.get("Nats-Subject", ""),
        seq=int(headers.get("Nats-Sequence", "0")),
        headers=headers,
        data=data,
    )


def _check_ack(data: bytes) -> PubAck:
    ack = _decode_ack(data)
    if ack.error is not None:
        raise JetStreamAPIError(
            ack.error.code, ack.error.err_code, ack.error.description
        )
    return ack
