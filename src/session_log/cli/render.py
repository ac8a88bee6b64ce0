"""Formatting for the terminal: money, times, ids, and rich tables."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table

from session_log.cli.base import pipe_closed
from session_log.domain.money import format_amount

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def money(minor: int | None, currency: str = "USD") -> str:
    """``1234567`` USD -> ``$12,345.67``, JPY -> ``¥1,234,567``; None -> ``-``."""
    if minor is None:
        return "-"
    sign = "-" if minor < 0 else ""
    text = format_amount(abs(minor), currency)
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.strftime("%Y-%m-%d %H:%M")


def local(aggregate_id: str | None) -> str:
    """``moonlit.party.rui`` -> ``rui`` (the id inside its project)."""
    if not aggregate_id:
        return "-"
    return aggregate_id.rsplit(".", 1)[-1]


def table(
    title: str | None,
    columns: Sequence[str | tuple[str, str]],
    rows: Iterable[Sequence[Any]],
    *,
    caption: str | None = None,
) -> Table:
    """A rich table; a column given as ``(name, "right")`` is right-justified.

    Nothing in it is ever cut short (:class:`FittedTable`): a right-justified
    column (figures, counts, positions) keeps each value on one line, and a
    text column wraps its values between words, never inside one.
    """
    cells = [["-" if value is None else str(value) for value in row] for row in rows]
    names = [column[0] if isinstance(column, tuple) else column for column in columns]
    bounds: list[tuple[int, int]] = []
    for index, name in enumerate(names):
        values = [row[index] for row in cells]
        widest = max(map(cell_len, [name, *values]))
        if isinstance(columns[index], tuple):
            bounds.append((widest, widest))
        else:
            words = [word for value in [name, *values] for word in value.split()]
            bounds.append((max(map(cell_len, words), default=1), widest))
    out = FittedTable(bounds, title=title, caption=caption, header_style="bold")
    for name, column in zip(names, columns, strict=True):
        if isinstance(column, tuple):
            out.add_column(name, justify="right", no_wrap=True)
        else:
            out.add_column(name, overflow="fold")
    for row in cells:
        out.add_row(*row)
    return out


class FittedTable(Table):
    """A table whose columns are given widths that fit the width it is drawn
    at, between each column's narrowest (its longest word; a right-justified
    column's longest value) and widest (its longest value): the widest columns
    give way first. Rich's own layout may cut values short with an ellipsis.
    """

    def __init__(self, bounds: Sequence[tuple[int, int]], **kwargs: Any) -> None:
        super().__init__(expand=False, **kwargs)
        self.bounds = list(bounds)

    @property
    def minimum_width(self) -> int:
        """The narrowest it can be drawn without cutting anything."""
        return sum(low for low, _ in self.bounds) + self._overhead

    @property
    def _overhead(self) -> int:
        return self._extra_width + 2 * len(self.columns)  # borders, padding

    def __rich_console__(
        self, console: Console, options: ConsoleOptions
    ) -> RenderResult:
        widths = fit(self.bounds, options.max_width - self._overhead)
        for column, width in zip(self.columns, widths, strict=True):
            column.width = width
        yield from super().__rich_console__(console, options)


def fit(bounds: Sequence[tuple[int, int]], room: int) -> list[int]:
    """Widths between each (narrowest, widest) pair that add up to ``room`` if
    they can: every column at its widest when that fits, at its narrowest when
    even that does not; between the two, widths above a common cap are brought
    down to it (the widest columns give way first)."""
    if sum(high for _, high in bounds) <= room:
        return [high for _, high in bounds]
    if sum(low for low, _ in bounds) >= room:
        return [low for low, _ in bounds]
    cap = max(high for _, high in bounds)
    while sum(min(high, max(low, cap)) for low, high in bounds) > room:
        cap -= 1
    return [min(high, max(low, cap)) for low, high in bounds]


class _Console(Console):
    """A console that draws a table at least as wide as :class:`FittedTable`
    needs to cut nothing (a narrower terminal then wraps its lines), and
    stops as the CLI does when the reader of a pipe has gone."""

    def on_broken_pipe(self) -> None:
        if not self.quiet:
            pipe_closed()

    def print(self, *objects: Any, **kwargs: Any) -> None:
        needed = max(
            (o.minimum_width for o in objects if isinstance(o, FittedTable)),
            default=0,
        )
        width = self.width
        if needed <= width:
            super().print(*objects, **kwargs)
            return
        self.width = needed
        try:
            super().print(*objects, **kwargs)
        finally:
            self.width = width


WIDE = 4096
"""The width of output that goes to a file or a pipe (nothing is wrapped
short of it), unless ``COLUMNS`` says otherwise."""


def console(stderr: bool = False) -> Console:
    """The CLI's console: the terminal's width on a terminal (or ``COLUMNS``),
    else wide enough that nothing is wrapped."""
    out = _Console(stderr=stderr, highlight=False, soft_wrap=False)
    if not out.is_terminal and not os.environ.get("COLUMNS"):
        out.width = WIDE
    return out
