"""The command line: the demo on a fresh machine, reads, decisions, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner, Result
from interfaces_support import DEMO_SECONDS_LIMIT, DemoRun

from session_log.cli import cli
from session_log.cli.decide import parse_money
from session_log.cli.render import money
from session_log.runtime import Runtime, parse_as_of
from session_log.tamper import CheckpointStore


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), env=env, input=stdin)
    assert "Traceback" not in result.output, result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def new_id() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


# --- the README's first command ---------------------------------------------------


def test_demo_on_a_fresh_machine(demo_dir: DemoRun) -> None:
    result = demo_dir.result
    assert result.returncode == 0, result.stderr[-3000:]
    assert demo_dir.seconds < DEMO_SECONDS_LIMIT
    out = result.stdout
    assert "Moonlit Harbour" in out
    for label in ("Decisions", "Budget approved", "Actual", "Credits", "Where to look"):
        assert label in out
    assert "session-log up" in out
    assert (demo_dir.data_dir / "nats" / "jetstream").is_dir()
    assert (demo_dir.data_dir / "views.db").is_file()
    assert json.loads((demo_dir.data_dir / "tokens.json").read_text())["tokens"]


def test_demo_again_writes_nothing(
    cli_env: dict[str, str], demo_runtime: Runtime
) -> None:
    before = demo_runtime.head()
    result = run(cli_env, "demo")
    assert result.exit_code == 0, result.output
    assert "already loaded" in result.output
    assert demo_runtime.head() == before


def test_help_has_examples_and_exit_codes(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "--help")
    assert result.exit_code == 0
    assert "Exit codes" in result.output
    assert "session-log demo" in result.output
    for command in ("timeline", "audit", "ledger", "credits", "verify", "replay", "up"):
        assert command in result.output
    sub = run(cli_env, "decide", "record-cost", "--help")
    assert "--amount" in sub.output
    assert "1500.00 USD" in sub.output
    # What the command decides, who may, and what its fields hold.
    assert "Record a cost (an invoice) against a line." in sub.output
    assert "Who: producer, label_approver" in sub.output
    assert "budget line (studio" in sub.output
    booking = run(cli_env, "decide", "book-session", "--help").output
    assert "UTC time (2025-06-10T10:00:00Z); required" in " ".join(booking.split())


# --- reads ------------------------------------------------------------------------


def test_timeline_and_audit(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "timeline", "--limit", "3")
    assert result.exit_code == 0, result.output
    assert "ProjectStarted" in result.output
    assert "more: --after" in result.output
    five = json.loads(run(cli_env, "timeline", "--limit", "5", "--json").output)
    cursor = f"{five['items'][2]['position']}:SessionLog"
    page = run(cli_env, "timeline", "--limit", "2", "--after", cursor, "--json")
    items = json.loads(page.output)["items"]
    assert items == five["items"][3:5]
    audit = run(
        cli_env, "audit", "--actor", "lena", "--kind", "LabelCopyApproved", "--json"
    )
    decisions = json.loads(audit.output)["items"]
    assert len(decisions) == 1
    assert decisions[0]["actor"] == "moonlit.party.lena"
    assert decisions[0]["capacity"] == "label_approver"
    assert decisions[0]["command_type"] == "approve_label_copy"


def test_timeline_of_one_subject(cli_env: dict[str, str]) -> None:
    result = run(
        cli_env, "timeline", "--subject", "lantern", "--json", "--limit", "500"
    )
    items = json.loads(result.output)["items"]
    assert items
    assert all("moonlit.recording.lantern" in i["subjects"] for i in items)


def test_ledger_figures_equal_the_view(
    cli_env: dict[str, str], demo_runtime: Runtime
) -> None:
    result = run(cli_env, "ledger", "--json")
    assert result.exit_code == 0
    printed = json.loads(result.output)
    view = demo_runtime.catch_up().cost_ledger
    expected = msgspec.to_builtins(view.summary("moonlit"))
    assert printed["summary"] == expected
    table = run(cli_env, "ledger")
    total = expected[0]
    assert f"${total['revised'] // 100:,}.{total['revised'] % 100:02d}" in table.output


def test_as_of_a_day_and_a_position(cli_env: dict[str, str]) -> None:
    now = json.loads(run(cli_env, "status", "--json").output)
    assert {r["stage"] for r in now["recordings"] if r["status"] == "selected"} == {
        "delivered"
    }
    then = json.loads(run(cli_env, "status", "--as-of", "2025-02-20", "--json").output)
    stages = {r["stage"] for r in then["recordings"] if r["status"] == "selected"}
    assert "delivered" not in stages
    assert "tracking" in stages
    early = json.loads(run(cli_env, "ledger", "--as-of", "10", "--json").output)
    assert early["summary"] == []  # no budget approved in the first ten events


def test_bad_as_of_is_a_usage_error(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "ledger", "--as-of", "last tuesday")
    assert result.exit_code == 2
    assert "stream position" in result.output


@pytest.mark.parametrize("fmt", ["json", "csv", "rin", "table"])
def test_credits_formats(cli_env: dict[str, str], fmt: str) -> None:
    result = run(cli_env, "credits", "--format", fmt)
    assert result.exit_code == 0, result.output
    out = result.output
    if fmt == "json":
        assert json.loads(out)["credits"]
    elif fmt == "csv":
        assert out.splitlines()[0].startswith("subject_id,party_id,name,role")
    elif fmt == "rin":
        root = ET.fromstring(out.split("?>", 1)[1])
        assert root.tag == "RecordingInformationNotification"
        assert root.find("ResourceList/SoundRecording") is not None
    else:
        assert "StudioProducer" in out
        assert "Writer splits" in out


def test_history_of_an_aggregate(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "history", "moonlit.mix.lantern", "--json")
    events = json.loads(result.output)
    assert events[0]["kind"] == "MixSubmitted"
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    missing = run(cli_env, "history", "moonlit.mix.nothing")
    assert missing.exit_code == 6


@pytest.mark.parametrize(
    "command",
    [
        ("timeline",),
        ("audit",),
        ("ledger",),
        ("credits", "--format", "csv"),
        ("status", "--as-of", "2025-03-01"),
    ],
    ids=lambda c: c[0],
)
def test_an_unknown_project_is_named_not_shown_empty(
    cli_env: dict[str, str], command: tuple[str, ...]
) -> None:
    result = run(cli_env, *command, "--project", "moonlt")
    assert result.exit_code == 6, result.output
    assert "no project 'moonlt'" in result.output
    assert "Projects: moonlit." in result.output
    known = run(cli_env, *command, "--project", "moonlit")
    assert known.exit_code == 0, known.output


@pytest.mark.parametrize(
    ("command", "option"), [("audit", "--actor"), ("timeline", "--person")]
)
def test_an_unknown_party_is_named_not_shown_empty(
    cli_env: dict[str, str], command: str, option: str
) -> None:
    result = run(cli_env, command, option, "lenna")
    assert result.exit_code == 6, result.output
    assert "no party 'lenna' in moonlit" in result.output
    assert "lena" in result.output.split("Parties:", 1)[1]
    for known in ("lena", "moonlit.party.lena"):
        found = run(cli_env, command, option, known, "--json")
        assert found.exit_code == 0, found.output
        assert json.loads(found.output)["items"]


def test_credits_of_one_recording_in_every_format(cli_env: dict[str, str]) -> None:
    table = run(cli_env, "credits", "--recording", "lantern", "--json")
    assert table.exit_code == 2  # credits has --format, not --json
    found = run(cli_env, "credits", "--recording", "lantern", "--format", "csv")
    assert found.exit_code == 0, found.output
    subjects = {line.split(",", 1)[0] for line in found.output.splitlines()[1:]}
    assert subjects == {"moonlit.recording.lantern"}
    document = json.loads(
        run(cli_env, "credits", "--recording", "lantern", "--format", "json").output
    )
    assert {c["subject_id"] for c in document["credits"]} == {
        "moonlit.recording.lantern"
    }
    rin = run(cli_env, "credits", "--recording", "lantern", "--format", "rin")
    assert rin.exit_code == 2
    assert "a RIN document is the whole release's" in rin.output


def test_an_unknown_recording_is_named_not_shown_empty(
    cli_env: dict[str, str],
) -> None:
    result = run(cli_env, "credits", "--recording", "lanturn")
    assert result.exit_code == 6, result.output
    assert "no recording 'lanturn' in moonlit" in result.output
    assert "lantern" in result.output.split("Recordings:", 1)[1]
    for known in ("lantern", "moonlit.recording.lantern"):
        found = run(cli_env, "credits", "--recording", known)
        assert found.exit_code == 0, found.output
        assert "Mara Velez" in found.output


@pytest.mark.parametrize("command", ["audit", "timeline"])
def test_an_unknown_kind_is_a_usage_error_with_the_near_ones(
    cli_env: dict[str, str], command: str
) -> None:
    result = run(cli_env, command, "--kind", "MixAprooved")
    assert result.exit_code == 2, result.output
    assert "no decision kind 'MixAprooved' (did you mean MixApproved" in result.output
    # A kind no decision had yet is a kind all the same: an empty page.
    empty = run(
        cli_env, command, "--kind", "MasterApproved", "--as-of", "2025-02-01", "--json"
    )
    assert empty.exit_code == 0, empty.output
    assert json.loads(empty.output)["items"] == []
    found = run(cli_env, command, "--kind", "MixApproved", "--json")
    assert found.exit_code == 0, found.output
    assert {item["kind"] for item in json.loads(found.output)["items"]} == {
        "MixApproved"
    }


def test_an_unknown_capacity_is_a_usage_error(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "audit", "--capacity", "labl_approver")
    assert result.exit_code == 2, result.output
    assert "'label_approver'" in result.output


def test_an_empty_timeline_cannot_tell_an_unknown_project(tmp_path: Path) -> None:
    env = {
        "SESSION_LOG_DATA_DIR": str(tmp_path / "data"),
        "SESSION_LOG_PROJECT": "",
        "COLUMNS": "200",
    }
    result = run(env, "timeline", "--project", "anything")
    assert result.exit_code == 0, result.output
    assert "Timeline of anything" in result.output
    someone = run(env, "audit", "--project", "anything", "--actor", "someone")
    assert someone.exit_code == 0, someone.output


# --- decisions and exit codes ------------------------------------------------------


def cost(command_id: str, **changes: object) -> str:
    body: dict[str, object] = {
        "type": "record_cost",
        "command_id": command_id,
        "project": "moonlit",
        "line": "archive",
        "cost": command_id,
        "payee": "vault",
        "amount": {"amount": 1250, "currency": "USD"},
        "invoice_ref": "VM-T",
    }
    body.update(changes)
    return json.dumps(body)


def test_submit_from_stdin_and_file(cli_env: dict[str, str], tmp_path: Path) -> None:
    command_id = new_id()
    result = run(cli_env, "submit", "--as", "rui", "-", stdin=cost(command_id))
    assert result.exit_code == 0, result.output
    assert "CostIncurred" in result.output
    timeline = run(cli_env, "timeline", "--newest-first", "--limit", "5", "--json")
    assert any(
        i["kind"] == "CostIncurred" and f"cost={command_id}" in i["summary"]
        for i in json.loads(timeline.output)["items"]
    )
    path = tmp_path / "command.json"
    path.write_text(cost(command_id))
    again = run(cli_env, "submit", "--as", "rui", str(path))
    assert again.exit_code == 0  # the same command again: the original outcome


@pytest.mark.parametrize(
    ("body", "actor", "code", "words"),
    [
        ("{not json", "rui", 3, "malformed JSON"),
        (
            cost("x1", amount={"amount": "a lot", "currency": "USD"}),
            "rui",
            3,
            "$.amount",
        ),
        (cost("x2", line="no-such-line"), "rui", 6, "no-such-line"),
        (cost("x3"), "max", 4, "may not"),
        (cost("x4", actor="lena"), "rui", 4, "rui may not submit a command as lena"),
    ],
    ids=["malformed", "invalid-field", "unknown-line", "viewer", "other-actor"],
)
def test_refused_commands_exit_with_the_reason(
    cli_env: dict[str, str], body: str, actor: str, code: int, words: str
) -> None:
    result = run(cli_env, "submit", "--as", actor, "-", stdin=body)
    assert result.exit_code == code, result.output
    assert words in result.output
    assert result.output.startswith(("refused (", "error:"))


def test_command_id_reused_with_another_body_is_refused(
    cli_env: dict[str, str],
) -> None:
    command_id = new_id()
    assert (
        run(cli_env, "submit", "--as", "rui", "-", stdin=cost(command_id)).exit_code
        == 0
    )
    changed = cost(command_id, invoice_ref="VM-CHANGED")
    result = run(cli_env, "submit", "--as", "rui", "-", stdin=changed)
    assert result.exit_code == 5
    assert "duplicate-command-conflict" in result.output


def record_cost(command_id: str, amount: str) -> list[str]:
    """``decide record-cost`` of ``amount`` on the archive line, as rui."""
    return [
        *("decide", "record-cost", "--as", "rui", "--line", "archive"),
        *("--cost", command_id, "--payee", "vault", "--amount", amount),
        *("--invoice-ref", "VM-9", "--command-id", command_id),
    ]


def test_decide_subcommand(cli_env: dict[str, str], demo_runtime: Runtime) -> None:
    command_id = new_id()
    result = run(cli_env, *record_cost(command_id, "12.50 USD"))
    assert result.exit_code == 0, result.output
    runner = demo_runtime.catch_up()
    entries = runner.cost_ledger.entries(line_id="moonlit.line.archive")
    assert any(e.ref == command_id and e.actual_delta == 1250 for e in entries)
    dry = run(
        cli_env,
        "decide",
        "mark-take",
        "--as",
        "rui",
        "--take",
        "t1",
        "--mark",
        "keeper",
        "--dry-run",
    )
    assert json.loads(dry.output)["mark"] == "keeper"
    bad = run(
        cli_env, "decide", "mark-take", "--as", "rui", "--take", "t1", "--mark", "meh"
    )
    assert bad.exit_code == 2
    missing = run(cli_env, "decide", "mark-take", "--as", "rui", "--take", "t1")
    assert missing.exit_code == 3
    assert "$.mark" in missing.output


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("12.505 USD", "--amount: '12.505': USD amounts have 2 decimal places"),
        ("1,50.00 USD", "--amount: '1,50.00' is not an amount"),
    ],
)
def test_an_amount_the_currency_cannot_hold_is_refused(
    cli_env: dict[str, str], demo_runtime: Runtime, amount: str, words: str
) -> None:
    before = demo_runtime.head()
    result = run(cli_env, *record_cost(new_id(), amount))
    assert result.exit_code == 3, result.output
    assert words in result.output
    assert demo_runtime.head() == before


def test_parse_money_and_as_of() -> None:
    assert parse_money("1,500.00 USD") == {"amount": 150000, "currency": "USD"}
    assert parse_money("12.5 EUR") == {"amount": 1250, "currency": "EUR"}
    assert parse_money("-3 USD") == {"amount": -300, "currency": "USD"}
    assert parse_money('{"amount": 5, "currency": "USD"}') == {
        "amount": 5,
        "currency": "USD",
    }
    # Each currency's own minor units: the yen has none, the dinar 1,000 fils.
    assert parse_money("1,500 JPY") == {"amount": 1500, "currency": "JPY"}
    assert parse_money("1.5 KWD") == {"amount": 1500, "currency": "KWD"}
    assert parse_money("-0.50 USD") == {"amount": -50, "currency": "USD"}
    assert money(1500, "JPY") == "¥1,500"
    assert money(-1500, "KWD") == "-1.500 KWD"
    assert parse_as_of("1200").position == 1200
    moment = parse_as_of("2025-03-14").at
    assert moment is not None
    assert moment.isoformat() == "2025-03-14T23:59:59.999999+00:00"
    assert parse_as_of("2025-03-14T18:00:00Z").at is not None
    assert not parse_as_of(None)
    with pytest.raises(ValueError, match="stream position"):
        parse_as_of("soon")


# --- replay and verify -------------------------------------------------------------


def test_replay_rebuilds_with_progress(cli_env: dict[str, str], tmp_path: Path) -> None:
    # The session's runtime keeps the demo's views: rebuilding them from here
    # is refused; views of our own are rebuilt.
    refused = run(cli_env, "replay", "--view", "progress")
    assert refused.exit_code == 7
    assert "another session-log process" in refused.output
    env = {**cli_env, "SESSION_LOG_VIEWS": str(tmp_path / "own-views.db")}
    result = run(env, "replay", "--view", "progress")
    assert result.exit_code == 0, result.output
    assert "Rebuilt" in result.output
    assert "progress" in result.output
    assert "in 1 process(es)" in result.output  # a short stream: one process
    before = json.loads(run(env, "status", "--json").output)
    parallel = run(
        env, "replay", "--view", "progress", "--view", "credits", "--workers", "2"
    )
    assert parallel.exit_code == 0, parallel.output
    assert "in 2 process(es)" in parallel.output
    assert json.loads(run(env, "status", "--json").output) == before
    status = json.loads(run(env, "status", "--json").output)
    assert {r["stage"] for r in status["recordings"] if r["status"] == "selected"} == {
        "delivered"
    }


def test_replay_step_walks_decisions(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "replay", "--step", "--limit", "3", "--no-pause")
    assert result.exit_code == 0, result.output
    assert result.output.count("Ledger:") == 3
    assert "ProjectStarted" in result.output
    later = run(
        cli_env, "replay", "--step", "--from", "2000", "--limit", "1", "--no-pause"
    )
    assert "Ledger: budget $" in later.output


def test_verify_ok_then_a_forged_checkpoint_names_the_position(
    cli_env: dict[str, str], demo_runtime: Runtime
) -> None:
    result = run(cli_env, "verify")
    assert result.exit_code == 0, result.output
    assert result.output.count("ok") >= 6
    store = CheckpointStore(demo_runtime.checkpoints_dir)
    [first, *_] = store.load("SessionLog", "moonlit")
    folder = demo_runtime.checkpoints_dir / "SessionLog" / "moonlit"
    forged_path = folder / f"{first.position:012d}.json"
    original = forged_path.read_bytes()
    forged = msgspec.structs.replace(first, events=first.events - 1)
    try:
        forged_path.write_bytes(msgspec.json.encode(forged))
        bad = run(cli_env, "verify", "--skip-views")
        assert bad.exit_code == 8
        assert "bad signature" in bad.output
        assert f"position {first.position}" in bad.output
    finally:
        forged_path.write_bytes(original)
    assert run(cli_env, "verify", "--skip-views").exit_code == 0


def test_a_reader_that_stops_early_ends_the_output_quietly(
    cli_env: dict[str, str],
) -> None:
    """``| head``: the walk stops with 141 (128 + SIGPIPE), as other Unix tools
    do, and prints nothing on standard error."""
    walk = subprocess.Popen(
        [sys.executable, "-m", "session_log.cli", "replay", "--step", "--no-pause"],
        env={**os.environ, **cli_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert walk.stdout is not None
    assert walk.stderr is not None
    assert walk.stdout.read(200)
    walk.stdout.close()
    assert walk.wait(timeout=120) == 141
    assert walk.stderr.read() == b""
    walk.stderr.close()


def test_unreachable_nats_is_exit_7(cli_env: dict[str, str]) -> None:
    from session_log.embedded import free_port

    env = {**cli_env, "SESSION_LOG_NATS_URL": f"nats://127.0.0.1:{free_port()}"}
    result = run(env, "timeline", "--project", "moonlit")
    assert result.exit_code == 7, result.output
