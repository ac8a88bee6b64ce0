"""The cost ledger on a small budget history (budgetstory.py), figures worked out
by hand from the commands, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import cast

import pytest
from budgetstory import Clock, budget_story

from projections import ProjectionsRunner, ViewStore
from projections.sql_view import Db
from projections.views.cost_ledger.common import LINE_ROWS
from projections.views.cost_ledger.definition import CostLedgerDefinition
from session_log.application import SessionLog


@pytest.fixture
def ledger(store: ViewStore) -> Iterator[tuple[SessionLog, ProjectionsRunner]]:
    app = SessionLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=Clock())
    budget_story(app)
    runner = ProjectionsRunner(app, store, views=["cost_ledger"]).start()
    try:
        runner.wait(timeout=10)
        yield app, runner
    finally:
        runner.stop()
        app.close()


FIGURES = (
    "drafted", "approved", "revised", "reallocated", "drawn", "increased",
    "committed", "open_committed", "actual", "paid", "exposure", "overrun",
    "forecast", "forecast_basis", "variance", "forecast_variance",
)  # fmt: skip

# v2: studio 8,000.00; engineer 3,000.00; mixing 2,000.00; contingency 10% of
# 13,000.00 = 1,300.00. Then: commit 5,000.00 at Sunset, invoice 4,500.00, paid;
# 300.00 moved engineer -> studio; 200.00 drawn from contingency to mixing; mixing
# committed 2,100.00; a 1,000.00 advance to the producer from the engineer line.
EXPECTED = {
    "alb.line.studio": (
        800_000, 800_000, 830_000, 30_000, 0, 0,
        500_000, 50_000, 450_000, 450_000, 500_000, 0,
        500_000, "quoted", 380_000, 330_000,
    ),
    "alb.line.engineer": (
        300_000, 300_000, 270_000, -30_000, 0, 0,
        0, 0, 100_000, 100_000, 100_000, 0,
        100_000, "paid", 170_000, 170_000,
    ),
    "alb.line.mixing": (
        200_000, 200_000, 220_000, 0, 20_000, 0,
        210_000, 210_000, 0, 0, 210_000, 0,
        210_000, "quoted", 220_000, 10_000,
    ),
    "alb.line.contingency": (
        130_000, 130_000, 110_000, 0, -20_000, 0,
        0, 0, 0, 0, 0, 0,
        110_000, "estimated", 110_000, 0,
    ),
}  # fmt: skip


def test_line_figures(ledger: tuple[SessionLog, ProjectionsRunner]) -> None:
    _, runner = ledger
    lines = {line.line_id: line for line in runner.cost_ledger.lines("alb")}
    assert set(lines) == set(EXPECTED)
    for line_id, expected in EXPECTED.items():
        got = tuple(getattr(lines[line_id], f) for f in FIGURES)
        assert dict(zip(FIGURES, got, strict=True)) == dict(
            zip(FIGURES, expected, strict=True)
        ), line_id
        assert lines[line_id].approved_version == 2
        assert lines[line_id].currency == "USD"


def test_summary_accounts_versions_requests(
    ledger: tuple[SessionLog, ProjectionsRunner],
) -> None:
    _, runner = ledger
    (summary,) = runner.cost_ledger.summary("alb")
    assert (summary.approved_version, summary.approved_total) == (2, 1_430_000)
    assert summary.revised == 1_430_000  # moves inside the budget change no total
    assert (summary.committed, summary.actual, summary.paid) == (
        710_000,
        550_000,
        550_000,
    )
    assert summary.forecast == 500_000 + 100_000 + 210_000 + 110_000
    assert (summary.contingency_revised, summary.contingency_left) == (110_000, 110_000)
    artist = {"account": "artist", "currency": "USD"}
    producer = {"account": "producer", "currency": "USD"}
    assert runner.cost_ledger.accounts("alb") == [
        {**artist, "recoupable": 450_000, "paid": 450_000},
        {**producer, "recoupable": 100_000, "paid": 100_000},
    ]
    versions = runner.cost_ledger.budget_versions("alb")
    assert [(v["version"], v["status"], v["total"]) for v in versions] == [
        (1, "rejected", 1_650_000),  # 15,000.00 + 10% contingency
        (2, "approved", 1_430_000),
    ]
    assert versions[0]["reason"] == "too many studio days"
    assert versions[0]["decided_by"] == "alb.party.lena"
    assert versions[1]["based_on_version"] == 1
    assert versions[1]["approvals_json"] == ["label_approver"]
    requests = runner.cost_ledger.requests("alb")
    assert [(q["request"], q["kind"], q["line_id"], q["amount"], q["status"])
            for q in requests] == [
        ("r1", "reallocation", "alb.line.studio", 30_000, "approved"),
        ("d1", "contingency_draw", "alb.line.mixing", 20_000, "approved"),
    ]  # fmt: skip
    assert requests[1]["reason"] == "extra mix day"
    assert requests[1]["requested_by"] == "alb.party.pat"
    assert requests[1]["decided_by"] == "alb.party.lena"


def test_every_figure_traces_to_events(
    ledger: tuple[SessionLog, ProjectionsRunner],
) -> None:
    app, runner = ledger
    view = runner.cost_ledger
    for line in view.lines("alb"):
        for figure in ("revised", "committed", "actual", "paid"):
            entries = view.trace(line.line_id, figure)
            assert sum(getattr(e, f"{figure}_delta") for e in entries) == getattr(
                line, figure
            )
            for entry in entries:  # each entry names a stored event of that line
                aggregate, version = entry.event_id.rsplit("@", 1)
                assert aggregate == line.line_id
                stored = app.recorder.select_notifications(entry.position, 1)[0]
                assert (stored.originator_id, stored.originator_version) == (
                    aggregate,
                    int(version),
                )
    kinds = [e.kind for e in view.trace("alb.line.studio", "revised")]
    assert kinds == ["LineFunded", "LineRevised"]


def test_ledger_agrees_with_the_domain_figures(
    ledger: tuple[SessionLog, ProjectionsRunner],
) -> None:
    """The line ledger aggregates compute funded/exposure/paid themselves."""
    app, runner = ledger
    for line in runner.cost_ledger.lines("alb"):
        aggregate = app.repository.get(line.line_id)
        assert line.revised == aggregate.funded
        assert line.exposure == aggregate.exposure
        assert line.actual == aggregate.actual
        assert line.paid == aggregate.paid


def test_a_line_named_again_in_a_batch_is_read_again(store: ViewStore) -> None:
    """A batch reads the rows of its lines once; a budget event that names a
    line again (another recording, account or currency) drops its row, so the
    events after it in the batch see the line as it now is."""
    view = store.view("cost_ledger")
    definition = cast(CostLedgerDefinition, view.definition)
    budget = SimpleNamespace(project="alb", aggregate_id="alb.budget.b1")
    named = {"line": "studio", "category": "studio", "description": "Studio"}
    with view._transaction(commit=True) as cursor:
        db = Db(cursor, view)
        db.scratch[LINE_ROWS] = {}
        definition._ensure_line(
            db,
            budget,  # type: ignore[arg-type]
            recoupable_from="label",
            recording_id=None,
            currency="USD",
            **named,
        )
        line = definition._line(db, "alb.line.studio")
        assert (line["recording_id"], line["recoupable_from"]) == (None, "label")
        definition._ensure_line(
            db,
            budget,  # type: ignore[arg-type]
            recoupable_from="artist",
            recording_id="alb.recording.r1",
            currency="",  # keeps the line's currency
            **named,
        )
        line = definition._line(db, "alb.line.studio")
        assert (line["recording_id"], line["recoupable_from"], line["currency"]) == (
            "alb.recording.r1",
            "artist",
            "USD",
        )
