"""The views on PostgreSQL (imported on first use, see ``projections.catalog``)."""

from __future__ import annotations

from projections.postgres_backend import PostgresView
from projections.views.cost_ledger import CostLedgerReads
from projections.views.credits import CreditsReads
from projections.views.decision_log import DecisionLogReads
from projections.views.progress import ProgressReads
from projections.views.timeline import TimelineReads


class PostgresTimelineView(TimelineReads, PostgresView):
    """Timeline on PostgreSQL."""


class PostgresDecisionLogView(DecisionLogReads, PostgresView):
    """Decision log on PostgreSQL."""


class PostgresCostLedgerView(CostLedgerReads, PostgresView):
    """Cost ledger on PostgreSQL."""


class PostgresProgressView(ProgressReads, PostgresView):
    """Progress on PostgreSQL."""


class PostgresCreditsView(CreditsReads, PostgresView):
    """Credits on PostgreSQL."""
