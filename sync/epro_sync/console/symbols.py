"""Completion statuses as the console shows them: the kiosk's symbol **and** a word.

The server knows only what arrived, so its statuses are the time-based ones of
``epro.schedule`` (upcoming, due, overdue, missed) and ``received`` — the kiosk's "synced"
(the server holds it). The symbols are the kiosk grid's own (``epro.kiosk.glyphs``), copied
here because the server does not install the kiosk's UI packages; a test holds the two equal.
Colour is only ever added to these, never used instead of them.
"""

from __future__ import annotations

from typing import Final

RECEIVED: Final = "received"
UPCOMING: Final = "upcoming"
DUE: Final = "due"
OVERDUE: Final = "overdue"
MISSED: Final = "missed"

#: Every status in the order of the legend and of the status filter.
STATUSES: Final = (DUE, OVERDUE, MISSED, RECEIVED, UPCOMING)

#: The kiosk status each console status shows the symbol of.
KIOSK_STATUS: Final = {
    RECEIVED: "synced",
    UPCOMING: "upcoming",
    DUE: "due",
    OVERDUE: "overdue",
    MISSED: "missed",
}

SYMBOLS: Final = {
    RECEIVED: "✔",
    UPCOMING: "·",
    DUE: "○",
    OVERDUE: "!",
    MISSED: "✖",
}

#: What each status means, for the legend and for screen readers.
MEANINGS: Final = {
    RECEIVED: "received: the server holds a response",
    UPCOMING: "upcoming: the visit window has not opened yet",
    DUE: "due: the window is open and the target date not passed",
    OVERDUE: "overdue: the target date has passed, the window is still open",
    MISSED: "missed: the window has closed and nothing arrived",
}

#: Short column headers, as on the kiosk grid (form, then the respondent's initial).
SHORT_FORMS: Final = {"vas_pain": "VAS-P", "vas_wellbeing": "VAS-W", "clinician": "CLIN"}
SHORT_RESPONDENTS: Final = {"child": "C", "parent": "P", "staff": "S"}


def column_label(form_id: str, respondent: str) -> str:
    """``CHAQ C``, ``VAS-P P``: the kiosk grid's header for a (form, respondent) column."""
    form = SHORT_FORMS.get(form_id, form_id.upper()[:6])
    return f"{form} {SHORT_RESPONDENTS.get(respondent, respondent[:1].upper())}"
