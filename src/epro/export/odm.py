"""The CDISC ODM 1.3.2 adapter: ``odm/study.xml`` with metadata, sites, kiosks and all answers.

The metadata comes from the form files and the study protocol: one ``StudyEventDef`` per visit
with a ``FormRef`` to every known version of each form due there, one ``FormDef`` per form
version and respondent, an ``ItemGroupDef`` per item group, ``ItemDef`` elements typed after
the items (range checks from min and max) and a ``CodeList`` per choice item with its English
and Dutch labels. ``AdminData`` names every kiosk (``User``) and site (``Location``) the
answers came from. The metadata and admin data are built and OID-checked with odmlib; the
``ClinicalData`` is streamed as text patient by patient (:mod:`epro.export.odm_data`, where the
OID, missing-value and audit decisions are written down), so memory stays flat at any size.

Because ``AdminData`` precedes ``ClinicalData`` in the file but the kiosks are known only at the
end, the clinical data go to two temporary files next to ``study.xml`` and are copied behind
the metadata when the export finishes. This is the only module that imports odmlib.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Final
from xml.dom import minidom

import odmlib.odm_1_3_2.model as odm
from odmlib.exceptions import OdmlibError
from odmlib.oid_generator import create_oid_checker

import epro
from epro.errors import ExportError
from epro.export import odm_data as data
from epro.export.layout import form_versions
from epro.export.records import (
    MISSING_LABELS,
    ExportContext,
    Missing,
    PatientRecord,
    WrittenFile,
)
from epro.forms.answers import MAX_TEXT_LENGTH
from epro.forms.fhir import FORM_URL
from epro.forms.model import Form, FormKind, Item, ItemType, LocalText
from epro.protocol import utc_timestamp
from epro.schedule import Study, load_study

FOLDER: Final = "odm"
FILE_NAME: Final = "study.xml"

_FLAG_LABELS: Final[dict[str, LocalText]] = {
    Missing.NOT_APPLICABLE.value: {
        "en": MISSING_LABELS[Missing.NOT_APPLICABLE],
        "nl": "niet van toepassing (een antwoord dat het instrument biedt)",
    },
    Missing.SKIPPED.value: {
        "en": MISSING_LABELS[Missing.SKIPPED],
        "nl": "overgeslagen door de invuller, na een bevestiging",
    },
    Missing.NOT_REACHED.value: {
        "en": MISSING_LABELS[Missing.NOT_REACHED],
        "nl": "niet bereikt (het formulier is ingediend zonder antwoord op deze vraag)",
    },
    Missing.NOT_ASKED.value: {
        "en": MISSING_LABELS[Missing.NOT_ASKED],
        "nl": "niet gevraagd (door eerdere antwoorden sloeg het formulier deze vraag over)",
    },
    data.SUPERSEDED: {
        "en": "superseded: a later response of the same form and respondent at this visit is "
        "the one scored",
        "nl": "vervangen: een later antwoord op hetzelfde formulier bij dit bezoek telt",
    },
    data.ENTERED_IN_ERROR: {
        "en": "entered in error: kept in the data, left out of scores and analysis",
        "nl": "foutief ingevoerd: bewaard, maar niet in scores en analyse",
    },
    data.OUT_OF_WINDOW: {
        "en": "started outside the visit window by staff override",
        "nl": "buiten het bezoekvenster gestart, met toestemming van het personeel",
    },
}
_FLAG_TYPE_LABELS: Final[dict[str, LocalText]] = {
    data.RESPONSE_STATUS: {"en": "standing of a response", "nl": "status van een antwoord"},
    data.VISIT_WINDOW: {"en": "visit window", "nl": "bezoekvenster"},
}
_YES_NO: Final[dict[str, LocalText]] = {
    "0": {"en": "no", "nl": "nee"},
    "1": {"en": "yes", "nl": "ja"},
}


def odm_writer(study: Study | None = None) -> OdmWriter:
    """The ODM adapter; ``study`` defaults to the shipped ``forms/study.toml``."""
    return OdmWriter(study)


@dataclass(frozen=True, slots=True)
class OdmPart:
    """One patient's share of ``study.xml``, rendered ahead (see :class:`OdmRenderer`)."""

    subject: str
    audit_records: str
    forms: int
    #: Every (kiosk, site) pair the patient's responses came from.
    kiosks: tuple[tuple[str, str], ...]
    #: Each site's earliest day among the patient's responses and the bundle's day.
    first_days: tuple[tuple[str, date], ...]


class OdmRenderer:
    """A patient's ``SubjectData``, audit records and admin facts, in any process (a
    PatientRenderer); the item plans are made on first use, where it renders."""

    def __init__(self, context: ExportContext, visits: tuple[str, ...]) -> None:
        self._context = context
        self._visits = visits
        self._plans: dict[tuple[str, str, str], data.FormPlan] | None = None

    def __getstate__(self) -> dict[str, object]:
        # The plans hold closures: they are made again where the renderer runs.
        return {"context": self._context, "visits": self._visits}

    def __setstate__(self, state: dict[str, object]) -> None:
        context, visits = state["context"], state["visits"]
        assert isinstance(context, ExportContext)
        assert isinstance(visits, tuple)
        self._context, self._visits, self._plans = context, visits, None

    def render(self, patient: PatientRecord) -> OdmPart:
        context = self._context
        if self._plans is None:
            self._plans = data.plans_for(
                context.forms.values(), include_text=not context.deidentified
            )
        found = data.subject_data(
            patient,
            self._plans,
            self._visits,
            deidentified=context.deidentified,
            status_time=context.created_at,
        )
        kiosks: dict[tuple[str, str], None] = {}
        days: dict[str, date] = {}
        for response in patient.responses:
            kiosks[(response.device_id, response.site)] = None
            _earliest(days, response.site, response.submitted_at.date())
        _earliest(days, patient.site, context.created_at.date())
        return OdmPart(
            found.subject, found.audit_records, found.forms, tuple(kiosks), tuple(days.items())
        )


def _earliest(days: dict[str, date], site: str, day: date) -> None:
    if site not in days or day < days[site]:
        days[site] = day


class OdmWriter:
    """Writes ``odm/study.xml``: a FormatWriter (``begin``, ``add_patient``, ``finish``)."""

    def __init__(self, study: Study | None = None) -> None:
        self._study = study

    def begin(self, out: Path, context: ExportContext) -> None:
        study = self._study if self._study is not None else load_study()
        if study.id != context.study_id:
            raise ExportError(
                f"the study protocol is {study.id!r} but the bundle is of {context.study_id!r}; "
                "export with the protocol file of the bundle's study"
            )
        self._context = context
        self._forms = 0
        self._visits = [visit.code for visit in study.visits]
        include_text = not context.deidentified
        self._metadata = _study_element(study, context, include_text)
        _check_oids(odm.ODM(**_root_attributes(context), Study=[self._metadata]))
        self._kiosks: dict[str, set[str]] = {}
        self._sites: dict[str, date] = {}
        self._folder = out / FOLDER
        self._subjects = _open(self._folder / f".{FILE_NAME}.subjects.part")
        self._audit = _open(self._folder / f".{FILE_NAME}.audit.part")
        self._renderer = self.renderer()

    def renderer(self) -> OdmRenderer:
        return OdmRenderer(self._context, tuple(self._visits))

    def add_patient(self, patient: PatientRecord) -> None:
        try:
            part = self._renderer.render(patient)
        except BaseException:
            # A half-written export must not look like a finished one.
            self._discard()
            raise
        self.add_part(part)

    def add_part(self, part: OdmPart) -> None:
        try:
            self._subjects.write(part.subject)
            self._audit.write(part.audit_records)
        except BaseException:
            # A half-written export must not look like a finished one.
            self._discard()
            raise
        self._forms += part.forms
        for device, site in part.kiosks:
            self._kiosks.setdefault(device, set()).add(site)
        for site, day in part.first_days:
            self._first_day(site, day)

    def _discard(self) -> None:
        for part in (self._subjects, self._audit):
            part.close()
            Path(part.name).unlink(missing_ok=True)

    def _first_day(self, site: str, day: date) -> None:
        """The site's earliest submission: when this metadata took effect there."""
        if site not in self._sites or day < self._sites[site]:
            self._sites[site] = day

    def finish(self) -> list[WrittenFile]:
        context = self._context
        root = odm.ODM(
            **_root_attributes(context),
            Study=[self._metadata],
            AdminData=[self._admin_data()],
        )
        _check_oids(root)
        head = minidom.parseString(root.to_xml_string()).toprettyxml(indent="  ")
        # minidom's declaration names no encoding; the file is UTF-8 and says so.
        head = head.split("\n", 1)[1].rstrip()
        closing = "</ODM>"
        if not head.endswith(closing):  # pragma: no cover - odmlib always writes a Study
            raise ExportError("the ODM metadata could not be serialised")
        self._subjects.close()
        self._audit.close()
        subjects, audit = Path(self._subjects.name), Path(self._audit.name)
        target = self._folder / FILE_NAME
        study = data.attr(data.study_oid(context.study_id))
        version = data.attr(data.metadata_oid(context.study_version))
        opening = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            + head[: -len(closing)].rstrip()
            + f'\n<ClinicalData StudyOID="{study}" MetaDataVersionOID="{version}">\n'
        )
        try:
            # Bytes copied as they are: the parts are UTF-8 already.
            with target.open("wb") as out:
                out.write(opening.encode("utf-8"))
                _append(out, subjects)
                if audit.stat().st_size:
                    out.write(b"<AuditRecords>\n")
                    _append(out, audit)
                    out.write(b"</AuditRecords>\n")
                out.write(b"</ClinicalData>\n</ODM>\n")
        except OSError as error:
            target.unlink(missing_ok=True)
            raise ExportError(
                f"cannot write {target}: {error.strerror}; free space and retry"
            ) from None
        finally:
            subjects.unlink(missing_ok=True)
            audit.unlink(missing_ok=True)
        return [WrittenFile(Path(FOLDER) / FILE_NAME, rows=self._forms)]

    def _admin_data(self) -> odm.AdminData:
        context = self._context
        study = data.study_oid(context.study_id)
        version = data.metadata_oid(context.study_version)
        users = [
            odm.User(
                OID=data.user_oid(device),
                UserType="Other",
                DisplayName=odm.DisplayName(_content=f"kiosk {device}"),
                LocationRef=[
                    odm.LocationRef(LocationOID=data.location_oid(site)) for site in sorted(sites)
                ],
            )
            for device, sites in sorted(self._kiosks.items())
        ]
        users.append(
            odm.User(
                OID=data.DATA_MANAGER,
                UserType="Sponsor",
                DisplayName=odm.DisplayName(_content="data manager"),
            )
        )
        locations = [
            odm.Location(
                OID=data.location_oid(site),
                Name=site,
                LocationType="Site",
                MetaDataVersionRef=[
                    odm.MetaDataVersionRef(
                        StudyOID=study,
                        MetaDataVersionOID=version,
                        EffectiveDate=first.isoformat(),
                    )
                ],
            )
            for site, first in sorted(self._sites.items())
        ]
        return odm.AdminData(StudyOID=study, User=users, Location=locations)


def _root_attributes(context: ExportContext) -> dict[str, str]:
    stamp = utc_timestamp(context.created_at)
    # The bundle's time names the file: the same bundle gives the same FileOID.
    compact = stamp.replace("-", "").replace(":", "").split(".")[0] + "Z"
    return {
        "Description": f"{context.study_id} export",
        "FileType": "Snapshot",
        "Granularity": "All",
        "FileOID": f"EPRO.{context.study_id}.{compact}",
        "CreationDateTime": stamp,
        "AsOfDateTime": stamp,
        "ODMVersion": "1.3.2",
        "Originator": "epro",
        "SourceSystem": "epro",
        "SourceSystemVersion": epro.__version__,
    }


def _check_oids(root: odm.ODM) -> None:
    """Every OID unique and every reference defined (odmlib's own checker)."""
    try:
        root.verify_oids(create_oid_checker("odm_1_3_2"))
    except OdmlibError as error:
        raise ExportError(
            f"the ODM metadata has a clashing or dangling OID ({error}); two form, group or "
            "item names give the same OID: rename one in the form files"
        ) from None


def _open(path: Path) -> IO[str]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("w", encoding="utf-8", newline="\n", buffering=1 << 20)
    except OSError as error:
        raise ExportError(f"cannot write {path}: {error.strerror}; choose another --out") from None


def _append(out: IO[bytes], part: Path) -> None:
    with part.open("rb") as source:
        shutil.copyfileobj(source, out, 1 << 20)


# ------------------------------------------------------------------------------- metadata


def _translated(texts: LocalText) -> list[odm.TranslatedText]:
    return [odm.TranslatedText(lang=lang, _content=value) for lang, value in texts.items()]


def _study_element(study: Study, context: ExportContext, include_text: bool) -> odm.Study:
    versions = form_versions(context.forms)
    metadata = odm.MetaDataVersion(
        OID=data.metadata_oid(context.study_version),
        Name=f"{study.id} protocol {context.study_version or study.version}",
        Description="form versions: "
        + "; ".join(
            f"{fid} {', '.join(f.version for f in found)}" for fid, found in versions.items()
        ),
    )
    metadata.Protocol = odm.Protocol(
        StudyEventRef=[
            odm.StudyEventRef(StudyEventOID=data.event_oid(v.code), OrderNumber=n, Mandatory="Yes")
            for n, v in enumerate(study.visits, start=1)
        ]
    )
    for visit in study.visits:
        metadata.StudyEventDef.append(_event(visit.code, study, versions))
    for found in versions.values():
        for form in found:
            for respondent in form.respondents:
                _add_form(metadata, form, str(respondent), include_text)
    for form in (form for found in versions.values() for form in found):
        for item in form.answerable_items:
            if item.type is ItemType.CHOICE:
                metadata.CodeList.append(_choices(form, item))
    metadata.CodeList.append(_codes(data.YES_NO_LIST, "yes or no", "integer", _YES_NO))
    metadata.CodeList.append(_codes(data.FLAG_LIST, "epro flags", "text", _FLAG_LABELS))
    metadata.CodeList.append(
        _codes(data.FLAG_TYPE_LIST, "epro flag types", "text", _FLAG_TYPE_LABELS)
    )
    return odm.Study(
        OID=data.study_oid(study.id),
        GlobalVariables=odm.GlobalVariables(
            StudyName=odm.StudyName(_content=study.id),
            StudyDescription=odm.StudyDescription(_content=study.title),
            ProtocolName=odm.ProtocolName(_content=f"{study.id} {study.version}".strip()),
        ),
        MetaDataVersion=[metadata],
    )


def _event(code: str, study: Study, versions: dict[str, list[Form]]) -> odm.StudyEventDef:
    visit = study.visit(code)
    refs: list[odm.FormRef] = []
    for form_id in visit.forms:
        if form_id not in versions:
            raise ExportError(
                f"visit {code} of the protocol lists form {form_id!r}, which the export does not "
                "know; add its form file to forms/ or forms/versions/"
            )
        for form in versions[form_id]:
            for respondent in form.respondents:
                refs.append(
                    odm.FormRef(
                        FormOID=data.form_oid(form, str(respondent)),
                        OrderNumber=len(refs) + 1,
                        Mandatory="No",  # who answers depends on the age at the visit
                    )
                )
    window = f"{visit.window_before_days} days before to {visit.window_after_days} days after"
    return odm.StudyEventDef(
        OID=data.event_oid(code),
        Name=visit.name or code,
        Repeating="No",
        Type="Scheduled",
        Description=odm.Description(
            TranslatedText=[
                odm.TranslatedText(lang="en", _content=f"week {visit.week}; window {window}")
            ]
        ),
        FormRef=refs,
    )


def _add_form(metadata: odm.MetaDataVersion, form: Form, respondent: str, text: bool) -> None:
    oid = data.form_oid(form, respondent)
    who = "" if form.kind is FormKind.STAFF else f" ({respondent})"
    group_refs: list[odm.ItemGroupRef] = []
    titles = {g.id: g.text for g in form.groups}
    for n, (group, items) in enumerate(data.item_groups(form, text), start=1):
        group_oid = data.group_oid(form, respondent, group)
        label = titles[group] if group is not None else form.title
        item_refs: list[odm.ItemRef] = []
        for item in items:
            for column in data.item_columns(form, respondent, item):
                mandatory = "Yes" if item.required else "No"
                item_refs.append(
                    odm.ItemRef(
                        ItemOID=column.oid, OrderNumber=len(item_refs) + 1, Mandatory=mandatory
                    )
                )
                metadata.ItemDef.append(_item(form, respondent, item, column))
        metadata.ItemGroupDef.append(
            odm.ItemGroupDef(
                OID=group_oid,
                Name=f"{label.get('en', group or form.id)}{who}",
                Repeating="No",
                Description=odm.Description(TranslatedText=_translated(label)),
                ItemRef=item_refs,
            )
        )
        group_refs.append(odm.ItemGroupRef(ItemGroupOID=group_oid, OrderNumber=n, Mandatory="Yes"))
    metadata.FormDef.append(
        odm.FormDef(
            OID=oid,
            Name=f"{form.title.get('en', form.id)}{who} {form.version}",
            # One respondent may have several responses at a visit (one entered in error).
            Repeating="Yes",
            Description=odm.Description(TranslatedText=_translated(form.title)),
            ItemGroupRef=group_refs,
            Alias=[
                odm.Alias(Context="SHA-256 of the form file", Name=form.sha256),
                odm.Alias(Context="FHIR Questionnaire", Name=f"{FORM_URL}{form.id}|{form.version}"),
            ],
        )
    )


_DATA_TYPES: Final = {
    ItemType.CHECKLIST: "integer",
    ItemType.BOOLEAN: "integer",
    ItemType.INTEGER: "integer",
    ItemType.VAS: "integer",
    ItemType.DECIMAL: "float",
    ItemType.CIRCLES21: "float",
    ItemType.DATE: "date",
    ItemType.TEXT: "text",
}


def _choice_type(item: Item) -> str:
    return "integer" if all(isinstance(code, int) for code in item.codes) else "text"


def _item(form: Form, respondent: str, item: Item, column: data.Column) -> odm.ItemDef:
    option = column.option
    question = {lang: item.text_for(lang, respondent) for lang in form.languages}
    aliases = [odm.Alias(Context="linkId", Name=item.link_id)]
    if option is not None:
        labels = next(o.text for o in item.options if o.code == option)
        question = {lang: f"{q}: {labels.get(lang, option)}" for lang, q in question.items()}
        aliases.append(odm.Alias(Context="option", Name=str(option)))
    kind = _choice_type(item) if item.type is ItemType.CHOICE else _DATA_TYPES[item.type]
    definition = odm.ItemDef(
        OID=column.oid,
        Name=column.name,
        DataType=kind,
        Question=odm.Question(TranslatedText=_translated(question)),
        Alias=aliases,
    )
    if item.type is ItemType.TEXT:
        definition.Length = MAX_TEXT_LENGTH
    whole = kind == "integer"
    for comparator, bound in (("GE", item.min), ("LE", item.max)):
        if bound is not None:
            definition.RangeCheck.append(
                odm.RangeCheck(
                    Comparator=comparator,
                    SoftHard="Hard",
                    CheckValue=[odm.CheckValue(_content=data.format_number(bound, whole))],
                )
            )
    if item.type is ItemType.CHOICE:
        definition.CodeListRef = odm.CodeListRef(CodeListOID=data.codelist_oid(form, item.link_id))
    elif item.type in (ItemType.CHECKLIST, ItemType.BOOLEAN):
        definition.CodeListRef = odm.CodeListRef(CodeListOID=data.YES_NO_LIST)
    return definition


def _choices(form: Form, item: Item) -> odm.CodeList:
    return odm.CodeList(
        OID=data.codelist_oid(form, item.link_id),
        Name=f"{item.link_id} ({form.id} {form.version})",
        DataType=_choice_type(item),
        CodeListItem=[
            odm.CodeListItem(
                CodedValue=str(option.code),
                OrderNumber=n,
                Decode=odm.Decode(TranslatedText=_translated(option.text)),
            )
            for n, option in enumerate(item.options, start=1)
        ],
    )


def _codes(oid: str, name: str, kind: str, labels: dict[str, LocalText]) -> odm.CodeList:
    return odm.CodeList(
        OID=oid,
        Name=name,
        DataType=kind,
        CodeListItem=[
            odm.CodeListItem(
                CodedValue=code,
                OrderNumber=n,
                Decode=odm.Decode(TranslatedText=_translated(texts)),
            )
            for n, (code, texts) in enumerate(labels.items(), start=1)
        ],
    )
