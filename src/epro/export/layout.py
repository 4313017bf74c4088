"""Variable names and column layout of the exported tables, shared by every format.

One rule names every column, so the CSV files, the SPSS files, the codebook and the analysis
agree without each working it out again:

* an answer column is the item's ``link_id`` (instruments.md §2), followed by ``_<respondent>``
  on patient forms, whose items parent and child may both answer at one visit
  (``chaq_dress_a_parent``); staff forms have one respondent and keep the plain name
  (``phys_global``);
* a checklist gives one 0/1 column per option, ``<name>__<code>``
  (``chaq_devices_parent__wheelchair``);
* per form and respondent, ``<form>_<respondent>_status`` (``collected`` or
  ``not_collected``), ``<form>_<respondent>_version`` and ``<form>_<respondent>_response_id``
  (plain ``<form>_status`` … on staff forms);
* several versions of a form give the union of their items, in the order they first appear
  (oldest version first), so no answer is ever dropped.

This module is pure: forms in, column descriptions out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from epro.forms.model import Form, FormKind, Item, ItemType, Option


class Kind(StrEnum):
    """What a column holds, for formats that type their variables."""

    CODE = "code"  # a coded choice (integer or text codes), value labels apply
    FLAG = "flag"  # 0/1 (a boolean answer, or one option of a checklist)
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    TEXT = "text"


class Measure(StrEnum):
    NOMINAL = "nominal"
    ORDINAL = "ordinal"
    SCALE = "scale"


@dataclass(frozen=True, slots=True)
class AnswerColumn:
    """One column of answers in the wide table."""

    name: str
    form_id: str
    respondent: str
    link_id: str
    kind: Kind
    measure: Measure
    #: English label (the item's text, or the option's for a checklist column).
    label: str
    #: The versions of the form that have this item.
    versions: tuple[str, ...]
    #: Value labels: (code, English label); for flags ((0, "no"), (1, "yes")).
    codes: tuple[tuple[int | str, str], ...] = ()
    #: For a checklist column: the option code it stands for.
    option: int | str | None = None
    #: ``na`` is an answer this item offers.
    na_option: bool = False


def form_prefix(form: Form, respondent: str) -> str:
    """``chaq_parent`` on patient forms, ``clinician`` on staff forms."""
    return form.id if form.kind is FormKind.STAFF else f"{form.id}_{respondent}"


def answer_name(form: Form, respondent: str, link_id: str) -> str:
    return link_id if form.kind is FormKind.STAFF else f"{link_id}_{respondent}"


def checklist_name(base: str, code: int | str) -> str:
    return f"{base}__{code}"


def _versions_sorted(forms: Iterable[Form]) -> list[Form]:
    def key(form: Form) -> tuple[int, ...]:
        return tuple(int(part) for part in form.version.split("."))

    return sorted(forms, key=key)


def _measure(item: Item) -> Measure:
    if item.type in (ItemType.INTEGER, ItemType.DECIMAL, ItemType.VAS, ItemType.CIRCLES21):
        return Measure.SCALE
    if item.type is ItemType.CHOICE and all(isinstance(c, int) for c in item.codes):
        return Measure.ORDINAL
    return Measure.NOMINAL


def _kind(item: Item) -> Kind:
    return {
        ItemType.CHOICE: Kind.CODE,
        ItemType.BOOLEAN: Kind.FLAG,
        ItemType.INTEGER: Kind.INTEGER,
        ItemType.VAS: Kind.INTEGER,
        ItemType.DECIMAL: Kind.DECIMAL,
        ItemType.CIRCLES21: Kind.DECIMAL,
        ItemType.DATE: Kind.DATE,
        ItemType.TEXT: Kind.TEXT,
    }[item.type]


_FLAG_CODES: tuple[tuple[int | str, str], ...] = ((0, "no"), (1, "yes"))


def form_versions(forms: Mapping[tuple[str, str], Form]) -> dict[str, list[Form]]:
    """Every known version of each form, oldest first, forms in id order."""
    grouped: dict[str, list[Form]] = {}
    for (form_id, _), form in sorted(forms.items()):
        grouped.setdefault(form_id, []).append(form)
    return {form_id: _versions_sorted(found) for form_id, found in grouped.items()}


def answer_columns(
    versions: Sequence[Form], respondent: str, *, include_text: bool = True
) -> list[AnswerColumn]:
    """The answer columns of one form and respondent over all its ``versions`` (oldest first).

    ``include_text=False`` leaves out free-text items (de-identified exports carry none).
    """
    latest = versions[-1]
    items: dict[str, tuple[Item, list[str]]] = {}
    #: Every option a checklist had in any version (newest wording last wins), so an option
    #: a later version dropped keeps its column.
    options: dict[str, dict[int | str, Option]] = {}
    for form in versions:
        for item in form.answerable_items:
            if item.link_id in items:
                items[item.link_id][1].append(form.version)
            else:
                items[item.link_id] = (item, [form.version])
            if item.type is ItemType.CHECKLIST:
                known = options.setdefault(item.link_id, {})
                for option in item.options:
                    known[option.code] = option
    columns: list[AnswerColumn] = []
    for link_id, (item, found_in) in items.items():
        if item.type is ItemType.TEXT and not include_text:
            continue
        # The newest wording of an item labels it; its name never changes meaning.
        if link_id in latest.link_ids:
            item = latest.item(link_id)
        base = answer_name(latest, respondent, link_id)
        text = item.text_for("en", respondent)
        if item.type is ItemType.CHECKLIST:
            for option in options[link_id].values():
                columns.append(
                    AnswerColumn(
                        name=checklist_name(base, option.code),
                        form_id=latest.id,
                        respondent=respondent,
                        link_id=link_id,
                        kind=Kind.FLAG,
                        measure=Measure.NOMINAL,
                        label=f"{text}: {option.text.get('en', option.code)}",
                        versions=tuple(found_in),
                        codes=_FLAG_CODES,
                        option=option.code,
                    )
                )
            continue
        codes: tuple[tuple[int | str, str], ...] = ()
        if item.type is ItemType.CHOICE:
            codes = tuple((o.code, o.text.get("en", str(o.code))) for o in item.options)
        elif item.type is ItemType.BOOLEAN:
            codes = _FLAG_CODES
        columns.append(
            AnswerColumn(
                name=base,
                form_id=latest.id,
                respondent=respondent,
                link_id=link_id,
                kind=_kind(item),
                measure=_measure(item),
                label=text,
                versions=tuple(found_in),
                codes=codes,
                na_option=item.na_option,
            )
        )
    return columns


def respondents_of(versions: Sequence[Form]) -> list[str]:
    """The respondents of a form over all its versions, in the order the forms name them."""
    seen: list[str] = []
    for form in versions:
        for respondent in form.respondents:
            if str(respondent) not in seen:
                seen.append(str(respondent))
    return seen
