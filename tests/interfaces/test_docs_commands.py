"""The command lines in README.md and docs/ work as written.

Every ```bash block runs, in order, with bash (``-euo pipefail``) in a
directory of its own where ``session-log demo`` ran first, as a reader trying
the examples after the quick start would. Blocks that need what a test cannot
start for them (``session-log up``, a deployment's hosts, a package manager)
are fenced ```shell instead; each ``session-log`` command in them is parsed by
the CLI itself (its subcommand, options and values), so a renamed option or a
wrong choice fails here too.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

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


@pytest.mark.parametrize(
    "path",
    sorted({path for path, _, _ in BASH}),
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_the_examples_run_as_written(path: Path, tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SESSION_LOG_")
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "120"
    demo = subprocess.run(
        [sys.executable, "-m", "session_log.cli", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    blocks = [(number, body) for where, number, body in BASH if where == path]
    for number, body in blocks:
        ran = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", body],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        where = f"{path.relative_to(ROOT)} bash block {number}"
        assert ran.returncode == 0, (
            f"{where}:\n{body}\n{ran.stdout[-2000:]}\n{ran.stderr[-2000:]}"
        )
        assert "Traceback" not in ran.stderr, f"{where}: {ran.stderr[-2000:]}"
