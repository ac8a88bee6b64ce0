"""Tampering with a copy of the history is detected; untouched history is not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from eventsourcing.persistence import StoredEvent

from session_log.jetstream import JetStreamApplicationRecorder, chain
from session_log.tamper import (
    CheckpointStore,
    SigningKey,
    StoredMessage,
    make_checkpoint,
    read_project,
    verify_messages,
)

from .harness import new_factory

T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def history() -> Iterator[tuple[list[StoredMessage], str]]:
    """A real project history written through the store (plus another project)."""
    factory = new_factory("tamper")
    recorder = factory.application_recorder()
    assert isinstance(recorder, JetStreamApplicationRecorder)
    for round_ in range(1, 6):
        for agg in range(4):
            recorder.insert_events(
                [
                    StoredEvent(f"alb.take.t{agg}", v, "topic", b'{"v":%d}' % v)
                    for v in range(round_ * 3 - 2, round_ * 3 + 1)
                ]
            )
            recorder.insert_events(
                [StoredEvent(f"other.take.t{agg}", round_, "topic", b"{}")]
            )
    messages = list(read_project(recorder.stream, "alb"))
    yield messages, recorder.stream.spec.name
    factory.close()


def forge(msg: StoredMessage, **changes: object) -> StoredMessage:
    return msgspec.structs.replace(msg, **changes)  # type: ignore[arg-type]


def rechain(messages: list[StoredMessage]) -> list[StoredMessage]:
    """What a forger with write access would do: recompute every hash."""
    heads: dict[str, bytes] = {}
    out = []
    for m in messages:
        h = chain.link(
            heads.get(m.subject, chain.GENESIS), m.subject, m.version, m.topic, m.data
        )
        heads[m.subject] = h
        out.append(forge(m, hash=h.hex()))
    return out


def test_untouched_history_verifies(history: tuple[list[StoredMessage], str]) -> None:
    messages, stream = history
    assert len(messages) == 60
    assert all(m.subject.split(".")[1] == "alb" for m in messages)
    key = SigningKey.generate()
    mid = make_checkpoint(messages[:30], stream=stream, project="alb", key=key, now=T0)
    end = make_checkpoint(messages, stream=stream, project="alb", key=key, now=T0)
    report = verify_messages(messages, [mid, end], {key.public_key})
    assert report.ok, report
    assert (report.events, report.aggregates, report.checkpoints) == (60, 4, 2)


def test_checkpoints_round_trip_through_their_store(
    history: tuple[list[StoredMessage], str], tmp_path: Path
) -> None:
    messages, stream = history
    key = SigningKey.generate()
    key.save(tmp_path / "key.pem")
    loaded = SigningKey.load(tmp_path / "key.pem")
    assert loaded.public_key == key.public_key
    store = CheckpointStore(tmp_path / "checkpoints")
    store.save(make_checkpoint(messages, stream=stream, project="alb", key=loaded))
    checkpoints = store.load(stream, "alb")
    assert len(checkpoints) == 1
    assert verify_messages(messages, checkpoints, {key.public_key}).ok


@pytest.mark.parametrize(
    ("tamper", "words"),
    [
        ("alter payload", "altered"),
        ("alter topic", "altered"),
        ("alter version", "altered"),
        ("delete", "removed"),
        ("reorder", "moved"),
        ("replay", "reordered"),
    ],
)
def test_chain_breaks_are_detected_at_the_first_bad_position(
    history: tuple[list[StoredMessage], str],
    tamper: str,
    words: str,
) -> None:
    messages = list(history[0])
    target = messages[17]
    # the next event of the same aggregate
    later = next(i for i in range(18, 60) if messages[i].subject == target.subject)
    if tamper == "alter payload":
        messages[17] = forge(target, data=b'{"v":999}')
        bad = target.seq
    elif tamper == "alter topic":
        messages[17] = forge(target, topic="forged")
        bad = target.seq
    elif tamper == "alter version":
        messages[17] = forge(target, version=target.version + 100)
        bad = target.seq
    elif tamper == "delete":
        del messages[17]
        bad = messages[later - 1].seq  # the next event of that aggregate
    elif tamper == "reorder":
        # swap the contents of two events of one aggregate, keeping positions
        a, b = messages[17], messages[later]
        messages[17] = forge(b, seq=a.seq)
        messages[later] = forge(a, seq=b.seq)
        bad = a.seq
    else:  # replay an old event again later
        messages.insert(later, forge(target, seq=messages[later].seq - 0))
        messages[later + 1 :] = [
            forge(m, seq=m.seq + 1000) for m in messages[later + 1 :]
        ]
        bad = messages[later].seq
    report = verify_messages(messages)
    assert not report.ok
    assert report.problem is not None
    assert report.problem.position == bad, report
    assert words in report.problem.reason


@pytest.mark.parametrize("tamper", ["truncate", "fork", "drop aggregate"])
def test_consistent_rewrites_are_caught_by_checkpoints(
    history: tuple[list[StoredMessage], str], tamper: str
) -> None:
    messages, stream = history
    key = SigningKey.generate()
    checkpoint = make_checkpoint(messages, stream=stream, project="alb", key=key)
    if tamper == "truncate":
        forged = messages[:-3]
    elif tamper == "fork":
        forged = rechain(
            messages[:40] + [forge(m, data=b'{"forged":1}') for m in messages[40:]]
        )
    else:
        victim = messages[0].subject
        forged = rechain([m for m in messages if m.subject != victim])
    assert verify_messages(forged).ok  # the chains alone look fine
    report = verify_messages(forged, [checkpoint], {key.public_key})
    assert not report.ok
    assert report.problem is not None
    assert report.problem.position == checkpoint.position
    assert "differs from the signed checkpoint" in report.problem.reason


def test_forged_or_untrusted_checkpoints_are_refused(
    history: tuple[list[StoredMessage], str],
) -> None:
    messages, stream = history
    key = SigningKey.generate()
    checkpoint = make_checkpoint(messages, stream=stream, project="alb", key=key)
    forged = msgspec.structs.replace(checkpoint, events=checkpoint.events + 1)
    assert not verify_messages(messages, [forged], {key.public_key}).ok
    intruder = SigningKey.generate()
    theirs = make_checkpoint(messages, stream=stream, project="alb", key=intruder)
    report = verify_messages(messages, [theirs], {key.public_key})
    assert not report.ok
    assert report.problem is not None
    assert report.problem.reason == "bad signature"


def test_refuses_to_checkpoint_a_broken_history(
    history: tuple[list[StoredMessage], str],
) -> None:
    messages, stream = history
    broken = [*messages[:5], forge(messages[5], data=b"x"), *messages[6:]]
    with pytest.raises(ValueError, match="broken history"):
        make_checkpoint(broken, stream=stream, project="alb", key=SigningKey.generate())
