"""Views that react to some event kinds only: a handler per kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from projections.records import DecisionRecord
from projections.sql_view import Db, ViewDefinition

Handler = Callable[[Any, Db, DecisionRecord], None]


def handles(*kinds: str) -> Callable[[Handler], Handler]:
    """Mark a method of a :class:`KindDispatchDefinition` as the handler of kinds."""

    def mark(method: Handler) -> Handler:
        method.__dict__["_handles"] = kinds
        return method

    return mark


class KindDispatchDefinition(ViewDefinition):
    """Calls the method marked with ``@handles(kind)``; other kinds change nothing
    (the view's position still advances past them)."""

    _handlers: ClassVar[dict[str, Handler]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[str, Handler] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                for kind in getattr(value, "_handles", ()):
                    handlers[kind] = value
        cls._handlers = handlers

    @classmethod
    def kinds(cls) -> list[str]:
        return sorted(cls._handlers)

    def apply(self, db: Db, record: DecisionRecord) -> None:
        handler = self._handlers.get(record.kind)
        if handler is not None:
            handler(self, db, record)


def money(value: Any) -> tuple[int, str]:
    """``(amount, currency)`` of a Money payload value."""
    return int(value.amount), str(value.currency)


def amount(value: Any) -> int:
    return int(value.amount) if value is not None else 0
