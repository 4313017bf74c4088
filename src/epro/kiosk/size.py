"""The smallest terminal the kiosk runs in: every screen is laid out to fit it, in both languages.

Its own module so screens can read it without importing the app.
"""

from __future__ import annotations

from typing import Final

#: (columns, rows); a smaller terminal gets the "too small" screen instead of a cut-off one.
MIN_SIZE: Final = (80, 24)
