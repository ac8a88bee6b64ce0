"""``replay`` (rebuild views, or walk a history step by step) and ``verify``."""

from __future__ import annotations

import sys
from typing import Any

import click
import msgspec
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from projections import SQLiteViewStore, replay, view_as_of, view_names
from projections.parallel import PARALLEL_FROM, auto_workers
from projections.views.cost_ledger import CostLedgerReads
from projections.views.decision_log import DecisionLogReads
from projections.views.progress import ProgressReads
from session_log.cli.base import (
    EXIT_UNAVAILABLE,
    EXIT_VERIFY_FAILED,
    Failure,
    project_option,
    projects,
    resolve_project,
    runtime,
    runtime_options,
)
from session_log.cli.ops import checkpoint, signing_key
from session_log.cli.render import console, local, money, table, when
from session_log.runtime import Runtime
from session_log.tamper import CheckpointStore, read_project, verify_messages


def compare_view(rt: Runtime, name: str) -> tuple[int, str | None]:
    """Replay view ``name`` from the stream up to the live view's position and
    compare every row; returns (position, first difference or None)."""
    live = rt.catch_up().view(name)
    source = rt.runner.source
    for _ in range(3):
        position = live.position(source)
        with view_as_of(rt.app, name, position=position, source=source) as fresh:
            expected = fresh.dump()
        actual = live.dump()
        if live.position(source) == position:
            break
    for table_name in sorted(set(expected) | set(actual)):
        want = expected.get(table_name, [])
        have = actual.get(table_name, [])
        if want == have:
            continue
        for index, (w, h) in enumerate(zip(want, have, strict=False)):
            if w != h:
                return position, (
                    f"table {table_name}, row {index + 1}: the view has {_short(h)}, "
                    f"the stream gives {_short(w)}"
                )
        return position, (
            f"table {table_name}: {len(have)} rows in the view, "
            f"{len(want)} from the stream"
        )
    return position, None


def _short(row: dict[str, Any]) -> str:
    text = msgspec.json.encode(row, enc_hook=str).decode()
    return text if len(text) < 160 else text[:157] + "..."


def register(cli: click.Group) -> None:
    @cli.command()
    @runtime_options
    @project_option
    @click.option(
        "--checkpoint/--no-checkpoint",
        "sign",
        default=False,
        help="After a clean verification, sign a new checkpoint at the head.",
    )
    @click.option(
        "--trust",
        "trusted",
        multiple=True,
        help="Also trust checkpoints signed by this public key (hex; repeat).",
    )
    @click.option(
        "--skip-views", is_flag=True, help="Only the hash chains and checkpoints."
    )
    def verify(
        project: str | None, sign: bool, trusted: tuple[str, ...], skip_views: bool
    ) -> None:
        """Check the views against the stream, and the tamper-evidence chain.

        Each view is rebuilt from the stream in memory, up to its position, and
        compared row by row. Each project's per-aggregate hash chains are
        recomputed and compared with the signed checkpoints (in the data dir):
        the first bad stream position is named. Exits 8 when anything disagrees.

        \b
        Examples:
          session-log verify
          session-log verify --project moonlit --checkpoint
          session-log verify --trust 9f2c...   # a label's checkpoint key
        """
        rt = runtime()
        con = console()
        bad = False
        if not skip_views:
            rows = []
            for name in view_names():
                with con.status(f"Rebuilding {name} to compare..."):
                    position, problem = compare_view(rt, name)
                bad = bad or problem is not None
                rows.append(
                    (name, position, "[green]ok[/]" if problem is None else problem)
                )
            con.print(
                table("Views against the stream", ["view", "position", "result"], rows)
            )
        names = [project] if project else [str(p["project"]) for p in projects(rt)]
        key = signing_key(rt)
        store = CheckpointStore(rt.checkpoints_dir)
        keys = {key.public_key, *trusted}
        stream: Any = rt.app.recorder.stream  # type: ignore[attr-defined]
        chains: list[tuple[str, int, int, int, str]] = []
        for name in names:
            with con.status(f"Verifying the hash chains of {name}..."):
                report = verify_messages(
                    read_project(stream, name),
                    store.load(rt.stream, name),
                    trusted_keys=keys,
                )
            if report.ok:
                result = "[green]ok[/]"
                if sign:
                    made = checkpoint(rt, name)
                    if made is not None:
                        result += f", new checkpoint {made.name}"
            else:
                bad = True
                found = report.problem
                assert found is not None
                result = (
                    f"[red]first bad position {found.position}[/]"
                    + (f" ({found.subject})" if found.subject else "")
                    + f": {found.reason}"
                )
            chains.append(
                (name, report.events, report.aggregates, report.checkpoints, result)
            )
        con.print(
            table(
                "Tamper evidence (hash chains and signed checkpoints)",
                [
                    "project",
                    ("events", "right"),
                    ("aggregates", "right"),
                    ("checkpoints", "right"),
                    "result",
                ],
                chains,
                caption=f"checkpoint key {key.public_key[:16]}... "
                f"({rt.key_path}); checkpoints in {rt.checkpoints_dir}",
            )
        )
        if bad:
            raise Failure("verification failed (see above)", EXIT_VERIFY_FAILED)

    @cli.command("replay")
    @runtime_options
    @project_option
    @click.option(
        "--view",
        "names",
        multiple=True,
        type=click.Choice(view_names()),
        help="Only this view (repeat) [default: all].",
    )
    @click.option(
        "--step", is_flag=True, help="Walk a project's history decision by decision."
    )
    @click.option(
        "--from",
        "start",
        type=int,
        default=0,
        help="--step: start after this position.",
    )
    @click.option(
        "--limit", type=int, default=None, help="--step: at most this many decisions."
    )
    @click.option(
        "--pause/--no-pause",
        default=None,
        help="--step: wait for Enter after each decision [default: on a terminal].",
    )
    @click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=None,
        help=(
            "Rebuild in this many processes, each applying a slice of the projects "
            f"[default: one per core from {PARALLEL_FROM:,} events]."
        ),
    )
    def replay_command(
        project: str | None,
        names: tuple[str, ...],
        step: bool,
        start: int,
        limit: int | None,
        pause: bool | None,
        workers: int | None,
    ) -> None:
        """Rebuild views from the stream (progress bar), or --step through history.

        A rebuild fills fresh tables from the start of the stream and swaps them
        in when caught up; the old view serves until then.

        \b
        Examples:
          session-log replay                       # rebuild every view
          session-log replay --view cost_ledger
          session-log replay --workers 4           # four processes
          session-log replay --step --limit 30     # Enter: next, q: quit
          session-log replay --step --from 1200 --no-pause | less
        """
        rt = runtime()
        if step:
            walk(rt, resolve_project(rt, project), start, limit, pause)
            return
        runner = rt.follow()
        if not rt.owns_views:
            raise Failure(
                "another session-log process (session-log up?) keeps these views: "
                "stop it first, or rebuild with that process stopped",
                EXIT_UNAVAILABLE,
            )
        con = console()
        chosen = list(names or view_names())
        processes = workers or auto_workers(rt.head())
        with Progress(
            TextColumn(f"Rebuilding {len(chosen)} view(s) in {processes} process(es)"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=con,
        ) as bar:
            task = bar.add_task("rebuild", total=max(rt.head(), 1))

            def advance(position: int, target: int) -> None:
                bar.update(task, completed=position, total=max(target, 1))

            reports = runner.rebuild_all(chosen, progress=advance, workers=processes)
            last = max((r.position for r in reports), default=0)
            bar.update(task, completed=last, total=max(last, 1))
        rows = [
            (
                r.view,
                r.events,
                r.position,
                f"{r.seconds:.2f}",
                f"{r.events_per_second:,.0f}",
            )
            for r in reports
        ]
        con.print(
            table(
                "Rebuilt",
                [
                    "view",
                    ("events", "right"),
                    ("position", "right"),
                    ("seconds", "right"),
                    ("events/s", "right"),
                ],
                rows,
            )
        )


def walk(
    rt: Runtime, project: str, start: int, limit: int | None, pause: bool | None
) -> None:
    """Print a project's decisions one by one with the ledger and stages after each."""
    con = console()
    interactive = sys.stdin.isatty() if pause is None else pause
    log = rt.catch_up().decision_log
    store = SQLiteViewStore(":memory:")
    try:
        ledger = store.view("cost_ledger")
        progress = store.view("progress")
        assert isinstance(ledger, CostLedgerReads)
        assert isinstance(progress, ProgressReads)
        shown = 0
        cursor = f"{start}:{rt.runner.source}" if start else None
        while limit is None or shown < limit:
            page = _page(log, project, cursor)
            if not page:
                break
            for decision in page:
                cursor = f"{decision.position}:{decision.stream}"
                for view in (ledger, progress):
                    replay(
                        rt.app, view, stop=decision.position, source=rt.runner.source
                    )
                totals = ledger.summary(project)
                stages = {k: v for k, v in progress.stages(project).items() if v}
                money_line = (
                    " | ".join(
                        f"budget {money(t.revised, t.currency)}, actual "
                        f"{money(t.actual, t.currency)}, contingency left "
                        f"{money(t.contingency_left, t.currency)}"
                        for t in totals
                    )
                    or "no approved budget yet"
                )
                stage_line = ", ".join(f"{n} {s}" for s, n in stages.items()) or "-"
                body = "\n".join(
                    [
                        f"[bold]{decision.kind}[/] on {decision.aggregate_id}",
                        f"{local(decision.actor)} as {decision.capacity}, "
                        f"{when(decision.occurred_at)}"
                        + (f" - {decision.reason}" if decision.reason else ""),
                        f"[dim]{_short(decision.payload_json)}[/]",
                        f"Ledger: {money_line}",
                        f"Songs: {stage_line}",
                    ]
                )
                con.print(Panel(body, title=f"#{decision.position}", expand=False))
                shown += 1
                if limit is not None and shown >= limit:
                    return
                if interactive:
                    answer = click.prompt(
                        "Enter: next, q: quit", default="", show_default=False
                    )
                    if answer.strip().lower().startswith("q"):
                        return
    finally:
        store.close()


def _page(log: DecisionLogReads, project: str, cursor: str | None) -> list[Any]:
    return log.decisions(project=project, after=cursor, limit=200).items


__all__ = ["compare_view", "register", "walk"]
