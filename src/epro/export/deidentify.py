"""De-identified exports (``epro export --deidentify``): what changes, and how it stays stable.

* Patient codes become keyed pseudonyms (``P`` and 12 hex digits). A study code already hides
  the name, but the site's enrolment list links it to the child; the pseudonym cannot be
  linked back without the study private key.
* Every date and time of a patient moves by the same whole number of days, between
  ``-max_shift_days`` and ``+max_shift_days`` and never 0, so intervals between visits and the
  time of day stay true while calendar dates do not. Ages are computed from the true dates
  first, so they are exact. The birth month is left out.
* Response ids and receipt ids (time-ordered UUIDs: they carry the true time) and envelope
  hashes (which would find the envelope in a bundle) become keyed identifiers of the same
  shape; equal inputs give equal outputs, so the files still join.
* Free text goes: ``text`` items, every ``*_other`` answer and out-of-window reasons.

Both the pseudonyms and the shifts are HMAC-SHA256 of the true value under a key derived from
the study private key (:meth:`epro.crypto.StudyPrivateKey.derive_key`): the same bundle and key
always give the same de-identified export, and nobody without the key can compute them. The
shift of a patient is never written anywhere.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Final

from epro.crypto import StudyPrivateKey
from epro.errors import ExportError
from epro.export.assemble import SUPERSEDED_REASON
from epro.export.problems import Problem
from epro.export.records import ExportResponse, PatientRecord, VisitRecord
from epro.forms.model import AnswerValue, Form, ItemType

#: ``--max-shift-days`` unless given.
DEFAULT_MAX_SHIFT_DAYS: Final = 180
_PURPOSE: Final = b"epro export de-identification v1"


def _is_free_text(form: Form | None, link_id: str) -> bool:
    if link_id.endswith("_other"):
        return True
    if form is None or link_id not in form.link_ids:
        return False
    return form.item(link_id).type is ItemType.TEXT


class Deidentifier:
    """Keyed pseudonyms and date shifts for one export (see the module docstring)."""

    def __init__(self, key: bytes, max_shift_days: int = DEFAULT_MAX_SHIFT_DAYS) -> None:
        if max_shift_days < 1:
            raise ExportError("the largest date shift must be at least 1 day")
        self._key = key
        self.max_shift_days = max_shift_days

    @classmethod
    def from_study_key(cls, study_key: StudyPrivateKey, max_shift_days: int) -> Deidentifier:
        return cls(study_key.derive_key(_PURPOSE), max_shift_days)

    def _mac(self, purpose: str, value: str) -> bytes:
        message = purpose.encode() + b"\x00" + value.encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def patient_code(self, code: str) -> str:
        return "P" + self._mac("patient", code)[:6].hex().upper()

    def shift(self, code: str) -> timedelta:
        """The patient's date shift: ±1 … ±max_shift_days whole days."""
        number = int.from_bytes(self._mac("shift", code)[:8], "big")
        days = 1 + (number >> 1) % self.max_shift_days
        return timedelta(days=-days if number & 1 else days)

    def identifier(self, kind: str, value: str) -> str:
        """A keyed stand-in for an id, in UUID form (version 8: "custom", RFC 9562)."""
        raw = bytearray(self._mac(kind, value)[:16])
        raw[6] = raw[6] & 0x0F | 0x80
        raw[8] = raw[8] & 0x3F | 0x80
        text = raw.hex()
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def digest(self, value: str) -> str:
        return self._mac("sha256", value).hex()

    def problem(self, problem: Problem) -> Problem:
        """A ``problems.csv`` row naming the patient and response as the export writes them."""
        return dataclasses.replace(
            problem,
            patient=self.patient_code(problem.patient) if problem.patient else "",
            response_id=(
                self.identifier("response", problem.response_id) if problem.response_id else ""
            ),
        )

    def patient(
        self, record: PatientRecord, forms: Mapping[tuple[str, str], Form]
    ) -> PatientRecord:
        """``record`` de-identified; the visits keep their (true-date) ages and scores."""
        shift = self.shift(record.code)
        code = self.patient_code(record.code)
        responses = {r.response_id: self._response(r, code, shift, forms) for r in record.responses}
        visits = [
            VisitRecord(
                visit=visit.visit,
                visit_date=visit.visit_date + shift,
                age_years=visit.age_years,
                responses=[responses[r.response_id] for r in visit.responses],
                scores=visit.scores,
                notes=visit.notes,
            )
            for visit in record.visits
        ]
        return PatientRecord(
            code=code,
            site=record.site,
            birth_ym=None,
            baseline_date=None if record.baseline_date is None else record.baseline_date + shift,
            visits=visits,
            responses=list(responses.values()),
        )

    def _response(
        self,
        response: ExportResponse,
        code: str,
        shift: timedelta,
        forms: Mapping[tuple[str, str], Form],
    ) -> ExportResponse:
        form = forms.get((response.form_id, response.form_version))
        answers: dict[str, AnswerValue] = {}
        for link_id, value in response.answers.items():
            if _is_free_text(form, link_id):
                continue
            if (
                form is not None
                and isinstance(value, str)
                and link_id in form.link_ids
                and form.item(link_id).type is ItemType.DATE
            ):
                value = (date.fromisoformat(value) + shift).isoformat()
            answers[link_id] = value
        return dataclasses.replace(
            response,
            response_id=self.identifier("response", response.response_id),
            receipt_id=self.identifier("receipt", response.receipt_id),
            envelope_sha256=self.digest(response.envelope_sha256),
            patient=code,
            started_at=_moved(response.started_at, shift),
            submitted_at=_moved(response.submitted_at, shift),
            received_at=_moved(response.received_at, shift),
            out_of_window_reason=None,
            # Only the pipeline's own fixed wording stays; a data manager's note is free text.
            status_reason=(
                response.status_reason if response.status_reason == SUPERSEDED_REASON else None
            ),
            answers=answers,
        )


def _moved(moment: datetime, shift: timedelta) -> datetime:
    return moment + shift
