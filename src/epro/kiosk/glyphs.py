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
_SHORT_FORMS_NL: Final = {"clinician": "KLIN"}


def short_form(form_id: str, language: str) -> str:
    """The grid's short name of a form: ``CHAQ``, ``VAS-P`` (the columns hint explains them)."""
    if language == "nl" and form_id in _SHORT_FORMS_NL:
        return _SHORT_FORMS_NL[form_id]
    return _SHORT_FORMS.get(form_id, form_id.upper()[:6])


def form_name(form_id: str, title: str, language: str) -> str:
    """A form for staff: its title with its short name, e.g. ``How is it going? (JAMAR)``; two
    forms may share a title in one language, never a short name."""
    return f"{title} ({short_form(form_id, language)})"


def column_label(form_id: str, respondent: str, language: str) -> str:
    """A two-line header: the form's short name over the respondent in words (``CHAQ`` over
    ``parent``); a staff form's column says only the form."""
    form = short_form(form_id, language)
    if respondent == "staff":
        return form
    return f"{form}\n{tr(language, respondent)}"


def columns_hint(language: str) -> str:
    """What the respondent letters and short form names in the grid headers mean."""
    return tr(language, "columns_hint")
