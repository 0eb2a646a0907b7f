"""The browser tier: the real app under waitress on a free port (a temporary SQLite database with
bpmn/ deployed, the demo county and a few cases), driven by Debian's headless Chromium through
Playwright. Locally the tier skips when Chromium or Playwright is missing; in CI (CI=true) it
must run, so it fails instead. Screenshots go to tests/browser/artifacts/ (not kept in git)."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.demo.organisation import DEMO_PASSWORD
from tests.browser.seed import Cases, seed_cases
from tests.conftest import IN_CI
from tests.e2e.conftest import compile_catalogs
from tests.e2e.test_web_smoke import free_port, wait_until_serving

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = Path(os.environ.get("GOVFLOW_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 15_000


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"playwright is not installed ({exc}; make install)"
    return None


@pytest.fixture(scope="session", autouse=True)
def browser_tools():
    """Skip the tier locally without Chromium or Playwright; in CI that is a failure."""
    problem = _missing()
    if problem is None:
        return
    if IN_CI:
        pytest.fail(problem + " — in CI the browser tier must run")
    pytest.skip(problem)


@dataclass(frozen=True)
class Server:
    url: str
    database_url: str
    cases: Cases
    numbers: dict[int, str]  # case id -> case number

    def number(self, case_id: int) -> str:
        return self.numbers[case_id]


def _govflow(env: dict, *args: str) -> None:
    result = subprocess.run([str(BIN / "govflow"), *args], cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    if result.returncode != 0:
        pytest.fail(f"govflow {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def _case_numbers(database_url: str) -> dict[int, str]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(sa.text('SELECT id, number FROM "case"')).all())
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def server(browser_tools, tmp_path_factory):
    """The app as `make run` serves it, on a free port, over a database seeded for these tests."""
    compile_catalogs()  # as `make install` does, for a run of this tier alone
    folder = tmp_path_factory.mktemp("browser")
    database_url = f"sqlite:///{folder / 'govflow.sqlite3'}"
    env = {**os.environ, "GOVFLOW_DATABASE_URL": database_url, "GOVFLOW_SECRET_KEY": "browser-tests-secret-key-0123"}
    _govflow(env, "init-db")
    _govflow(env, "deploy", str(REPO_ROOT / "bpmn"))
    _govflow(env, "seed-demo")
    cases = seed_cases(database_url)
    port = free_port()
    log = folder / "waitress.log"
    with log.open("w") as out:
        process = subprocess.Popen([str(BIN / "waitress-serve"), f"--listen=127.0.0.1:{port}", "--call",
                                    "web:create_app"], cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url + "/healthz", process, log)
        yield Server(url, database_url, cases, _case_numbers(database_url))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def chromium(browser_tools):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def page(chromium, server):
    """A fresh browser context (no cookies) on a desktop-sized window, in Chinese; a script error or a
    Content-Security-Policy violation fails the test."""
    context = chromium.new_context(base_url=server.url, locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text else None)
    yield page
    context.close()
    assert not errors, f"script errors or CSP violations on the page: {errors}"


def log_in(page, login: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("form.stacked button.primary")
    page.wait_for_url(lambda url: "/login" not in url)


def shot(page, artifacts: Path, name: str) -> Path:
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
