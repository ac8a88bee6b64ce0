"""Credits: who did what on each recording and on the album, with DDEX roles.

Derived as shared/domain.md describes, for each recording:

- **performers**: the performers of the takes in the recording's current comps (a
  comp approved at producer level and not superseded), each with the roles and
  instruments of their check-in to the take's session (``Musician`` when they
  did not check in);
- **session crew**: check-ins with a non-performing role (engineers, producers,
  contractors ...) to the sessions those takes were recorded in, and the engineer
  who opened, closed or logged takes in them (``RecordingEngineer``);
- **editing**: who recorded edit passes on the current comps
  (``DigitalEditingEngineer``);
- **mixing / mastering**: who submitted the final approved mix (``MixingEngineer``)
  and the final approved master (``MasteringEngineer``);
- **asserted** credits (on the recording, or on the release for album credits)
  with their status: asserted, confirmed or disputed (retracted ones drop out).

Each credit row carries ``evidence_json``: the event ids it was derived from.
Writer splits per work come from the latest finalised split sheet (an amended
sheet counts once it is signed and finalised).
The fact tables (``credits_checkins``, ``credits_takes``, ``credits_comps`` ...) are
kept as the events arrive; a recording's derived rows are recomputed from them,
in the same transaction, whenever one of its facts changes.
"""

from projections.views.credits.derivation import CreditsDefinition
from projections.views.credits.reads import CreditsReads
from projections.views.credits.results import Credit, MergedCredit, WriterSplit, merge
from projections.views.credits.tables import PERFORMING_ROLES

__all__ = [
    "PERFORMING_ROLES",
    "Credit",
    "CreditsDefinition",
    "CreditsReads",
    "MergedCredit",
    "WriterSplit",
    "merge",
]
