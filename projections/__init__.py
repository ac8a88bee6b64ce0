"""session-log's read side: views of the decision stream.

Quick start::

    from projections import ProjectionsRunner, open_store

    store = open_store("sqlite:///views.db")  # or "postgresql://...?schema=views"
    with ProjectionsRunner(app, store) as runner:  # catch up, then follow live
        runner.wait()  # read-your-writes: everything written so far is in
        page = runner.timeline.timeline(project="alb", limit=20)
        print(runner.lag(), runner.status())

See docs/projections.md.
"""

from projections.catalog import VIEW_TYPES, view_names, view_type
from projections.errors import (
    NotADecisionError,
    PoisonEventError,
    ProjectionError,
    UndecodableEventError,
    UnknownViewError,
    ViewHaltedError,
)
from projections.failures import Failure
from projections.projection import ViewProjection
from projections.rebuild import RebuildReport, rebuild_view, rebuild_views
from projections.records import DecisionRecord, event_id_of
from projections.replay import replay
from projections.runner import ProjectionsRunner, ViewRunner, ViewStatus
from projections.sql_view import SQLView, ViewDefinition
from projections.stores import (
    PostgresViewStore,
    SQLiteViewStore,
    ViewStore,
    open_store,
)
from projections.time_travel import view_as_of
from projections.views.paging import Page

__all__ = [
    "VIEW_TYPES",
    "DecisionRecord",
    "Failure",
    "NotADecisionError",
    "Page",
    "PoisonEventError",
    "PostgresViewStore",
    "ProjectionError",
    "ProjectionsRunner",
    "RebuildReport",
    "SQLView",
    "SQLiteViewStore",
    "UndecodableEventError",
    "UnknownViewError",
    "ViewDefinition",
    "ViewHaltedError",
    "ViewProjection",
    "ViewRunner",
    "ViewStatus",
    "ViewStore",
    "event_id_of",
    "open_store",
    "rebuild_view",
    "rebuild_views",
    "replay",
    "view_as_of",
    "view_names",
    "view_type",
]
