"""What the browser tests drive: Debian's Chromium through Playwright, axe-core inside each page.

Nothing here downloads a browser: Playwright is pointed at the system's ``chromium``
(``EPRO_CHROMIUM``, default ``/usr/bin/chromium``), and axe-core is the npm package that
``.ci/run`` installs (``EPRO_AXE_JS``, default ``.ci/node/node_modules/axe-core/axe.min.js``).
When one of the three cannot be had, :func:`missing_tool` says which and how to get it, and
the tests skip with that reason.

:class:`CheckedPage` wraps one Playwright page: every document it loads must be passed
through :meth:`CheckedPage.check`, which writes a screenshot to the artefact folder and runs
axe in the page; serious and critical violations fail the test. A test that loads a page and
forgets to check it fails at the end.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("EPRO_CHROMIUM", "/usr/bin/chromium"))
AXE_JS = Path(
    os.environ.get(
        "EPRO_AXE_JS", ROOT / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"
    )
)
ARTIFACTS = Path(os.environ.get("EPRO_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "browser"

#: axe impact levels that fail a page.
FAILING_IMPACTS = ("serious", "critical")


def missing_tool() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (it is in the dev extra: make test)"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set EPRO_CHROMIUM)"
    if not AXE_JS.exists():
        return (
            f"axe-core is not at {AXE_JS} (.ci/run installs it: npm install --prefix .ci/node "
            "axe-core@4.14.1; or set EPRO_AXE_JS)"
        )
    return None


def launch_options() -> dict[str, Any]:
    """Headless system Chromium; no sandbox, since CI runs as root in a container."""
    return {"executable_path": str(CHROMIUM), "headless": True, "args": ["--no-sandbox"]}


def totp(secret_b32: str, at: float | None = None, *, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 TOTP (HMAC-SHA1), written here from the RFC so the server's own is checked."""
    padded = secret_b32.strip().replace(" ", "").upper()
    padded += "=" * (-len(padded) % 8)
    key = base64.b32decode(padded)
    counter = int((time.time() if at is None else at) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


class AccessibilityProblem(AssertionError):
    """axe found serious or critical violations; the message lists them."""


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core inside ``page`` (WCAG 2.x A and AA rules and best practices).

    The script is evaluated through the DevTools protocol, not added as a ``<script>`` tag,
    so the page's Content-Security-Policy stays in force and is not loosened for the test.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;undefined")
    result: dict[str, Any] = page.evaluate(
        """async () => {
            const r = await window.axe.run(document, {resultTypes: ['violations']});
            return {violations: r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))};
        }"""
    )
    return list(result["violations"])


def failing(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v.get("impact") in FAILING_IMPACTS]


def describe(violations: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['nodes'])}" for v in violations
    )


def _slug(text: str, length: int = 60) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:length] or "page"


@dataclass
class CheckedPage:
    """One Playwright page whose every loaded document gets a screenshot and an axe run."""

    page: Any
    name: str
    folder: Path = ARTIFACTS
    shots: list[Path] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)
    checked: set[int] = field(default_factory=set)
    csp_reports: list[str] = field(default_factory=list)
    #: Requests to anything but the loopback server (refused by the fixture's route).
    outside: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # One folder per test, emptied first: the pictures of this run only.
        self.folder = self.folder / _slug(self.name, 150)
        if self.folder.is_dir():
            for old in self.folder.glob("*.png"):
                old.unlink()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.page.on("load", lambda _page: self.loaded.append(self.page.url))
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.csp_reports.append(message.text)

    def check(self, label: str) -> Path:
        """Screenshot the page as it is now and run axe in it; serious or critical fails."""
        self.page.wait_for_load_state("load")
        shot = self.folder / f"{len(self.shots) + 1:02d}-{_slug(label)}.png"
        self.page.screenshot(path=str(shot), full_page=True)
        self.shots.append(shot)
        self.checked.update(range(len(self.loaded)))
        if self.outside:
            raise AssertionError(f"{label}: the page asked for outside resources: {self.outside}")
        if self.csp_reports:
            raise AssertionError(f"{label}: the page broke its own CSP: {self.csp_reports}")
        # A JSON or CSV answer shown by the browser's own viewer is not a page of ours.
        if self.page.evaluate("() => document.contentType") != "text/html":
            return shot
        bad = failing(axe_violations(self.page))
        if bad:
            raise AccessibilityProblem(f"{label} ({self.page.url}): {describe(bad)}")
        return shot

    def unchecked(self) -> list[str]:
        """Documents loaded but never passed through :meth:`check`."""
        return [url for n, url in enumerate(self.loaded) if n not in self.checked]
