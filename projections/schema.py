"""Backend-neutral table definitions for the views.

Column types are logical: ``int`` (64-bit), ``text``, ``json`` (a JSON document,
stored as text in SQLite and ``json`` in PostgreSQL), ``timestamp`` (UTC; ISO 8601
text in SQLite, ``timestamptz`` in PostgreSQL) and ``bool``. Naming conventions keep
reads identical across backends: timestamp columns end in ``_at``, JSON columns end
in ``_json`` and boolean columns start with ``is_``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LOGICAL_TYPES = ("int", "text", "json", "timestamp", "bool")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = False

    def __post_init__(self) -> None:
        if self.type not in LOGICAL_TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")
        check_name(self.name, "column")
        if self.type == "timestamp" and not self.name.endswith("_at"):
            raise ValueError(f"timestamp column {self.name} must end in _at")
        if self.type == "json" and not self.name.endswith("_json"):
            raise ValueError(f"json column {self.name} must end in _json")
        if self.type == "bool" and not self.name.startswith("is_"):
            raise ValueError(f"bool column {self.name} must start with is_")


@dataclass(frozen=True)
class Table:
    """A view table: logical ``name`` (physical ``<namespace>_<name>``)."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()
    doc: str = ""
    clustered: bool = False
    """Rows stored in primary-key order, once (SQLite: ``WITHOUT ROWID``), for
    narrow tables appended in key order: a rowid table keeps each row twice
    (the table and its primary-key index). PostgreSQL ignores it."""

    def __post_init__(self) -> None:
        check_name(self.name, "table")
        names = [c.name for c in self.columns]
        for key in (*self.primary_key, *(c for i in self.indexes for c in i)):
            if key not in names:
                raise ValueError(f"table {self.name}: no column {key}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def check_name(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"{what} name {name!r} must match {_NAME.pattern}")
    return name


_PREFIX = re.compile(r"^([a-z][a-z0-9_]{0,23})?$")


def check_prefix(prefix: str) -> str:
    """A table prefix: empty, or lower-case letters, digits and ``_`` (max 24)."""
    if not _PREFIX.match(prefix):
        raise ValueError(
            f"table prefix {prefix!r} must be empty or match {_PREFIX.pattern}"
        )
    return prefix


def col(name: str, type_: str = "text", *, null: bool = False) -> Column:
    """Shorthand for :class:`Column`."""
    return Column(name, type_, nullable=null)
