"""Form files: parse, validate, model, answer validation and FHIR export.

Everything other parts of epro need from forms is importable from here.

A form file (``forms/<id>.toml``) has ``id``, ``version`` (semver), ``kind`` (``patient`` or
``staff``), ``languages``, ``respondents``, ``title`` (one text per language), an optional
``intro``, ``[translations.<lang>] validated = true|false`` for every language, ``[scoring]``
``algorithm`` + ``version``, optional ``[[groups]]`` (``id``, ``text``), optional
``[option_sets.<name>]`` (``options``, ``na_text``) shared by items through
``options = "<name>"``, and ``[[items]]``: ``link_id``, ``type``, ``text`` and/or
``variants.<respondent>``, ``group``, ``required``, ``allow_skip``, ``na_option``/``na_text``,
``options``, ``min``/``max``/``step``, ``anchor_low``/``anchor_high``, ``help``, ``enable_when``
(one ``{question, operator, answer}`` table, or ``{behavior, conditions = [...]}``).

No item may carry a default answer. Free text (type ``text``) belongs in staff forms; a patient
form may only have an optional "other, describe" line, marked ``allow_text = true`` and
``required = false`` so the exception is visible in the file (catalogue code F033).
"""

from epro.forms.answers import validate_answer, validate_answers
from epro.forms.errors import CATALOGUE, FormProblems, Problem, Severity
from epro.forms.loader import default_forms_dir, load_form, load_forms
from epro.forms.model import (
    NA,
    SKIPPED,
    AnswerValue,
    Condition,
    EnableWhen,
    Form,
    FormKind,
    Group,
    Item,
    ItemType,
    LocalText,
    Option,
    Respondent,
    Translation,
)
from epro.forms.parse import check_form_text, parse_form

__all__ = [
    "CATALOGUE",
    "NA",
    "SKIPPED",
    "AnswerValue",
    "Condition",
    "EnableWhen",
    "Form",
    "FormKind",
    "FormProblems",
    "Group",
    "Item",
    "ItemType",
    "LocalText",
    "Option",
    "Problem",
    "Respondent",
    "Severity",
    "Translation",
    "check_form_text",
    "default_forms_dir",
    "load_form",
    "load_forms",
    "parse_form",
    "validate_answer",
    "validate_answers",
]
