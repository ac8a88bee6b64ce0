"""Formatting for the terminal: money, times, ids, and rich tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def money(minor: int | None, currency: str = "USD") -> str:
    """``1234567`` USD -> ``$12,345.67``; None -> ``-``."""
    if minor is None:
        return "-"
    sign = "-" if minor < 0 else ""
    units, cents = divmod(abs(minor), 100)
    symbol = SYMBOLS.get(currency)
    text = f"{units:,}.{cents:02d}"
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
    """A rich table; a column given as ``(name, "right")`` is right-justified."""
    out = Table(title=title, caption=caption, header_style="bold", expand=False)
    for column in columns:
        if isinstance(column, tuple):
            out.add_column(column[0], justify="right")
        else:
            out.add_column(column)
    for row in rows:
        out.add_row(*("-" if value is None else str(value) for value in row))
    return out


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)
