"""Keyset pagination and the filters timeline and decision log share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")

MAX_PAGE = 1000


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows in stream order; pass ``next_cursor`` as ``after``."""

    items: list[T]
    next_cursor: str | None


def cursor_of(stream: str, position: int) -> str:
    """Opaque cursor after the row at ``position`` of ``stream``."""
    return f"{position}:{stream}"


def parse_cursor(cursor: str) -> tuple[int, str]:
    position, _, stream = cursor.partition(":")
    return int(position), stream


@dataclass
class Where:
    """Accumulates SQL conditions and their parameters."""

    clauses: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def add(self, clause: str, **params: Any) -> None:
        self.clauses.append(clause)
        self.params.update(params)

    def any_of(self, column: str, name: str, values: Iterable[str] | None) -> None:
        if values is None:
            return
        items = list(values)
        if not items:
            self.clauses.append("1 = 0")
            return
        names = [f"{name}{i}" for i in range(len(items))]
        self.clauses.append(f"{column} IN ({', '.join(':' + n for n in names)})")
        self.params.update(zip(names, items, strict=True))

    def period(
        self, column: str, since: datetime | None, until: datetime | None
    ) -> None:
        if since is not None:
            self.add(f"{column} >= :since", since=since)
        if until is not None:
            self.add(f"{column} < :until", until=until)

    def after(self, cursor: str | None, *, descending: bool = False) -> None:
        if cursor is None:
            return
        position, stream = parse_cursor(cursor)
        op = "<" if descending else ">"
        self.add(
            f"(position {op} :after_position OR "
            f"(position = :after_position AND stream {op} :after_stream))",
            after_position=position,
            after_stream=stream,
        )

    def sql(self) -> str:
        return f" WHERE {' AND '.join(self.clauses)}" if self.clauses else ""


def page_limit(limit: int) -> int:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    return min(limit, MAX_PAGE)
