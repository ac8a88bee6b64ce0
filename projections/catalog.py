"""Every view, with its SQLite and PostgreSQL classes and its projection class.

The PostgreSQL classes (``projections.postgres_views``) are imported on first use,
so the SQLite default needs neither psycopg nor psycopg_pool.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from projections.errors import UnknownViewError
from projections.projection import ViewProjection
from projections.sqlite_backend import SQLiteView
from projections.views.cost_ledger import CostLedgerReads
from projections.views.credits import CreditsReads
from projections.views.decision_log import DecisionLogReads
from projections.views.progress import ProgressReads
from projections.views.timeline import TimelineReads

if TYPE_CHECKING:
    from projections.postgres_backend import PostgresView


class SQLiteTimelineView(TimelineReads, SQLiteView):
    """Timeline on SQLite."""


class TimelineProjection(ViewProjection):
    name = "timeline"


class SQLiteDecisionLogView(DecisionLogReads, SQLiteView):
    """Decision log on SQLite."""


class DecisionLogProjection(ViewProjection):
    name = "decision_log"


class SQLiteCostLedgerView(CostLedgerReads, SQLiteView):
    """Cost ledger on SQLite."""


class CostLedgerProjection(ViewProjection):
    name = "cost_ledger"


class SQLiteProgressView(ProgressReads, SQLiteView):
    """Progress on SQLite."""


class ProgressProjection(ViewProjection):
    name = "progress"


class SQLiteCreditsView(CreditsReads, SQLiteView):
    """Credits on SQLite."""


class CreditsProjection(ViewProjection):
    name = "credits"


@dataclass(frozen=True)
class ViewType:
    name: str
    sqlite: type[SQLiteView]
    postgres_class_name: str
    projection: type[ViewProjection]

    @property
    def postgres(self) -> type[PostgresView]:
        module = importlib.import_module("projections.postgres_views")
        cls: type[PostgresView] = getattr(module, self.postgres_class_name)
        return cls


VIEW_TYPES: dict[str, ViewType] = {
    t.name: t
    for t in (
        ViewType(
            "timeline", SQLiteTimelineView, "PostgresTimelineView", TimelineProjection
        ),
        ViewType(
            "decision_log",
            SQLiteDecisionLogView,
            "PostgresDecisionLogView",
            DecisionLogProjection,
        ),
        ViewType(
            "cost_ledger",
            SQLiteCostLedgerView,
            "PostgresCostLedgerView",
            CostLedgerProjection,
        ),
        ViewType(
            "progress", SQLiteProgressView, "PostgresProgressView", ProgressProjection
        ),
        ViewType(
            "credits", SQLiteCreditsView, "PostgresCreditsView", CreditsProjection
        ),
    )
}


def view_type(name: str) -> ViewType:
    try:
        return VIEW_TYPES[name]
    except KeyError:
        known = ", ".join(VIEW_TYPES)
        raise UnknownViewError(f"no view {name!r} (known: {known})") from None


def view_names() -> list[str]:
    return list(VIEW_TYPES)
