"""Browser test fixtures: one headless Chromium and one real server per module.

The server is the real app under uvicorn on 127.0.0.1 (a SQLite file of its own); each test
gets a fresh browser context (no cookies carried over) and a :class:`CheckedPage`, whose
screenshots land in ``test-artifacts/browser`` (``EPRO_TEST_ARTIFACTS``). Without Chromium,
Playwright or axe-core every test here skips, saying which is missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from epro.crypto import StudyPrivateKey, generate_study_keypair
from epro_sync.app import create_app
from epro_sync.config import ServerSettings
from epro_sync.testing import LiveServer, RunningServer, running_server
from tests.browser.browser_seed import Clock, Study
from tests.browser.browser_tools import ARTIFACTS, CheckedPage, launch_options, missing_tool

MISSING = missing_tool()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if MISSING is None:
        return
    here = Path(__file__).parent
    for item in items:
        uses_browser = "browser" in getattr(item, "fixturenames", ())
        if uses_browser and Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.skip(reason=f"browser tests skipped: {MISSING}"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module (launching one costs about a second). Not per session:
    Playwright's synchronous API keeps an event loop running in this thread while it is open,
    and the Textual tests that the same worker runs next need to start their own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(**launch_options())
        try:
            yield chromium
        finally:
            chromium.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def checked_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[CheckedPage]:
    """A page in a fresh context; fails the test if it loaded a document it never checked."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    outside: list[str] = []

    def loopback_only(route: Any) -> None:
        # Everything a page needs must come from the server itself: no CDN, no web fonts.
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", loopback_only)
    page = CheckedPage(context.new_page(), name=request.node.name, folder=ARTIFACTS)
    page.outside = outside
    try:
        yield page
        report = getattr(request.node, "rep_call", None)
        failed = report is not None and report.failed
        if failed:  # the page as the failure left it, next to the others
            page.page.screenshot(path=str(page.folder / "at-failure.png"), full_page=True)
    finally:
        context.close()
    left = page.unchecked()
    assert failed or not left, f"pages loaded without a screenshot and an axe run: {left}"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test, so a fixture can tell that the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def study_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[StudyPrivateKey, Path]:
    private = generate_study_keypair()
    path = tmp_path_factory.mktemp("study") / "study-public.json"
    path.write_text(private.public_key().to_json(), encoding="utf-8")
    return private, path


@pytest.fixture(scope="module")
def server_settings(
    tmp_path_factory: pytest.TempPathFactory, study_key: tuple[StudyPrivateKey, Path]
) -> ServerSettings:
    db = tmp_path_factory.mktemp("server") / "server.sqlite3"
    return ServerSettings(database_url=f"sqlite:///{db}", study_public_key_file=study_key[1])


@pytest.fixture(scope="module")
def server(server_settings: ServerSettings) -> Iterator[RunningServer]:
    """The real study server for one test module."""
    with running_server(server_settings) as live:
        yield live


@pytest.fixture(scope="module")
def study(
    server_settings: ServerSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Study]:
    """The real server with its console, for one module, on a clock the tests can move;
    each module seeds it through the CLI, the console and real kiosks."""
    settings = server_settings.model_copy(
        update={"console_password_memory_kib": 1024, "console_failure_delay_s": 0.0}
    )
    clock = Clock()
    with LiveServer(create_app(settings, clock=clock)) as live:
        yield Study(live.url, settings, clock, tmp_path_factory.mktemp("kiosks"))
