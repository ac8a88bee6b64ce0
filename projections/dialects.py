"""What differs between the SQLite and PostgreSQL view backends, and nothing else.

View SQL is written once, with ``:name`` parameters and ``{table}`` placeholders for
the view's tables; a :class:`Dialect` renders it for its backend, adapts parameter
values and normalises rows so both backends return identical Python values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import msgspec

from projections.records import utc_text
from projections.schema import Column, Table

_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


class Dialect:
    """Backend differences: column types, parameter style, value adaptation."""

    name = "abstract"
    types: Mapping[str, str] = {}
    supports_rename_index = False

    def __init__(self, schema: str = "") -> None:
        self.schema = schema

    def qualify(self, physical: str) -> str:
        return f'"{physical}"'

    def render(self, sql: str) -> str:
        """``sql`` with ``:name`` parameters in this backend's style."""
        return sql

    def adapt(self, value: Any) -> Any:
        return value

    def adapt_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        # Hot path (every statement of every view): values that need no adapting
        # (the vast majority) are recognised by their exact type, without a call.
        adapt = self.adapt
        return {
            key: value if type(value) in _PLAIN_TYPES else adapt(value)
            for key, value in params.items()
        }

    placeholder = "?"
    """A positional parameter."""

    def in_list(self, name: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
        """A condition on a column being one of ``values`` (to follow the
        column's name), and its parameters: ``IN (:name0, :name1 ...)``."""
        names = {f"{name}{i}": value for i, value in enumerate(values)}
        return "IN (" + ", ".join(f":{key}" for key in names) + ")", names

    def json_append(self, column: str, name: str) -> str:
        """An expression: JSON array ``column`` with text parameter ``name``
        appended (so a handler appends without reading the row first)."""
        raise NotImplementedError

    def row_adapter(
        self, types: Sequence[str]
    ) -> Callable[[Sequence[Any]], Sequence[Any]] | None:
        """How to adapt rows whose columns have these logical types (``""``: a
        column of unknown type): ``None`` when rows go as they are."""
        return self.adapt_row

    def adapt_row(self, row: Sequence[Any]) -> Sequence[Any]:
        """Positional parameters adapted (see :meth:`adapt_params`)."""
        adapt = self.adapt
        return tuple(
            [value if type(value) in _PLAIN_TYPES else adapt(value) for value in row]
        )

    def column_ddl(self, column: Column) -> str:
        null = "" if column.nullable else " NOT NULL"
        return f"{column.name} {self.types[column.type]}{null}"

    clustered_suffix = ""
    """What makes a :attr:`~projections.schema.Table.clustered` table so."""

    def create_table(self, table: Table, physical: str) -> str:
        cols = ", ".join(self.column_ddl(c) for c in table.columns)
        pk = ", ".join(table.primary_key)
        suffix = self.clustered_suffix if table.clustered else ""
        return (
            f"CREATE TABLE IF NOT EXISTS {self.qualify(physical)} ({cols}, "
            f'CONSTRAINT "{physical}_pkey" PRIMARY KEY ({pk})){suffix}'
        )

    def create_indexes(
        self,
        table: Table,
        physical: str,
        only: Collection[tuple[str, ...]] | None = None,
    ) -> list[str]:
        """The table's indexes (``only`` those with these columns, if given)."""
        return [
            f'CREATE INDEX IF NOT EXISTS "{name}" '
            f"ON {self.qualify(physical)} ({', '.join(cols)})"
            for name, cols in self.indexes(table, physical, only)
        ]

    @staticmethod
    def indexes(
        table: Table,
        physical: str,
        only: Collection[tuple[str, ...]] | None = None,
    ) -> list[tuple[str, tuple[str, ...]]]:
        """``(index name, columns)`` of the table's indexes (``only``: as above)."""
        return [
            (f"{physical}_{n}_idx", cols)
            for n, cols in enumerate(table.indexes)
            if only is None or cols in only
        ]

    def normalize(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A row as plain Python values, identical for every backend."""
        keys = tuple(row.keys())
        plan = _PLANS.get(keys)
        if plan is None:
            plan = _PLANS[keys] = tuple((key, _kind(key)) for key in keys)
        out: dict[str, Any] = {}
        for key, kind in plan:
            value = row[key]
            if value is None:
                pass
            elif kind == "json":
                if isinstance(value, str):
                    value = decode_json(value)
            elif kind == "at":
                if isinstance(value, str | datetime):
                    value = _as_utc(value)
            elif kind == "bool":
                if isinstance(value, int):
                    value = bool(value)
            elif isinstance(value, Decimal):
                value = int(value) if value == value.to_integral_value() else value
            out[key] = value
        return out


_PLANS: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}
_SPECIAL_PLANS: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}

_utc_text = lru_cache(maxsize=4096)(utc_text)
"""A decision's moments are written by several views (and rows): converted once."""

_PLAIN_TYPES = frozenset({str, int, float, type(None)})
"""Parameter types every backend takes as they are (``bool`` is not among them:
``type(True) is bool``)."""


def _kind(key: str) -> str:
    if key.endswith("_json"):
        return "json"
    if key.endswith("_at"):
        return "at"
    if key.startswith("is_"):
        return "bool"
    return "plain"


def _as_utc(value: str | datetime) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


decode_json = msgspec.json.Decoder().decode
"""JSON text to Python values, as ``json.loads`` gives them (a few times faster)."""


class SQLiteDialect(Dialect):
    name = "sqlite"
    clustered_suffix = " WITHOUT ROWID"
    types = {
        "int": "INTEGER",
        "text": "TEXT",
        "json": "TEXT",
        "timestamp": "TEXT",
        "bool": "INTEGER",
    }

    def normalize(self, row: Mapping[str, Any]) -> dict[str, Any]:
        # SQLite gives ints, floats, text or None: only the JSON, timestamp and
        # boolean columns need converting (the same result as the general path).
        keys = tuple(row.keys())
        plan = _SPECIAL_PLANS.get(keys)
        if plan is None:
            plan = _SPECIAL_PLANS[keys] = tuple(
                (key, kind) for key in keys if (kind := _kind(key)) != "plain"
            )
        out = dict(row)
        for key, kind in plan:
            value = out[key]
            if value is None:
                continue
            if kind == "json":
                if isinstance(value, str):
                    out[key] = decode_json(value)
            elif kind == "at":
                if isinstance(value, str | datetime):
                    out[key] = _as_utc(value)
            elif isinstance(value, int):
                out[key] = bool(value)
        return out

    def adapt(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return _utc_text(value)
        if isinstance(value, bool):
            return int(value)
        return value

    _ADAPTED_TYPES = frozenset({"timestamp", "bool", ""})
    """Logical column types whose values :meth:`adapt` may change (a datetime
    as UTC text, a bool as 0 or 1; ``""``: unknown). Values of the others (text,
    int, json text) are bound as they are: a view puts only text, integers and
    None there (a datetime there would be written in sqlite3's own text form,
    not as UTC text). ``tests/projections/test_projections_row_adapter.py``
    checks it on every bulk insert of the demo album."""

    def row_adapter(
        self, types: Sequence[str]
    ) -> Callable[[Sequence[Any]], Sequence[Any]] | None:
        # Rows are adapted in the columns that may need it only: a bulk insert
        # of subjects (text and int) then binds its rows as they are.
        positions = [i for i, kind in enumerate(types) if kind in self._ADAPTED_TYPES]
        if not positions:
            return None
        adapt = self.adapt

        def adapt_row(row: Sequence[Any]) -> Sequence[Any]:
            out = list(row)
            for i in positions:
                value = out[i]
                if type(value) not in _PLAIN_TYPES:
                    out[i] = adapt(value)
            return out

        return adapt_row

    def json_append(self, column: str, name: str) -> str:
        return f"json_insert({column}, '$[#]', :{name})"


class PostgresDialect(Dialect):
    name = "postgres"
    types = {
        "int": "bigint",
        "text": "text",
        "json": "json",
        "timestamp": "timestamptz",
        "bool": "boolean",
    }
    supports_rename_index = True

    placeholder = "%s"

    def adapt_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        # psycopg adapts every value itself (``adapt`` is the identity here).
        return dict(params)

    def row_adapter(
        self, types: Sequence[str]
    ) -> Callable[[Sequence[Any]], Sequence[Any]] | None:
        return None  # psycopg adapts every value itself

    def json_append(self, column: str, name: str) -> str:
        return f"({column}::jsonb || jsonb_build_array(:{name}::text))::json"

    def in_list(self, name: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
        # One array parameter: the statement's text is the same whatever the
        # number of values, so psycopg prepares it once.
        return f"= ANY(:{name})", {name: list(values)}

    def qualify(self, physical: str) -> str:
        return f'"{self.schema or "public"}"."{physical}"'

    def render(self, sql: str) -> str:
        return _PARAM.sub(r"%(\1)s", sql)
