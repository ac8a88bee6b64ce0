"""The command lines in README.md and docs/ work as written.

Every ```bash block runs, in order, with bash (``-euo pipefail``) in a
directory of its own where ``session-log demo`` ran first, as a reader trying
the examples after the quick start would. Blocks that need what a test cannot
start for them (``session-log up``, a deployment's hosts, a package manager)
are fenced ```shell instead; each ``session-log`` command in them is parsed by
the CLI itself (its subcommand, options and values), so a renamed option or a
wrong choice fails here too. docs/api.md's ``curl`` examples run against
``session-log up`` on the demo.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
import pytest
from interfaces_support import clean_env, run_demo, run_in

from session_log.cli import cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def fenced(kind: str) -> list[tuple[Path, int, str]]:
    """``(file, number, body)`` of each block fenced with ``kind``."""
    fence = re.compile(rf"^```{kind}\n(.*?)^```", re.S | re.M)
    return [
        (path, number, match.group(1))
        for path in DOCS
        for number, match in enumerate(fence.finditer(path.read_text()), start=1)
    ]


def commands(block: str) -> list[list[str]]:
    """The ``session-log`` command lines of a shell block, as argument lists
    (continuation lines joined, comments, ``&`` and ``&&`` taken apart)."""
    joined = re.sub(r"\\\n\s*", " ", block)
    found: list[list[str]] = []
    pending = ""
    for line in joined.splitlines():
        pending += line + "\n"
        try:  # a quoted string may go on over several lines
            words = shlex.split(pending, comments=True)
        except ValueError:
            continue
        pending = ""
        current: list[str] = []
        for word in [*words, "&&"]:
            if word in ("&&", "&", "|", ";"):
                if current[:1] == ["session-log"]:
                    found.append(current[1:])
                current = []
            else:
                current.append(word)
    return found


def parse(args: list[str]) -> None:
    """Parse a ``session-log`` command line as the CLI would, running nothing."""
    ctx = click.Context(cli, info_name="session-log")
    command: click.Command | None = cli
    name, rest = "session-log", list(args)
    while isinstance(command, click.Group):
        if not rest:
            raise click.UsageError(f"{name}: no subcommand in {args}")
        name, rest = rest[0], rest[1:]
        command = command.get_command(ctx, name)
        if command is None:
            raise click.UsageError(f"no command {name!r} in {args}")
    command.make_context(name, rest, parent=ctx)


SHELL = [
    (path, number, args)
    for path, number, body in fenced("shell")
    for args in commands(body)
]


def test_the_shell_blocks_hold_session_log_commands() -> None:
    assert len(SHELL) >= 10  # the deployment examples are found and parsed


@pytest.mark.parametrize(
    "args",
    [args for _, _, args in SHELL],
    ids=[f"{p.relative_to(ROOT)}#{n}:{' '.join(a[:2])}" for p, n, a in SHELL],
)
def test_a_deployment_example_parses(args: list[str]) -> None:
    parse(args)


def test_a_wrong_option_would_not_parse() -> None:
    with pytest.raises(click.UsageError):
        parse(["project", "--view", "timelines"])
    with pytest.raises(click.UsageError):
        parse(["replay", "--to", "3"])


BASH = fenced("bash")
BASH_RUN = ("bash", "-euo", "pipefail", "-c")
"""How a block runs: any failing command, unset variable or pipe stage fails it."""


@pytest.mark.parametrize(
    "path",
    sorted({path for path, _, _ in BASH}),
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_the_examples_run_as_written(path: Path, tmp_path: Path) -> None:
    env = clean_env()
    demo = run_demo(tmp_path, env)
    assert demo.returncode == 0, demo.stderr[-2000:]
    blocks = [(number, body) for where, number, body in BASH if where == path]
    for number, body in blocks:
        ran = run_in(tmp_path, env, *BASH_RUN, body)
        where = f"{path.relative_to(ROOT)} bash block {number}"
        assert ran.returncode == 0, (
            f"{where}:\n{body}\n{ran.stdout[-2000:]}\n{ran.stderr[-2000:]}"
        )
        assert "Traceback" not in ran.stderr, f"{where}: {ran.stderr[-2000:]}"


def logical_lines(block: str) -> list[str]:
    """A shell block's commands as written, one per entry (continuation lines
    and quoted strings over several lines kept whole, comment lines apart)."""
    found: list[str] = []
    pending = ""
    for line in block.splitlines(keepends=True):
        pending += line
        if pending.rstrip().endswith("\\"):
            continue
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # a quoted string goes on
            continue
        if pending.strip():
            found.append(pending.strip())
        pending = ""
    return found


def test_the_api_examples_answer_as_documented(tmp_path: Path) -> None:
    """docs/api.md's curl examples against ``session-log up`` on the demo:
    each answers JSON without an error (or the error the docs show after it),
    the export is XML, the live stream sends decisions."""
    from session_log.embedded import free_port

    env = clean_env()
    demo = run_demo(tmp_path, env)
    assert demo.returncode == 0, demo.stderr[-2000:]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "session_log.cli", "up", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import httpx

        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "session-log up did not answer"
                time.sleep(0.25)
        blocks = [body for path, _, body in fenced("shell") if path.name == "api.md"]
        [token_line] = [
            line for line in logical_lines(blocks[0]) if line.startswith("TOKEN=")
        ]
        prelude = f"{token_line}\nAPI=http://127.0.0.1:{port}/api\n"
        checked = 0
        for block in blocks[1:]:
            lines = logical_lines(block)
            for index, line in enumerate(lines):
                if not line.startswith("curl"):
                    continue
                shown = lines[index + 1] if index + 1 < len(lines) else ""
                expected = re.match(r"# (\d{3}) ", shown)
                streaming = " -N " in f" {line} "
                if streaming:
                    ran = _stream(prelude + line, tmp_path, env)
                else:
                    script = prelude + line
                    ran = run_in(tmp_path, env, *BASH_RUN, script, timeout=60)
                checked += 1
                if streaming:
                    assert "event: decision" in ran.stdout, line
                    continue
                assert ran.returncode == 0, f"{line}\n{ran.stderr}"
                if ">" in line.split("-H")[-1]:
                    target = tmp_path / line.rsplit(">", 1)[1].strip()
                    assert target.read_text().lstrip().startswith("<"), line
                    continue
                body = json.loads(ran.stdout)
                status = body.get("status_code") if isinstance(body, dict) else None
                if expected:
                    assert status == int(expected.group(1)), f"{line}\n{body}"
                else:
                    assert status is None, f"{line}\n{body}"
        assert checked >= 10
    finally:
        server.terminate()
        server.wait(30)


def _stream(script: str, cwd: Path, env: dict[str, str]) -> Any:
    """What a streaming curl printed in its first seconds."""
    process = subprocess.Popen(
        ["bash", "-c", script],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # curl and bash stopped together
    )
    try:
        out, err = process.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)
