"""Read commands: ``timeline``, ``audit``, ``credits``, ``ledger``, ``status``,
``history``, ``projects``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
import msgspec

from projections.views.cost_ledger import CostLedgerReads
from projections.views.credits import CreditsReads
from projections.views.decision_log import DecisionLogReads
from projections.views.progress import ProgressReads
from projections.views.subjects import full_id
from projections.views.timeline import TimelineReads
from session_log.cli.base import (
    EXIT_NOT_FOUND,
    Failure,
    as_of_option,
    project_option,
    projects,
    resolve_project,
    runtime,
    runtime_options,
)
from session_log.cli.render import console, local, money, table, when
from session_log.domain import check_decision_kinds
from session_log.domain.authority import CAPACITIES
from session_log.runtime import AsOf


def _moment(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def period_options(function: Any) -> Any:
    function = click.option(
        "--until", callback=_moment, help="Occurred before (ISO date/time)."
    )(function)
    return click.option(
        "--since", callback=_moment, help="Occurred at or after (ISO date/time)."
    )(function)


def _caption(as_of: AsOf, extra: str = "") -> str | None:
    parts = [f"as of {as_of}"] if as_of else []
    if extra:
        parts.append(extra)
    return "; ".join(parts) or None


def _decision_kinds(
    ctx: click.Context, param: click.Parameter, kinds: tuple[str, ...]
) -> tuple[str, ...]:
    """``--kind`` values, each a kind of decision (an event class name): a
    typo would otherwise show an empty page."""
    try:
        check_decision_kinds(kinds)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from None
    return kinds


kind_option = click.option(
    "--kind",
    "kinds",
    multiple=True,
    callback=_decision_kinds,
    help="Event kind (repeat): MixApproved, CostIncurred...",
)


def _json(data: Any) -> None:
    click.echo(msgspec.json.format(msgspec.json.encode(data), indent=2).decode())


def register(cli: click.Group) -> None:
    @cli.command()
    @runtime_options
    @project_option
    @click.option("--subject", help="A recording, session... (id or aggregate id).")
    @click.option("--person", help="Decisions made by or naming this party.")
    @kind_option
    @period_options
    @click.option("--limit", default=50, show_default=True, type=click.IntRange(1))
    @click.option("--newest-first", is_flag=True)
    @click.option("--after", help="Cursor printed under the previous page.")
    @as_of_option
    @click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
    def timeline(
        project: str | None,
        subject: str | None,
        person: str | None,
        kinds: tuple[str, ...],
        since: datetime | None,
        until: datetime | None,
        limit: int,
        newest_first: bool,
        after: str | None,
        as_of: AsOf,
        as_json: bool,
    ) -> None:
        """Every decision of a project in order (per recording, session, person).

        \b
        Examples:
          session-log timeline --limit 20
          session-log timeline --subject trk-lantern
          session-log timeline --person mara --kind MixApproved
          session-log timeline --as-of 2025-02-01 --newest-first --limit 5
        """
        rt = runtime()
        project = resolve_project(rt, project)
        if subject is not None and "." not in subject:
            subject = _subject(rt, project, subject)
        person = _party(rt, project, person)
        with rt.view("timeline", as_of) as view:
            assert isinstance(view, TimelineReads)
            page = view.timeline(
                project=project,
                subject=subject,
                person=person,
                kinds=kinds or None,
                since=since,
                until=until,
                after=after,
                limit=limit,
                newest_first=newest_first,
            )
        if as_json:
            _json({"items": page.items, "next_cursor": page.next_cursor})
            return
        rows = [
            (
                e.position,
                when(e.occurred_at),
                local(e.actor),
                e.capacity,
                e.summary,
                e.reason or "",
            )
            for e in page.items
        ]
        more = f"more: --after {page.next_cursor}" if page.next_cursor else ""
        console().print(
            table(
                f"Timeline of {project}",
                [("#", "right"), "when", "who", "capacity", "decision", "why"],
                rows,
                caption=_caption(as_of, more),
            )
        )

    @cli.command()
    @runtime_options
    @project_option
    @click.option("--actor", help="Party id (rui) or aggregate id.")
    @click.option(
        "--capacity",
        type=click.Choice(CAPACITIES),
        help="producer, artist, label_approver...",
    )
    @kind_option
    @click.option("--aggregate", help="Aggregate id (moonlit.mix.lantern).")
    @click.option("--correlation", help="Correlation id (a command id).")
    @period_options
    @click.option("--limit", default=50, show_default=True, type=click.IntRange(1))
    @click.option("--newest-first", is_flag=True)
    @click.option("--after", help="Cursor printed under the previous page.")
    @as_of_option
    @click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
    def audit(
        project: str | None,
        actor: str | None,
        capacity: str | None,
        kinds: tuple[str, ...],
        aggregate: str | None,
        correlation: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        newest_first: bool,
        after: str | None,
        as_of: AsOf,
        as_json: bool,
    ) -> None:
        """Who decided what, in which capacity, when, why, and what it replaced.

        \b
        Examples:
          session-log audit --actor lena --capacity label_approver
          session-log audit --kind ContingencyDrawApproved --kind IncreaseApproved
          session-log audit --since 2025-03-01 --until 2025-04-01 --json
        """
        rt = runtime()
        project = resolve_project(rt, project)
        actor = _party(rt, project, actor)
        with rt.view("decision_log", as_of) as view:
            assert isinstance(view, DecisionLogReads)
            page = view.decisions(
                project=project,
                actor=actor,
                capacity=capacity,
                kinds=kinds or None,
                aggregate_id=aggregate,
                correlation_id=correlation,
                since=since,
                until=until,
                after=after,
                limit=limit,
                newest_first=newest_first,
            )
        if as_json:
            _json({"items": page.items, "next_cursor": page.next_cursor})
            return
        rows = [
            (
                d.position,
                when(d.occurred_at),
                local(d.actor),
                d.capacity,
                d.kind,
                local(d.aggregate_id),
                d.command_type or "",
                d.reason or "",
                ", ".join(f"{x['field']}={x['ref']}" for x in d.supersedes_json),
            )
            for d in page.items
        ]
        more = f"more: --after {page.next_cursor}" if page.next_cursor else ""
        console().print(
            table(
                f"Decision log of {project}",
                [
                    ("#", "right"),
                    "when",
                    "who",
                    "capacity",
                    "decision",
                    "on",
                    "command",
                    "why",
                    "replaces",
                ],
                rows,
                caption=_caption(as_of, more),
            )
        )

    @cli.command()
    @runtime_options
    @project_option
    @click.option("--recording", help="Only this recording (id).")
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json", "csv", "rin"]),
        default="table",
        show_default=True,
    )
    @as_of_option
    def credits(
        project: str | None, recording: str | None, fmt: str, as_of: AsOf
    ) -> None:
        """Credits per recording and for the album, with DDEX roles.

        \b
        Examples:
          session-log credits --recording lantern
          session-log credits --format rin > moonlit-rin.xml
          session-log credits --format csv --as-of 2025-05-01
        """
        if recording is not None and fmt == "rin":
            raise click.UsageError(
                "--recording: a RIN document is the whole release's "
                "(use --format csv or json for one recording)"
            )
        rt = runtime()
        project = resolve_project(rt, project)
        subject_id = _recording(rt, project, recording)
        with rt.view("credits", as_of) as view:
            assert isinstance(view, CreditsReads)
            if fmt == "json":
                click.echo(view.export_json(project, subject_id))
                return
            if fmt == "csv":
                click.echo(view.export_csv(project, subject_id), nl=False)
                return
            if fmt == "rin":
                click.echo(view.export_rin(project))
                return
            found = view.merged_credits(project=project, subject_id=subject_id)
            splits = view.writer_splits(project)
        con = console()
        rows = [
            (
                local(c.subject_id) if ".recording." in c.subject_id else "(album)",
                c.name,
                c.role,
                ", ".join(c.instruments),
                c.status,
                ", ".join(c.sources),
            )
            for c in found
        ]
        con.print(
            table(
                f"Credits of {project}",
                ["recording", "name", "role", "instruments", "status", "from"],
                rows,
                caption=_caption(as_of, f"{len(found)} credits"),
            )
        )
        if recording is None and splits:
            con.print(
                table(
                    "Writer splits",
                    ["work", "writer", "role", ("share", "right"), "sheet"],
                    [
                        (
                            w.title,
                            w.name,
                            w.role,
                            f"{w.share_bp / 100:.2f}%",
                            w.sheet_version,
                        )
                        for w in splits
                    ],
                )
            )

    @cli.command()
    @runtime_options
    @project_option
    @click.option("--line", help="Show the money events behind one line.")
    @as_of_option
    @click.option("--json", "as_json", is_flag=True, help="JSON instead of tables.")
    def ledger(
        project: str | None, line: str | None, as_of: AsOf, as_json: bool
    ) -> None:
        """The cost ledger: per line approved, revised, committed, actual, paid.

        \b
        Examples:
          session-log ledger
          session-log ledger --as-of 2025-03-15
          session-log ledger --line studio        # the events behind a line
        """
        rt = runtime()
        project = resolve_project(rt, project)
        with rt.view("cost_ledger", as_of) as view:
            assert isinstance(view, CostLedgerReads)
            lines = view.lines(project)
            totals = view.summary(project)
            accounts = view.accounts(project)
            entries = (
                view.entries(line_id=full_id(project, "line", line)) if line else []
            )
        if as_json:
            _json(
                {
                    "summary": totals,
                    "lines": lines,
                    "accounts": accounts,
                    "entries": entries,
                }
            )
            return
        con = console()
        if line:
            if not entries:
                raise Failure(f"no money events on line {line!r}", EXIT_NOT_FOUND)
            con.print(
                table(
                    f"Line {line} of {project}",
                    [
                        ("#", "right"),
                        "when",
                        "event",
                        "ref",
                        ("revised", "right"),
                        ("committed", "right"),
                        ("actual", "right"),
                        ("paid", "right"),
                    ],
                    [
                        (
                            e.position,
                            when(e.occurred_at),
                            e.kind,
                            e.ref or "",
                            money(e.revised_delta, e.currency),
                            money(e.committed_delta, e.currency),
                            money(e.actual_delta, e.currency),
                            money(e.paid_delta, e.currency),
                        )
                        for e in entries
                    ],
                    caption=_caption(as_of),
                )
            )
            return
        rows = [
            (
                x.line,
                x.category,
                money(x.approved, x.currency),
                money(x.revised, x.currency),
                money(x.committed, x.currency),
                money(x.actual, x.currency),
                money(x.paid, x.currency),
                money(x.variance, x.currency),
                money(x.forecast, x.currency) + f" ({x.forecast_basis})",
            )
            for x in lines
        ]
        for t in totals:
            rows.append(
                (
                    "[bold]total[/]",
                    "",
                    money(t.approved_total, t.currency),
                    money(t.revised, t.currency),
                    money(t.committed, t.currency),
                    money(t.actual, t.currency),
                    money(t.paid, t.currency),
                    money(t.variance, t.currency),
                    money(t.forecast, t.currency),
                )
            )
        con.print(
            table(
                f"Cost ledger of {project}",
                [
                    "line",
                    "category",
                    ("approved", "right"),
                    ("revised", "right"),
                    ("committed", "right"),
                    ("actual", "right"),
                    ("paid", "right"),
                    ("variance", "right"),
                    ("forecast", "right"),
                ],
                rows,
                caption=_caption(
                    as_of,
                    "; ".join(
                        f"contingency left {money(t.contingency_left, t.currency)}"
                        for t in totals
                    ),
                ),
            )
        )
        if accounts:
            con.print(
                table(
                    "Recoupable balances",
                    ["account", ("recoupable", "right"), ("paid", "right")],
                    [
                        (
                            a["account"],
                            money(a["recoupable"], a["currency"]),
                            money(a["paid"], a["currency"]),
                        )
                        for a in accounts
                    ],
                )
            )

    @cli.command()
    @runtime_options
    @project_option
    @as_of_option
    @click.option("--json", "as_json", is_flag=True, help="JSON instead of tables.")
    def status(project: str | None, as_of: AsOf, as_json: bool) -> None:
        """Each song's stage, milestones, and the health of the views.

        \b
        Examples:
          session-log status
          session-log status --as-of 2025-03-01
        """
        rt = runtime()
        project = resolve_project(rt, project)
        with rt.view("progress", as_of) as view:
            assert isinstance(view, ProgressReads)
            recordings = view.recordings(project)
            milestones = view.milestones(project, now=as_of.at)
        health = rt.runner.status()
        if as_json:
            _json(
                {
                    "recordings": recordings,
                    "milestones": milestones,
                    "views": health,
                    "runtime": rt.describe(),
                }
            )
            return
        con = console()
        con.print(
            table(
                f"Songs of {project}",
                [
                    "recording",
                    "title",
                    "status",
                    "stage",
                    "since",
                    ("takes", "right"),
                    "mix",
                    "master",
                ],
                [
                    (
                        local(r.recording_id),
                        r.title + (f" ({r.version_title})" if r.version_title else ""),
                        r.status,
                        r.stage,
                        when(r.stage_at),
                        r.takes,
                        f"v{r.mix_version} {r.mix_status}" if r.mix_version else "",
                        f"v{r.master_version} {r.master_status}"
                        if r.master_version
                        else "",
                    )
                    for r in recordings
                ],
                caption=_caption(as_of),
            )
        )
        con.print(
            table(
                "Milestones",
                ["milestone", "due", "met", "state"],
                [
                    (m["name"], when(m["due_at"]), when(m["met_at"]), m["state"])
                    for m in milestones
                ],
            )
        )
        con.print(
            table(
                "Views",
                ["view", "state", ("position", "right"), ("lag", "right"), "problem"],
                [
                    (
                        v.view,
                        v.state,
                        v.position,
                        v.lag,
                        (v.failure.error if v.failure else v.error) or "",
                    )
                    for v in health.values()
                ],
                caption=" | ".join(f"{k}: {v}" for k, v in rt.describe().items()),
            )
        )

    @cli.command()
    @runtime_options
    @click.argument("aggregate_id")
    @click.option("--json", "as_json", is_flag=True)
    def history(aggregate_id: str, as_json: bool) -> None:
        """The stored events of one aggregate (e.g. moonlit.mix.lantern)."""
        rt = runtime()
        app = rt.app
        stored = app.recorder.select_events(aggregate_id)
        if not stored:
            raise Failure(f"no aggregate {aggregate_id}", EXIT_NOT_FOUND)
        events: list[dict[str, Any]] = []
        for item in stored:
            event: Any = app.mapper.to_domain_event(item)
            meta = getattr(event, "meta", None)
            events.append(
                {
                    "version": item.originator_version,
                    "kind": item.topic.rsplit(":", 1)[-1].rsplit(".", 1)[-1],
                    "occurred_at": getattr(meta, "occurred_at", None),
                    "actor": getattr(meta, "actor", None),
                    "capacity": getattr(meta, "capacity", None),
                    "reason": getattr(meta, "reason", None),
                    "payload": msgspec.to_builtins(getattr(event, "payload", None)),
                }
            )
        if as_json:
            _json(events)
            return
        console().print(
            table(
                aggregate_id,
                [("v", "right"), "when", "who", "capacity", "event", "why"],
                [
                    (
                        e["version"],
                        when(e["occurred_at"]),
                        local(e["actor"]),
                        e["capacity"],
                        e["kind"],
                        e["reason"] or "",
                    )
                    for e in events
                ],
            )
        )

    @cli.command("projects")
    @runtime_options
    def list_projects() -> None:
        """The projects in the stream, with their number of decisions."""
        rt = runtime()
        console().print(
            table(
                "Projects",
                ["project", ("decisions", "right"), "first", "last"],
                [
                    (
                        p["project"],
                        p["decisions"],
                        when(p["first_at"]),
                        when(p["last_at"]),
                    )
                    for p in projects(rt)
                ],
            )
        )


def _party(rt: Any, project: str, party: str | None) -> str | None:
    """The full id of ``party`` (``rui`` or ``moonlit.party.rui``), which must
    appear in the project's timeline (as the actor or the subject of a
    decision): a typo would otherwise show an empty page."""
    return _known(rt, project, "party", party, "Parties")


def _recording(rt: Any, project: str, recording: str | None) -> str | None:
    """The full id of ``recording`` (``lantern`` or its aggregate id), which
    must appear in the project's timeline."""
    return _known(rt, project, "recording", recording, "Recordings")


def _known(
    rt: Any, project: str, kind: str, value: str | None, label: str
) -> str | None:
    """The full id of ``value`` (a local id or an aggregate id of ``kind``),
    refused (exit 6, with those there are) unless some decision of the project
    carries it. A timeline without any of the project's subjects of that kind
    (not kept where this runs) cannot tell."""
    if value is None:
        return None
    full = full_id(project, kind, value)
    view = rt.catch_up().view("timeline")
    assert isinstance(view, TimelineReads)
    known = view.others_than(project, kind, full)
    if not known:
        return full
    raise Failure(
        f"no {kind} {value!r} in {project}",
        EXIT_NOT_FOUND,
        hint=f"{label}: {', '.join(known)}.",
    )


def _subject(rt: Any, project: str, local_id: str) -> str:
    """The aggregate id of ``local_id`` (a recording, session... id)."""
    view = rt.catch_up().view("timeline")
    rows = view.rows(
        "SELECT DISTINCT subject_id FROM {subjects} WHERE subject_id LIKE :pattern",
        {"pattern": f"{project}.%.{local_id}"},
    )
    if not rows:
        raise Failure(f"nothing called {local_id!r} in {project}", EXIT_NOT_FOUND)
    found = [str(r["subject_id"]) for r in rows]
    for kind in PREFERRED_SUBJECTS:
        if f"{project}.{kind}.{local_id}" in found:
            return f"{project}.{kind}.{local_id}"
    if len(found) > 1:
        raise Failure(f"{local_id!r} is ambiguous: {', '.join(found)}", 2)
    return found[0]


PREFERRED_SUBJECTS = ("recording", "session", "party", "work", "line", "milestone")
"""A bare ``--subject`` id means the first of these kinds that has it."""
