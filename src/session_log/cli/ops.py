"""``demo``, ``up``, ``serve``, ``project`` and ``token``: running the system."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import click
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from projections import view_names
from session_log.api.auth import TokenBook, issue_token
from session_log.cli.base import EXIT_UNAVAILABLE, Failure, runtime, runtime_options
from session_log.cli.render import console, money, table
from session_log.demo import DEMO_PROJECT, DemoSummary, load_demo
from session_log.runtime import Runtime
from session_log.tamper import (
    CheckpointStore,
    SigningKey,
    make_checkpoint,
    read_project,
)
from session_log.workers import ViewLease

DEMO_TOKENS = (
    ("rui", "producer"),
    ("lena", "label A&R"),
    ("mara", "artist"),
    ("victor", "executive producer"),
    ("sam", "engineer"),
    ("max", "viewer"),
)
DEFAULT_PORT = 8765


def catch_up_with_progress(rt: Runtime, label: str = "Building the views") -> None:
    """Start the runners and show a progress bar until every view is caught up."""
    runner = rt.follow()
    head = rt.head()
    con = console()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=con,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=max(head, 1))
        while True:
            lag = runner.lag()
            behind = max(lag.values()) if lag else 0
            bar.update(task, completed=max(head - behind, 0))
            if behind == 0:
                break
            failures = runner.failures()
            if failures:
                break
            time.sleep(0.1)
    runner.wait(timeout=60)


def signing_key(rt: Runtime) -> SigningKey:
    """The data directory's checkpoint key (created on first use)."""
    path = rt.key_path
    if path.exists():
        return SigningKey.load(path)
    key = SigningKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    key.save(path)
    return key


def checkpoint(rt: Runtime, project: str) -> Path | None:
    """Sign a checkpoint of ``project`` at the stream's current position."""
    stream = rt.app.recorder.stream  # type: ignore[attr-defined]
    store = CheckpointStore(rt.checkpoints_dir)
    existing = store.load(rt.stream, project)
    history = list(read_project(stream, project))
    if not history:
        return None
    if existing and existing[-1].position == history[-1].seq:
        return None
    made = make_checkpoint(
        history, stream=rt.stream, project=project, key=signing_key(rt)
    )
    return store.save(made)


def demo_tokens(rt: Runtime) -> dict[str, str]:
    return {
        party: issue_token(rt.tokens_path, party, [DEMO_PROJECT])
        for party, _ in DEMO_TOKENS
    }


def load_demo_album(rt: Runtime) -> tuple[DemoSummary, bool]:
    """Load the demo (a no-op when loaded already); returns (summary, new)."""
    con = console()
    with con.status("Starting the embedded nats-server..."):
        rt.start_nats()
        app = rt.app
    before = rt.head()
    started = time.monotonic()
    with con.status("Loading the demo album through the public commands (10-20 s)..."):
        summary = load_demo(app)
    new = rt.head() > before
    if new:
        con.print(
            f"Loaded [bold]{summary.title}[/]: {summary.commands} commands, "
            f"{summary.events} events in {time.monotonic() - started:.1f} s"
        )
    else:
        con.print(f"[bold]{summary.title}[/] was already loaded: nothing written.")
    catch_up_with_progress(rt)
    checkpoint(rt, summary.project)
    return summary, new


def print_demo_summary(rt: Runtime, summary: DemoSummary) -> None:
    con = console()
    runner = rt.catch_up()
    project = summary.project
    stages = runner.progress.stages(project)
    songs = sum(stages.values())
    decisions = runner.timeline.rows(
        "SELECT COUNT(*) AS n FROM {entries} WHERE project = :p", {"p": project}
    )[0]["n"]
    credits = runner.credits.merged_credits(project=project)
    recordings = {c.subject_id for c in credits if ".recording." in c.subject_id}
    totals = runner.cost_ledger.summary(project)
    rows: list[tuple[str, str]] = [
        ("Project", f"{summary.title} ({project})"),
        ("Songs", f"{songs} ({', '.join(f'{n} {s}' for s, n in stages.items() if n)})"),
        ("Decisions", f"{decisions}, by {summary.parties} parties"),
        ("Commands", f"{summary.commands} of {summary.command_types} kinds"),
        ("Sessions", str(summary.sessions)),
        ("Credits", f"{len(credits)} on {len(recordings)} recordings and the album"),
    ]
    for total in totals:
        cur = total.currency
        rows += [
            ("Budget approved", money(total.approved_total, cur)),
            ("Budget revised", money(total.revised, cur)),
            ("Actual", f"{money(total.actual, cur)} (paid {money(total.paid, cur)})"),
            ("Variance", money(total.variance, cur)),
            ("Contingency left", money(total.contingency_left, cur)),
        ]
    out = table(f"session-log demo: {summary.title}", ["", ""], rows)
    out.show_header = False
    con.print(out)
    hints = [
        ("session-log up", f"dashboard + API: http://127.0.0.1:{DEFAULT_PORT}/"),
        ("session-log timeline --limit 20", "every decision, in order"),
        ("session-log audit --actor rui", "who decided what, and why"),
        ("session-log ledger", "budget against actual"),
        ("session-log credits", "credits (--format csv|rin)"),
        ("session-log status --as-of 2025-03-01", "the songs back then"),
        ("session-log verify", "views and hash chains"),
    ]
    width = max(len(command) for command, _ in hints)
    lines = [f"[bold]{command:<{width}}[/]  {what}" for command, what in hints]
    lines.append(f"Data: {rt.data_dir}/ (API tokens: {rt.tokens_path.name})")
    con.print(Panel("\n".join(lines), title="Where to look", expand=False))


def register(cli: click.Group) -> None:
    @cli.command()
    @runtime_options
    def demo() -> None:
        """Load the demo album "Moonlit Harbour" and build the views.

        Starts the embedded nats-server (data under the data dir), submits the
        demo's commands through the public command API (skipped when already
        loaded), builds the SQLite views, signs a checkpoint of the hash chain,
        issues API tokens for the demo's people, and prints a summary.

        \b
        Example:
          session-log demo && session-log up
        """
        rt = runtime()
        summary, _ = load_demo_album(rt)
        demo_tokens(rt)
        print_demo_summary(rt, summary)

    @cli.command()
    @runtime_options
    @click.option("--demo", "with_demo", is_flag=True, help="Load the demo first.")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option(
        "--port", default=DEFAULT_PORT, show_default=True, type=int, help="HTTP port."
    )
    @click.option(
        "--nats-port", default=None, type=int, help="Embedded NATS port [free port]."
    )
    def up(with_demo: bool, host: str, port: int, nats_port: int | None) -> None:
        """Run NATS, the view runners, the HTTP API and the dashboard.

        Stops cleanly on Ctrl-C or SIGTERM.

        \b
        Examples:
          session-log up --demo
          session-log up --nats-url nats://10.0.0.5:4222 \\
              --views 'postgresql://app:secret@db/session_log?schema=views'
        """
        rt = runtime()
        rt.nats_port = nats_port
        if with_demo:
            summary, _ = load_demo_album(rt)
            demo_tokens(rt)
            print_demo_summary(rt, summary)
        else:
            rt.start_nats()
            catch_up_with_progress(rt)
        serve(rt, host, port)

    @cli.command("serve")
    @runtime_options
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option(
        "--port", default=DEFAULT_PORT, show_default=True, type=int, help="HTTP port."
    )
    def serve_command(host: str, port: int) -> None:
        """Serve the HTTP API and dashboard on views kept by projection workers.

        Runs no view runner: `session-log project` keeps the views. Any number
        of `serve` processes can run side by side. Stops on Ctrl-C or SIGTERM.

        \b
        Example (one of the API replicas of docker/compose.yaml):
          session-log serve --host 0.0.0.0 --port 8000 \\
              --nats-url nats://n1:4222,nats://n2:4222,nats://n3:4222 \\
              --views 'postgresql://app:secret@db/session_log'
        """
        rt = runtime()
        rt.keep_views = False
        rt.start_nats()
        serve(rt, host, port)

    @cli.command("project")
    @runtime_options
    @click.option(
        "--view",
        "keep",
        multiple=True,
        type=click.Choice(view_names()),
        help="A view to keep (repeatable) [every view].",
    )
    @click.option(
        "--status-every",
        default=30.0,
        show_default=True,
        type=float,
        help="Seconds between status lines (0: none).",
    )
    def project(keep: tuple[str, ...], status_every: float) -> None:
        """A projection worker: keep views up to date, live, until stopped.

        Each view is kept by one worker at a time. On PostgreSQL a worker takes
        an advisory-lock lease per view; a second worker for the same views waits
        as a hot standby and takes over when the first one stops or dies. On
        SQLite one process keeps the file's views (a file lock). Stops on Ctrl-C
        or SIGTERM; a batch being applied is committed whole or not at all.

        \b
        Examples:
          session-log project --views 'postgresql://app:secret@db/session_log'
          session-log project --view timeline --view decision_log \\
              --nats-url nats://n1:4222 --views postgresql://db/session_log
        """
        run_worker(runtime(), list(keep) or view_names(), status_every)

    @cli.group()
    def token() -> None:
        """API tokens: each stands for one party (see docs/api.md)."""

    @token.command("add")
    @runtime_options
    @click.argument("party")
    @click.option(
        "--project", "projects", multiple=True, help="Only in this project (repeat)."
    )
    def token_add(party: str, projects: tuple[str, ...]) -> None:
        """Issue a token for PARTY (a party id in the project, e.g. rui)."""
        rt = runtime()
        click.echo(issue_token(rt.tokens_path, party, list(projects) or None))

    @token.command("list")
    @runtime_options
    def token_list() -> None:
        """The tokens of the token file and SESSION_LOG_TOKENS."""
        rt = runtime()
        book = TokenBook(rt.tokens_path)
        rows = [
            (tok, p.party, ", ".join(sorted(p.projects)) if p.projects else "any")
            for tok, p in book.all().items()
        ]
        console().print(table("API tokens", ["token", "party", "projects"], rows))


def _dashboard_token(rt: Runtime) -> str | None:
    tokens = TokenBook(rt.tokens_path).all()
    for tok, principal in tokens.items():
        if principal.party == "rui":
            return tok
    return next(iter(tokens), None)


@contextlib.contextmanager
def _signals(handler: Any) -> Iterator[None]:
    previous = {
        sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_worker(rt: Runtime, views: list[str], status_every: float) -> None:
    """Keep ``views`` (as leases allow) until SIGINT/SIGTERM."""
    stopping = threading.Event()
    rt.keep_views = False  # runners are started here, one per lease taken
    rt.start_nats()
    runner = rt.runner
    lease = ViewLease(rt.views_url, rt.stream) if rt.is_postgres else None
    err = console(stderr=True)
    kept: list[str] = []
    last_status = time.monotonic()

    def say(text: str) -> None:
        err.print(
            f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {text}",
            highlight=False,
            soft_wrap=True,
        )

    say(f"worker for {', '.join(views)} on {rt.views_url} (stream {rt.stream})")
    try:
        with _signals(lambda *_: stopping.set()):
            while not stopping.is_set():
                if lease is not None:
                    if not lease.alive():
                        raise Failure(
                            "lost the connection holding the view leases; "
                            "stopping so that another worker can take over",
                            EXIT_UNAVAILABLE,
                        )
                    taken = lease.try_take(v for v in views if v not in kept)
                elif not kept and rt.take_views_lock():
                    taken = list(views)
                else:
                    taken = []
                runner.start_views(taken)  # together: a backlog is read once
                for name in taken:
                    kept.append(name)
                    say(f"keeping {name}")
                due = bool(status_every) and (
                    time.monotonic() - last_status >= status_every
                )
                if due and not kept:
                    say("standby: another worker keeps these views")
                    last_status = time.monotonic()
                elif due:
                    lags = runner.lag()
                    say("lag " + ", ".join(f"{name} {lags[name]}" for name in kept))
                    last_status = time.monotonic()
                stopping.wait(1.0)
    finally:
        say("stopping")
        runner.stop()
        if lease is not None:
            lease.close()


def serve(rt: Runtime, host: str, port: int) -> None:
    """Serve the API and dashboard until Ctrl-C or SIGTERM, then shut down."""
    import uvicorn

    from session_log.api import create_app

    app = create_app(rt)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=3,
        lifespan="on",
        access_log=False,
    )

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # we handle them below
            yield

    server = Server(config)

    def stop(signum: int, _frame: FrameType | None) -> None:
        app.state.api.stopping.set()
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True

    con = console()
    token = _dashboard_token(rt)
    url = f"http://{host}:{port}/"
    lines = [
        f"Dashboard  {url}" + (f"#token={token}" if token else ""),
        f"API        {url}api/  (OpenAPI: {url}schema/openapi.json)",
        f"NATS       {rt.url} ({'embedded' if rt.embedded else 'external'})",
        f"Views      {rt.views_url}",
    ]
    if token is None:
        lines.append("No API token yet: session-log token add <party>")
    lines.append("Ctrl-C to stop")
    con.print(Panel("\n".join(lines), title="session-log is up", expand=False))
    with _signals(stop):
        server.run()
    con.print("Stopping: view runners, application, NATS...")
