"""The command union, its one decoder, and the application's dispatch table."""

from __future__ import annotations

import inspect
from typing import Any, cast

import msgspec
import pytest

from session_log import commands as cmd
from session_log.application import SessionLog, handled_commands
from session_log.errors import InvalidCommand


def test_one_tagged_union_with_explicit_unique_tags() -> None:
    tags = [t.__struct_config__.tag for t in cmd.COMMAND_TYPES]
    assert len(tags) == len(set(tags)) == 63
    for command_type in cmd.COMMAND_TYPES:
        config = command_type.__struct_config__
        assert config.tag_field == "type"
        assert config.frozen
        with pytest.raises(TypeError):
            cast(Any, command_type)("positional")
        assert config.tag == "_".join(
            part.lower() for part in _split_camel(command_type.__name__)
        )


def _split_camel(name: str) -> list[str]:
    parts: list[str] = []
    for char in name:
        if char.isupper() and parts:
            parts.append("")
        if not parts:
            parts.append("")
        parts[-1] += char
    return parts


def test_every_command_has_a_handler_and_a_public_method() -> None:
    assert set(handled_commands()) == set(cmd.COMMAND_TYPES)
    for command_type in cmd.COMMAND_TYPES:
        tag = str(command_type.__struct_config__.tag)
        assert callable(getattr(SessionLog, tag))
        assert getattr(SessionLog, tag).__doc__


def test_decode_round_trip() -> None:
    data = (
        b'{"type":"book_session","command_id":"c1","project":"p","actor":"rui",'
        b'"session":"s1","session_type":"Tracking","starts_at":"2025-03-03T10:00:00Z",'
        b'"ends_at":"2025-03-03T13:00:00Z","union":true}'
    )
    command = cmd.decode_command(data)
    assert isinstance(command, cmd.BookSession)
    assert command.union is True
    assert cmd.decode_command(cmd.encode_command(command)) == command
    assert cmd.decode_command(data.decode()) == command


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b'{"type":"nope","command_id":"c","project":"p"}', "$.type"),
        (b'{"type":"mark_take","command_id":"c","project":"p","take":"t"}', "$.mark"),
        (
            b'{"type":"mark_take","command_id":"c d","project":"p","take":"t",'
            b'"mark":"keeper"}',
            "$.command_id",
        ),
        (
            b'{"type":"commit_spend","command_id":"c","project":"p","line":"l",'
            b'"commitment":"c","payee":"x","description":"d",'
            b'"amount":{"amount":1.5,"currency":"USD"}}',
            "$.amount.amount",
        ),
        (
            b'{"type":"commit_spend","command_id":"c","project":"p","line":"l",'
            b'"commitment":"c","payee":"x","description":"d",'
            b'"amount":{"amount":1,"currency":"usd"}}',
            "$.amount.currency",
        ),
        (
            b'{"type":"assemble_comp","command_id":"c","project":"p","recording":"r",'
            b'"comp":"a","part":"x","segments":[{"take":"t","bar_from":1}]}',
            "$.segments[0].bar_to",
        ),
        (b'{"type":"mark_take"', None),
        (b"[]", "$"),
    ],
)
def test_validation_errors_name_the_field(data: bytes, field: str | None) -> None:
    with pytest.raises(InvalidCommand) as info:
        cmd.decode_command(data)
    assert info.value.field == field
    assert info.value.as_dict()["code"] == "invalid-command"


def test_commands_built_in_python_are_validated_like_json() -> None:
    bad = cmd.MarkTake(
        command_id="c", project="p", actor="a", take="t b", mark="keeper"
    )
    with pytest.raises(InvalidCommand) as info:
        cmd.validate_command(bad)
    assert info.value.field == "$.take"


def test_commands_are_frozen() -> None:
    command = cmd.MarkTake(command_id="c", project="p", take="t", mark="keeper")
    with pytest.raises(AttributeError):
        command.take = "u"  # type: ignore[misc]
    assert msgspec.json.decode(cmd.encode_command(command))["type"] == "mark_take"


def _patterns(t: Any, seen: set[Any]) -> set[str]:
    """Every ``pattern`` constraint reachable from type ``t``."""
    from msgspec import inspect as mi

    found: set[str] = set()
    if isinstance(t, mi.StrType) and t.pattern is not None:
        found.add(t.pattern)
    elif isinstance(t, mi.StructType):
        if t.cls in seen:
            return found
        seen.add(t.cls)
        for field in t.fields:
            found |= _patterns(field.type, seen)
    elif isinstance(t, mi.UnionType):
        for member in t.types:
            found |= _patterns(member, seen)
    elif isinstance(t, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        found |= _patterns(t.item_type, seen)
    elif isinstance(t, mi.DictType):
        found |= _patterns(t.key_type, seen) | _patterns(t.value_type, seen)
    elif isinstance(t, mi.TupleType):
        for item in t.item_types:
            found |= _patterns(item, seen)
    return found


def test_every_pattern_of_a_command_is_said_in_words() -> None:
    from msgspec import inspect as mi

    patterns: set[str] = set()
    for command_type in cmd.COMMAND_TYPES:
        patterns |= _patterns(mi.type_info(command_type), set())
    assert patterns  # the walk found the ids, currencies, ISRCs...
    assert patterns <= set(cmd.PATTERN_WORDS)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"command_id": "a b"}, "$.command_id", "an id: 1 to 64 letters"),
        (
            {"amount": {"amount": 5, "currency": "usd"}},
            "$.amount.currency",
            "an ISO 4217 currency code: three capital letters (USD)",
        ),
    ],
)
def test_a_value_off_its_pattern_is_refused_in_words(
    change: dict[str, Any], field: str, words: str
) -> None:
    body: dict[str, Any] = {
        "type": "record_cost",
        "command_id": "c1",
        "project": "moonlit",
        "line": "archive",
        "cost": "c1",
        "payee": "vault",
        "amount": {"amount": 1250, "currency": "USD"},
        "invoice_ref": "X",
        **change,
    }
    with pytest.raises(InvalidCommand) as caught:
        cmd.decode_command(msgspec.json.encode(body))
    assert caught.value.field == field
    assert words in str(caught.value)
    assert "regex" not in str(caught.value)


def test_every_command_says_what_it_decides_and_who_may() -> None:
    for command_type in cmd.COMMAND_TYPES:
        doc = inspect.cleandoc(command_type.__doc__ or "")
        assert doc, command_type.__name__
        assert not doc.startswith("Fields every"), command_type.__name__
        assert "\n\nWho: " in doc, command_type.__name__
