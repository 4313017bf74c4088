"""Encrypted answers: every value is AES-256-GCM ciphertext bound to its row.

The associated data binds (response id, patient, form id, form version, key version, link_id),
so a ciphertext copied to another row, another response or another item does not authenticate.
Only this module and ``verify`` ever hold answer plaintext inside the store.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, cast

from sqlmodel import Session, col, delete, select

from epro.crypto import RecordCipher, record_aad
from epro.errors import CryptoError, StoreError
from epro.forms.model import AnswerValue
from epro.store.domain import ResponseMeta
from epro.store.tables import AnswerRow, ResponseRow

_UPSERT = (
    "INSERT INTO answers (response_id, link_id, key_version, ciphertext) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (response_id, link_id) DO UPDATE "
    "SET key_version = excluded.key_version, ciphertext = excluded.ciphertext"
)


def answer_aad(meta: ResponseMeta | ResponseRow, link_id: str, key_version: int) -> bytes:
    return record_aad(
        "epro-answer",
        meta.id,
        meta.patient,
        meta.form_id,
        meta.form_version,
        key_version,
        link_id,
    )


def canonical_answers(answers: dict[str, AnswerValue]) -> bytes:
    """The answers as canonical JSON (sorted keys, no spaces): what ``answers_digest`` hashes."""
    return json.dumps(answers, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def answers_digest(answers: dict[str, AnswerValue]) -> str:
    """SHA-256 (hex) of the canonical answers JSON: kept in ``responses.answers_sha256``.

    Computed once when the response is submitted (its answers never change after that), so
    that purging after the server's receipt deletes rows without decrypting them again.
    """
    return hashlib.sha256(canonical_answers(answers)).hexdigest()


def decrypt_answer(
    cipher: RecordCipher,
    meta: ResponseMeta | ResponseRow,
    link_id: str,
    key_version: int,
    ciphertext: bytes,
) -> Any:
    """The stored value, or CryptoError when the row does not authenticate."""
    return json.loads(cipher.decrypt(ciphertext, answer_aad(meta, link_id, key_version)))


class AnswerRepository:
    def __init__(self, session: Session, cipher: RecordCipher) -> None:
        self._session = session
        self._cipher = cipher

    def put(self, meta: ResponseMeta, link_id: str, value: AnswerValue) -> None:
        """Encrypt and store (insert or replace) one answer; written at once, not at Submit."""
        # The AAD is built from the stored row, so a caller's stale copy cannot mis-bind it.
        stored = self._require_response(meta)
        key_version = self._cipher.key_version
        blob = self._cipher.encrypt(
            json.dumps(value).encode(), answer_aad(stored, link_id, key_version)
        )
        # One plain UPSERT: this runs for every answer, and the ORM's per-statement work
        # would cost more than the encryption and the write together.
        self._session.connection().exec_driver_sql(_UPSERT, (meta.id, link_id, key_version, blob))

    def remove(self, meta: ResponseMeta, link_id: str) -> None:
        statement = delete(AnswerRow).where(
            col(AnswerRow.response_id) == meta.id, col(AnswerRow.link_id) == link_id
        )
        self._session.exec(statement)
        self._session.flush()

    def load(self, meta: ResponseMeta) -> dict[str, AnswerValue]:
        """All answers of a response, decrypted; StoreError names a row that fails to decrypt."""
        # Plain columns, not ORM objects: never a stale copy from this session's identity map.
        statement = (
            select(AnswerRow.link_id, AnswerRow.key_version, AnswerRow.ciphertext)
            .where(AnswerRow.response_id == meta.id)
            .order_by(col(AnswerRow.link_id))
        )
        stored = self._session.get(ResponseRow, meta.id) or meta
        answers: dict[str, AnswerValue] = {}
        for link_id, key_version, ciphertext in self._session.exec(statement):
            try:
                value = decrypt_answer(self._cipher, stored, link_id, key_version, ciphertext)
                answers[link_id] = cast(AnswerValue, value)
            except CryptoError:
                raise StoreError(
                    f"answer of response {meta.id} item {link_id} does not authenticate "
                    "(edited, swapped or damaged); run `epro verify` and report it"
                ) from None
        return answers

    def purge(self, meta: ResponseMeta) -> str:
        """Delete the answer ciphertext once the server holds the sealed copy.

        Returns the SHA-256 of the canonical answers JSON and sets ``meta.answers_sha256`` and
        ``meta.purged``; the caller saves ``meta`` with ``responses.update`` (and audits PURGE).
        """
        digest = answers_digest(self.load(meta))
        self._session.exec(delete(AnswerRow).where(col(AnswerRow.response_id) == meta.id))
        self._session.flush()
        meta.answers_sha256 = digest
        meta.purged = True
        return digest

    def _require_response(self, meta: ResponseMeta) -> ResponseRow:
        row = self._session.get(ResponseRow, meta.id)
        if row is None:
            raise StoreError(f"response {meta.id} is not in the store; add it before answering")
        if row.purged:
            raise StoreError(f"response {meta.id} was purged after upload; it takes no answers")
        return row
