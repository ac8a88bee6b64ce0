"""Decisions from the terminal: ``submit`` (JSON) and ``decide <command>``.

``decide`` has one subcommand per command of :mod:`session_log.commands`, with
one option per field, generated from the msgspec types: strings and numbers as
they are, flags for booleans, repeated options for lists, JSON for structured
fields (``--arrangement '{"key": "E minor", ...}'``), and money as
``--amount "1500.00 USD"`` (or JSON in minor units). Whatever is typed goes
through the same decoder as the HTTP API, so errors name the same fields.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
import uuid
from typing import Any

import click
import msgspec
from msgspec import inspect as mi

from session_log import commands as cmd
from session_log.cli.base import (
    EXIT_INVALID,
    Failure,
    resolve_project,
    runtime,
    runtime_options,
)
from session_log.cli.render import console, table
from session_log.domain.commandlog import CommandResult
from session_log.domain.money import Money, parse_amount

COMMON = {"command_id", "project", "actor"}
MONEY = re.compile(r"^\s*(-?[0-9][0-9,]*(?:\.[0-9]*)?)\s*([A-Z]{3})\s*$")


def parse_money(text: str, name: str = "amount") -> Any:
    """``"1,500.00 USD"`` -> ``{"amount": 150000, "currency": "USD"}`` (in the
    currency's minor units: ``"1500 JPY"`` -> 1500); JSON as is."""
    found = MONEY.match(text)
    if found is None:
        return _json_value(text, name)
    amount, currency = found.groups()
    try:
        return {"amount": parse_amount(amount, currency), "currency": currency}
    except ValueError as error:
        raise Failure(f"--{name.replace('_', '-')}: {error}", EXIT_INVALID) from None


def _json_value(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise Failure(
            f"--{name.replace('_', '-')}: not valid JSON: {text}", EXIT_INVALID
        ) from None


def _unwrap(t: mi.Type) -> mi.Type:
    """The type inside ``X | None``."""
    if isinstance(t, mi.UnionType):
        inner = [x for x in t.types if not isinstance(x, mi.NoneType)]
        if len(inner) == 1:
            return inner[0]
    return t


def _is_money(t: mi.Type) -> bool:
    return isinstance(t, mi.StructType) and t.cls is Money


def _kind(t: mi.Type) -> str:
    t = _unwrap(t)
    if isinstance(t, mi.BoolType):
        return "bool"
    if isinstance(t, mi.IntType):
        return "int"
    if _is_money(t):
        return "money"
    if isinstance(t, mi.VarTupleType | mi.ListType):
        item = _unwrap(t.item_type)
        if isinstance(item, mi.StrType | mi.LiteralType):
            return "strings"
        return "json-items"
    if isinstance(t, mi.StrType | mi.LiteralType | mi.DateTimeType | mi.DecimalType):
        return "str"
    return "json"


def _choices(t: mi.Type) -> list[str] | None:
    t = _unwrap(t)
    if isinstance(t, mi.LiteralType) and all(isinstance(v, str) for v in t.values):
        return [str(v) for v in t.values]
    return None


FIELD_HELP = {
    "acting_as": "the capacity decided in, when the party holds several",
    "correlation_id": "the chain of decisions this one belongs to (a command id; "
    "default: this command's)",
    "causation_id": "the command this decision follows from (a request, an "
    "overrun cost...)",
    "reason": "why (required for rejections, cancellations, corrections...)",
    "recording": "recording id (lantern)",
    "recordings": "recording id (lantern)",
    "line": "budget line (studio, mixing...)",
    "session": "session id (trk-lantern)",
    "party": "party id (rui)",
    "payee": "party id of who is paid (harbour-studios)",
    "archivist": "party id (sam)",
    "work": "work id (w-lantern)",
    "take": "take id",
    "comp": "comp id",
    "credit": "credit id",
    "cost": "cost id (chosen when recorded; corrections and payments name it)",
    "commitment": "commitment id (chosen when committed; costs name it)",
    "draw": "contingency draw id (chosen when requested)",
    "increase": "budget increase id (chosen when requested)",
    "milestone": "milestone id (delivery)",
    "budget_version": "budget version number",
    "transfer": "transfer id",
}
"""What a field of that name holds (ids are the local ids inside the project)."""


def _field_help(field: mi.Field, kind: str) -> str:
    hints = {
        "money": 'money: "1500.00 USD", at most the currency\'s decimals',
        "json": "JSON",
        "json-items": "JSON, repeat for each item",
        "strings": "repeat for each value",
    }
    parts = [FIELD_HELP.get(field.name, ""), hints.get(kind, "")]
    if isinstance(_unwrap(field.type), mi.DateTimeType):
        parts.append("UTC time (2025-06-10T10:00:00Z)")
    if field.required:
        parts.append("required")
    return "; ".join(p for p in parts if p)


def build_body(
    command_class: type[cmd.CommandBase],
    values: dict[str, Any],
    project: str,
    command_id: str | None,
    extra_json: str | None,
) -> dict[str, Any]:
    """The JSON body of a command from the parsed options."""
    info = mi.type_info(command_class)
    assert isinstance(info, mi.StructType)
    body: dict[str, Any] = {
        "type": command_class.__struct_config__.tag,
        "command_id": command_id or f"cli-{uuid.uuid4().hex[:24]}",
        "project": project,
    }
    if extra_json:
        extra = _json_value(extra_json, "json")
        if not isinstance(extra, dict):
            raise Failure("--json: give a JSON object", EXIT_INVALID)
        body.update(extra)
    for field in info.fields:
        if field.name in COMMON:
            continue
        value = values.get(field.name)
        if value is None or value == ():
            continue
        kind = _kind(field.type)
        if kind == "money":
            body[field.name] = parse_money(value, field.name)
        elif kind == "json":
            body[field.name] = _json_value(value, field.name)
        elif kind == "json-items":
            body[field.name] = [_json_value(v, field.name) for v in value]
        elif kind == "strings":
            body[field.name] = list(value)
        else:
            body[field.name] = value
    return body


def show_result(result: CommandResult, head: int | None = None) -> None:
    con = console()
    out = table(
        f"accepted: {result.command_type} ({result.command_id})",
        ["aggregate", ("v", "right"), "event"],
        [(e.originator_id, e.originator_version, e.kind) for e in result.events],
    )
    con.print(out)
    if head is not None:
        con.print(f"stream position {head}")


def submit_body(body: bytes, actor: str | None) -> None:
    rt = runtime()
    command = cmd.decode_command(body)
    result = rt.app.submit(command, actor=actor)
    show_result(result, rt.head())


def _decide_command(command_class: type[cmd.CommandBase]) -> click.Command:
    info = mi.type_info(command_class)
    assert isinstance(info, mi.StructType)
    tag = str(command_class.__struct_config__.tag)
    name = tag.replace("_", "-")
    params: list[click.Parameter] = []
    for field in info.fields:
        if field.name in COMMON:
            continue
        kind = _kind(field.type)
        option = "--" + field.name.replace("_", "-")
        help_text = _field_help(field, kind)
        choices = _choices(field.type)
        if kind == "bool":
            params.append(
                click.Option(
                    [f"{option}/--no-{field.name.replace('_', '-')}", field.name],
                    default=None,
                    help=help_text,
                )
            )
        elif kind in ("strings", "json-items"):
            params.append(
                click.Option([option, field.name], multiple=True, help=help_text)
            )
        elif kind == "int":
            params.append(click.Option([option, field.name], type=int, help=help_text))
        else:
            params.append(
                click.Option(
                    [option, field.name],
                    type=click.Choice(choices) if choices else str,
                    help=help_text,
                )
            )
    doc = inspect.cleandoc(command_class.__doc__ or "")
    if not doc or doc.startswith("Fields every"):
        doc = f"Submit a command of type {tag}."
    summary = doc.splitlines()[0]

    def callback(**values: Any) -> None:
        actor = values.pop("actor")
        project_given = values.pop("project")
        command_id = values.pop("command_id")
        extra = values.pop("extra_json")
        dry_run = values.pop("dry_run")
        rt = runtime()
        project = project_given or (
            resolve_project(rt, None) if tag != "start_project" else None
        )
        if project is None:
            raise Failure("--project: which project?", 2)
        body = build_body(command_class, values, project, command_id, extra)
        data = msgspec.json.encode(body)
        if dry_run:
            click.echo(msgspec.json.format(data, indent=2).decode())
            return
        submit_body(data, actor)

    common = [
        click.Option(
            ["--as", "actor"],
            required=True,
            envvar="SESSION_LOG_ACTOR",
            help="Who decides: a party id in the project (rui) [$SESSION_LOG_ACTOR].",
        ),
        click.Option(
            ["-p", "--project"], envvar="SESSION_LOG_PROJECT", help="Project id."
        ),
        click.Option(
            ["--command-id"], help="Idempotency key [default: a new random id]."
        ),
        click.Option(["--json", "extra_json"], help="More fields as a JSON object."),
        click.Option(
            ["--dry-run"], is_flag=True, help="Print the JSON, submit nothing."
        ),
    ]
    command = click.Command(
        name,
        params=common + params,
        callback=callback,
        help=f"{doc}\n\nJSON type: {tag}.",
        short_help=summary,
    )
    return _with_runtime(command)


def _with_runtime(command: click.Command) -> click.Command:
    """Add the runtime options to a generated command."""
    assert command.callback is not None
    wrapped = runtime_options(command.callback)
    params: list[click.Parameter] = getattr(wrapped, "__click_params__", [])
    command.params.extend(reversed(params))
    command.callback = wrapped
    return command


def register(cli: click.Group) -> None:
    @cli.command()
    @runtime_options
    @click.argument("source", type=click.File("rb"), default="-")
    @click.option(
        "--as",
        "actor",
        envvar="SESSION_LOG_ACTOR",
        help="Who decides (fills in, or must equal, the command's actor).",
    )
    def submit(source: Any, actor: str | None) -> None:
        """Submit one command as JSON from a file or stdin (-).

        \b
        Examples:
          session-log submit --as rui take-mark.json
          echo '{"type": "mark_take", "command_id": "c-1", "project": "moonlit",
                 "take": "lantern-lead-vocal-2", "mark": "maybe"}' \\
              | session-log submit --as rui -
        """
        if source is sys.stdin.buffer and sys.stdin.isatty():
            raise Failure("reading a command from the terminal: pipe JSON in", 2)
        submit_body(source.read(), actor)

    @cli.group(
        context_settings={"max_content_width": 100},
        help="Submit a command with one option per field.\n\n"
        "\b\nExamples:\n"
        "  session-log decide mark-take --as rui --take lantern-lead-vocal-1 "
        "--mark circle\n"
        "  session-log decide record-cost --as rui --line studio --cost c-9 \\\n"
        '      --payee harbour-studios --amount "850.00 USD" --invoice-ref HS-77\n'
        "  session-log decide note-mix --as mara --recording lantern "
        "--mix-version 1 --timecode-ms 61000 --note 'Vocal up 1 dB'\n"
        "  session-log decide start-project --as ana -p new-ep --title 'New EP' \\\n"
        "      --main-artist 'Ana' --founder-name 'Ana Ruiz' --dry-run",
    )
    def decide() -> None:
        pass

    for command_class in cmd.COMMAND_TYPES:
        decide.add_command(_decide_command(command_class))
