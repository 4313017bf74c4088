"""``verify``: is the file whole, does every ciphertext authenticate, is the audit chain intact?

Each problem names its record precisely, in the order found: SQLite's own integrity check,
foreign keys, the device key, every answer (by response and item), the stored answers hash of
every submitted response that still has its answers, secret settings, the MAC of every
security setting (``epro.store.trust``), then the audit chain up to its first break (after a
break every later link differs, so one is enough) — keyed links checked under the audit key,
those written before the chain was keyed by their plain hash.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from epro.errors import CryptoError
from epro.forms.model import AnswerValue
from epro.store import trust
from epro.store.answers import answers_digest, decrypt_answer
from epro.store.audit import check_chain
from epro.store.audit_keying import keyed_from
from epro.store.keys import device_key_aad, setting_aad
from epro.store.tables import AnswerRow, AuditRow, DeviceRow, ResponseRow, SettingRow
from epro.store.unit_of_work import StoreContext

#: Beyond this many broken answers (or answer hashes) the report only counts them.
MAX_LISTED = 50


@dataclass(slots=True)
class VerifyReport:
    ok: bool
    problems: list[str] = field(default_factory=list)
    responses: int = 0
    answers: int = 0
    audit_events: int = 0

    def summary(self) -> str:
        if self.ok:
            return (
                f"ok: {self.responses} responses, {self.answers} answers, "
                f"{self.audit_events} audit events"
            )
        return f"{len(self.problems)} problem(s); the first: {self.problems[0]}"


def verify_store(context: StoreContext) -> VerifyReport:
    problems: list[str] = []
    with Session(context.engine) as session:
        raw = session.connection().connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        problems += _sqlite_checks(raw)
        cipher = context.cipher

        for device in session.exec(select(DeviceRow)):
            try:
                cipher.decrypt(
                    device.private_key_enc, device_key_aad(device.id, cipher.key_version)
                )
            except CryptoError:
                problems.append(f"device key of device {device.id} does not authenticate")

        responses = {row.id: row for row in session.exec(select(ResponseRow))}
        answer_rows = session.exec(
            select(AnswerRow).order_by(col(AnswerRow.response_id), col(AnswerRow.link_id))
        ).all()
        # The answers of the responses whose hash is checked below, kept from this one pass.
        hashed: dict[str, dict[str, AnswerValue]] = {
            row.id: {} for row in responses.values() if row.answers_sha256 and not row.purged
        }
        unreadable: set[str] = set()
        broken = 0
        for answer in answer_rows:
            owner = responses.get(answer.response_id)
            if owner is None:
                message = f"answer of response {answer.response_id} item {answer.link_id} "
                message += "belongs to no response"
            else:
                try:
                    value = decrypt_answer(
                        cipher, owner, answer.link_id, answer.key_version, answer.ciphertext
                    )
                    if owner.id in hashed:
                        hashed[owner.id][answer.link_id] = value
                    continue
                except CryptoError:
                    unreadable.add(owner.id)
                    message = (
                        f"answer of response {answer.response_id} item {answer.link_id} "
                        "does not authenticate"
                    )
            broken += 1
            if broken <= MAX_LISTED:
                problems.append(message)
        if broken > MAX_LISTED:
            problems.append(f"... and {broken - MAX_LISTED} more answers that do not authenticate")
        problems += _hash_checks(responses, hashed, unreadable)

        for setting in session.exec(select(SettingRow).where(col(SettingRow.secret).is_(True))):
            try:
                cipher.decrypt(
                    setting.ciphertext or b"", setting_aad(setting.name, cipher.key_version)
                )
            except CryptoError:
                problems.append(f"setting {setting.name} does not authenticate")
        problems += trust_problems(raw, context)

        audit_rows = list(session.exec(select(AuditRow).order_by(col(AuditRow.seq))))
        start, keying_problem = keyed_from(raw, context.audit_key)
        if keying_problem is not None:
            problems.append(keying_problem)
        chain_problem = check_chain(audit_rows, context.audit_key, start)
        if chain_problem is not None:
            problems.append(chain_problem)
        session.rollback()
    return VerifyReport(
        ok=not problems,
        problems=problems,
        responses=len(responses),
        answers=len(answer_rows),
        audit_events=len(audit_rows),
    )


def trust_problems(raw: sqlite3.Connection, context: StoreContext) -> list[str]:
    """One line per security setting whose MAC fails, saying what to do about it."""
    bad = trust.failing(raw.execute, context.cipher, context.settings_key)
    return [
        f"security setting {name} ({trust.DESCRIPTIONS[name]}) does not authenticate: it was "
        "changed outside epro and is not used; restore the kiosk file from a backup, or set "
        "the kiosk up again and re-enrol it"
        for name in bad
    ]


def _hash_checks(
    responses: dict[str, ResponseRow],
    hashed: dict[str, dict[str, AnswerValue]],
    unreadable: set[str],
) -> list[str]:
    """Compare each stored answers hash with the hash of the answers still held.

    The hash is computed at Submit and purging keeps it without recomputing it, so a damaged
    or edited hash must be caught while the answers that can expose it are still here.
    A response with an answer that does not authenticate is already named above and skipped
    here. The message names the response only: neither answers nor hashes, since the hash of
    a short answer set reveals its values to anyone who tries them all.
    """
    problems: list[str] = []
    mismatched = 0
    for response_id, answers in sorted(hashed.items()):
        if response_id in unreadable:
            continue
        if answers_digest(answers) == responses[response_id].answers_sha256:
            continue
        mismatched += 1
        if mismatched <= MAX_LISTED:
            problems.append(
                f"response {response_id}: the stored answers hash does not match its answers"
            )
    if mismatched > MAX_LISTED:
        problems.append(
            f"... and {mismatched - MAX_LISTED} more responses whose answers hash does not match"
        )
    return problems


def _sqlite_checks(raw: sqlite3.Connection) -> list[str]:
    problems: list[str] = []
    results = [row[0] for row in raw.execute("PRAGMA integrity_check").fetchall()]
    if results != ["ok"]:
        problems.append("SQLite integrity check failed: " + "; ".join(results[:5]))
    for table, rowid, parent, _ in raw.execute("PRAGMA foreign_key_check").fetchall()[:5]:
        problems.append(f"{table} row {rowid} points to a missing {parent} record")
    orphans = raw.execute(
        "SELECT response_id FROM outbox "
        "WHERE response_id NOT IN (SELECT response_id FROM envelopes) "
        "ORDER BY response_id LIMIT ?",
        (MAX_LISTED + 1,),
    ).fetchall()
    for (response_id,) in orphans[:MAX_LISTED]:
        problems.append(f"outbox entry {response_id} has lost its sealed envelope")
    if len(orphans) > MAX_LISTED:
        problems.append("... and more outbox entries without their sealed envelope")
    return problems
