"""The dashboard in a real browser: Playwright driving Debian's chromium.

Loads the demo, checks the figures shown against the ledger view, submits a
decision through the API and sees it arrive live, moves the time slider, and
saves a screenshot. Skipped when chromium or Playwright is missing, unless
``SESSION_LOG_REQUIRE_BROWSER=1`` (CI), which turns the skip into a failure.
Set ``SESSION_LOG_DASHBOARD_SCREENSHOT=docs/dashboard.png`` to refresh the
screenshot in the docs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from interfaces_support import LiveServer

from session_log.cli.render import money
from session_log.runtime import Runtime

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _require_or_skip(reason: str) -> None:
    if os.environ.get("SESSION_LOG_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (SESSION_LOG_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require_or_skip("playwright is not installed (pip install playwright)")
    if not CHROMIUM.exists():
        _require_or_skip("chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def minor(page: Any, selector: str) -> int:
    value = page.get_attribute(selector, "data-minor")
    assert value not in (None, ""), selector
    return int(value)


def test_dashboard_live_and_time_travel(
    browser: Any, live_server: LiveServer, demo_runtime: Runtime, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{live_server.url}/#token=t-rui")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    page.wait_for_selector("[data-testid=feed-item]", timeout=15_000)

    # The figures shown are the ledger view's.
    runner = demo_runtime.catch_up()
    [summary] = runner.cost_ledger.summary("moonlit")
    assert minor(page, "[data-testid=kpi-approved]") == summary.approved_total
    assert minor(page, "[data-testid=kpi-revised]") == summary.revised
    assert minor(page, "[data-testid=kpi-actual]") == summary.actual
    assert minor(page, "[data-testid=kpi-contingency]") == summary.contingency_left
    for line in runner.cost_ledger.lines("moonlit"):
        row = f"#ledger-table tr[data-line='{line.line}']"
        assert minor(page, f"{row} td[data-figure=actual]") == line.actual
        assert minor(page, f"{row} td[data-figure=revised]") == line.revised
    assert page.locator("[data-testid=song]").count() == len(
        runner.progress.recordings("moonlit")
    )
    assert page.locator("#lines-chart svg g[data-line]").count() > 5
    assert page.locator("#sessions-chart svg rect.session").count() == len(
        runner.progress.sessions("moonlit")
    )
    assert page.text_content("[data-testid=live-state]") == "live"
    target = os.environ.get("SESSION_LOG_DASHBOARD_SCREENSHOT")
    if target:  # the demo album as it ends (before this test's own decision)
        page.screenshot(path=target, full_page=True)

    # A decision submitted through the API arrives live and moves the figures.
    command_id = f"b-{uuid.uuid4().hex[:12]}"
    response = httpx.post(
        f"{live_server.url}/api/commands",
        headers={"Authorization": "Bearer t-rui"},
        json={
            "type": "record_cost",
            "command_id": command_id,
            "project": "moonlit",
            "line": "archive",
            "cost": command_id,
            "payee": "vault",
            "amount": {"amount": 4200, "currency": "USD"},
            "invoice_ref": "VM-LIVE",
            "reason": "Extra safety copy",
        },
        timeout=30,
    )
    assert response.status_code == 201, response.text
    event_id = next(
        f"{e['originator_id']}@{e['originator_version']}"
        for e in response.json()["events"]
        if e["kind"] == "CostIncurred"
    )
    page.wait_for_selector(f"[data-testid=feed-item][data-event-id='{event_id}']")
    assert "Extra safety copy" in page.text_content(f"[data-event-id='{event_id}']")
    page.wait_for_function(
        "expected => document.querySelector('[data-testid=kpi-actual]')"
        ".dataset.minor === String(expected)",
        arg=summary.actual + 4200,
    )

    # The time slider replays history: the figures are the view as of that day.
    assert int(page.get_attribute("#slider", "max") or 0) > 100  # days
    page.evaluate(
        """day => {
            const slider = document.querySelector('#slider');
            const start = Date.parse(document.body.dataset.firstDay);
            slider.value = String(Math.round((Date.parse(day) - start) / 86400000));
            slider.dispatchEvent(new Event('input'));
            slider.dispatchEvent(new Event('change'));
        }""",
        "2025-03-01",
    )
    page.wait_for_selector("body[data-as-of='2025-03-01'][data-loading=false]")
    assert page.text_content("[data-testid=as-of]") == "as of 2025-03-01"
    with runner.as_of("cost_ledger", at=_end_of("2025-03-01")) as view:
        [then] = view.summary("moonlit")
    assert minor(page, "[data-testid=kpi-actual]") == then.actual
    assert then.actual < summary.actual
    stages = page.eval_on_selector_all(
        "[data-testid=song]", "songs => songs.map(s => s.dataset.stage)"
    )
    assert "delivered" not in stages

    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    # Back to live; nothing was fetched from anywhere but this server.
    page.click("#go-live")
    page.wait_for_selector("body[data-as-of=live][data-loading=false]")
    assert page.text_content("[data-testid=as-of]") == "live"
    assert all(url.startswith((live_server.url, "data:")) for url in requests)
    assert errors == []
    context.close()


def _end_of(day: str) -> Any:
    from session_log.runtime import parse_as_of

    return parse_as_of(day).at


def test_the_dashboard_writes_money_as_the_cli_does(
    browser: Any, live_server: LiveServer
) -> None:
    """Each currency in its own minor units (the yen has none, the Kuwaiti
    dinar three decimals), the same text as the terminal's."""
    amounts = [
        (150_000, "USD"),
        (-5, "EUR"),
        (150_000, "JPY"),
        (-1_500_250, "KWD"),
        (150_000, "CLF"),
        (123_456, "CHF"),
    ]
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/#token=t-rui")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    shown = page.evaluate("pairs => pairs.map(([m, c]) => money(m, c))", amounts)
    assert shown == [money(minor, currency) for minor, currency in amounts]
    assert shown[2] == "¥150,000"
    context.close()


def test_the_dashboard_fits_a_phone_s_screen(
    browser: Any, live_server: LiveServer
) -> None:
    """At a phone's width no panel pushes the page sideways: the charts scale
    and wide tables scroll inside themselves."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server.url}/#token=t-rui")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    page.wait_for_selector("[data-testid=song]", timeout=15_000)
    widths = "[document.documentElement.scrollWidth, window.innerWidth]"
    page_width, screen = page.evaluate(widths)
    assert page_width <= screen, "overview"
    for tab, table in (("decisions", "decisions-table"), ("credits", "credits-table")):
        page.click(f".tabs button[data-tab={tab}]")
        page.wait_for_selector(f"[data-testid={table}] tr", timeout=15_000)
        page_width, screen = page.evaluate(widths)
        assert page_width <= screen, tab
    context.close()


def test_a_filter_the_api_refuses_says_why(
    browser: Any, live_server: LiveServer
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/#token=t-rui")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    page.click(".tabs button[data-tab=decisions]")
    page.wait_for_selector("[data-testid=decision-row]", timeout=15_000)
    page.fill("#filters input[name=kind]", "MixAprooved")
    page.click("#filters button")
    error = page.wait_for_selector("[data-testid=filter-error]", timeout=15_000)
    assert "did you mean MixApproved" in (error.text_content() or "")
    page.fill("#filters input[name=kind]", "MixApproved")
    page.click("#filters button")
    page.wait_for_selector("[data-testid=decision-row]", timeout=15_000)
    kinds = page.locator("[data-testid=decision-row] td b").all_text_contents()
    assert kinds
    assert set(kinds) == {"MixApproved"}
    page.fill("#filters input[name=actor]", "lnea")  # a typo of lena
    page.click("#filters button")
    error = page.wait_for_selector("[data-testid=filter-error]", timeout=15_000)
    assert "no party lnea in moonlit" in (error.text_content() or "")
    assert "lena" in (error.text_content() or "").split("(", 1)[1]
    context.close()
