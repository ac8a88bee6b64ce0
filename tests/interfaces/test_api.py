"""The HTTP API: commands, errors, views with filters/pagination/as-of, SSE."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from interfaces_support import LiveServer, token_book
from litestar import Litestar
from litestar.testing import TestClient

from session_log.api import create_app
from session_log.runtime import Runtime

RUI = {"Authorization": "Bearer t-rui"}
LENA = {"Authorization": "Bearer t-lena"}
MAX = {"Authorization": "Bearer t-max"}
ELSEWHERE = {"Authorization": "Bearer t-elsewhere"}


@pytest.fixture(scope="module")
def client(api_app: Litestar) -> Iterator[TestClient[Litestar]]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with TestClient(api_app) as test_client:
        yield test_client


def cost(command_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "record_cost",
        "command_id": command_id,
        "project": "moonlit",
        "line": "archive",
        "cost": command_id,
        "payee": "vault",
        "amount": {"amount": 700, "currency": "USD"},
        "invoice_ref": "VM-API",
    }
    body.update(changes)
    return body


def new_id() -> str:
    return f"a-{uuid.uuid4().hex[:12]}"


def test_a_token_is_required(client: TestClient[Litestar]) -> None:
    for path in ("/api/projects", "/api/projects/moonlit/ledger", "/api/status"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthenticated"
    assert (
        client.get(
            "/api/projects", headers={"Authorization": "Bearer nope"}
        ).status_code
        == 401
    )
    posted = client.post("/api/commands", json=cost(new_id()))
    assert posted.status_code == 401


def test_tokens_limited_to_projects(client: TestClient[Litestar]) -> None:
    assert client.get("/api/projects", headers=ELSEWHERE).json() == []
    response = client.get("/api/projects/moonlit/ledger", headers=ELSEWHERE)
    assert response.status_code == 403
    posted = client.post("/api/commands", json=cost(new_id()), headers=ELSEWHERE)
    assert posted.status_code == 403


def test_post_a_command_then_read_it(client: TestClient[Litestar]) -> None:
    command_id = new_id()
    response = client.post("/api/commands", json=cost(command_id), headers=RUI)
    assert response.status_code == 201, response.text
    outcome = response.json()
    assert outcome["actor"] == "rui"
    assert [e["kind"] for e in outcome["events"]] == ["CostIncurred", "CommandAccepted"]
    # read-your-writes: the views include the command when the response arrives
    decisions = client.get(
        "/api/projects/moonlit/decisions",
        params={"correlation_id": command_id},
        headers=RUI,
    ).json()["items"]
    assert [d["kind"] for d in decisions] == ["CostIncurred"]
    assert decisions[0]["actor"] == "moonlit.party.rui"
    assert decisions[0]["command_type"] == "record_cost"
    entries = client.get(
        "/api/projects/moonlit/ledger/entries", params={"line": "archive"}, headers=RUI
    ).json()["items"]
    assert any(e["ref"] == command_id and e["actual_delta"] == 700 for e in entries)
    # the same command again: the original outcome, nothing new recorded
    again = client.post("/api/commands", json=cost(command_id), headers=RUI)
    assert again.status_code == 201
    assert again.json()["events"] == outcome["events"]
    # the same id, another body: 409
    changed = client.post(
        "/api/commands", json=cost(command_id, invoice_ref="other"), headers=RUI
    )
    assert changed.status_code == 409
    assert changed.json()["code"] == "duplicate-command-conflict"
    assert changed.json()["field"] == "$.command_id"


def test_the_actor_is_the_token_party(client: TestClient[Litestar]) -> None:
    response = client.post(
        "/api/commands", json=cost(new_id(), actor="lena"), headers=RUI
    )
    assert response.status_code == 403
    assert response.json()["field"] == "$.actor"
    viewer = client.post("/api/commands", json=cost(new_id()), headers=MAX)
    assert viewer.status_code == 403
    assert viewer.json()["code"] == "capacity-not-held"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (
            cost("v1", amount={"amount": "lots", "currency": "USD"}),
            422,
            "$.amount.amount",
        ),
        ({k: v for k, v in cost("v2").items() if k != "line"}, 422, "$.line"),
        (
            {"type": "no_such_command", "command_id": "v3", "project": "moonlit"},
            422,
            "$.type",
        ),
        (cost("v4", line="bad line!"), 422, "$.line"),
        (cost("v5", line="nowhere"), 404, "$.line"),
    ],
    ids=["wrong-type", "missing", "unknown-type", "pattern", "unknown-line"],
)
def test_field_level_errors(
    client: TestClient[Litestar], body: dict[str, Any], status: int, field: str
) -> None:
    response = client.post("/api/commands", json=body, headers=RUI)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["status_code"] == status
    assert error["field"] == field
    assert error["errors"][0]["field"] == field


def test_malformed_json_is_400(client: TestClient[Litestar]) -> None:
    response = client.post(
        "/api/commands",
        content=b"{nope",
        headers={**RUI, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad-request"


def test_views_with_filters_and_pagination(client: TestClient[Litestar]) -> None:
    first = client.get(
        "/api/projects/moonlit/timeline", params={"limit": 3}, headers=LENA
    ).json()
    assert len(first["items"]) == 3
    second = client.get(
        "/api/projects/moonlit/timeline",
        params={"limit": 3, "after": first["next_cursor"]},
        headers=LENA,
    ).json()
    assert second["items"][0]["position"] > first["items"][-1]["position"]
    approvals = client.get(
        "/api/projects/moonlit/decisions",
        params={
            "actor": "lena",
            "kind": ["MixApproved", "MasterApproved"],
            "limit": 1000,
        },
        headers=LENA,
    ).json()["items"]
    assert approvals
    assert {d["kind"] for d in approvals} == {"MixApproved", "MasterApproved"}
    assert {d["actor"] for d in approvals} == {"moonlit.party.lena"}
    one = client.get(f"/api/decisions/{approvals[0]['event_id']}", headers=LENA).json()
    assert one["items"][0]["event_id"] == approvals[0]["event_id"]
    assert (
        client.get("/api/decisions/moonlit.mix.none@9", headers=LENA).status_code == 404
    )
    credits = client.get(
        "/api/projects/moonlit/credits", params={"recording": "lantern"}, headers=LENA
    ).json()["credits"]
    assert credits
    assert {c["subject_id"] for c in credits} == {"moonlit.recording.lantern"}
    csv = client.get("/api/projects/moonlit/credits/export.csv", headers=LENA)
    assert csv.headers["content-type"].startswith("text/csv")
    one = client.get(
        "/api/projects/moonlit/credits/export.csv",
        params={"recording": "lantern"},
        headers=LENA,
    ).text.splitlines()
    assert len(one) == len(credits) + 1  # the header, then lantern's credits
    assert {line.split(",", 1)[0] for line in one[1:]} == {"moonlit.recording.lantern"}
    rin = client.get("/api/projects/moonlit/credits/export.rin.xml", headers=LENA)
    assert "<RecordingInformationNotification" in rin.text


def test_as_of(client: TestClient[Litestar], demo_runtime: Runtime) -> None:
    live = client.get("/api/projects/moonlit/progress", headers=RUI).json()
    then = client.get(
        "/api/projects/moonlit/progress", params={"as_of": "2025-02-20"}, headers=RUI
    ).json()
    assert then["as_of"].startswith("2025-02-20T23:59:59")
    assert live["stages"]["delivered"] == 10
    assert then["stages"]["delivered"] == 0
    ledger = client.get(
        "/api/projects/moonlit/ledger", params={"as_of": "600"}, headers=RUI
    ).json()
    with demo_runtime.runner.as_of("cost_ledger", position=600) as view:
        expected = view.summary("moonlit")
    assert ledger["summary"][0]["actual"] == expected[0].actual
    bad = client.get(
        "/api/projects/moonlit/ledger", params={"as_of": "yesterday"}, headers=RUI
    )
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("path", "params", "field", "words"),
    [
        ("ledger", {"as_of": "yesterday"}, "$.as_of", "a stream position (1200)"),
        ("ledger", {"as_of": "2025-02-30"}, "$.as_of", "2025-02-30"),
        ("timeline", {"since": "last week"}, "$.since", "a day (2025-03-14)"),
        ("decisions", {"until": "2025-02-30"}, "$.until", "not a date or time"),
        ("timeline", {"after": "page-2"}, "$.after", "the previous page's"),
        ("timeline", {"limit": "0"}, "$.limit", ">= 1"),
        ("timeline", {"kind": "MixAprooved"}, "$.kind", "did you mean MixApproved"),
        ("decisions", {"kind": ["MixApproved", "Nope"]}, "$.kind", "'Nope'"),
        ("decisions", {"capacity": "labl_approver"}, "$.capacity", "label_approver"),
    ],
)
def test_a_bad_query_parameter_is_named_with_what_it_takes(
    client: TestClient[Litestar],
    path: str,
    params: dict[str, Any],
    field: str,
    words: str,
) -> None:
    response = client.get(f"/api/projects/moonlit/{path}", params=params, headers=RUI)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "bad-request"
    assert body["field"] == field
    assert [e["field"] for e in body["errors"]] == [field]
    assert words in body["detail"]
    assert "regex" not in body["detail"]


def test_aggregate_history_and_status(client: TestClient[Litestar]) -> None:
    history = client.get(
        "/api/aggregates/moonlit.mix.lantern/events", headers=RUI
    ).json()
    assert history["events"][0]["kind"] == "MixSubmitted"
    assert history["events"][0]["actor"] == "moonlit.party.dee"
    missing = client.get("/api/aggregates/moonlit.mix.nothing/events", headers=RUI)
    assert missing.status_code == 404
    status = client.get("/api/status", headers=RUI).json()
    assert {v["view"] for v in status["views"]} >= {"timeline", "cost_ledger"}
    assert status["head"] > 2000


@pytest.mark.parametrize(
    "read",
    [
        "timeline",
        "decisions",
        "ledger",
        "ledger/entries",
        "ledger/spend",
        "progress",
        "credits",
        "credits/export.csv",
        "credits/export.rin.xml",
    ],
)
def test_a_read_of_an_unknown_project_is_a_404_naming_it(
    client: TestClient[Litestar], read: str
) -> None:
    missing = client.get(f"/api/projects/moonlt/{read}", headers=RUI)
    assert missing.status_code == 404, missing.text
    assert missing.json()["code"] == "not-found"
    assert "no project moonlt" in missing.text
    past = client.get(
        f"/api/projects/moonlt/{read}", params={"as_of": "1200"}, headers=RUI
    )
    assert past.status_code == 404, past.text
    known = client.get(f"/api/projects/moonlit/{read}", headers=RUI)
    assert known.status_code == 200, known.text


@pytest.mark.parametrize(
    ("path", "params", "field", "named"),
    [
        ("decisions", {"actor": "lnea"}, "$.actor", "no party lnea in moonlit"),
        ("decisions", {"actor": "moonlit.party.x"}, "$.actor", "moonlit.party.x"),
        ("timeline", {"person": "mra"}, "$.person", "no party mra in moonlit"),
        ("credits", {"recording": "lanter"}, "$.recording", "no recording lanter"),
        ("credits/export.csv", {"recording": "lanter"}, "$.recording", "lanter"),
        ("ledger/entries", {"line": "mixng"}, "$.line", "no line mixng in moonlit"),
        (
            "timeline",
            {"subject": "moonlit.session.trk-lantrn"},
            "$.subject",
            "no session moonlit.session.trk-lantrn",
        ),
    ],
)
def test_a_filter_naming_nothing_of_the_project_is_a_404_naming_what_is_there(
    client: TestClient[Litestar],
    path: str,
    params: dict[str, str],
    field: str,
    named: str,
) -> None:
    """A typo in a filter would otherwise read as an empty page: no decisions
    by that person, no credits on that recording, no entries on that line."""
    missing = client.get(f"/api/projects/moonlit/{path}", params=params, headers=RUI)
    assert missing.status_code == 404, missing.text
    body = missing.json()
    assert body["code"] == "not-found"
    assert body["field"] == field
    assert named in body["detail"]
    known = {"$.recording": "lantern", "$.line": "mixing", "$.subject": "trk-lantern"}
    assert known.get(field, "lena") in body["detail"]  # those there are, to pick from


def test_a_subject_that_is_no_aggregate_id_of_the_project_is_a_404(
    client: TestClient[Litestar],
) -> None:
    for subject in ("lantern", "other.recording.lantern"):
        missing = client.get(
            "/api/projects/moonlit/timeline", params={"subject": subject}, headers=RUI
        )
        assert missing.status_code == 404, missing.text
        assert missing.json()["field"] == "$.subject"
        assert "moonlit.recording.<id>" in missing.json()["detail"]
    found = client.get(
        "/api/projects/moonlit/timeline",
        params={"subject": "moonlit.recording.lantern", "limit": 1000},
        headers=RUI,
    ).json()["items"]
    assert found


def test_a_known_party_filters_by_local_or_aggregate_id(
    client: TestClient[Litestar],
) -> None:
    by_local = client.get(
        "/api/projects/moonlit/timeline",
        params={"person": "mara", "limit": 1000},
        headers=RUI,
    ).json()["items"]
    by_id = client.get(
        "/api/projects/moonlit/timeline",
        params={"person": "moonlit.party.mara", "limit": 1000},
        headers=RUI,
    ).json()["items"]
    assert by_local
    assert by_local == by_id


def test_an_empty_timeline_cannot_tell_an_unknown_project(tmp_path: Path) -> None:
    """A deployment whose views hold nothing yet (an empty stream here; or
    workers that do not keep the timeline) answers reads of any project with
    what the view holds, not with a 404 it cannot stand behind."""
    runtime = Runtime(data_dir=tmp_path / "data")
    try:
        runtime.follow()
        with TestClient(create_app(runtime, token_book())) as empty:
            response = empty.get("/api/projects/anything/timeline", headers=RUI)
            assert response.status_code == 200, response.text
            assert response.json()["items"] == []
    finally:
        runtime.close()


def test_openapi_spec(client: TestClient[Litestar]) -> None:
    spec = client.get("/schema/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert "/api/commands" in spec["paths"]
    body = spec["paths"]["/api/commands"]["post"]["requestBody"]
    assert len(body["content"]["application/json"]["schema"]["oneOf"]) == 63
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_server_sent_events_bring_new_decisions(live_server: LiveServer) -> None:
    url = f"{live_server.url}/api/projects/moonlit/live"
    command_id = new_id()
    seen: list[str] = []
    with (
        httpx.Client(timeout=20) as http,
        http.stream(
            "GET", url, params={"recent": 2, "access_token": "t-rui"}
        ) as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        event = ""
        posted = False
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data = json.loads(line.split(":", 1)[1])
                seen.append(event)
                if event == "views" and not posted:
                    response = http.post(
                        f"{live_server.url}/api/commands",
                        json=cost(command_id),
                        headers=RUI,
                    )
                    assert response.status_code == 201
                    posted = True
                if event == "decision" and data["command_id"] == command_id:
                    break
    assert seen[:2] == ["decision", "decision"]
    assert "views" in seen


@pytest.mark.parametrize("size", [600_000, 2_000_000])
def test_oversized_commands_are_4xx_and_write_nothing(
    client: TestClient[Litestar], demo_runtime: Runtime, size: int
) -> None:
    head = demo_runtime.app.recorder.max_notification_id()
    body = cost(new_id(), reason="x" * size)
    response = client.post("/api/commands", json=body, headers=RUI)
    assert response.status_code in (413, 422), response.text[:500]
    assert demo_runtime.app.recorder.max_notification_id() == head
