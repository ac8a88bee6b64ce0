"""The CLI's tables cut nothing short, whatever the terminal's width."""

from __future__ import annotations

import json

import pytest
from test_cli import run

from session_log.cli.render import console, fit, local, money, table


def test_fit_gives_way_from_the_widest_column() -> None:
    # (narrowest, widest) per column; room for the cells (borders apart).
    bounds = [(4, 20), (10, 10), (3, 12)]
    assert fit(bounds, 50) == [20, 10, 12]  # everything at its widest
    assert fit(bounds, 42) == [20, 10, 12]  # exactly fits
    assert fit(bounds, 36) == [14, 10, 12]  # the widest gives way first
    assert fit(bounds, 30) == [10, 10, 10]  # down to a common cap
    assert fit(bounds, 20) == [5, 10, 5]
    assert fit(bounds, 15) == [4, 10, 3]  # no room: each at its narrowest
    assert sum(fit(bounds, 33)) <= 33


def test_a_narrow_terminal_wraps_words_and_keeps_figures_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "30")
    figures = [money(1_727_000), money(-250), money(123_456_789)]
    out = console()
    with out.capture() as captured:
        out.print(
            table(
                "Ledger",
                ["line", ("approved", "right")],
                [("union musicians and vocalists", f) for f in figures],
            )
        )
    text = captured.get()
    assert "…" not in text
    for figure in figures:
        assert figure in text
    # The text column wrapped between words, never inside one.
    for word in ("union", "musicians", "vocalists"):
        assert word in text
    assert max(len(line) for line in text.splitlines()) <= 30


@pytest.mark.parametrize("columns", ["40", "80"])
@pytest.mark.parametrize("command", ["ledger", "status", "audit", "credits"])
def test_every_figure_and_id_is_printed_whole(
    cli_env: dict[str, str], command: str, columns: str
) -> None:
    narrow = run({**cli_env, "COLUMNS": columns}, command)
    assert narrow.exit_code == 0, narrow.output
    assert "…" not in narrow.output
    if command == "ledger":
        lines = json.loads(run(cli_env, "ledger", "--json").output)["lines"]
        for line in lines:
            for figure in ("approved", "revised", "actual", "paid", "variance"):
                if line[figure] is not None:
                    assert money(line[figure], line["currency"]) in narrow.output
    if command == "status":
        found = json.loads(run(cli_env, "status", "--json").output)
        for recording in found["recordings"]:
            # An id is one word: on its own line, never folded inside.
            assert local(recording["recording_id"]) in narrow.output.split()
            assert recording["stage_at"][:10] in narrow.output.split()


def test_output_to_a_pipe_is_not_wrapped(cli_env: dict[str, str]) -> None:
    env = {key: value for key, value in cli_env.items() if key != "COLUMNS"}
    piped = run(env, "audit", "--limit", "5")
    assert piped.exit_code == 0, piped.output
    # One line per decision: the reasons were not wrapped at 80 columns.
    assert "Album commissioned under the 2025 recording agreement" in piped.output
    assert max(len(line) for line in piped.output.splitlines()) > 80
