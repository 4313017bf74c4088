"""CDISC ODM 1.3.2 clinical data as text, one patient at a time: the OIDs and the ItemData.

The ODM file (:mod:`epro.export.odm`) is millions of ``ItemData`` at a study's end, so nothing
here builds an element tree: every form version and respondent gets a :class:`FormPlan` once,
holding the finished text of each item's possible ``ItemData`` (every option of a choice, every
missing code) or the text around a number, and a patient's ``SubjectData`` is a join of them.

The decisions the file rests on, shared with the metadata:

* **OIDs.** ``SE.<visit>``; ``F.<form>.<version>`` for staff forms and
  ``F.<form>.<version>.<respondent>`` for patient forms, so parent and child answers of one
  visit sit in different forms with the wording each respondent saw; ``IG.`` + the form part
  + ``.<group>`` (items outside a group: the form part alone); ``IT.`` + the form part +
  ``.<link_id>``, the variable name as suffix (instruments.md §2); a checklist gives one 0/1
  item per option, ``IT.….<link_id>__<code>``, like its wide-table columns.
* **Missing answers** are ``ItemData IsNull="Yes"`` with an ``Annotation`` whose ``Flag``
  names the reason from ``CL.EPRO.FLAG``: ``na``, ``skipped``, ``not_asked`` (the form's
  branching left the item out given earlier answers) or ``not_reached`` (an item of
  the submitted form with no answer). A form not submitted has no ``FormData``.
* **One response, one FormData**: ``FormRepeatKey`` is the response id, because one respondent
  may have two responses at a visit (one entered in error and its replacement).
* **Audit.** The ``FormData`` ``AuditRecord`` is the kiosk's submission (kiosk device, site,
  submission time, the envelope SHA-256 as ``SourceID``); it applies to every item of the form.
  The study server's receipt, and a data manager's "entered in error", are ``AuditRecord``
  elements of the ``ClinicalData`` ``AuditRecords``, with IDs ``AR.<response>.received`` and
  ``AR.<response>.status`` and the same ``SourceID``.
* **Entered in error**: the ``FormData`` stays, with its answers, and carries a ``Flag``
  ``entered_in_error`` (flag type ``response_status``) and the reason as a ``Comment``; the
  status ``AuditRecord`` gives the reason as ``ReasonForChange`` at the bundle's creation time
  (the mark was made no later than that). The file stays a ``Snapshot``: ``TransactionType
  Remove`` would tell a receiving system to delete the answers this export promises to keep.
* A response started **outside its visit window** carries the flag ``out_of_window`` (type
  ``visit_window``) with the staff's reason. A de-identified export leaves out every free
  text: text answers (and their ItemDefs) and the reasons.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from xml.sax.saxutils import escape

from epro.errors import ExportError
from epro.export.layout import answer_name, checklist_name
from epro.export.records import ExportResponse, Missing, PatientRecord, ResponseStatus
from epro.export.verify import answer_misfit
from epro.forms.enablement import rule_holds
from epro.forms.model import (
    NA,
    SKIPPED,
    AnswerValue,
    EnableWhen,
    Form,
    FormKind,
    Item,
    ItemType,
)
from epro.protocol import utc_timestamp

#: Flag values (missing reasons and response flags) and flag types.
FLAG_LIST: Final = "CL.EPRO.FLAG"
FLAG_TYPE_LIST: Final = "CL.EPRO.FLAG_TYPE"
#: 1 = yes, 0 = no: boolean answers and the options of a checklist.
YES_NO_LIST: Final = "CL.EPRO.YESNO"
#: The data manager who marks a response entered in error; its own prefix, so that no kiosk
#: id can give the same OID.
DATA_MANAGER: Final = "DM.data-manager"

ENTERED_IN_ERROR: Final = "entered_in_error"
SUPERSEDED: Final = "superseded"
OUT_OF_WINDOW: Final = "out_of_window"
RESPONSE_STATUS: Final = "response_status"
VISIT_WINDOW: Final = "visit_window"

# Characters XML 1.0 cannot carry at all, not even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ATTRIBUTE = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}


class NotXmlText(ExportError):
    """A text holds a character XML 1.0 cannot carry, even escaped."""


class AnswerMisfit(Exception):
    """An answer the precompiled text has no place for; the caller names the response."""

    def __init__(self, link_id: str) -> None:
        super().__init__(link_id)
        self.link_id = link_id


def attr(value: str) -> str:
    """``value`` escaped for a double-quoted attribute (no surrounding quotes)."""
    if _NOT_XML.search(value):
        raise NotXmlText("a text holds a control character that XML cannot carry")
    return escape(value, _ATTRIBUTE)


def text(value: str) -> str:
    """``value`` escaped as element content."""
    if _NOT_XML.search(value):
        raise NotXmlText("a text holds a control character that XML cannot carry")
    return escape(value)


# ------------------------------------------------------------------------------------- OIDs


def study_oid(study_id: str) -> str:
    return f"S.{study_id}"


def metadata_oid(study_version: str) -> str:
    return f"MDV.{study_version or '1'}"


def event_oid(visit: str) -> str:
    return f"SE.{visit}"


def form_part(form: Form, respondent: str) -> str:
    """``chaq.1.0.0.parent`` on patient forms, ``clinician.1.0.0`` on staff forms."""
    base = f"{form.id}.{form.version}"
    return base if form.kind is FormKind.STAFF else f"{base}.{respondent}"


def form_oid(form: Form, respondent: str) -> str:
    return f"F.{form_part(form, respondent)}"


def group_oid(form: Form, respondent: str, group: str | None) -> str:
    part = form_part(form, respondent)
    return f"IG.{part}" if group is None else f"IG.{part}.{group}"


def item_oid(form: Form, respondent: str, suffix: str) -> str:
    """``IT.chaq.1.0.0.parent.chaq_dress_a``; ``suffix`` is the link id (``__<code>`` added for
    one option of a checklist)."""
    return f"IT.{form_part(form, respondent)}.{suffix}"


def codelist_oid(form: Form, link_id: str) -> str:
    return f"CL.{form.id}.{form.version}.{link_id}"


def user_oid(device_id: str) -> str:
    return f"USR.{device_id}"


def location_oid(site: str) -> str:
    return f"LOC.{site}"


def item_groups(form: Form, include_text: bool) -> list[tuple[str | None, list[Item]]]:
    """The form's answerable items by group (``None``: outside any group), first seen first."""
    grouped: dict[str | None, list[Item]] = {}
    for item in form.answerable_items:
        if item.type is ItemType.TEXT and not include_text:
            continue
        grouped.setdefault(item.group, []).append(item)
    return list(grouped.items())


@dataclass(frozen=True, slots=True)
class Column:
    """One ItemDef of an item: its OID, its name (the wide-table column) and checklist option."""

    oid: str
    name: str
    option: int | str | None = None


def item_columns(form: Form, respondent: str, item: Item) -> list[Column]:
    """The ItemDefs of one item: one, or one per option of a checklist."""
    base = answer_name(form, respondent, item.link_id)
    if item.type is ItemType.CHECKLIST:
        return [
            Column(
                item_oid(form, respondent, checklist_name(item.link_id, option.code)),
                checklist_name(base, option.code),
                option.code,
            )
            for option in item.options
        ]
    return [Column(item_oid(form, respondent, item.link_id), base)]


def format_number(value: float, whole: bool) -> str:
    """How numbers are written everywhere in the file: ``3`` or ``7.5`` (``10.0``)."""
    return str(int(value)) if whole else repr(float(value))


# ------------------------------------------------------------------------------ ItemData text

#: Renders one item's answer (``None``: not reached) as its ItemData line(s).
Render = Callable[[AnswerValue | None], str]


def _null(oid: str, reason: Missing) -> str:
    return (
        f'<ItemData ItemOID="{attr(oid)}" IsNull="Yes"><Annotation SeqNum="1"><Flag>'
        f'<FlagValue CodeListOID="{FLAG_LIST}">{reason.value}</FlagValue></Flag></Annotation>'
        "</ItemData>\n"
    )


def _value(oid: str, value: str) -> str:
    return f'<ItemData ItemOID="{attr(oid)}" Value="{attr(value)}"/>\n'


def _nulls(oid: str) -> dict[object, str]:
    return {
        NA: _null(oid, Missing.NOT_APPLICABLE),
        SKIPPED: _null(oid, Missing.SKIPPED),
        None: _null(oid, Missing.NOT_REACHED),
    }


def _looked_up(table: Mapping[object, str], value: AnswerValue | None, link_id: str) -> str:
    """The line(s) ``table`` holds for ``value``; an answer it does not hold does not fit."""
    try:
        return table[value]  # a list is unhashable: refused just below
    except (KeyError, TypeError):
        raise AnswerMisfit(link_id) from None


def _coded_render(link_id: str, table: Mapping[object, str]) -> Render:
    def render(value: AnswerValue | None) -> str:
        return _looked_up(table, value, link_id)

    return render


def _choice(form: Form, respondent: str, item: Item) -> Render:
    oid = item_oid(form, respondent, item.link_id)
    table = _nulls(oid)
    for option in item.options:
        table[option.code] = _value(oid, str(option.code))
    return _coded_render(item.link_id, table)


def _boolean(form: Form, respondent: str, item: Item) -> Render:
    oid = item_oid(form, respondent, item.link_id)
    table = _nulls(oid)
    table[True] = _value(oid, "1")
    table[False] = _value(oid, "0")
    return _coded_render(item.link_id, table)


def _checklist(form: Form, respondent: str, item: Item) -> Render:
    options = []
    for column in item_columns(form, respondent, item):
        oid = column.oid
        options.append((str(column.option), _value(oid, "1"), _value(oid, "0"), _nulls(oid)))
    link_id = item.link_id

    def render(value: AnswerValue | None) -> str:
        if isinstance(value, list):
            ticked = set(value)
            if not ticked.issubset(code for code, *_ in options):
                raise AnswerMisfit(link_id)
            return "".join(on if code in ticked else off for code, on, off, _ in options)
        return "".join(_looked_up(nulls, value, link_id) for *_, nulls in options)

    return render


def _number(form: Form, respondent: str, item: Item) -> Render:
    oid = item_oid(form, respondent, item.link_id)
    head = f'<ItemData ItemOID="{attr(oid)}" Value="'
    nulls = _nulls(oid)
    whole = item.type in (ItemType.INTEGER, ItemType.VAS)
    link_id = item.link_id

    def render(value: AnswerValue | None) -> str:
        kind = type(value)
        if kind is int:
            return f'{head}{value if whole else float(value)}"/>\n'  # type: ignore[arg-type]
        if kind is float and not whole:
            return f'{head}{value!r}"/>\n'
        if kind is float and value.is_integer():  # type: ignore[union-attr]
            return f'{head}{int(value)}"/>\n'  # type: ignore[arg-type]
        return _looked_up(nulls, value, link_id)

    return render


def _plain(form: Form, respondent: str, item: Item) -> Render:
    """Dates and texts: the answer itself, escaped."""
    oid = item_oid(form, respondent, item.link_id)
    head = f'<ItemData ItemOID="{attr(oid)}" Value="'
    nulls = _nulls(oid)
    link_id = item.link_id

    def render(value: AnswerValue | None) -> str:
        if value is None or value in (NA, SKIPPED):
            return nulls[value]
        if not isinstance(value, str):
            raise AnswerMisfit(link_id)
        try:
            return f'{head}{attr(value)}"/>\n'
        except NotXmlText:
            raise AnswerMisfit(link_id) from None

    return render


_RENDERS: Final[Mapping[ItemType, Callable[[Form, str, Item], Render]]] = {
    ItemType.CHOICE: _choice,
    ItemType.CHECKLIST: _checklist,
    ItemType.BOOLEAN: _boolean,
    ItemType.INTEGER: _number,
    ItemType.VAS: _number,
    ItemType.DECIMAL: _number,
    ItemType.CIRCLES21: _number,
    ItemType.DATE: _plain,
    ItemType.TEXT: _plain,
}


@dataclass(frozen=True, slots=True)
class FormPlan:
    """The precompiled ClinicalData text of one form version and respondent."""

    form: Form
    respondent: str
    oid: str
    #: Per item group: its opening tag, its items (link id, render), nothing else needed.
    groups: tuple[tuple[str, tuple[tuple[str, Render], ...]], ...]
    #: Items the form asks only under a condition: their condition, and their ItemData when
    #: the condition left them out (flagged not asked rather than not reached).
    conditional: Mapping[str, tuple[EnableWhen, str]]
    #: Every link id of the form, those left out on purpose (free text when de-identified)
    #: included.
    known: frozenset[str]

    @classmethod
    def of(cls, form: Form, respondent: str, *, include_text: bool) -> FormPlan:
        groups = []
        conditional: dict[str, tuple[EnableWhen, str]] = {}
        reached = f">{Missing.NOT_REACHED.value}</FlagValue>"
        asked = f">{Missing.NOT_ASKED.value}</FlagValue>"
        for group, items in item_groups(form, include_text):
            head = f'<ItemGroupData ItemGroupOID="{attr(group_oid(form, respondent, group))}">\n'
            renders = tuple(
                (item.link_id, _RENDERS[item.type](form, respondent, item)) for item in items
            )
            groups.append((head, renders))
            for item, (_, render) in zip(items, renders, strict=True):
                if item.enable_when is not None and item.enable_when.conditions:
                    conditional[item.link_id] = (
                        item.enable_when,
                        render(None).replace(reached, asked),
                    )
        known = frozenset(item.link_id for item in form.answerable_items)
        return cls(form, respondent, form_oid(form, respondent), tuple(groups), conditional, known)

    def item_data(self, answers: Mapping[str, AnswerValue]) -> str:
        """Every ItemGroupData of one response; raises :class:`AnswerMisfit`."""
        parts: list[str] = []
        used = 0
        get = answers.get
        for head, renders in self.groups:
            parts.append(head)
            for link_id, render in renders:
                value = get(link_id)
                if value is not None:
                    used += 1
                elif link_id in self.conditional:
                    rule, not_asked = self.conditional[link_id]
                    if not rule_holds(rule, answers):
                        parts.append(not_asked)
                        continue
                parts.append(render(value))
            parts.append("</ItemGroupData>\n")
        if used != len(answers):
            # Only free text left out on purpose may go unwritten; anything else is an answer
            # to an item this form version does not have.
            unknown = sorted(key for key in answers if key not in self.known)
            if unknown:
                raise AnswerMisfit(unknown[0])
        return "".join(parts)


# ------------------------------------------------------------------------- one patient's data


def _flag(seq: int, value: str, kind: str, comment: str | None) -> str:
    note = f'<Comment SponsorOrSite="Sponsor">{text(comment)}</Comment>' if comment else ""
    return (
        f'<Annotation SeqNum="{seq}">{note}<Flag>'
        f'<FlagValue CodeListOID="{FLAG_LIST}">{value}</FlagValue>'
        f'<FlagType CodeListOID="{FLAG_TYPE_LIST}">{kind}</FlagType></Flag></Annotation>\n'
    )


def _audit(
    response: ExportResponse,
    when: datetime,
    *,
    record_id: str | None = None,
    user: str | None = None,
    edit_point: str | None = None,
    reason: str | None = None,
) -> str:
    opening = "<AuditRecord"
    if edit_point is not None:
        opening += f' EditPoint="{edit_point}"'
    if record_id is not None:
        opening += f' ID="{attr(record_id)}"'
    who = user if user is not None else user_oid(response.device_id)
    why = f"<ReasonForChange>{text(reason)}</ReasonForChange>" if reason else ""
    return (
        f'{opening}><UserRef UserOID="{attr(who)}"/>'
        f'<LocationRef LocationOID="{attr(location_oid(response.site))}"/>'
        f"<DateTimeStamp>{utc_timestamp(when)}</DateTimeStamp>{why}"
        f"<SourceID>{attr(response.envelope_sha256)}</SourceID></AuditRecord>\n"
    )


@dataclass(frozen=True, slots=True)
class SubjectText:
    """One patient's ``SubjectData`` and the ``AuditRecord`` elements kept for the end."""

    subject: str
    audit_records: str
    forms: int


def subject_data(
    patient: PatientRecord,
    plans: Mapping[tuple[str, str, str], FormPlan],
    visits: Sequence[str],
    *,
    deidentified: bool,
    status_time: datetime,
) -> SubjectText:
    """Render one patient. ``plans`` by (form id, version, respondent); ``visits`` in order."""
    by_visit: dict[str, list[ExportResponse]] = {}
    for response in patient.responses:
        if response.visit not in visits:
            raise ExportError(
                f"response {response.response_id} is for visit {response.visit!r}, which the "
                f"study protocol does not have; use one of {', '.join(visits)}"
            )
        by_visit.setdefault(response.visit, []).append(response)
    try:
        parts = [
            f'<SubjectData SubjectKey="{attr(patient.code)}">\n',
            f'<SiteRef LocationOID="{attr(location_oid(patient.site))}"/>\n',
        ]
    except NotXmlText:
        raise NotXmlText("a patient code holds a control character; correct the roster") from None
    audit: list[str] = []
    for visit in visits:
        responses = by_visit.get(visit)
        if not responses:
            continue
        parts.append(f'<StudyEventData StudyEventOID="{attr(event_oid(visit))}">\n')
        for response in responses:
            try:
                parts.append(_form_data(response, plans, deidentified))
                audit.append(_audits(response, deidentified, status_time))
            except NotXmlText:
                raise NotXmlText(
                    f"response {response.response_id}: a reason or code holds a control "
                    "character that XML cannot carry; correct it and export again"
                ) from None
        parts.append("</StudyEventData>\n")
    parts.append("</SubjectData>\n")
    return SubjectText("".join(parts), "".join(audit), len(patient.responses))


def _audits(response: ExportResponse, deidentified: bool, status_time: datetime) -> str:
    """The receipt, and the entered-in-error mark if any, kept for ``AuditRecords``."""
    rid = response.response_id
    found = _audit(response, response.received_at, record_id=f"AR.{rid}.received")
    if response.status is ResponseStatus.ENTERED_IN_ERROR:
        reason = None if deidentified else response.status_reason
        found += _audit(
            response,
            status_time,
            record_id=f"AR.{rid}.status",
            user=DATA_MANAGER,
            edit_point="DataManagement",
            reason=reason or "entered in error",
        )
    return found


def _form_data(
    response: ExportResponse, plans: Mapping[tuple[str, str, str], FormPlan], deidentified: bool
) -> str:
    key = (response.form_id, response.form_version, response.respondent)
    plan = plans.get(key)
    if plan is None:
        raise ExportError(
            f"response {response.response_id} is on form {response.form_id} "
            f"{response.form_version} answered by {response.respondent!r}, which no known form "
            "version has; add the form version to forms/versions/ or correct the response"
        )
    head = [
        f'<FormData FormOID="{attr(plan.oid)}" FormRepeatKey="{attr(response.response_id)}">\n',
        _audit(response, response.submitted_at),
    ]
    seq = 1
    if response.status is ResponseStatus.ENTERED_IN_ERROR:
        reason = None if deidentified else response.status_reason
        head.append(_flag(seq, ENTERED_IN_ERROR, RESPONSE_STATUS, reason))
        seq += 1
    elif response.status is ResponseStatus.SUPERSEDED:
        head.append(_flag(seq, SUPERSEDED, RESPONSE_STATUS, response.status_reason))
        seq += 1
    if response.out_of_window:
        reason = None if deidentified else response.out_of_window_reason
        head.append(_flag(seq, OUT_OF_WINDOW, VISIT_WINDOW, reason))
    try:
        body = plan.item_data(response.answers)
    except AnswerMisfit as misfit:
        raise answer_misfit(response, misfit.link_id) from None
    return "".join(head) + body + "</FormData>\n"


def plans_for(forms: Iterable[Form], *, include_text: bool) -> dict[tuple[str, str, str], FormPlan]:
    """A plan for every form version and each of its respondents."""
    return {
        (form.id, form.version, str(respondent)): FormPlan.of(
            form, str(respondent), include_text=include_text
        )
        for form in forms
        for respondent in form.respondents
    }
