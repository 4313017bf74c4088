"""The browser harness itself: real Chromium on the real server, and checks that can fail.

The last tests feed the checker pages that must fail (axe violations, a page never checked,
a request to a CDN), so a harness that silently checks nothing would be caught.
"""

from __future__ import annotations

import pytest

from epro_sync.testing import RunningServer
from tests.browser.browser_tools import AccessibilityProblem, CheckedPage, totp


def test_healthz_is_served_to_the_browser_and_checked(
    server: RunningServer, checked_page: CheckedPage
) -> None:
    reply = checked_page.page.goto(f"{server.url}/healthz")
    assert reply is not None
    assert reply.status == 200
    shot = checked_page.check("healthz")
    assert shot.stat().st_size > 1000  # a real PNG of the page, printed at the end of the run
    assert "ok" in checked_page.page.content()


def test_the_api_docs_load_nothing_from_outside_and_pass_axe(
    server: RunningServer, checked_page: CheckedPage
) -> None:
    """The interactive API documentation renders from the server's own assets."""
    checked_page.page.goto(f"{server.url}/docs")
    checked_page.page.wait_for_load_state("networkidle")
    checked_page.check("api docs")
    shown = checked_page.page.inner_text("body")
    assert "/v1/enrol" in shown  # the routes are there to read, not a blank page
    assert "/v1/responses:batch" in shown


def _serve_once(checked_page: CheckedPage, url: str, html: str) -> None:
    """Answer ``url`` with ``html`` in this page only, as if the server had sent it."""
    checked_page.page.route(
        url, lambda route: route.fulfill(status=200, content_type="text/html", body=html)
    )


def test_a_page_with_serious_accessibility_violations_fails(
    server: RunningServer, checked_page: CheckedPage
) -> None:
    # No lang, no title, an image without alt text, a button without a name: all serious or
    # critical for axe.
    _serve_once(
        checked_page,
        f"{server.url}/broken",
        '<html><body><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><button></button>'
        "</body></html>",
    )
    checked_page.page.goto(f"{server.url}/broken")
    with pytest.raises(AccessibilityProblem) as caught:
        checked_page.check("broken on purpose")
    for rule in ("image-alt", "button-name", "html-has-lang", "document-title"):
        assert rule in str(caught.value)


def test_a_page_loaded_but_never_checked_is_reported(
    server: RunningServer, checked_page: CheckedPage
) -> None:
    checked_page.page.goto(f"{server.url}/healthz")
    checked_page.check("first")
    checked_page.page.goto(f"{server.url}/openapi.json")
    assert checked_page.unchecked() == [f"{server.url}/openapi.json"]
    checked_page.check("second")
    assert checked_page.unchecked() == []


def test_a_request_to_another_host_is_refused_and_fails_the_check(
    server: RunningServer, checked_page: CheckedPage
) -> None:
    _serve_once(
        checked_page,
        f"{server.url}/cdn",
        '<!doctype html><html lang="en"><head><title>t</title>'
        '<script src="https://cdn.example.org/x.js"></script></head><body><main>'
        "<h1>t</h1></main></body></html>",
    )
    checked_page.page.goto(f"{server.url}/cdn")
    assert checked_page.outside == ["https://cdn.example.org/x.js"]
    with pytest.raises(AssertionError, match="outside resources"):
        checked_page.check("after a cdn request")
    checked_page.outside.clear()


def test_totp_matches_the_rfc_6238_test_vector() -> None:
    # RFC 6238 appendix B, SHA-1, secret "12345678901234567890", T = 59 s: 94287082 (8 digits).
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert totp(secret, at=59, digits=8) == "94287082"
    assert totp(secret, at=1111111109, digits=8) == "07081804"
