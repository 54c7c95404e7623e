"""The web view in headless Chromium: a run and a log watched live, a step's page, approving a
model, comparing two executions, and state changes refused without the token or from another
site (or another origin)."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from engine.registry import Registry
from tests.engine.conftest import compile_bundle
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS, Served, finish, serve, start_engine

pytestmark = pytest.mark.browser
PIPELINE = "penguins-pytorch-train"
WAIT_MS = 120_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build folder holding the penguins PyTorch bundle (small settings)."""
    folder = tmp_path_factory.mktemp("build")
    compile_bundle(folder / PIPELINE, "project=penguins", "framework=pytorch")
    return folder


@pytest.fixture(scope="module")
def two_runs(build: Path) -> Iterator[Served]:
    """A server over an engine root with two executions: approved, then (ApproveThreshold=1.01)
    a pending registration."""
    root = build / "engine"
    finish(start_engine(build / PIPELINE, root))
    args = ("--from", "CheckApprove", "-p", "ApproveThreshold=1.01")
    finish(start_engine(build / PIPELINE, root, *args))
    yield from serve(build, root)


def log_in(page: Page, served: Served, path: str = "/") -> None:
    page.goto(served.login_url(path))
    expect(page.locator("nav")).to_be_visible()


def test_an_execution_page_follows_the_run_live(build: Path, page: Page, tmp_path: Path) -> None:
    root = tmp_path / "engine"
    for served in serve(build, root):
        log_in(page, served)
        running = start_engine(build / PIPELINE, root)
        deadline = time.monotonic() + 60
        while not list(root.glob(f"executions/{PIPELINE}/*/execution.json")):
            assert time.monotonic() < deadline and running.poll() is None
            time.sleep(0.05)
        execution = next(root.glob(f"executions/{PIPELINE}/*")).name
        page.goto(f"{served.url}/executions/{PIPELINE}/{execution}")
        page.evaluate("window.loadedOnce = true")
        train = page.context.new_page()  # Train's log, followed while Train runs
        train.goto(f"{served.url}/executions/{PIPELINE}/{execution}/steps/Train")
        expect(train.locator(".badge").first).not_to_have_text("Succeeded")
        evaluate = page.locator("svg.graph g.step[data-step='Evaluate']")
        first_class = evaluate.get_attribute("class") or ""
        assert "state-Succeeded" not in first_class  # Train runs for seconds before it
        expect(page.locator("#execution-status")).to_have_text("Executing")
        expect(evaluate).to_have_class("step state-Executing", timeout=WAIT_MS)
        expect(page.locator("#execution-status")).to_have_text("Succeeded", timeout=WAIT_MS)
        finish(running)
        log = train.locator("pre#log")
        expect(log).to_have_attribute("data-live", "ended")
        expect(log).to_contain_text("epoch: 2 loss: ")
        assert (
            train.evaluate("document.getElementById('log').textContent")
            == (
                root / "executions" / PIPELINE / execution / "steps" / "Train" / "log.txt"
            ).read_text()
        )
        expect(evaluate).to_have_class("step state-Succeeded")
        expect(evaluate.locator(".state")).to_have_text("Succeeded")
        assert page.evaluate("window.loadedOnce") is True  # updated in place, never reloaded
        states = page.locator("svg.graph g.step").evaluate_all(
            "steps => steps.map(s => [s.dataset.step, s.getAttribute('class')])"
        )
        ran = {name for name, css in states if css == "step state-Succeeded"}
        assert {"Preprocess", "Train", "Evaluate", "CheckApprove", "RegisterApproved"} <= ran
        assert {name for name, css in states if css == "step state-NotStarted"} == {
            "CheckPending",
            "RegisterPending",
            "Reject",
        }
        row = page.locator("table.steps tr[data-step='Evaluate'] .state")
        expect(row).to_have_text("Succeeded")
        expect(page.locator(".gate").first).to_contain_text(
            "Evaluate.EvaluationReport: metrics.accuracy.value = "
        )


def test_a_steps_log_record_and_report(two_runs: Served, page: Page) -> None:
    log_in(page, two_runs, f"/executions/{PIPELINE}")
    page.locator("table.executions tbody tr").last.locator("td a").first.click()
    page.locator("svg.graph g.step[data-step='Evaluate']").click()
    expect(page.locator("h1")).to_contain_text("Evaluate")
    log = page.locator("pre#log")
    expect(log).to_have_attribute("data-live", "ended", timeout=WAIT_MS)
    expect(log).to_contain_text("evaluated the model on")
    expect(page.locator("table.io").first).to_contain_text("test")
    expect(page.locator("h2", has_text="Reports")).to_be_visible()
    expect(page.get_by_text('"accuracy"').first).to_be_attached()


def test_approving_a_pending_model(two_runs: Served, page: Page) -> None:
    registry = Registry(two_runs.root / "registry.sqlite")
    pending = [p for p in registry.packages() if p.status == "PendingManualApproval"]
    assert len(pending) == 1
    log_in(page, two_runs, "/models")
    row = page.locator(f"tr[data-arn='{pending[0].arn}']")
    expect(row.locator(".badge")).to_have_text("PendingManualApproval")
    row.locator("button.approve").click()
    expect(row.locator(".badge")).to_have_text("Approved")
    assert registry.package(pending[0].arn).status == "Approved"  # type: ignore[union-attr]


def test_comparing_two_executions(two_runs: Served, page: Page) -> None:
    log_in(page, two_runs, f"/executions/{PIPELINE}")
    rows = page.locator("table.executions tbody tr")
    expect(rows).to_have_count(2)
    rows.nth(0).locator("input[name='a']").check()  # newest: ApproveThreshold=1.01
    rows.nth(1).locator("input[name='b']").check()
    page.get_by_role("button", name="compare A and B").click()
    threshold = page.locator("table.compare tr[data-row='parameters/ApproveThreshold']")
    expect(threshold).to_have_class("differs")
    expect(threshold.locator("td").nth(2)).to_have_text("1.01")
    expect(threshold.locator("td").nth(3)).to_have_text("0.7")
    same = page.locator("table.compare tr[data-row='parameters/InputDataUri']")
    expect(same).to_have_class("same")
    gate = page.locator("table.compare tr[data-row='gate/CheckApprove']")
    expect(gate).to_have_class("differs")
    expect(gate.locator("td").nth(2)).to_have_text("False (else)")
    expect(gate.locator("td").nth(3)).to_have_text("True (if true)")
    value = page.locator("table.compare tr[data-row='gate/CheckApprove Conditions[0]']")
    expect(value.locator("td").nth(2)).to_contain_text(">= ApproveThreshold = 1.01: false")
    expect(value.locator("td").nth(3)).to_contain_text(">= ApproveThreshold = 0.7: true")


def test_changes_without_the_token_or_from_another_site_are_refused(
    two_runs: Served, page: Page
) -> None:
    registry = Registry(two_runs.root / "registry.sqlite")
    package = registry.packages()[0]
    wanted = "Rejected" if package.status != "Rejected" else "Approved"
    log_in(page, two_runs, "/models")
    answer = page.evaluate(
        """async ([arn, status]) => {
             const body = new URLSearchParams({arn, status});
             const reply = await fetch('/models/status', {method: 'POST', body});
             return [reply.status, await reply.text()];
           }""",
        [package.arn, wanted],
    )
    assert answer == [403, "refused: this request does not carry the token"]

    for port in attacker_site(two_runs, package.arn, wanted):
        # Another site: the browser keeps the SameSite=Strict session cookie to itself.
        page.goto(f"http://localhost:{port}/")
        page.get_by_role("button", name="win a prize").click()
        expect(page.locator("body")).to_contain_text("refused: no session")
        # Another origin of the same site (cookie sent): Origin and Sec-Fetch-Site refuse it.
        page.goto(f"http://127.0.0.1:{port}/")
        page.get_by_role("button", name="win a prize").click()
        expect(page.locator("body")).to_have_text(
            "refused: a cross-site request cannot change anything here"
        )
    assert registry.package(package.arn).status == package.status  # type: ignore[union-attr]


def attacker_site(served: Served, arn: str, status: str) -> Iterator[int]:
    """Another origin's page with a form that posts to the view (even knowing the token)."""
    form = (
        f'<form method="post" action="{served.url}/models/status">'
        f'<input type="hidden" name="token" value="{served.guard.token}">'
        f'<input type="hidden" name="arn" value="{arn}">'
        f'<input type="hidden" name="status" value="{status}">'
        "<button>win a prize</button></form>"
    ).encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(form)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
