"""docs/events.md lists every event class, its fields and the capacity behind it."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import msgspec

from session_log import commands as cmd
from session_log.domain import event_classes
from session_log.domain.authority import ACTIONS
from session_log.domain.base import DecisionMeta

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def test_every_event_class_is_listed() -> None:
    text = DOC.read_text()
    headings = set(re.findall(r"^### (\w+)$", text, flags=re.MULTILINE))
    names = {cls.__name__ for cls in event_classes()}
    assert len(names) == len(event_classes()), "event class names must be unique"
    assert names - headings == set(), "event classes missing from docs/events.md"
    assert headings - names == set(), "docs/events.md lists unknown events"


def test_each_listed_event_names_its_fields_and_capacity() -> None:
    text = DOC.read_text()
    for cls in event_classes():
        section = text.split(f"### {cls.__name__}\n", 1)[1].split("\n### ", 1)[0]
        assert "- Capacity:" in section, cls.__name__
        assert "- Command:" in section, cls.__name__
        payload = typing.get_type_hints(cls)["payload"]
        assert f"Payload `{payload.__name__}`" in section, cls.__name__
        for field in msgspec.structs.fields(payload):
            assert f"| `{field.name}` |" in section, (cls.__name__, field.name)
    for name in DecisionMeta.__struct_fields__:
        assert f"`meta.{name}`" in text


def test_every_action_is_a_known_command() -> None:
    tags = {t.__struct_config__.tag for t in cmd.COMMAND_TYPES}
    extra = {"check_in_other", "confirm_own_credit", "dispute_own_credit"}
    assert set(ACTIONS) == (tags - {"start_project"}) | extra
