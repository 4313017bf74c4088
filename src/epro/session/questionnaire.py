"""One respondent answering one form: the questionnaire state machine the kiosk drives.

Every answer is validated and written encrypted in its own transaction before the call
returns, so nothing typed is lost when the kiosk dies. The object keeps a decrypted copy of
the answers of its own response only; the store stays the source of truth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from epro.errors import SessionError
from epro.forms import validate_answer
from epro.forms.model import NA, SKIPPED, AnswerValue, Form, Item, ItemType
from epro.scoring import score_form
from epro.session.enablement import disabled_with_answers, enabled_items
from epro.session.submission import build_envelope, response_document
from epro.store.domain import AuditKind, OutboxEntry, ResponseMeta, ResponseStatus

if TYPE_CHECKING:
    from epro.crypto import DeviceKey
    from epro.scoring import ScoreResult
    from epro.store import Store
    from epro.store.hot import Transaction


@dataclass(frozen=True, slots=True)
class ReviewLine:
    """One line of the review screen: the item, its stored value, and whether it still blocks."""

    item: Item
    value: AnswerValue | None
    missing_required: bool


@dataclass(frozen=True, slots=True)
class SubmitResult:
    response_id: str
    submitted_at: datetime
    scores: ScoreResult
    envelope_sha256: str


def _identical(a: AnswerValue | None, b: AnswerValue | None) -> bool:
    return type(a) is type(b) and a == b


class QuestionnaireSession:
    """A live questionnaire for one response; made by ``SessionService.start`` or ``resume``."""

    def __init__(
        self,
        store: Store,
        form: Form,
        meta: ResponseMeta,
        answers: dict[str, AnswerValue],
        clock: Callable[[], datetime],
        device_key: Callable[[Transaction], DeviceKey] | None = None,
    ) -> None:
        self._store = store
        # The store decrypts the device key once per open store and keeps it.
        self._device_key = device_key or (lambda tx: tx.device_key())
        self.form = form
        self._meta = meta
        self._answers = answers
        self._shown: tuple[dict[str, AnswerValue], list[Item]] | None = None
        #: Items some ``enable_when`` looks at: only their answers can switch items on or off.
        self._conditions_on = frozenset(
            condition.question
            for shown in form.items
            if shown.enable_when is not None
            for condition in shown.enable_when.conditions
        )
        self._clock = clock
        self._closed: str | None = None
        #: Index into ``form.items`` of the item on screen. Moving only changes this copy; it is
        #: written with the next answer and at timeout, so a screen change costs no disk sync
        #: and a crash loses at most the moves since the last answer, never an answer.
        self._position = meta.position

    # --- identity ------------------------------------------------------------------------

    @property
    def response_id(self) -> str:
        return self._meta.id

    @property
    def language(self) -> str:
        return self._meta.language

    @property
    def respondent(self) -> str:
        return self._meta.respondent

    @property
    def patient(self) -> str:
        return self._meta.patient

    @property
    def visit(self) -> str:
        return self._meta.visit

    @property
    def status(self) -> ResponseStatus:
        return self._meta.status

    # --- reading -------------------------------------------------------------------------

    def items(self) -> list[Item]:
        """The enabled items in order, display items included."""
        # Worked out once per set of answers: the kiosk asks for it several times per screen,
        # and ``_answers`` is replaced (never changed in place) whenever an answer is stored.
        if self._shown is None or self._shown[0] is not self._answers:
            self._shown = (self._answers, enabled_items(self.form, self._answers))
        return list(self._shown[1])

    def _answerable(self) -> list[Item]:
        return [item for item in self.items() if item.type is not ItemType.DISPLAY]

    @property
    def index(self) -> int:
        """Position of the current item within :meth:`items`."""
        shown = self.items()
        if not shown:
            raise SessionError(f"form {self.form.id} has no item to show")
        order = {item.link_id: n for n, item in enumerate(self.form.items)}
        # The stored position counts over all items, so it survives items switching on and
        # off; if its item is disabled now, the next enabled one is current.
        for n, item in enumerate(shown):
            if order[item.link_id] >= self._position:
                return n
        return len(shown) - 1

    @property
    def current(self) -> Item:
        return self.items()[self.index]

    def value(self, link_id: str) -> AnswerValue | None:
        return self._answers.get(link_id)

    def progress(self) -> tuple[int, int]:
        """(answered, not-applicable or skipped items, enabled answerable items)."""
        answerable = self._answerable()
        done = sum(1 for item in answerable if item.link_id in self._answers)
        return done, len(answerable)

    def review(self) -> list[ReviewLine]:
        return [
            ReviewLine(
                item=item,
                value=self._answers.get(item.link_id),
                missing_required=item.required and item.link_id not in self._answers,
            )
            for item in self._answerable()
        ]

    def can_submit(self) -> bool:
        return self._closed is None and not any(line.missing_required for line in self.review())

    # --- answering -----------------------------------------------------------------------

    def answer(self, link_id: str, value: object) -> None:
        """Validate and store one answer at once (encrypted, one transaction, audited)."""
        item = self._enabled_item(link_id)
        if isinstance(value, str) and value == SKIPPED:
            raise SessionError(
                f"item {link_id}: a skip needs the respondent's confirmation; use skip()"
            )
        self._write(item, validate_answer(item, value), AuditKind.ANSWERED)

    def not_applicable(self, link_id: str) -> None:
        """Store "na" (instruments.md §2: an answer the instrument offers, not a skip)."""
        item = self._enabled_item(link_id)
        if not item.na_option:
            raise SessionError(f"item {link_id} has no 'not applicable' answer; pick an answer")
        self._write(item, NA, AuditKind.ANSWERED)

    def skip(self, link_id: str, *, confirmed: bool) -> None:
        """Store "skipped" once the respondent has confirmed (instruments.md §5)."""
        item = self._enabled_item(link_id)
        if not confirmed:
            raise SessionError(
                f"item {link_id}: skipping needs a confirmation; ask 'skip this question?' first"
            )
        if not item.allow_skip:
            raise SessionError(f"item {link_id} cannot be skipped; it needs an answer")
        self._write(item, SKIPPED, AuditKind.SKIPPED)

    def _enabled_item(self, link_id: str) -> Item:
        self._require_open()
        try:
            item = self.form.item(link_id)
        except KeyError:
            raise SessionError(
                f"form {self.form.id} has no item {link_id!r}; check the variable name"
            ) from None
        if item.type is ItemType.DISPLAY:
            raise SessionError(f"item {link_id} only shows text; it takes no answer")
        if link_id not in {shown.link_id for shown in self.items()}:
            raise SessionError(
                f"item {link_id} is not asked with the answers given so far; "
                "it cannot be answered now"
            )
        return item

    def _write(self, item: Item, value: AnswerValue, kind: AuditKind) -> None:
        previous = self._answers.get(item.link_id)
        if _identical(previous, value):
            return
        if previous is not None and kind is AuditKind.ANSWERED:
            kind = AuditKind.CHANGED
        after = {**self._answers, item.link_id: value}
        if item.link_id in self._conditions_on:
            shown = enabled_items(self.form, after)
        else:
            shown = self.items()  # no condition reads this item: what is shown stays the same
        cleared = disabled_with_answers(self.form, after, shown)
        # Plain SQL on the store's cached connection: this runs for every answer, and the
        # ORM's per-call work would cost more than the encryption and the fsync together.
        with self._store.transaction() as tx:
            meta = self._fresh(tx)
            tx.put_answer(meta, item.link_id, value)
            # The audit never carries the value, only that the item was answered.
            tx.audit(kind, meta.respondent, response_id=meta.id, link_id=item.link_id)
            for link_id in cleared:
                tx.remove_answer(meta.id, link_id)
                tx.audit(
                    AuditKind.CLEARED,
                    "system",
                    response_id=meta.id,
                    link_id=link_id,
                    detail=f"disabled by the answer to {item.link_id}",
                )
            meta.position = self._position
            meta.updated_at = self._clock()
            tx.touch_response(meta)
            tx.commit()
        for link_id in cleared:
            after.pop(link_id)
        self._answers = after
        # Clearing the answers of disabled items changes no enablement (conditions only see
        # answers of enabled items), so ``shown`` is still the list for ``after``.
        self._shown = (after, shown)
        self._meta = meta

    # --- moving --------------------------------------------------------------------------

    def next(self) -> Item | None:
        """Move to the next enabled item (no answer needed: required is enforced at submit)."""
        shown, here = self.items(), self.index
        if here + 1 >= len(shown):
            return None
        return self._move_to(shown[here + 1])

    def back(self) -> Item | None:
        shown, here = self.items(), self.index
        if here == 0:
            return None
        return self._move_to(shown[here - 1])

    def go_to(self, link_id: str) -> Item:
        for item in self.items():
            if item.link_id == link_id:
                return self._move_to(item)
        raise SessionError(f"item {link_id!r} is not shown in this questionnaire now")

    def _move_to(self, item: Item) -> Item:
        self._require_open()
        self._position = self.form.link_ids.index(item.link_id)
        return item

    # --- ending --------------------------------------------------------------------------

    def timeout(self, *, actor: str = "system") -> None:
        """The kiosk locked for inactivity: the draft stays, only a nurse can resume it."""
        self._require_open()
        with self._store.transaction() as tx:
            meta = self._fresh(tx)
            meta.position = self._position
            meta.updated_at = self._clock()
            tx.touch_response(meta)
            tx.audit(AuditKind.TIMEOUT, actor, response_id=meta.id)
            tx.commit()
        self._closed = "this questionnaire timed out; a nurse can resume it"

    def submit(self, *, actor: str) -> SubmitResult:
        """Score, seal, sign and queue the response in one transaction (crash-safe)."""
        self._require_open()
        missing = [line.item.link_id for line in self.review() if line.missing_required]
        if missing:
            raise SessionError(
                f"{len(missing)} required question(s) have no answer yet "
                f"(first: {missing[0]}); answer, mark not applicable or skip them"
            )
        submitted_at = self._clock()
        with self._store.transaction() as tx:
            meta = self._fresh(tx)
            study_key = tx.study_public_key()
            if study_key is None:
                raise SessionError(
                    "this kiosk has no study public key yet, so it cannot seal responses; "
                    "enrol it with the study server first (the draft is kept)"
                )
            answers = tx.answers(meta)
            result = score_form(self.form.id, answers)
            document = response_document(
                meta,
                site=self._store.site,
                device_id=self._store.device_id,
                answers=answers,
                scores=result.scores,
                score_notes=result.notes,
                submitted_at=submitted_at,
            )
            envelope = build_envelope(
                meta,
                self.form,
                document=document,
                site=self._store.site,
                device_id=self._store.device_id,
                study_key=study_key,
                device_key=self._device_key(tx),
                submitted_at=submitted_at,
            )
            tx.add_outbox(
                OutboxEntry(
                    response_id=meta.id,
                    envelope_json=envelope.model_dump_json(),
                    sha256=envelope.sha256,
                    created_at=submitted_at,
                )
            )
            meta.status = ResponseStatus.SUBMITTED
            meta.submitted_at = submitted_at
            meta.updated_at = submitted_at
            tx.update_response(meta)
            tx.audit(AuditKind.SUBMIT, actor, response_id=meta.id)
            tx.commit()
        self._meta = meta
        self._closed = "this questionnaire has been submitted; it can no longer change"
        return SubmitResult(meta.id, submitted_at, result, envelope.sha256)

    # --- guards --------------------------------------------------------------------------

    def _require_open(self) -> None:
        if self._closed is not None:
            raise SessionError(self._closed)

    def _fresh(self, tx: Transaction) -> ResponseMeta:
        # Re-read inside the transaction: a nurse may have stopped this response meanwhile,
        # and a stale copy must never write its status back.
        meta = tx.response(self._meta.id)
        if meta is None or meta.status != ResponseStatus.IN_PROGRESS:
            state = "missing" if meta is None else meta.status.value.replace("_", " ")
            raise SessionError(f"response {self._meta.id} is {state}; it can no longer change")
        return meta
