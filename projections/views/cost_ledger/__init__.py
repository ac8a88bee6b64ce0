"""Cost ledger: where the money went and what is left, per budget line.

Every money figure is the sum of ``cost_ledger_entries`` rows, one per line-ledger
event (``LineFunded``, ``LineRevised``, ``SpendCommitted``, ``CommitmentCancelled``,
``CostIncurred``, ``CostCorrected``, ``PaymentRecorded``, ``AdvancePaid``), each
carrying the event id and stream position that produced it: a figure is traced by
selecting the entries it sums.

Per line (``cost_ledger_lines``), in integer minor units of the line's currency:

- ``drafted``: the amount in the latest budget version drafted with the line (the
  resolved amount once that version was submitted; NULL for a contingency given
  as a percentage and not yet submitted);
- ``approved``: the amount the approved budget version gives the line;
- ``revised``: approved plus reallocations, contingency draws and increases
  (``reallocated``, ``drawn``, ``increased``, signed; a later approved version
  resets the line to its amount);
- ``committed``: commitments made (less what cancellations released);
  ``open_committed``: committed and not yet invoiced;
- ``actual``: costs incurred (as corrected) plus advances; ``paid``: payments
  plus advances;
- ``exposure`` = actual + open_committed; ``overrun`` = exposure beyond revised;
- ``forecast``: the best figure known, paid over quoted over estimated: the
  exposure once anything is incurred, advanced or committed and open, else the
  revised amount (a cancelled quote leaves the estimate); ``forecast_basis`` says
  which: ``quoted`` (open commitments remain), ``actual`` (all invoiced, some
  unpaid), ``paid`` (all invoiced and paid) or ``estimated``;
- ``variance`` = revised - actual; ``forecast_variance`` = revised - forecast.

Budget versions and their fate (``cost_ledger_budget_versions``), the requests that
revise an approved budget (``cost_ledger_requests``: reallocations, contingency
draws, increases, with who decided and why), and the recoupable balance per account
(``cost_ledger_accounts``: actual and paid costs by who recoups them).
"""

from projections.views.cost_ledger.definition import CostLedgerDefinition
from projections.views.cost_ledger.reads import (
    CostLedgerReads,
    LedgerEntry,
    LedgerLine,
    LedgerSummary,
)

__all__ = [
    "CostLedgerDefinition",
    "CostLedgerReads",
    "LedgerEntry",
    "LedgerLine",
    "LedgerSummary",
]
