"""Tamper evidence: verify a project's hash chains and signed checkpoints.

Every event on the stream carries ``SL-Hash`` (see
:mod:`session_log.jetstream.chain`): each aggregate's events form a SHA-256
chain. :func:`verify_messages` recomputes every chain and reports the first
stream position where the history disagrees with itself: an altered payload,
topic or version, a removed or reordered event.

A chain cannot show that its own tail was cut off, or that someone with write
access to the store replaced a whole history by another consistent one (a
fork). Checkpoints close that gap: :func:`make_checkpoint` records, at a stream
position, the Merkle root of every aggregate's chain head in a project, signed
with an Ed25519 key and kept outside the stream (:class:`CheckpointStore`, a
directory of JSON files). Verification recomputes the heads at each
checkpoint's position and compares roots and counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa

from session_log.jetstream import chain
from session_log.jetstream.recorders import (
    HEADER_TOPIC,
    HEADER_VERSION,
    JetStreamStream,
)

__all__ = [
    "Checkpoint",
    "CheckpointStore",
    "Problem",
    "Report",
    "SigningKey",
    "StoredMessage",
    "make_checkpoint",
    "read_project",
    "verify_messages",
]


class StoredMessage(msgspec.Struct, frozen=True):
    """One message of the stream, as read back for verification."""

    seq: int
    subject: str
    version: int
    topic: str
    hash: str
    data: bytes


class Head(msgspec.Struct, frozen=True):
    version: int
    hash: str


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """A signed statement of a project's chain heads at a stream position."""

    stream: str
    project: str
    position: int
    events: int
    aggregates: int
    merkle_root: str
    created_at: datetime
    public_key: str
    signature: str = ""

    def signed_bytes(self) -> bytes:
        unsigned = msgspec.structs.replace(self, signature="")
        return msgspec.json.encode(unsigned)


class Problem(msgspec.Struct, frozen=True):
    """The first place where history and evidence disagree."""

    position: int
    subject: str
    reason: str


class Report(msgspec.Struct, frozen=True):
    ok: bool
    events: int
    aggregates: int
    checkpoints: int
    problem: Problem | None = None


class SigningKey:
    """An Ed25519 key pair for signing checkpoints."""

    def __init__(self, key: ECC.EccKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(ECC.generate(curve="Ed25519"))

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        return cls(ECC.import_key(path.read_text()))

    def save(self, path: Path) -> None:
        path.write_text(self._key.export_key(format="PEM"))
        path.chmod(0o600)

    @property
    def public_key(self) -> str:
        return self._key.public_key().export_key(format="raw").hex()

    def sign(self, data: bytes) -> str:
        return eddsa.new(self._key, "rfc8032").sign(data).hex()


def signature_valid(checkpoint: Checkpoint, trusted: set[str] | None) -> bool:
    if trusted is not None and checkpoint.public_key not in trusted:
        return False
    try:
        key = eddsa.import_public_key(bytes.fromhex(checkpoint.public_key))
        eddsa.new(key, "rfc8032").verify(
            checkpoint.signed_bytes(), bytes.fromhex(checkpoint.signature)
        )
    except (ValueError, TypeError):
        return False
    return True


def merkle_root(heads: dict[str, Head]) -> str:
    """Root of a binary SHA-256 Merkle tree over the heads, sorted by subject."""
    level = [
        hashlib.sha256(f"{s}\n{h.version}\n{h.hash}".encode()).digest()
        for s, h in sorted(heads.items())
    ]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [
            hashlib.sha256(level[i] + level[i + 1]).digest()
            for i in range(0, len(level), 2)
        ]
    return level[0].hex()


class CheckpointStore:
    """Checkpoints as JSON files under a directory kept outside the stream."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _dir(self, stream: str, project: str) -> Path:
        return self.directory / stream / project

    def save(self, checkpoint: Checkpoint) -> Path:
        folder = self._dir(checkpoint.stream, checkpoint.project)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{checkpoint.position:012d}.json"
        path.write_bytes(msgspec.json.encode(checkpoint))
        return path

    def load(self, stream: str, project: str) -> list[Checkpoint]:
        folder = self._dir(stream, project)
        if not folder.exists():
            return []
        decode = msgspec.json.Decoder(Checkpoint).decode
        return sorted(
            (decode(p.read_bytes()) for p in folder.glob("*.json")),
            key=lambda c: c.position,
        )


def read_project(stream: JetStreamStream, project: str) -> Iterator[StoredMessage]:
    """Every message of ``project`` on the stream, in stream order."""
    subject = f"{stream.scheme.prefix}.{project}.>"
    seq = 1
    while True:
        messages, left = stream.batch(subject, seq, 1000)
        for msg in messages:
            headers = msg.headers
            yield StoredMessage(
                seq=msg.seq,
                subject=msg.subject,
                version=int(headers.get(HEADER_VERSION, "-1")),
                topic=headers.get(HEADER_TOPIC, ""),
                hash=headers.get(chain.HEADER_HASH, ""),
                data=msg.data,
            )
        if not messages or left == 0:
            return
        seq = messages[-1].seq + 1


def _step(heads: dict[str, Head], msg: StoredMessage, last_seq: int) -> Problem | None:
    """Check one message against the chain so far; extend ``heads`` if it fits."""
    if msg.seq <= last_seq:
        return Problem(msg.seq, msg.subject, "stream positions out of order")
    head = heads.get(msg.subject)
    if head is not None and msg.version <= head.version:
        reason = f"version {msg.version} after {head.version}: reordered or replayed"
        return Problem(msg.seq, msg.subject, reason)
    prev = chain.GENESIS if head is None else bytes.fromhex(head.hash)
    expected = chain.link(prev, msg.subject, msg.version, msg.topic, msg.data)
    if msg.hash != expected.hex():
        if head is None:
            reason = "hash does not start a chain: earlier events missing or altered"
        else:
            reason = (
                "hash does not follow the previous event's: this event was altered "
                "or moved, or an event before it was removed, altered or moved"
            )
        return Problem(msg.seq, msg.subject, reason)
    heads[msg.subject] = Head(msg.version, msg.hash)
    return None


def _against(cp: Checkpoint, heads: dict[str, Head], count: int) -> Problem | None:
    if count == cp.events and merkle_root(heads) == cp.merkle_root:
        return None
    return Problem(
        cp.position,
        "",
        f"history up to position {cp.position} differs from the signed checkpoint "
        f"({count} events here, {cp.events} signed): truncated, forked or rewritten",
    )


def verify_messages(
    messages: Iterable[StoredMessage],
    checkpoints: Sequence[Checkpoint] = (),
    trusted_keys: set[str] | None = None,
) -> Report:
    """Verify every chain, and each checkpoint against the heads at its position.

    ``trusted_keys`` (hex Ed25519 public keys), when given, are the only keys
    whose checkpoints are accepted.
    """
    pending = sorted(checkpoints, key=lambda c: c.position)
    for cp in pending:
        if not signature_valid(cp, trusted_keys):
            return Report(
                False, 0, 0, len(pending), Problem(cp.position, "", "bad signature")
            )
    heads: dict[str, Head] = {}
    count = 0
    last_seq = 0
    index = 0

    def fail(problem: Problem) -> Report:
        return Report(False, count, len(heads), len(pending), problem)

    for msg in messages:
        while index < len(pending) and pending[index].position < msg.seq:
            problem = _against(pending[index], heads, count)
            if problem is not None:
                return fail(problem)
            index += 1
        problem = _step(heads, msg, last_seq)
        if problem is not None:
            return fail(problem)
        last_seq = msg.seq
        count += 1
    for cp in pending[index:]:
        problem = _against(cp, heads, count)
        if problem is not None:
            return fail(problem)
    return Report(True, count, len(heads), len(pending))


def make_checkpoint(
    messages: Iterable[StoredMessage],
    *,
    stream: str,
    project: str,
    key: SigningKey,
    now: datetime | None = None,
) -> Checkpoint:
    """A signed checkpoint of the heads after ``messages`` (verified first)."""
    count = 0
    position = 0
    heads: dict[str, Head] = {}
    for msg in messages:
        problem = _step(heads, msg, position)
        if problem is not None:
            text = f"refusing to checkpoint a broken history at {problem.position}"
            raise ValueError(f"{text}: {problem.reason}")
        count += 1
        position = msg.seq
    checkpoint = Checkpoint(
        stream=stream,
        project=project,
        position=position,
        events=count,
        aggregates=len(heads),
        merkle_root=merkle_root(heads),
        created_at=now or datetime.now(tz=UTC),
        public_key=key.public_key,
    )
    return msgspec.structs.replace(
        checkpoint, signature=key.sign(checkpoint.signed_bytes())
    )
