"""The record-production domain: aggregates, their events and the authority rules.

Importing the package loads every aggregate module (so every event topic
resolves) and prepares msgspec's type information for every payload Struct while
``datetime`` is still the real class: a payload first decoded under freezegun
would otherwise be typed against freezegun's fake ``datetime``.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterable

import msgspec

from session_log.domain import (  # noqa: F401
    authority,
    base,
    budget,
    commandlog,
    comps,
    credits,
    ddex,
    masters,
    milestones,
    mixes,
    money,
    parties,
    project,
    recordings,
    release,
    sessions,
    spending,
    takes,
    works,
)


def _struct_classes(root: type[msgspec.Struct]) -> list[type[msgspec.Struct]]:
    found: list[type[msgspec.Struct]] = []
    for sub in root.__subclasses__():
        if sub.__module__.startswith("session_log."):
            found.append(sub)
        found.extend(_struct_classes(sub))
    return found


def prepare_types() -> None:
    """Build msgspec's type information for every session-log Struct now."""
    for cls in _struct_classes(msgspec.Struct):
        with contextlib.suppress(msgspec.ValidationError):
            msgspec.convert(None, cls)


prepare_types()


_FRAMEWORK = ("session_log.domain.base", "session_log.domain.common")


def event_classes() -> list[type[base.DecisionEvent]]:
    """Every session-log domain event class (module-level, in definition order)."""
    found: list[type[base.DecisionEvent]] = []

    def visit(cls: type[base.DecisionEvent]) -> None:
        for sub in cls.__subclasses__():
            if (
                sub.__module__.startswith("session_log.domain.")
                and sub.__module__ not in _FRAMEWORK
                and "." not in sub.__qualname__
                and sub not in found
            ):
                found.append(sub)
            visit(sub)

    visit(base.DecisionEvent)
    return found


def check_decision_kinds(kinds: Iterable[str]) -> None:
    """Refuse a kind that is no kind of decision (an event class name), naming
    the nearest ones: a filter by a typo would otherwise find nothing.

    Raises :class:`ValueError`.
    """
    known = sorted({cls.__name__ for cls in event_classes()})
    for kind in kinds:
        if kind not in known:
            close = difflib.get_close_matches(kind, known, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            msg = f"no decision kind {kind!r}{hint}; docs/events.md lists them"
            raise ValueError(msg)
