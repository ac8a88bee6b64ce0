"""Bulk inserts on SQLite adapt only the columns whose type may need it.

``Db.insert_many`` binds a row's values as they are, except in timestamp, bool
and unknown-type columns (``SQLiteDialect.row_adapter``). That equals adapting
every value as long as the views put only plain values (text, integers, None)
in their other columns: checked here on every bulk insert of the demo album.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections import ProjectionsRunner
from projections.dialects import _PLAIN_TYPES, PostgresDialect, SQLiteDialect
from projections.stores import SQLiteViewStore
from session_log.application import SessionLog
from session_log.demo import load_demo

TYPES = ("text", "int", "json", "timestamp", "bool", "")

values = st.one_of(
    st.none(),
    st.text(max_size=5),
    st.integers(),
    st.booleans(),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])),
)

plain = st.one_of(st.none(), st.text(max_size=5), st.integers())


@settings(max_examples=300, deadline=None)
@given(data=st.data(), types=st.lists(st.sampled_from(TYPES), max_size=8))
def test_a_row_is_adapted_as_value_by_value_in_the_columns_that_may_need_it(
    data: Any, types: list[str]
) -> None:
    dialect = SQLiteDialect()
    adapter = dialect.row_adapter(types)
    row = tuple(
        data.draw(values if kind in ("timestamp", "bool", "") else plain)
        for kind in types
    )
    expected = typed(dialect.adapt_row(row))
    if adapter is None:
        assert not {"timestamp", "bool", ""} & set(types)
        assert typed(row) == expected
    else:
        assert typed(adapter(row)) == expected


def typed(row: Sequence[Any]) -> list[tuple[type, Any]]:
    """Values with their types (``True == 1`` in Python; SQLite stores both)."""
    return [(type(value), value) for value in row]


def test_a_row_without_such_columns_is_bound_as_it_is() -> None:
    assert SQLiteDialect().row_adapter(["text", "int", "json"]) is None
    assert PostgresDialect().row_adapter(["timestamp", "bool"]) is None
    moment = datetime(2025, 1, 6, 9, 1, tzinfo=UTC)
    adapter = SQLiteDialect().row_adapter(["text", "timestamp", "bool"])
    assert adapter is not None
    assert list(adapter(("a", moment, True))) == [
        "a",
        "2025-01-06T09:01:00.000000+00:00",
        1,
    ]


def test_the_views_bulk_inserts_hold_plain_values_in_the_other_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The premise, on the demo album: wherever a row is bound as it is, its
    values are text, integers or None."""
    checked: list[int] = []
    make = SQLiteDialect.row_adapter

    def checking(
        self: SQLiteDialect, types: Sequence[str]
    ) -> Callable[[Sequence[Any]], Sequence[Any]] | None:
        adapter = make(self, types)
        free = [i for i, kind in enumerate(types) if kind not in self._ADAPTED_TYPES]

        def check(row: Sequence[Any]) -> Sequence[Any]:
            bad = [row[i] for i in free if type(row[i]) not in _PLAIN_TYPES]
            assert not bad, f"{types}: {bad!r} bound as they are"
            checked.append(1)
            return row if adapter is None else adapter(row)

        return check

    monkeypatch.setattr(SQLiteDialect, "row_adapter", checking)
    app = SessionLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    store = SQLiteViewStore(str(tmp_path / "views.db"))
    try:
        load_demo(app)
        runner = ProjectionsRunner(app, store).start()
        try:
            runner.wait(timeout=60)
        finally:
            runner.stop()
    finally:
        store.close()
        app.close()
    assert len(checked) > 2000  # entries, subjects and decisions of the demo
