"""The views' projections: eventsourcing ``Projection`` subclasses.

A projection hands each (domain event, tracking) pair to its view, which applies
it with the tracking position in one transaction. They work with this package's
runner and with eventsourcing's own ``ProjectionRunner``::

    ProjectionRunner(
        application_class=SessionLog,
        projection_class=TimelineProjection,
        view_class=SQLiteTimelineView,
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", ...},
    )
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from projections.sql_view import SQLView


class ViewProjection(Projection[SQLView]):
    """Applies every event to the view (poison events halt it, see SQLView)."""

    name = "view"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.apply_events([(domain_event, tracking)])
