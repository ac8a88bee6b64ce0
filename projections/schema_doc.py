"""The table reference of docs/projections.md, generated from the view definitions.

``python -m projections.schema_doc`` prints it, ``... --write docs/projections.md``
replaces it in place; a test checks the docs hold exactly this text between the
``<!-- schema:begin -->`` and ``<!-- schema:end -->`` markers, so the documented
schemas are the real ones.
"""

from __future__ import annotations

from projections.catalog import VIEW_TYPES
from projections.dialects import PostgresDialect, SQLiteDialect
from projections.schema import Table
from projections.sql_view import FAILURES

BEGIN = "<!-- schema:begin -->"
END = "<!-- schema:end -->"

_SQLITE = SQLiteDialect()
_POSTGRES = PostgresDialect()


def _table(view: str, table: Table) -> list[str]:
    lines = [
        f"#### `{view}_{table.name}`",
        "",
        table.doc,
        "",
        "| column | type | SQLite | PostgreSQL | null |",
        "|---|---|---|---|---|",
    ]
    for column in table.columns:
        lines.append(
            f"| `{column.name}` | {column.type} | {_SQLITE.types[column.type]} | "
            f"{_POSTGRES.types[column.type]} | {'yes' if column.nullable else ''} |"
        )
    lines.append("")
    clustered = (
        " (SQLite: stored in its order, `WITHOUT ROWID`)" if table.clustered else ""
    )
    lines.append(f"Primary key: ({', '.join(table.primary_key)}){clustered}.")
    if table.indexes:
        indexes = "; ".join(f"({', '.join(i)})" for i in table.indexes)
        lines.append(f"Indexes: {indexes}.")
    lines.append("")
    return lines


def markdown() -> str:
    """The schema section: every view's tables, then the tables every view has."""
    lines: list[str] = [BEGIN, ""]
    for name, kind in VIEW_TYPES.items():
        definition = kind.sqlite.definition
        lines.append(f"### {name}")
        lines.append("")
        lines.append(definition.doc)
        lines.append("")
        for table in definition.tables:
            lines.extend(_table(name, table))
    lines.append("### Every view also has")
    lines.append("")
    lines.extend(_table("<view>", FAILURES))
    lines.append("#### `<view>_tracking`")
    lines.append("")
    lines.append(
        "eventsourcing's single-row tracking table: `application_name` (the "
        "source, e.g. `SessionLog`) and `notification_id` (the last stream "
        "position the view includes); written in the same transaction as the "
        "view's rows. A row `__migration__` is eventsourcing's own bookkeeping."
    )
    lines.append("")
    lines.append(END)
    return "\n".join(lines) + "\n"


def write(path: str) -> None:
    """Replace the schema section of the markdown file at ``path``."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text[:start] + markdown().rstrip("\n") + text[end:])


if __name__ == "__main__":  # pragma: no cover
    import sys

    if sys.argv[1:2] == ["--write"]:
        write(sys.argv[2])
    else:
        print(markdown(), end="")
