"""The cost ledger view definition: its tables and the events it handles."""

from __future__ import annotations

from projections.views.cost_ledger.budget_events import BudgetEvents
from projections.views.cost_ledger.line_events import LineEvents
from projections.views.cost_ledger.tables import (
    ACCOUNTS,
    BUDGET_LINES,
    BUDGET_VERSIONS,
    COMMITMENTS,
    COSTS,
    ENTRIES,
    LINES,
    REQUESTS,
)


class CostLedgerDefinition(BudgetEvents, LineEvents):
    name = "cost_ledger"
    tables = (
        LINES,
        ENTRIES,
        COMMITMENTS,
        COSTS,
        BUDGET_VERSIONS,
        BUDGET_LINES,
        REQUESTS,
        ACCOUNTS,
    )
    doc = "Per line drafted to paid, contingency, recoupable balances, versions."
    # Recomputing a line and an account sums their entries.
    apply_indexes = {"entries": (("line_id", "position"), ("project", "account"))}
