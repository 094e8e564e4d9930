"""The web UI in a real browser: Debian's Chromium, driven by Playwright, against a real
`analyst serve` on 127.0.0.1 (multi-user: alice and bob sign in with their API keys) whose
model is the scripted fake LLM server.

Everything expensive is started once: the server with its sandbox pool and the fake model per
session, the browser per module. Each test gets a fresh browser context, so no state leaks
through cookies or localStorage. Tests that need the model script their turns with
`model.add_turns`; turns a failing test left unused are drained afterwards so that they cannot
answer the next test.

A page's uncaught JavaScript errors fail the test that caused them; console errors are kept
in the failure message (failed requests, e.g. a refused key, are expected there).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    expect,
    sync_playwright,
)

from sandbox_analyst.config import Settings
from sandbox_analyst.service import Services
from sandbox_analyst.testing import FakeLLMServer
from tests.conftest import LiveServer, fresh_database

CHROMIUM_ENV = "ANALYST_TEST_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's own sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-extensions",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
FAKE_MODEL_KEY = "test-key"
MAX_UPLOAD_MB = 1
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Generous: the machine is shared, and a turn starts a sandbox and runs real code.
TIMEOUT_MS = 30_000

expect.set_options(timeout=TIMEOUT_MS)


def chromium_executable() -> str:
    """The Chromium to drive; outside CI a missing one skips the browser tests, in CI it fails
    them (CI installs it: scripts/test)."""
    path = os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or DEFAULT_CHROMIUM
    if Path(path).is_file():
        return path
    reason = (
        f"no Chromium at {path}: install Debian's `chromium` (scripts/test does) "
        f"or point {CHROMIUM_ENV} at one"
    )
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"the browser tests must run in CI, but {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class WebUser:
    name: str
    key: str
    assistant_id: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass
class WebApp:
    """The running server, its users, and a few API shortcuts for setting the scene (what a
    test is not about is arranged over the REST API, not clicked)."""

    server: LiveServer
    settings: Settings
    users: dict[str, WebUser] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def api(self, user: WebUser, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method, f"{self.base_url}{path}", headers=user.headers, timeout=120, **kwargs
        )

    def add_user(self, name: str, *, admin: bool = False) -> WebUser:
        """A new user with an API key and one private assistant of their own."""

        async def create() -> str:
            async with Services.running(self.settings) as services:
                created = await services.users.create_user(name, admin=admin)
                return (await services.users.create_key(created.id)).secret

        # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
        with ThreadPoolExecutor(max_workers=1) as thread:
            user = WebUser(name, thread.submit(asyncio.run, create()).result())
        response = self.api(user, "POST", "/api/assistants", json={"name": f"{name}'s analyst"})
        assert response.status_code == 201, response.text
        user.assistant_id = response.json()["id"]
        self.users[name] = user
        return user

    def create_conversation(self, user: WebUser, title: str = "") -> str:
        body = {"assistant_id": user.assistant_id, "title": title}
        response = self.api(user, "POST", "/api/conversations", json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def ask(self, user: WebUser, conversation_id: str, content: str) -> dict[str, Any]:
        """One whole turn over the API (JSON answer, once it ends)."""
        path = f"/api/conversations/{conversation_id}/messages"
        response = self.api(user, "POST", path, json={"content": content})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(api_key=FAKE_MODEL_KEY) as server:
        yield server


@pytest.fixture(scope="session")
def web(tmp_path_factory: pytest.TempPathFactory, fake_llm: FakeLLMServer) -> Iterator[WebApp]:
    directory = tmp_path_factory.mktemp("web")
    with fresh_database(directory) as database_url, pytest.MonkeyPatch.context() as env:
        settings = Settings(
            data_dir=directory / "data",
            database_url=database_url,
            server={"max_upload_mb": MAX_UPLOAD_MB},
        )
        # Read by the server process only, at start-up.
        for name, value in {
            "ANALYST_LLM__PROVIDER": "openai",
            "ANALYST_LLM__BASE_URL": fake_llm.openai_base_url,
            "ANALYST_LLM__API_KEY": FAKE_MODEL_KEY,
            "ANALYST_LLM__MODEL": "test-model",
            "ANALYST_LLM__RETRY_BACKOFF": "0.001",
            "ANALYST_LLM__RETRY_MAX_DELAY": "0.01",
            "ANALYST_SANDBOX__POOL_SIZE": "1",
            "ANALYST_SANDBOX__INTERRUPT_GRACE": "2",
            "ANALYST_LOG_LEVEL": "WARNING",
        }.items():
            env.setenv(name, value)
        server = LiveServer(settings)
        server.start()
        env.undo()
        app = WebApp(server, settings)
        try:
            app.add_user("alice")
            app.add_user("bob")
            yield app
        finally:
            server.stop()


@pytest.fixture
def model(fake_llm: FakeLLMServer) -> Iterator[FakeLLMServer]:
    """The fake model, for scripting this test's turns."""
    yield fake_llm
    drain_script(fake_llm)


def drain_script(fake: FakeLLMServer) -> None:
    """Ask the fake model until it says its script is exhausted: turns a failed test left
    behind must not answer the next test."""
    for _ in range(100):
        response = httpx.post(
            f"{fake.openai_base_url}/chat/completions",
            json={"model": "drain", "messages": [{"role": "user", "content": "drain"}]},
            headers={"Authorization": f"Bearer {FAKE_MODEL_KEY}"},
            timeout=120,
        )
        if "script exhausted" in response.text:
            return
    raise AssertionError("the fake model's script did not run dry")


# Per module, not per session: while Playwright's sync API is open it keeps an event loop
# running in this thread, and every asyncio test after it (tests/web has others) would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_executable()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@dataclass
class PageErrors:
    """What went wrong inside a page: uncaught exceptions and console errors."""

    uncaught: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.uncaught.append(f"{error.name}: {error.message}"))
        page.on(
            "console",
            lambda message: self.console.append(message.text) if message.type == "error" else None,
        )


@dataclass
class Browsing:
    """Opens pages in fresh browser contexts and checks them for uncaught errors at the end."""

    browser: Browser
    web: WebApp
    contexts: list[BrowserContext] = field(default_factory=list)
    errors: PageErrors = field(default_factory=PageErrors)

    def new_page(self, viewport: dict[str, int] = DESKTOP) -> Page:
        context = self.browser.new_context(
            viewport=viewport, accept_downloads=True, base_url=self.web.base_url
        )
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        self.errors.watch(page)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def browsing(browser: Browser, web: WebApp) -> Iterator[Browsing]:
    session = Browsing(browser, web)
    yield session
    session.close()
    if session.errors.uncaught:
        pytest.fail(
            "uncaught errors in the page:\n  "
            + "\n  ".join(session.errors.uncaught)
            + "\nconsole errors:\n  "
            + "\n  ".join(session.errors.console),
            pytrace=False,
        )


@pytest.fixture
def page(browsing: Browsing) -> Page:
    """A desktop-sized page in a fresh context, not signed in."""
    return browsing.new_page()


def wait_until_booted(page: Page) -> None:
    # A function, not an expression: the page's CSP forbids the eval() an expression needs.
    page.wait_for_function("() => window.__analystReady === true")


def open_app(page: Page, path: str = "/") -> None:
    """Load the UI and wait until its script has booted."""
    page.goto(path)
    wait_until_booted(page)


def reload(page: Page) -> None:
    page.reload()
    wait_until_booted(page)


def sign_in(page: Page, user: WebUser, path: str = "/") -> None:
    """Sign in through the real form, as a person would."""
    open_app(page, path)
    page.get_by_test_id("key-input").fill(user.key)
    page.get_by_test_id("sign-in").click()
    expect(page.get_by_test_id("sign-out")).to_be_visible()


@pytest.fixture
def alice(web: WebApp) -> WebUser:
    return web.users["alice"]


@pytest.fixture
def bob(web: WebApp) -> WebUser:
    return web.users["bob"]


@pytest.fixture
def alice_page(page: Page, alice: WebUser) -> Page:
    sign_in(page, alice)
    return page


def screenshot(page: Page, name: str) -> Path:
    """Save the page as test-artifacts/screenshots/NAME.png (kept for people to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


# --- what tests do on a page -------------------------------------------------------------


def new_analysis(page: Page) -> None:
    page.get_by_test_id("new-analysis").click()
    expect(page.get_by_test_id("composer")).to_be_editable()


def send(page: Page, text: str) -> None:
    page.get_by_test_id("composer").fill(text)
    page.get_by_test_id("send").click()


def messages(page: Page, role: str) -> Locator:
    return page.locator(f'[data-testid="message"][data-role="{role}"]')


def last_reply(page: Page) -> Locator:
    return messages(page, "assistant").last


def upload(page: Page, name: str, data: bytes, mime_type: str = "text/csv") -> Locator:
    """Choose a file in the file picker; the chip that shows it once uploaded."""
    page.get_by_test_id("file-input").set_input_files(
        {"name": name, "mimeType": mime_type, "buffer": data}
    )
    return page.get_by_test_id("file-chip").filter(has_text=name)


def expect_image_loaded(image: Locator) -> None:
    """The <img> is shown and its picture decoded (not a broken image)."""
    expect(image).to_be_visible()
    image.page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )


def conversation_id_in_url(page: Page) -> str:
    page.wait_for_url("**/#/c/*")
    return page.url.rsplit("/#/c/", 1)[1]
