"""Completion statuses as glyph AND colour, so colour is never the only signal."""

from __future__ import annotations

from typing import Final

from rich.text import Text

from epro.kiosk.i18n import tr

GLYPHS: Final = {
    "upcoming": ("·", "dim"),
    "due": ("○", "bold cyan"),
    "in_progress": ("◐", "bold yellow"),
    "submitted": ("●", "bold green"),
    "synced": ("✔", "bold green"),
    "overdue": ("!", "bold magenta"),
    "missed": ("✖", "bold red"),
}


def status_text(status: str, label: str = "") -> Text:
    glyph, style = GLYPHS.get(status, ("?", ""))
    text = Text(glyph, style=style)
    if label:
        text.append(" " + label)
    return text


def legend(language: str) -> Text:
    text = Text()
    for status in GLYPHS:
        text.append_text(status_text(status, tr(language, f"status_{status}")))
        text.append("  ")
    return text


#: Short column headers for the grids; the legend line explains them.
_SHORT_FORMS: Final = {"vas_pain": "VAS-P", "vas_wellbeing": "VAS-W", "clinician": "CLIN"}


def column_label(form_id: str, respondent: str, language: str) -> str:
    """A compact header such as ``CHAQ C`` (form, then the respondent's initial)."""
    form = _SHORT_FORMS.get(form_id, form_id.upper()[:6])
    return f"{form} {tr(language, f'short_{respondent}')}"


def columns_hint(language: str) -> str:
    """What the respondent letters and short form names in the grid headers mean."""
    return tr(language, "columns_hint")
