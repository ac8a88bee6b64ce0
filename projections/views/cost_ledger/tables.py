"""The cost ledger's tables."""

from __future__ import annotations

from typing import Any

import msgspec

from projections.schema import Table, col

LINES = Table(
    "lines",
    (
        col("line_id"),
        col("project"),
        col("budget_id", null=True),
        col("line"),
        col("category"),
        col("description"),
        col("recoupable_from"),
        col("recording_id", null=True),
        col("currency"),
        col("drafted", "int", null=True),
        col("approved", "int", null=True),
        col("approved_version", "int", null=True),
        col("revised", "int"),
        col("reallocated", "int"),
        col("drawn", "int"),
        col("increased", "int"),
        col("committed", "int"),
        col("open_committed", "int"),
        col("actual", "int"),
        col("paid", "int"),
        col("exposure", "int"),
        col("overrun", "int"),
        col("forecast", "int"),
        col("forecast_basis"),
        col("variance", "int"),
        col("forecast_variance", "int"),
    ),
    primary_key=("line_id",),
    indexes=(("project", "line"), ("recording_id",)),
    doc="One row per budget line: drafted to paid, variance, forecast.",
)

ENTRIES = Table(
    "entries",
    (
        col("stream"),
        col("position", "int"),
        col("line_id"),
        col("project"),
        col("event_id"),
        col("kind"),
        col("ref", null=True),
        col("cause", null=True),
        col("payee_id", null=True),
        col("recording_id", null=True),
        col("account"),
        col("currency"),
        col("occurred_at", "timestamp"),
        col("revised_delta", "int"),
        col("committed_delta", "int"),
        col("actual_delta", "int"),
        col("paid_delta", "int"),
    ),
    primary_key=("stream", "position", "line_id"),
    indexes=(("line_id", "position"), ("project", "account"), ("recording_id",)),
    doc="The money events: every ledger figure is a sum of these deltas.",
)

COMMITMENTS = Table(
    "commitments",
    (
        col("line_id"),
        col("commitment"),
        col("project"),
        col("payee_id"),
        col("description"),
        col("amount", "int"),
        col("invoiced", "int"),
        col("is_open", "bool"),
        col("session_id", null=True),
        col("recording_id", null=True),
        col("event_id"),
    ),
    primary_key=("line_id", "commitment"),
    doc="Commitments (quotes, bookings) and how much of each was invoiced.",
)

COSTS = Table(
    "costs",
    (
        col("line_id"),
        col("cost"),
        col("project"),
        col("payee_id"),
        col("invoice_ref"),
        col("amount", "int"),
        col("paid", "int"),
        col("commitment", null=True),
        col("account"),
        col("session_id", null=True),
        col("recording_id", null=True),
        col("overrun", "int"),
        col("event_id"),
    ),
    primary_key=("line_id", "cost"),
    doc="Costs incurred (invoices), as corrected, and what was paid of each.",
)

BUDGET_VERSIONS = Table(
    "budget_versions",
    (
        col("budget_id"),
        col("version", "int"),
        col("project"),
        col("status"),
        col("currency", null=True),
        col("total", "int", null=True),
        col("is_co_approval_needed", "bool", null=True),
        col("approvals_json", "json"),
        col("based_on_version", "int", null=True),
        col("replaces_version", "int", null=True),
        col("superseded_by_version", "int", null=True),
        col("drafted_at", "timestamp"),
        col("drafted_by"),
        col("submitted_at", "timestamp", null=True),
        col("decided_at", "timestamp", null=True),
        col("decided_by", null=True),
        col("reason", null=True),
        col("event_ids_json", "json"),
    ),
    primary_key=("budget_id", "version"),
    indexes=(("project", "version"),),
    doc="Budget versions and their fate (draft, submitted, rejected, approved, "
    "superseded), with who decided and why.",
)

BUDGET_LINES = Table(
    "budget_lines",
    (
        col("budget_id"),
        col("version", "int"),
        col("line"),
        col("project"),
        col("category"),
        col("description"),
        col("amount", "int", null=True),
        col("contingency_bp", "int", null=True),
        col("resolved", "int", null=True),
        col("recoupable_from"),
        col("recording_id", null=True),
    ),
    primary_key=("budget_id", "version", "line"),
    doc="The lines of each budget version as drafted (resolved once submitted).",
)

REQUESTS = Table(
    "requests",
    (
        col("budget_id"),
        col("request"),
        col("project"),
        col("kind"),
        col("line_id"),
        col("from_line_id", null=True),
        col("amount", "int"),
        col("currency"),
        col("status"),
        col("requested_at", "timestamp"),
        col("requested_by"),
        col("decided_at", "timestamp", null=True),
        col("decided_by", null=True),
        col("reason", null=True),
        col("event_ids_json", "json"),
    ),
    primary_key=("budget_id", "request"),
    indexes=(("project",),),
    doc="Reallocations, contingency draws and increases: requested, decided.",
)

ACCOUNTS = Table(
    "accounts",
    (
        col("project"),
        col("account"),
        col("currency"),
        col("recoupable", "int"),
        col("paid", "int"),
    ),
    primary_key=("project", "account", "currency"),
    doc="Recoupable balance per account (artist, producer, label, none).",
)

ZERO_FIGURES = {
    "revised": 0,
    "reallocated": 0,
    "drawn": 0,
    "increased": 0,
    "committed": 0,
    "open_committed": 0,
    "actual": 0,
    "paid": 0,
    "exposure": 0,
    "overrun": 0,
    "forecast": 0,
    "forecast_basis": "estimated",
    "variance": 0,
    "forecast_variance": 0,
}

CAUSE_COLUMNS = {
    "reallocation": "reallocated",
    "contingency_draw": "drawn",
    "increase": "increased",
}


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()
