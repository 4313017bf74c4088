"""Two ways to work the console: by mouse, and by keyboard alone.

Both offer the same few moves (write in a field, press a button or link, choose an option), so
one journey runs twice. :class:`Keyboard` reaches every control with Tab only, activates it
with Enter or Space, and types text where text is asked for; it never clicks and never uses
the arrow keys, so a control that Tab does not reach, or that Enter and Space do not work,
fails the journey.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from tests.browser.browser_tools import CheckedPage

#: More Tab presses than any console page has stops: a control not reached by then is not
#: reachable.
MAX_TABS = 400


class Driver(ABC):
    """The moves a journey makes; ``selector`` is a CSS selector of the control."""

    name = "driver"

    def __init__(self, checked: CheckedPage) -> None:
        self.checked = checked
        self.page: Any = checked.page

    @abstractmethod
    def write(self, selector: str, text: str) -> None:
        raise NotImplementedError

    @abstractmethod
    def press(self, selector: str) -> None:
        """Press a button or follow a link that stays on the page."""
        raise NotImplementedError

    def go(self, selector: str) -> None:
        """Follow a link or send a form: returns once the next page has loaded."""
        with self.page.expect_navigation(wait_until="load"):
            self.press(selector)

    @abstractmethod
    def choose(self, selector: str, label: str) -> None:
        """Choose the option shown as ``label`` in a ``<select>``."""
        raise NotImplementedError

    @abstractmethod
    def tick(self, selector: str) -> None:
        """Tick a checkbox or choose a radio button."""
        raise NotImplementedError


class Mouse(Driver):
    name = "mouse"

    def write(self, selector: str, text: str) -> None:
        self.page.click(selector)
        self.page.keyboard.press("Control+A")
        self.page.keyboard.type(text)

    def press(self, selector: str) -> None:
        self.page.click(selector)

    def choose(self, selector: str, label: str) -> None:
        # A native <select>'s drop-down is not part of the page; choosing in it is what
        # select_option does after the click that opens it.
        self.page.click(selector)
        self.page.select_option(selector, label=label)

    def tick(self, selector: str) -> None:
        self.page.click(selector)


class Keyboard(Driver):
    name = "keyboard"

    def focus(self, selector: str) -> None:
        """Press Tab until the control ``selector`` has the focus."""
        target = self.page.locator(selector)
        for _ in range(MAX_TABS):
            if target.evaluate("(el) => el === document.activeElement"):
                return
            self.page.keyboard.press("Tab")
        raise AssertionError(f"Tab never reached {selector} on {self.page.url}")

    def write(self, selector: str, text: str) -> None:
        self.focus(selector)
        if self.page.evaluate("() => document.activeElement.value !== ''"):
            raise AssertionError(f"{selector} already holds text; the journey expects it empty")
        self.page.keyboard.type(text)

    def press(self, selector: str) -> None:
        self.focus(selector)
        self.page.keyboard.press("Enter")

    def choose(self, selector: str, label: str) -> None:
        # Typing an option's first letters chooses it in a focused <select>, as in every
        # desktop browser; no arrow keys needed.
        self.focus(selector)
        self.page.keyboard.type(label)
        chosen = self.page.evaluate("() => document.activeElement.selectedOptions[0]?.text")
        assert chosen is not None
        assert chosen.strip() == label, f"typing {label!r} chose {chosen!r} in {selector}"

    def tick(self, selector: str) -> None:
        self.focus(selector)
        self.page.keyboard.press("Space")


DRIVERS = {"mouse": Mouse, "keyboard": Keyboard}
