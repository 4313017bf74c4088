"""The questionnaire session service: start, resume, stop and acknowledge responses.

The kiosk, the demo and the sync client go through this service; it enforces the study
protocol (known patient, visit and form; respondent allowed at the patient's age; the visit
window or a staff reason) before anything is written, and audits every transition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from epro.errors import ScheduleError, SessionError
from epro.forms.model import Form
from epro.schedule import age_at, in_window
from epro.session.questionnaire import QuestionnaireSession
from epro.store.domain import AuditKind, ResponseMeta, ResponseStatus, new_response_id
from epro.store.hot import ResponseState, Transaction

if TYPE_CHECKING:
    from epro.schedule import Study
    from epro.store import Store, UnitOfWork

#: Statuses after which a second response to the same visit, form and respondent is refused.
_TAKEN = (
    ResponseStatus.IN_PROGRESS,
    ResponseStatus.SUBMITTED,
    ResponseStatus.SENT,
    ResponseStatus.ACKNOWLEDGED,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


class SessionService:
    """Creates and ends questionnaire sessions on one store, for one study and set of forms."""

    def __init__(
        self,
        store: Store,
        forms: Mapping[str, Form],
        study: Study,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._forms = forms
        self._study = study
        self._clock = clock

    def today(self) -> date:
        # Visit windows are kept in the clinic's calendar days, so the kiosk's local date
        # counts, not the UTC one (a session at 00:30 in Utrecht is on that day's visit).
        return self._clock().astimezone().date()

    def start(
        self,
        *,
        patient: str,
        visit: str,
        form_id: str,
        respondent: str,
        language: str,
        actor: str,
        out_of_window_reason: str | None = None,
    ) -> QuestionnaireSession:
        """Check the request against the protocol, then create the response (in progress)."""
        form = self._form(form_id)
        if language not in form.languages:
            raise SessionError(
                f"form {form_id} has no language {language!r}; "
                f"use one of: {', '.join(form.languages)}"
            )
        try:
            scheduled = self._study.visit(visit)
        except ScheduleError as error:
            raise SessionError(str(error)) from None
        if form_id not in scheduled.forms:
            raise SessionError(
                f"form {form_id} is not part of visit {visit}; "
                f"that visit has: {', '.join(scheduled.forms) or 'no forms'}"
            )
        today = self.today()
        now = self._clock()
        reason = (out_of_window_reason or "").strip() or None
        with self._store.transaction() as tx:
            person = tx.patient(patient)
            if person is None:
                raise SessionError(
                    f"no patient {patient!r} is enrolled on this kiosk; enrol the study code first"
                )
            self._check_respondent(form_id, respondent, person.birth_ym, today)
            if in_window(self._study, person.baseline_date, visit, today):
                reason = None  # inside the window no override is recorded
            elif reason is None:
                raise SessionError(
                    f"today is outside the window of visit {visit} for {patient}; "
                    "a staff member must give a reason to start it anyway"
                )
            for other in tx.responses_of(patient, _TAKEN):
                if (other.visit, other.form_id, other.respondent) == (visit, form_id, respondent):
                    what = (
                        "a draft exists; resume it"
                        if other.status == ResponseStatus.IN_PROGRESS
                        else "it was already submitted"
                    )
                    raise SessionError(f"{form_id} for {patient} at {visit} ({respondent}): {what}")
            meta = ResponseMeta(
                id=new_response_id(now),
                patient=patient,
                visit=visit,
                form_id=form.id,
                form_version=form.version,
                form_sha256=form.sha256,
                respondent=respondent,
                language=language,
                status=ResponseStatus.IN_PROGRESS,
                started_at=now,
                updated_at=now,
                out_of_window_reason=reason,
            )
            tx.add_response(meta)
            tx.audit(
                AuditKind.SESSION_START,
                actor,
                response_id=meta.id,
                detail="out of window (staff override)" if reason else None,
            )
            tx.commit()
        return QuestionnaireSession(self._store, form, meta, {}, self._clock)

    def resume(self, response_id: str, *, actor: str) -> QuestionnaireSession:
        """Reopen a draft at the item where it stopped, with every stored answer."""
        with self._store.unit_of_work() as uow:
            meta = self._meta(uow, response_id)
            if meta.status != ResponseStatus.IN_PROGRESS:
                raise SessionError(
                    f"response {response_id} is {meta.status.value.replace('_', ' ')}; "
                    "only a draft can be resumed"
                )
            form = self._form(meta.form_id)
            if form.sha256 != meta.form_sha256:
                raise SessionError(
                    f"form {form.id} changed since this draft was started "
                    f"(version {meta.form_version} → {form.version}); stop the draft "
                    "and start the form again"
                )
            answers = uow.answers.load(meta)
            uow.audit.append(AuditKind.RESUME, actor, response_id=meta.id)
            uow.commit()
        return QuestionnaireSession(self._store, form, meta, answers, self._clock)

    def drafts(self, patient: str | None = None) -> list[ResponseMeta]:
        """Responses still in progress (oldest first), for one patient or all."""
        with self._store.unit_of_work() as uow:
            found = uow.responses.list(patient=patient, statuses=[ResponseStatus.IN_PROGRESS])
        return sorted(found, key=lambda meta: meta.started_at)

    def stop(self, response_id: str, *, actor: str, reason: str) -> None:
        """A nurse ends a draft for good; its answers stay encrypted on the kiosk."""
        if not reason.strip():
            raise SessionError("stopping a questionnaire needs a reason; type why it stops")
        with self._store.unit_of_work() as uow:
            meta = self._meta(uow, response_id)
            if meta.status != ResponseStatus.IN_PROGRESS:
                raise SessionError(
                    f"response {response_id} is {meta.status.value.replace('_', ' ')}; "
                    "only a draft can be stopped"
                )
            meta.status = ResponseStatus.STOPPED
            meta.updated_at = self._clock()
            uow.responses.update(meta)
            uow.audit.append(
                AuditKind.SESSION_STOP, actor, response_id=meta.id, detail=reason.strip()
            )
            uow.commit()

    def acknowledge(self, response_id: str, *, receipt_id: str, at: datetime) -> None:
        """The server holds the response: mark it and purge the local answer ciphertext.

        One transaction, so a crash leaves either the sent response with its answers or the
        acknowledged one without them — metadata and the answers' hash are always kept.
        """
        self.acknowledge_many([(response_id, receipt_id)], at=at)

    def acknowledge_many(self, receipts: Sequence[tuple[str, str]], *, at: datetime) -> None:
        """``acknowledge`` for many ``(response_id, receipt_id)`` pairs in ONE transaction.

        Same outcome as calling ``acknowledge`` for each pair in order: already acknowledged
        responses (and a repeated pair) change nothing, the first receipt of a response wins,
        and each purge is audited with the answers' hash. Every pair is checked before anything
        is written, so an unknown or unsent response raises and leaves the whole batch as it was.
        Set-based plain SQL on the store's hot path, and the answers' hash was stored at submit,
        so nothing is decrypted: this is what keeps a large sync fast.
        """
        first: dict[str, str] = {}
        for response_id, receipt_id in receipts:
            first.setdefault(response_id, receipt_id)
        if not first:
            return
        with self._store.transaction() as tx:
            now = self._clock()
            todo = list(first.items())
            digests = tx.acknowledge_submitted(todo, at=at, updated_at=now)
            if digests is None:  # something to skip or refuse: check each response first
                todo, states = self._acknowledgeable(tx, first)
                if not todo:
                    return
                digests = tx.acknowledge_many(todo, states, at=at, updated_at=now)
            tx.audit_many(
                AuditKind.PURGE,
                "system",
                [
                    (rid, f"receipt {receipt}; answers sha256 {digests[rid]}")
                    for rid, receipt in todo
                ],
            )
            tx.commit()

    @staticmethod
    def _acknowledgeable(
        tx: Transaction, first: dict[str, str]
    ) -> tuple[list[tuple[str, str]], dict[str, ResponseState]]:
        """The pairs still to acknowledge, with the states read to decide; SessionError for
        an unknown or unsent response."""
        states = tx.states(first)
        todo: list[tuple[str, str]] = []
        for response_id, receipt_id in first.items():
            state = states.get(response_id)
            if state is None:
                raise SessionError(f"no response {response_id} on this kiosk")
            if state.status == ResponseStatus.ACKNOWLEDGED:
                continue  # a repeated receipt changes nothing
            if state.status not in (ResponseStatus.SUBMITTED, ResponseStatus.SENT):
                raise SessionError(
                    f"response {response_id} is {state.status.value.replace('_', ' ')}; "
                    "only a submitted response can be acknowledged"
                )
            todo.append((response_id, receipt_id))
        return todo, states

    def _form(self, form_id: str) -> Form:
        form = self._forms.get(form_id)
        if form is None:
            raise SessionError(
                f"unknown form {form_id!r}; use one of: {', '.join(sorted(self._forms))}"
            )
        return form

    def _check_respondent(self, form_id: str, respondent: str, birth_ym: str, on: date) -> None:
        try:
            allowed = self._study.respondents_for(form_id, age_at(birth_ym, on))
        except ScheduleError as error:
            raise SessionError(str(error)) from None
        if respondent not in allowed:
            raise SessionError(
                f"respondent {respondent!r} does not answer {form_id} at this patient's age; "
                f"use: {', '.join(allowed) or 'nobody'}"
            )

    @staticmethod
    def _meta(uow: UnitOfWork, response_id: str) -> ResponseMeta:
        meta = uow.responses.get(response_id)
        if meta is None:
            raise SessionError(f"no response {response_id} on this kiosk")
        return meta
