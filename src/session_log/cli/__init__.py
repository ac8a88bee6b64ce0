"""``session-log``: the command line (click + rich).

Run ``session-log --help`` or see docs/cli.md. The console script calls
:func:`main`.
"""

from __future__ import annotations

import sys

import click

from session_log.cli.base import EXIT_CODES_HELP, Group

__all__ = ["cli", "main"]

HELP = f"""An audit-grade decision log for record production.

\b
Start here:
  session-log demo                 load the demo album, build the views
  session-log up                   NATS + views + HTTP API + dashboard
\b
Deploy (docs/operations.md):
  session-log project --views postgresql://...   a projection worker
  session-log serve --views postgresql://...     the HTTP API and dashboard
\b
Look at a project:
  session-log timeline --limit 20  every decision in order
  session-log audit --actor rui    who decided what, in which capacity, why
  session-log ledger               budget against actual, per line
  session-log credits --format rin credits per recording (table|json|csv|rin)
  session-log status --as-of 2025-03-01
\b
Decide:
  session-log decide mark-take --as rui --take lantern-lead-vocal-1 --mark circle
  echo '{{"type": "note_mix", ...}}' | session-log submit --as rui -
\b
Check:
  session-log verify               views and the tamper-evident chain
  session-log replay --step        walk the history decision by decision

{EXIT_CODES_HELP}
"""


@click.group(
    cls=Group, help=HELP, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option("0.1.0", prog_name="session-log")
def cli() -> None:
    pass


def _register() -> None:
    from session_log.cli import decide, ops, reads, verify

    for module in (ops, decide, reads, verify):
        module.register(cli)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    sys.exit(cli.main(args=argv, prog_name="session-log", standalone_mode=True))
