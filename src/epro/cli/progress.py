"""A one-line text progress bar on stderr for long commands (sync, export); no dependency."""

from __future__ import annotations

from typing import TextIO


class ProgressBar:
    """``label [#####-----] done/total``, redrawn in place; silent when not enabled (pass
    ``enabled=stream.isatty()`` so that logs and pipes get no bar)."""

    def __init__(self, stream: TextIO, *, enabled: bool, label: str = "sending") -> None:
        self._stream = stream
        self._enabled = enabled
        self._label = label
        self._drawn = ""

    def __call__(self, done: int, total: int) -> None:
        if not self._enabled or total == 0:
            return
        width = 30
        filled = width * done // total
        bar = "#" * filled + "-" * (width - filled)
        text = f"\r{self._label} [{bar}] {done}/{total}"
        if text != self._drawn:
            self._stream.write(text)
            self._stream.flush()
            self._drawn = text

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
