"""Reading rows for many ids at once: one statement per chunk of ids, so a
batch's reads cost a few round trips on PostgreSQL, not one per event."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections.sql_view import Db

CHUNK = 500
"""Ids per ``IN (...)`` list."""

Row = dict[str, Any]


def rows_for(
    db: Db,
    sql: str,
    ids: Sequence[str],
    params: dict[str, Any] | None = None,
) -> list[Row]:
    """``sql`` with ``{ids}`` replaced by a condition on a column being one of
    ``ids`` (``IN (...)``), in chunks; when ``ids`` are sorted and ``sql`` is
    ordered by that column first, the rows come in that order."""
    out: list[Row] = []
    for start in range(0, len(ids), CHUNK):
        condition, names = db.in_list("ids", ids[start : start + CHUNK])
        statement = sql.replace("{ids}", condition)
        out.extend(db.rows(statement, {**(params or {}), **names}))
    return out
