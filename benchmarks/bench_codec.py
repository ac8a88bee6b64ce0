"""Benchmark MsgspecTranscoder against eventsourcing's JSONTranscoder.

Run from the repository root: ``PYTHONPATH=src python benchmarks/bench_codec.py``.

The event state is shaped like what eventsourcing's Mapper hands the transcoder
for a session-log event: a dict with a UUID, a datetime, a Decimal, a list and a
nested Struct payload of 8 fields. JSONTranscoder can't encode Structs at all, so
it gets ``StructAsDict`` registered for the payload class (the same wire format,
via ``msgspec.to_builtins``/``msgspec.convert``). The second case compares the
two on the same state without the Struct, where no msgspec help is involved on
the JSONTranscoder side. Each figure is the best of several timed runs.
"""

from __future__ import annotations

import enum
import platform
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any, Literal
from uuid import UUID, uuid4

import msgspec
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Transcoder,
    UUIDAsHex,
)

from session_log.codec import MsgspecTranscoder, StructAsDict


class Role(enum.Enum):
    PRODUCER = "producer"
    ENGINEER = "engineer"


class Money(msgspec.Struct, frozen=True, kw_only=True):
    amount: Decimal
    currency: Literal["EUR", "USD"]


class TakeApproved(msgspec.Struct, frozen=True, kw_only=True):
    take_id: UUID
    song: str
    take_number: int
    approved_at: datetime
    approved_by: Role
    fee: Money
    tags: tuple[str, ...]
    note: str | None = None


def event_state() -> dict[str, Any]:
    now = datetime.now(tz=UTC)
    return {
        "timestamp": now,
        "originator_topic": "session_log.domain.takes:Take",
        "command_id": uuid4(),
        "budget_left": Decimal("10450.75"),
        "participants": ["ana", "bo", "cy"],
        "payload": TakeApproved(
            take_id=uuid4(),
            song="Night Drive",
            take_number=7,
            approved_at=now,
            approved_by=Role.PRODUCER,
            fee=Money(amount=Decimal("1250.50"), currency="EUR"),
            tags=("keeper", "vocals"),
            note="second chorus is the one",
        ),
    }


def json_transcoder(*structs: type[msgspec.Struct]) -> JSONTranscoder:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    for cls in structs:
        transcoder.register(StructAsDict(cls))
    return transcoder


def ops_per_second(funcs: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Best of 7 timed runs (of at least 0.2 s) each, interleaved to share noise."""
    timers = {name: timeit.Timer(func) for name, func in funcs.items()}
    numbers = {name: timer.autorange()[0] for name, timer in timers.items()}
    best = dict.fromkeys(funcs, float("inf"))
    for _ in range(7):
        for name, timer in timers.items():
            best[name] = min(best[name], timer.timeit(numbers[name]) / numbers[name])
    return {name: 1 / seconds for name, seconds in best.items()}


def measure(transcoders: dict[str, Transcoder], obj: Any) -> dict[str, list[float]]:
    """Encode and decode ops/s and encoded size, per transcoder."""
    results: dict[str, list[float]] = {}
    funcs: dict[str, Callable[[], object]] = {}
    for name, transcoder in transcoders.items():
        data = transcoder.encode(obj)
        assert transcoder.decode(data) == obj, f"{name} does not round-trip"
        funcs[f"{name} encode"] = partial(transcoder.encode, obj)
        funcs[f"{name} decode"] = partial(transcoder.decode, data)
        results[name] = [0.0, 0.0, len(data)]
    ops = ops_per_second(funcs)
    for name, result in results.items():
        result[0], result[1] = ops[f"{name} encode"], ops[f"{name} decode"]
    return results


def main() -> None:
    state = event_state()
    without_struct = {k: v for k, v in state.items() if k != "payload"}
    cases = [
        ("event state with Struct payload", state, (TakeApproved,)),
        ("same state without the Struct", without_struct, ()),
    ]
    print(f"Python {platform.python_version()}, msgspec {msgspec.__version__}")
    print()
    header = "| case | transcoder | encode ops/s | decode ops/s | bytes |"
    print(header)
    print("|---|---|--:|--:|--:|")
    for case, obj, structs in cases:
        transcoders = {
            "MsgspecTranscoder": MsgspecTranscoder(),
            "JSONTranscoder": json_transcoder(*structs),
        }
        results = measure(transcoders, obj)
        for name, (enc, dec, size) in results.items():
            print(f"| {case} | {name} | {enc:,.0f} | {dec:,.0f} | {size:.0f} |")
        (ours_enc, ours_dec, _), (json_enc, json_dec, _) = results.values()
        ratios = f"**x{ours_enc / json_enc:.2f}** | **x{ours_dec / json_dec:.2f}**"
        print(f"| {case} | **ratio** | {ratios} | |")


if __name__ == "__main__":
    main()
