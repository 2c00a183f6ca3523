"""End to end in a real headless Chromium against a real uvicorn server: log in, triage, open and close a case with
four-eyes approval, public search and download. Screenshots of the key pages go to test-artifacts/."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from tests.conftest import CHROMIUM_ARGS, REPO
from tests.web.conftest import PASSWORD, WebApp

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture
def server(web: WebApp) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(web.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    # "localhost" is a secure context for Chromium, so the Secure session cookie is kept over plain HTTP.
    yield f"http://localhost:{port}"
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no Chromium on this machine (CI installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _page(browser: Any, problems: list[str]) -> Any:
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page


def _log_in(page: Any, server: str, username: str) -> None:
    page.goto(f"{server}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit] >> text=Log in")
    page.wait_for_load_state()
    assert page.locator("nav .who").inner_text().startswith(username)


def test_triage_case_and_four_eyes_closure_in_chromium(server: str, browser: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    analyst = _page(browser, problems)
    _log_in(analyst, server, "ann")
    assert analyst.url.endswith("/inbox")
    analyst.screenshot(path=str(ARTIFACTS / "web-inbox.png"), full_page=False)

    # Facet: narrow the inbox to one indicator by clicking it.
    analyst.click("#facets a >> text=C001")
    analyst.wait_for_load_state()
    rows = analyst.locator("#alerts tbody tr")
    assert rows.count() > 2
    assert set(analyst.locator("#alerts tbody tr td:nth-child(2)").all_inner_texts()) == {"C001"}

    # Triage one alert on its page.
    analyst.locator("#alerts tbody tr td:nth-child(2) a").first.click()
    analyst.wait_for_load_state()
    assert "direct" in analyst.locator("#explanation").inner_text()
    analyst.screenshot(path=str(ARTIFACTS / "web-alert.png"), full_page=True)
    analyst.click("#triage button >> text=Mark triaged")
    analyst.wait_for_load_state()
    assert "triaged" in analyst.locator("h1 small").inner_text()

    # Select two alerts in the inbox and open a case with them.
    analyst.go_back()
    analyst.go_back()
    analyst.wait_for_load_state()
    boxes = analyst.locator("#alerts input[type=checkbox]")
    boxes.nth(1).check()
    boxes.nth(2).check()
    analyst.fill("#selection input[name=title]", "Direct awards without justification")
    analyst.click("#selection button >> text=Open a case with the selected alerts")
    analyst.wait_for_load_state()
    assert "/cases/" in analyst.url
    case_url = analyst.url
    assert analyst.locator("#case-alerts li").count() == 2

    for to in ("active", "addressed"):
        analyst.select_option("#transition select[name=to]", to)
        analyst.click("#transition button")
        analyst.wait_for_load_state()
        assert analyst.locator("#status").inner_text().startswith(to)
    # Closing without a reason: refused beside the form, the choice kept (not an error page).
    analyst.select_option("#transition select[name=to]", "completed")
    analyst.click("#transition button")
    analyst.wait_for_load_state()
    assert "closing needs a reason" in analyst.locator("#transition-error").inner_text()
    assert analyst.locator("#transition select[name=to]").input_value() == "completed"
    assert analyst.locator("#status").inner_text().startswith("addressed")
    analyst.select_option("#transition select[name=reason]", "true_positive")
    analyst.click("#transition button")
    analyst.wait_for_load_state()
    assert "must approve" in analyst.locator("#pending").inner_text()
    assert analyst.locator("#approval").count() == 0  # the analyst cannot approve her own closure
    analyst.fill("#note textarea", "   ")  # blank: the browser lets it through, the server says why, beside it
    analyst.click("#note button")
    analyst.wait_for_load_state()
    assert "1–20,000 characters" in analyst.locator("#note-error").inner_text()
    analyst.fill("#note textarea", "Both awards went to the same supplier within a week.")
    analyst.click("#note button")
    analyst.wait_for_load_state()
    analyst.screenshot(path=str(ARTIFACTS / "web-case-pending.png"), full_page=True)

    supervisor = _page(browser, problems)
    _log_in(supervisor, server, "sue")
    supervisor.goto(case_url)
    supervisor.click("#approval button >> text=Approve closure")
    supervisor.wait_for_load_state()
    assert supervisor.locator("#status").inner_text().startswith("completed (true positive, approved by sue)")
    timeline = supervisor.locator("#timeline li").all_inner_texts()
    assert any("closure requested" in line for line in timeline) and any("closed" in line for line in timeline)
    assert all("ledger entry" in line for line in timeline)
    # A closed case no longer moves, but a note can still be added (what was learnt after the decision).
    assert supervisor.locator("#transition").count() == 0
    supervisor.fill("#note textarea", "The supplier was debarred a month later.")
    supervisor.click("#note button")
    supervisor.wait_for_load_state()
    assert supervisor.url == case_url
    assert any("debarred a month later" in line for line in supervisor.locator("#timeline li").all_inner_texts())
    supervisor.screenshot(path=str(ARTIFACTS / "web-case-closed.png"), full_page=True)
    supervisor.goto(f"{server}/stats")
    assert "C001" in supervisor.locator("#precision").inner_text()
    # Chromium reports each refused form's 422 on the console; nothing else may appear there.
    refused = "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    assert problems == [refused, refused]


def test_add_selected_alerts_to_an_open_case_from_the_inbox_in_chromium(server: str, browser: Any) -> None:
    """The inbox's "Add to case": the chosen case goes with the selected alerts (it used to end in a raw 422)."""
    problems: list[str] = []
    analyst = _page(browser, problems)
    _log_in(analyst, server, "ann")
    boxes = analyst.locator("#alerts input[type=checkbox]")
    first = boxes.nth(0).get_attribute("value")
    boxes.nth(0).check()
    analyst.fill("#selection input[name=title]", "Two-step case")
    analyst.click("#selection button >> text=Open a case with the selected alerts")
    analyst.wait_for_load_state()
    case_url = analyst.url
    case_id = case_url.rsplit("/", 1)[1]
    assert analyst.locator("#case-alerts li").count() == 1

    analyst.goto(f"{server}/inbox")
    boxes = analyst.locator("#alerts input[type=checkbox]")
    added = [boxes.nth(index).get_attribute("value") for index in (3, 4)]
    for index in (3, 4):
        boxes.nth(index).check()
    analyst.select_option("select[name=case_id]", case_id)
    analyst.click("button >> text=Add to case")
    analyst.wait_for_load_state()
    assert analyst.url == case_url
    links = analyst.locator("#case-alerts li a")
    listed = {links.nth(index).get_attribute("href") for index in range(links.count())}
    assert listed == {f"/alerts/{alert_id}" for alert_id in [first, *added]}
    assert problems == []


def test_public_search_process_and_download_in_chromium(server: str, browser: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    page = _page(browser, problems)
    page.goto(server)
    assert page.locator("svg.chart").count() == 1
    page.fill("form.search input[name=q]", "Ministry")
    page.click("form.search button")
    page.wait_for_load_state()
    assert page.locator("#processes tbody tr").count() > 0
    page.screenshot(path=str(ARTIFACTS / "web-search.png"), full_page=False)
    page.locator("#organisations a").first.click()
    page.wait_for_load_state()
    assert page.locator("svg.chart").count() >= 3
    page.screenshot(path=str(ARTIFACTS / "web-organisation.png"), full_page=True)
    page.go_back()
    page.locator("#processes a").first.click()
    page.wait_for_load_state()
    page.screenshot(path=str(ARTIFACTS / "web-process.png"), full_page=True)
    page.fill("textarea[name=text]", "The tender was open for only two days over a holiday.")
    page.click("form.stacked button >> text=Send to the auditors")
    page.wait_for_load_state()
    assert "Thank you" in page.locator("p.ok").inner_text()
    # Downloads cannot be saved here; fetch what the link points to through the browser's own request context.
    page.goto(f"{server}/downloads")
    href = page.locator("a >> text=CSV").first.get_attribute("href")
    response = page.request.get(f"{server}{href}")
    assert response.status == 200 and response.text().startswith("dataset,")
    assert problems == []
