"""Shown instead of everything else while the terminal is smaller than the kiosk needs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from epro.kiosk.i18n import tr
from epro.kiosk.size import MIN_SIZE


class TooSmallScreen(Screen[None]):
    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language

    def compose(self) -> ComposeResult:
        yield Static(id="too-small")

    def on_mount(self) -> None:
        self._show()

    def on_resize(self) -> None:
        self._show()

    def _show(self) -> None:
        size = self.app.size
        text = tr(
            self.language,
            "too_small",
            width=size.width,
            height=size.height,
            min_width=MIN_SIZE[0],
            min_height=MIN_SIZE[1],
        )
        self.query_one("#too-small", Static).update(text)
