"""The ``session-log`` group: shared options, the runtime, errors and exit codes.

Exit codes (also in ``session-log --help`` and docs/cli.md):

====  ==========================================================================
0     success
1     unexpected error (a bug: the traceback is printed)
2     usage error (unknown option, bad value such as an ``--as-of`` that is neither
      a position nor a time)
3     invalid command: malformed JSON or a field that does not validate (HTTP 422)
4     not authorised: the actor lacked the capacity or the limit (HTTP 403)
5     refused: a rule of the domain, a conflict, a command id reused (HTTP 409)
6     not found: the command or query names something that does not exist (404)
7     unavailable: NATS or the views database cannot be reached or started
8     verification failed (``verify``): views or the hash chain disagree
====  ==========================================================================
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar, cast

import click
from eventsourcing.persistence import InterfaceError, OperationalError

from projections.views.timeline import TimelineReads
from session_log.errors import (
    CommandRejected,
    InvalidCommand,
    NotAuthorised,
    NotFound,
    SessionLogError,
)
from session_log.runtime import AsOf, Runtime, StartupError, parse_as_of

EXIT_OK = 0
EXIT_BUG = 1
EXIT_USAGE = 2
EXIT_INVALID = 3
EXIT_FORBIDDEN = 4
EXIT_REFUSED = 5
EXIT_NOT_FOUND = 6
EXIT_UNAVAILABLE = 7
EXIT_VERIFY_FAILED = 8
EXIT_PIPE_CLOSED = 141
"""128 + SIGPIPE: what a shell reports for a Unix tool whose reader stopped."""

EXIT_CODES_HELP = """\b
Exit codes:
    0  success
    1  unexpected error (a bug: traceback printed)
    2  usage error (bad option or value)
    3  invalid command (malformed JSON, a field that does not validate)
    4  not authorised (capacity not held, over the limit)
    5  refused (a domain rule, a conflict, a command id reused)
    6  not found (an unknown project, party, session...)
    7  unavailable (NATS or the views cannot be reached)
    8  verification failed (verify)
  141  the reader of a pipe stopped early (| head), as for other tools"""

F = TypeVar("F", bound=Callable[..., Any])


def pipe_closed() -> NoReturn:
    """Stop quietly: the reader of standard output has gone (``| head``).

    Standard output is pointed at /dev/null first, so that flushing it at exit
    does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(EXIT_PIPE_CLOSED)


class Failure(click.ClickException):
    """A user-facing error with an exit code: printed without a traceback."""

    def __init__(
        self, message: str, exit_code: int, code: str = "", hint: str = ""
    ) -> None:
        super().__init__(message)
        # click declares exit_code a class variable; each Failure carries its own.
        self.exit_code = exit_code  # type: ignore[misc]
        self.code = code
        self.hint = hint

    def show(self, file: Any = None) -> None:
        stream = file or sys.stderr
        label = f"refused ({self.code})" if self.code else "error"
        click.secho(f"{label}: {self.message}", file=stream, fg="red", err=True)
        if self.hint:
            click.echo(self.hint, file=stream, err=True)


def exit_code_of(error: SessionLogError) -> int:
    if isinstance(error, InvalidCommand):
        return EXIT_INVALID
    if isinstance(error, NotAuthorised):
        return EXIT_FORBIDDEN
    if isinstance(error, NotFound):
        return EXIT_NOT_FOUND
    if isinstance(error, CommandRejected):
        return EXIT_REFUSED
    return EXIT_BUG


def fail_with(error: SessionLogError) -> NoReturn:
    message = error.message
    if error.field and error.field not in message:
        message = f"{error.field}: {message}"
    raise Failure(message, exit_code_of(error), error.code)


class Group(click.Group):
    """Turns the errors users can act on into messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            pipe_closed()
        except SessionLogError as error:
            fail_with(error)
        except StartupError as error:
            raise Failure(str(error), EXIT_UNAVAILABLE) from None
        except (OperationalError, InterfaceError) as error:
            raise Failure(
                f"the event store is unavailable: {error}", EXIT_UNAVAILABLE
            ) from None
        except TimeoutError as error:
            raise Failure(
                f"timed out: {error} (is the server overloaded?)", EXIT_UNAVAILABLE
            ) from None


def runtime_options(function: F) -> F:
    """``--data-dir``, ``--nats-url``, ``--views``, ``--stream``: where things are."""

    @click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(".session-log"),
        show_default=True,
        envvar="SESSION_LOG_DATA_DIR",
        help="Embedded NATS store, SQLite views, tokens, checkpoints.",
    )
    @click.option(
        "--nats-url",
        envvar="SESSION_LOG_NATS_URL",
        default=None,
        help="Use this NATS server instead of the embedded one.",
    )
    @click.option(
        "--views",
        envvar="SESSION_LOG_VIEWS",
        default=None,
        help="Views database: sqlite:///path.db or postgresql://... "
        "[default: sqlite under the data dir]",
    )
    @click.option(
        "--stream",
        envvar="SESSION_LOG_STREAM",
        default="SessionLog",
        show_default=True,
        help="JetStream stream of the events.",
    )
    @functools.wraps(function)
    def wrapper(
        *args: Any,
        data_dir: Path,
        nats_url: str | None,
        views: str | None,
        stream: str,
        **kwargs: Any,
    ) -> Any:
        ctx = click.get_current_context()
        runtime = Runtime(
            data_dir=data_dir, nats_url=nats_url, views=views, stream=stream
        )
        ctx.call_on_close(runtime.close)
        ctx.meta["runtime"] = runtime
        return function(*args, **kwargs)

    return cast(F, wrapper)


def runtime() -> Runtime:
    found = click.get_current_context().meta.get("runtime")
    assert isinstance(found, Runtime)
    return found


def as_of_option(function: F) -> F:
    def convert(_ctx: click.Context, _param: click.Parameter, value: Any) -> AsOf:
        try:
            return parse_as_of(value)
        except ValueError as error:
            raise click.BadParameter(str(error)) from None

    return click.option(
        "--as-of",
        "as_of",
        callback=convert,
        default=None,
        metavar="POSITION|TIME",
        help="As of a stream position (1200), a day (2025-03-14) or a moment "
        "(2025-03-14T18:00Z).",
    )(function)


def project_option(function: F) -> F:
    return click.option(
        "-p",
        "--project",
        envvar="SESSION_LOG_PROJECT",
        default=None,
        help="Project id [default: the only project, or $SESSION_LOG_PROJECT].",
    )(function)


def projects(rt: Runtime) -> list[dict[str, Any]]:
    """Every project the timeline knows, with its number of decisions."""
    view = rt.catch_up().view("timeline")
    return view.rows(
        "SELECT project, COUNT(*) AS decisions, MIN(occurred_at) AS first_at, "
        "MAX(occurred_at) AS last_at FROM {entries} GROUP BY project ORDER BY project"
    )


def resolve_project(rt: Runtime, project: str | None) -> str:
    """The project a read is about: the one named (which must have decisions:
    a typo would otherwise show empty tables; an empty timeline, as in a
    deployment whose workers do not keep it, cannot tell), or the only one
    there is."""
    if project:
        timeline = rt.follow().view("timeline")
        assert isinstance(timeline, TimelineReads)
        if not timeline.has_decisions(project):
            known = [str(row["project"]) for row in projects(rt)]
            if known and project not in known:
                raise Failure(
                    f"no project {project!r}",
                    EXIT_NOT_FOUND,
                    hint=f"Projects: {', '.join(known)}.",
                )
        return project
    known = [row["project"] for row in projects(rt)]
    if len(known) == 1:
        return str(known[0])
    if not known:
        raise Failure(
            "no project yet",
            EXIT_NOT_FOUND,
            hint="Load the demo album with `session-log demo`, or start a project "
            "with `session-log decide start-project`.",
        )
    raise Failure(
        f"several projects ({', '.join(known)}): choose one with --project",
        EXIT_USAGE,
    )


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes", "y")
