"""The HTTP API and dashboard: a Litestar (ASGI) app over a :class:`Runtime`.

Every route needs an API token (``Authorization: Bearer <token>``; the live
event stream also takes ``?access_token=`` because browsers' EventSource cannot
set headers). The token's party is the actor of every command posted with it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import anyio
import msgspec
from eventsourcing.persistence import OperationalError
from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter
from litestar.response import File, ServerSentEvent, ServerSentEventMessage
from litestar.static_files import create_static_files_router

from projections import SQLView
from projections.views.cost_ledger import CostLedgerReads
from projections.views.credits import CreditsReads
from projections.views.decision_log import DecisionLogReads
from projections.views.progress import ProgressReads
from projections.views.subjects import full_id
from projections.views.timeline import TimelineReads
from session_log import commands as cmd
from session_log.api import schemas as s
from session_log.api.auth import Principal, TokenBook
from session_log.domain import check_decision_kinds
from session_log.domain.authority import CAPACITIES, Capacity
from session_log.errors import NotFound, SessionLogError
from session_log.runtime import AsOf, Runtime, parse_as_of

__all__ = ["ApiState", "create_app"]

log = logging.getLogger("session_log.api")

DASHBOARD_DIR = Path(__file__).resolve().parent.parent / "dashboard"
AS_OF_CACHE = 24
LIVE_POLL_SECONDS = 0.3
VERSION = "0.1.0"


class ApiState:
    """What every request handler shares."""

    def __init__(self, runtime: Runtime, tokens: TokenBook) -> None:
        self.runtime = runtime
        self.tokens = tokens
        self.stopping = threading.Event()
        self._as_of: OrderedDict[tuple[Any, ...], tuple[contextlib.ExitStack, SQLView]]
        self._as_of = OrderedDict()
        self._as_of_lock = threading.Lock()

    @contextlib.contextmanager
    def view(self, name: str, as_of: AsOf) -> Iterator[SQLView]:
        """The live view (up to date with the stream) or a cached as-of copy."""
        if not as_of:
            runner = self.runtime.runner
            with contextlib.suppress(TimeoutError):
                runner.wait(timeout=5.0, views=[name])
            yield runner.view(name)
            return
        head = self.runtime.head() if as_of.at is not None else None
        key = (name, as_of.key(), head)
        with self._as_of_lock:
            found = self._as_of.get(key)
            if found is None:
                stack = contextlib.ExitStack()
                view = stack.enter_context(
                    self.runtime.runner.as_of(
                        name, position=as_of.position, at=as_of.at
                    )
                )
                found = (stack, view)
                self._as_of[key] = found
                while len(self._as_of) > AS_OF_CACHE:
                    _, (old, _) = self._as_of.popitem(last=False)
                    old.close()
            else:
                self._as_of.move_to_end(key)
            yield found[1]

    def close(self) -> None:
        self.stopping.set()
        with self._as_of_lock:
            for stack, _ in self._as_of.values():
                stack.close()
            self._as_of.clear()


# --- errors ----------------------------------------------------------------------


def _error(
    status: int,
    code: str,
    detail: str,
    field: str | None = None,
    errors: list[s.FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[s.ErrorBody]:
    return Response(
        s.ErrorBody(
            status_code=status,
            code=code,
            detail=detail,
            field=field,
            errors=errors
            or ([s.FieldError(field=field, message=detail)] if field else []),
        ),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def on_session_log_error(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, SessionLogError)
    return _error(exc.http_status, exc.code, exc.message, _json_path(exc.field))


def _json_path(field: str | None) -> str | None:
    """A field as the JSON path of the command's body (``line`` -> ``$.line``),
    as validation errors name it."""
    if field is None or field.startswith("$"):
        return field
    return f"$.{field}"


HTTP_CODES = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid-command",
    429: "too-many-requests",
    503: "unavailable",
}


def _field_of(key: str, message: str) -> str:
    missing = message.split("missing required field `", 1)
    name = missing[1].rstrip("`") if len(missing) == 2 else None
    base = "$" if key in ("", "data") else f"$.{key}"
    return f"{base}.{name}" if name else base


FORMS = {
    "as_of": "a stream position (1200), a day (2025-03-14) or a moment "
    "(2025-03-14T18:00:00Z)",
    "since": "a day (2025-03-14) or a moment (2025-03-14T18:00:00Z)",
    "until": "a day (2025-03-14) or a moment (2025-03-14T18:00:00Z)",
    "after": "the previous page's next_cursor",
    "project": "a project id (letters, digits, - and _)",
    "aggregate_id": "project.kind.local (moonlit.session.trk-lantern)",
}
"""What a parameter with a pattern takes, said instead of the pattern when a
value does not match it."""


CHOICES = {"capacity": CAPACITIES}
"""The values a parameter with a fixed set takes, listed when another is given."""


def _message_of(key: str, message: str) -> str:
    if "matching regex" in message and key in FORMS:
        return f"expected {FORMS[key]}"
    if message.startswith("Invalid enum value") and key in CHOICES:
        return f"{message}: one of {', '.join(CHOICES[key])}"
    return message


def on_http_exception(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, HTTPException)
    if isinstance(exc, ValidationException):
        extra = exc.extra if isinstance(exc.extra, list) else []
        errors = [
            s.FieldError(
                field=_field_of(str(e.get("key", "")), str(e.get("message", ""))),
                message=_message_of(str(e.get("key", "")), str(e.get("message", ""))),
            )
            for e in extra
            if isinstance(e, dict)
        ]
        if any(isinstance(e, dict) and e.get("source") == "body" for e in extra):
            first = errors[0] if errors else None
            return _error(
                422,
                "invalid-command",
                first.message if first else exc.detail,
                first.field if first else None,
                errors,
            )
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or exc.detail
        field = errors[0].field if len(errors) == 1 else None
        return _error(400, "bad-request", detail, field, errors)
    status = exc.status_code
    return _error(
        status, HTTP_CODES.get(status, "error"), exc.detail, headers=exc.headers
    )


def on_operational_error(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("store unavailable: %s", exc)
    return _error(503, "unavailable", f"the event store is unavailable: {exc}")


def on_internal_error(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("internal error", exc_info=exc)
    return _error(500, "internal-error", "internal error (logged on the server)")


def _responses(*statuses: int) -> dict[int, ResponseSpec]:
    text = {
        400: "Bad input (query parameters, malformed JSON)",
        401: "Missing or unknown API token",
        403: "The token's party may not do this (in this project)",
        404: "Not found",
        409: "Refused: a rule of the domain, a conflict, or a command id reused",
        422: "The command does not validate; `field` names the offending field",
        503: "The event store is unavailable",
    }
    return {
        code: ResponseSpec(data_container=s.ErrorBody, description=text[code])
        for code in statuses
    }


READ_ERRORS = _responses(400, 401, 403, 404, 503)


# --- auth ------------------------------------------------------------------------


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    state: ApiState = request.app.state.api
    header = request.headers.get("authorization", "")
    token: str | None = None
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
    token = token or request.headers.get("x-api-token")
    if not token and request.url.path.endswith("/live"):
        token = request.query_params.get("access_token")
    principal = state.tokens.lookup(token)
    if principal is None:
        raise NotAuthorizedException(
            "an API token is required: Authorization: Bearer <token>"
        )
    return principal


def _check_project(principal: NamedDependency[Principal], project: str) -> None:
    if not principal.may_act_in(project):
        msg = f"{principal.party}'s token does not give access to project {project}"
        raise PermissionDeniedException(msg)


def _check_read(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    project: str,
) -> None:
    """A read of ``project``: the token must give access to it (403), and the
    project must have decisions (404 naming it: a typo would otherwise read as
    an empty project). Looked up in the timeline as far as it has caught up,
    and only when not found there, again once it has (as every live read
    waits for its view). An empty timeline (a deployment whose workers do not
    keep it) cannot tell: no 404 then."""
    _check_project(principal, project)
    state = _state(request)
    timeline = state.runtime.runner.view("timeline")
    assert isinstance(timeline, TimelineReads)
    if timeline.has_decisions(project):
        return
    with state.view("timeline", AsOf()) as view:
        assert isinstance(view, TimelineReads)
        if view.has_decisions(project) or not view.has_decisions():
            return
    raise NotFound(f"no project {project}")


def _known(
    request: Request[Any, Any, Any],
    project: str,
    value: str | None,
    *,
    kind: str,
    field: str,
) -> str | None:
    """The aggregate id of ``value`` (a local id such as ``rui``, made
    ``<project>.<kind>.rui``, or an aggregate id as it is), which must be one
    of the project's subjects in the live timeline: a typo would otherwise
    read as an empty page. 404 naming ``field`` and those there are; when the
    timeline knows none of that kind it cannot tell, and lets it through."""
    if value is None:
        return None
    full = full_id(project, kind, value)
    with _state(request).view("timeline", AsOf()) as view:
        assert isinstance(view, TimelineReads)
        others = view.others_than(project, kind, full)
    if not others:
        return full
    noun = "parties" if kind == "party" else kind.removesuffix("s") + "s"
    names = ", ".join(others)
    raise NotFound(f"no {kind} {value} in {project} ({noun}: {names})", field=field)


def _known_subject(
    request: Request[Any, Any, Any], project: str, subject: str | None
) -> str | None:
    """``subject`` (an aggregate id, ``<project>.recording.lantern``), which
    must be one of the project's subjects (404 naming those of its kind)."""
    if subject is None:
        return None
    parts = subject.split(".")
    if len(parts) != 3 or parts[0] != project:
        msg = (
            f"no subject {subject} in {project} (a subject is an aggregate id "
            f"of the project, such as {project}.recording.<id>)"
        )
        raise NotFound(msg, field="subject")
    return _known(request, project, subject, kind=parts[1], field="subject")


def _state(request: Request[Any, Any, Any]) -> ApiState:
    state: ApiState = request.app.state.api
    return state


def _as_of(text: str | None) -> AsOf:
    try:
        return parse_as_of(text)
    except ValueError as error:
        raise ValidationException(
            f"$.as_of: {error}", extra=[{"key": "as_of", "message": str(error)}]
        ) from None


MOMENT = (
    r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])?)?$"
)
"""An ISO date or date-time (an impossible date such as 02-30 is a 400)."""
AsOfParam = Annotated[
    str | None,
    QueryParameter(
        description=(
            "The view as of a stream position (1200), a day (2025-03-14: its end, "
            "UTC) or a moment (2025-03-14T18:00:00Z)"
        ),
        pattern=rf"^([0-9]{{1,18}}|{MOMENT[1:-1]})$",
    ),
]
MomentParam = Annotated[
    str | None,
    QueryParameter(
        description="A moment (2025-03-14T18:00:00Z; UTC without a zone) or a day",
        pattern=MOMENT,
    ),
]
LimitParam = Annotated[int, QueryParameter(ge=1, le=1000, description="Page size")]
CursorParam = Annotated[
    str | None,
    QueryParameter(
        description="The previous page's next_cursor",
        pattern=r"^[0-9]{1,18}:[A-Za-z0-9_-]{1,200}$",
    ),
]
ProjectParam = Annotated[
    str, PathParameter(description="Project id", pattern=r"^[A-Za-z0-9_-]{1,64}$")
]


def _kinds(kinds: list[str] | None) -> list[str] | None:
    """``kind`` values, each a kind of decision (400 naming the nearest ones)."""
    try:
        check_decision_kinds(kinds or ())
    except ValueError as error:
        raise ValidationException(
            f"$.kind: {error}", extra=[{"key": "kind", "message": str(error)}]
        ) from None
    return kinds


def _moment(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationException(
            f"$.{name}: not a date or time: {text}",
            extra=[{"key": name, "message": f"not a date or time: {text}"}],
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(moment: AsOf) -> str | None:
    return str(moment) if moment else None


# --- commands --------------------------------------------------------------------


@post(
    "/api/commands",
    status_code=201,
    summary="Submit a command",
    description=(
        "Any command of the union (tag field `type`). The actor is the token's "
        "party; a body naming another actor is refused (403). Resubmitting the "
        "same command id with the same body returns the original outcome; with a "
        "different body, 409."
    ),
    responses=_responses(400, 401, 403, 404, 409, 422, 503),
    sync_to_thread=True,
    tags=["commands"],
)
def post_command(
    request: Request[Any, Any, Any],
    data: JSONBody[cmd.Command],
    principal: NamedDependency[Principal],
) -> s.CommandOutcome:
    state = _state(request)
    _check_project(principal, data.project)
    app = state.runtime.app
    result = app.submit(data, actor=principal.party)
    head = state.runtime.head()
    with contextlib.suppress(TimeoutError):
        state.runtime.runner.wait(head, timeout=10.0)
    return s.CommandOutcome(
        command_id=result.command_id,
        command_type=result.command_type,
        project=data.project,
        actor=principal.party,
        events=list(result.events),
        head=head,
    )


# --- views -----------------------------------------------------------------------


@get(
    "/api/projects",
    summary="Projects",
    responses=READ_ERRORS,
    sync_to_thread=True,
    tags=["views"],
)
def list_projects(
    request: Request[Any, Any, Any], principal: NamedDependency[Principal]
) -> list[s.ProjectInfo]:
    with _state(request).view("timeline", AsOf()) as view:
        rows = view.rows(
            "SELECT project, COUNT(*) AS decisions, MIN(occurred_at) AS first_at, "
            "MAX(occurred_at) AS last_at FROM {entries} GROUP BY project "
            "ORDER BY project"
        )
    return [
        s.ProjectInfo(**row) for row in rows if principal.may_act_in(row["project"])
    ]


@get(
    "/api/projects/{project:str}/timeline",
    summary="Timeline: every decision in order",
    responses=READ_ERRORS,
    sync_to_thread=True,
    tags=["views"],
)
def timeline(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    project: ProjectParam,
    subject: FromQuery[str | None] = None,
    person: FromQuery[str | None] = None,
    kind: FromQuery[list[str] | None] = None,
    since: MomentParam = None,
    until: MomentParam = None,
    after: CursorParam = None,
    limit: LimitParam = 50,
    newest_first: FromQuery[bool] = False,
    as_of: AsOfParam = None,
) -> s.TimelinePage:
    _check_read(request, principal, project)
    moment = _as_of(as_of)
    subject = _known_subject(request, project, subject)
    person = _known(request, project, person, kind="party", field="person")
    with _state(request).view("timeline", moment) as view:
        assert isinstance(view, TimelineReads)
        page = view.timeline(
            project=project,
            subject=subject,
            person=person,
            kinds=_kinds(kind),
            since=_moment(since, "since"),
            until=_moment(until, "until"),
            after=after,
            limit=limit,
            newest_first=newest_first,
        )
    return s.TimelinePage(
        items=page.items, next_cursor=page.next_cursor, as_of=_text(moment)
    )


@get(
    "/api/projects/{project:str}/decisions",
    summary="Decision log: who decided what, in which capacity, when, why",
    responses=READ_ERRORS,
    sync_to_thread=True,
    tags=["views"],
)
def decisions(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    project: ProjectParam,
    actor: FromQuery[str | None] = None,
    capacity: FromQuery[Capacity | None] = None,
    kind: FromQuery[list[str] | None] = None,
    aggregate_id: FromQuery[str | None] = None,
    correlation_id: FromQuery[str | None] = None,
    since: MomentParam = None,
    until: MomentParam = None,
    after: CursorParam = None,
    limit: LimitParam = 50,
    newest_first: FromQuery[bool] = False,
    as_of: AsOfParam = None,
) -> s.DecisionPage:
    _check_read(request, principal, project)
    moment = _as_of(as_of)
    actor = _known(request, project, actor, kind="party", field="actor")
    with _state(request).view("decision_log", moment) as view:
        assert isinstance(view, DecisionLogReads)
        page = view.decisions(
            project=project,
            actor=actor,
            capacity=capacity,
            kinds=_kinds(kind),
            aggregate_id=aggregate_id,
            correlation_id=correlation_id,
            since=_moment(since, "since"),
            until=_moment(until, "until"),
            after=after,
            limit=limit,
            newest_first=newest_first,
        )
    return s.DecisionPage(
        items=page.items, next_cursor=page.next_cursor, as_of=_text(moment)
    )


@get(
    "/api/decisions/{event_id:str}",
    summary="One decision, by event id (aggregate@version)",
    responses=READ_ERRORS,
    sync_to_thread=True,
    tags=["views"],
)
def decision(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    event_id: FromPath[str],
) -> s.DecisionPage:
    with _state(request).view("decision_log", AsOf()) as view:
        assert isinstance(view, DecisionLogReads)
        found = view.decision(event_id)
    if found is None:
        raise NotFound(f"no decision {event_id}")
    _check_project(principal, found.project)
    return s.DecisionPage(items=[found], next_cursor=None)


@get(
    "/api/projects/{project:str}/ledger",
    summary="Cost ledger: per line drafted to paid, totals, contingency left",
    responses=READ_ERRORS,
    sync_to_thread=True,
    tags=["views"],
)
def ledger(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    project: ProjectParam,
    as_of: AsOfParam = None,
) -> s.Ledger:
    _check_read(request, principal, project)
    moment = _as_of(as_of)
    with _state(request).view("cost_ledger", moment) as view:
        assert isinstance(view, CostLedgerReads)
        return s.Ledger(
            project=project,
            as_of=_text(moment),
            summary=view.summary(project),
            lines=view.lines(project),
            accounts=view.accounts(project),
            budget_versions=view.budget_versions(project),
            requests=view.requests(project),
            per_song=view.per_song(project),
        )


@get(
    "/api/projects/{project:str}/ledger/entries",
    summary="The money events behind the ledger's figures",
    responses=READ_ERRORS,
    sync_to_thread=True,
    tags=["views"],
)
def ledger_entries(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    project: ProjectParam,
    line: FromQuery[str | None] = None,
    as_of: AsOfParam = None,
) -> s.LedgerEntries:
    _check_read(request, principal, project)
    moment = _as_of(as_of)
    line_id = _known(request, project, line, kind="line", field="line")
    with _state(request).view("cost_ledger", moment) as view:
        assert isinstance(view, CostLedgerReads)
        items = view.entries(project=project, line_id=line_id)
    return s.LedgerEntries(project=project, as_of=_text(moment), items=items)


def spend_points(view: CostLedgerReads, project: str) -> tuple[str, list[s.SpendPoint]]:
    """Cumulative revised, committed, actual and paid at the end of each day."""
    totals = {"revised": 0, "committed": 0, "actual": 0, "paid": 0}
    days: dict[str, dict[str, int]] = {}
    currency = ""
    for entry in view.entries(project=project):
        currency = currency or entry.currency
        totals["revised"] += entry.revised_delta
        totals["committed"] += entry.committed_delta
        totals["actual"] += entry.actual_delta
        totals["paid"] += entry.paid_delta
        days[entry.occurred_at.date().isoformat()] = dict(totals)
    points = [s.SpendPoint(day=day, **figures) for day, figures in sorted(days.items())]
    return currency or "USD", points


@get(
    "/api/projects/{project:str}/ledger/spend",
    summary="Spend over time: cumulative figures per day",
    responses=READ_ERRORS,
    sync_to_thread=True,
    tags=["views"],
)
def spend(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    project: ProjectParam,
    as_of: AsOfParam = None,
) -> s.Spend:
    _check_read(request, principal, project)
    moment = _as_of(as_of)
    with _state(request).view("cost_ledger", moment) as view:
        assert isinstance(view, CostLedgerReads)
        currency, points = spend_points(view, project)
    return s.Spend(
        project=project, as_of=_text(moment), currency=currency, points=points
    )


@get(
    "/api/projects/{project:str}/progress",
    summary="Progress: each song's stage, sessions, milestones",
    responses=READ_ERRORS,
    sync_to_thread=True,
    tags=["views"],
)
def progress(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    project: ProjectParam,
    as_of: AsOfParam = None,
) -> s.Progress:
    _check_read(request, principal, project)
    moment = _as_of(as_of)
    with _state(request).view("progress", moment) as view:
        assert isinstance(view, ProgressReads)
        return s.Progress(
            project=project,
            as_of=_text(moment),
            stages=view.stages(project),
            recordings=view.recordings(project),
            sessions=view.sessions(project),
            milestones=view.milestones(project, now=moment.at),
        )


@get(
    "/api/projects/{project:str}/credits",
    summary="Credits per recording and album, writer splits",
    responses=READ_ERRORS,
    sync_to_thread=True,
    tags=["views"],
)
def credits(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    project: ProjectParam,
    recording: FromQuery[str | None] = None,
    as_of: AsOfParam = None,
) -> s.Credits:
    _check_read(request, principal, project)
    moment = _as_of(as_of)
    subject = _known(request, project, recording, kind="recording", field="recording")
    with _state(request).view("credits", moment) as view:
        assert isinstance(view, CreditsReads)
        return s.Credits(
            project=project,
            as_of=_text(moment),
            credits=view.merged_credits(project=project, subject_id=subject),
            writer_splits=view.writer_splits(project),
        )


def _export(
    request: Request[Any, Any, Any],
    project: str,
    as_of: str | None,
    kind: str,
    recording: str | None = None,
) -> str:
    moment = _as_of(as_of)
    subject = _known(request, project, recording, kind="recording", field="recording")
    with _state(request).view("credits", moment) as view:
        assert isinstance(view, CreditsReads)
        if kind == "csv":
            return view.export_csv(project, subject)
        return view.export_rin(project)


@get(
    "/api/projects/{project:str}/credits/export.csv",
    summary="Credits as CSV",
    media_type="text/csv",
    responses=READ_ERRORS,
    sync_to_thread=True,
    tags=["views"],
)
def credits_csv(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    project: ProjectParam,
    recording: FromQuery[str | None] = None,
    as_of: AsOfParam = None,
) -> str:
    _check_read(request, principal, project)
    return _export(request, project, as_of, "csv", recording)


@get(
    "/api/projects/{project:str}/credits/export.rin.xml",
    summary="Credits as a RIN-like XML document (DDEX shape)",
    media_type="application/xml",
    responses=READ_ERRORS,
    sync_to_thread=True,
    tags=["views"],
)
def credits_rin(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    project: ProjectParam,
    as_of: AsOfParam = None,
) -> str:
    _check_read(request, principal, project)
    return _export(request, project, as_of, "rin")


@get(
    "/api/aggregates/{aggregate_id:str}/events",
    summary="An aggregate's event history (from the stream)",
    responses=READ_ERRORS,
    sync_to_thread=True,
    tags=["stream"],
)
def aggregate_events(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    aggregate_id: Annotated[
        str,
        PathParameter(
            description="project.kind.local, e.g. moonlit.session.trk-lantern",
            pattern=r"^[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{1,64}$",
        ),
    ],
) -> s.History:
    _check_project(principal, aggregate_id.split(".", 1)[0])
    app = _state(request).runtime.app
    stored = app.recorder.select_events(aggregate_id)
    if not stored:
        raise NotFound(f"no aggregate {aggregate_id}")
    events = []
    for item in stored:
        event: Any = app.mapper.to_domain_event(item)
        meta = getattr(event, "meta", None)
        payload = getattr(event, "payload", None)
        events.append(
            s.HistoryEvent(
                version=item.originator_version,
                kind=item.topic.rsplit(":", 1)[-1].rsplit(".", 1)[-1],
                topic=item.topic,
                occurred_at=getattr(meta, "occurred_at", None),
                actor=getattr(meta, "actor", None),
                capacity=getattr(meta, "capacity", None),
                command_id=getattr(meta, "command_id", None),
                reason=getattr(meta, "reason", None),
                payload=msgspec.to_builtins(payload) if payload is not None else None,
            )
        )
    return s.History(aggregate_id=aggregate_id, events=events)


@get(
    "/api/status",
    summary="The stream's head and each view's position and lag",
    responses=READ_ERRORS,
    sync_to_thread=True,
    tags=["stream"],
)
def status(
    request: Request[Any, Any, Any], principal: NamedDependency[Principal]
) -> s.Status:
    runtime = _state(request).runtime
    views = runtime.runner.status()
    return s.Status(
        stream=runtime.stream,
        head=runtime.head(),
        views=list(views.values()),
        party=principal.party,
    )


# --- live ------------------------------------------------------------------------


def _new_decisions(
    state: ApiState, project: str, cursor: str | None
) -> tuple[list[bytes], str | None, dict[str, int]]:
    runner = state.runtime.runner
    view = runner.view("decision_log")
    assert isinstance(view, DecisionLogReads)
    found: list[bytes] = []
    while True:
        page = view.decisions(project=project, after=cursor, limit=200)
        for item in page.items:
            found.append(msgspec.json.encode(item))
            cursor = f"{item.position}:{item.stream}"
        if page.next_cursor is None:
            break
    return found, cursor, runner.lag()


@get(
    "/api/projects/{project:str}/live",
    summary="Server-sent events: new decisions and view updates",
    description=(
        "`event: decision` carries a decision-log row as it is projected; "
        "`event: views` the stream head and each view's lag when they change. "
        "`recent` decisions already made are sent first. Takes the token as "
        "`?access_token=` too (EventSource cannot send headers)."
    ),
    responses=READ_ERRORS,
    tags=["stream"],
    media_type="text/event-stream",
)
async def live(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    project: ProjectParam,
    recent: Annotated[int, QueryParameter(ge=0, le=200)] = 10,
    access_token: FromQuery[str | None] = None,
) -> ServerSentEvent:
    del access_token  # read by the auth dependency
    _check_project(principal, project)
    state = _state(request)

    async def events() -> AsyncIterator[ServerSentEventMessage]:
        view = state.runtime.runner.view("decision_log")
        assert isinstance(view, DecisionLogReads)
        latest = await anyio.to_thread.run_sync(
            lambda: view.decisions(
                project=project, limit=max(recent, 1), newest_first=True
            )
        )
        items = list(reversed(latest.items))
        cursor: str | None = None
        if items:
            cursor = f"{items[-1].position}:{items[-1].stream}"
        else:
            head = await anyio.to_thread.run_sync(state.runtime.head)
            cursor = f"{head}:{state.runtime.runner.source}" if head else None
        for item in items if recent else []:
            yield ServerSentEventMessage(
                data=msgspec.json.encode(item).decode(), event="decision"
            )
        last: tuple[int, dict[str, int]] | None = None
        while not state.stopping.is_set():
            found, cursor, lag = await anyio.to_thread.run_sync(
                _new_decisions, state, project, cursor
            )
            for data in found:
                yield ServerSentEventMessage(data=data.decode(), event="decision")
            head = await anyio.to_thread.run_sync(state.runtime.head)
            if (head, lag) != last:
                body = {"head": head, "lag": lag}
                yield ServerSentEventMessage(
                    data=msgspec.json.encode(body).decode(), event="views"
                )
                last = (head, lag)
            await anyio.sleep(LIVE_POLL_SECONDS)

    return ServerSentEvent(events())


# --- dashboard -------------------------------------------------------------------


@get("/", include_in_schema=False, media_type=MediaType.HTML)
async def index() -> File:
    return File(DASHBOARD_DIR / "index.html", content_disposition_type="inline")


def create_app(
    runtime: Runtime, tokens: TokenBook | None = None, *, debug: bool = False
) -> Litestar:
    """The ASGI app: API under ``/api``, OpenAPI at ``/schema/openapi.json``,
    the dashboard at ``/``."""
    state = ApiState(runtime, tokens or TokenBook(runtime.tokens_path))
    openapi = OpenAPIConfig(
        title="session-log",
        version=VERSION,
        description=(
            "Audit-grade decision log for record production. Every route needs an "
            "API token: `Authorization: Bearer <token>`."
        ),
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http", scheme="bearer", description="An API token"
                )
            }
        ),
        security=[{"bearer": []}],
        path="/schema",
        render_plugins=[JsonRenderPlugin(), YamlRenderPlugin()],
    )
    app = Litestar(
        route_handlers=[
            post_command,
            list_projects,
            timeline,
            decisions,
            decision,
            ledger,
            ledger_entries,
            spend,
            progress,
            credits,
            credits_csv,
            credits_rin,
            aggregate_events,
            status,
            live,
            index,
            create_static_files_router(
                path="/dashboard",
                directories=[DASHBOARD_DIR],
                include_in_schema=False,
            ),
        ],
        dependencies={"principal": Provide(provide_principal, sync_to_thread=False)},
        exception_handlers={
            SessionLogError: on_session_log_error,
            HTTPException: on_http_exception,
            OperationalError: on_operational_error,
            Exception: on_internal_error,
        },
        openapi_config=openapi,
        on_shutdown=[state.close],
        debug=debug,
    )
    app.state.api = state
    return app
