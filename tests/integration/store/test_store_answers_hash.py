"""``verify`` holds each stored answers hash against the answers while they are still there.

Purging after the server's receipt keeps only the hash stored at Submit, so a damaged or
edited hash must show up in ``epro verify`` before the answers that could expose it are gone.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from epro.cli import main
from epro.store import ResponseMeta, ResponseStatus, Store

from .conftest import PASSPHRASE

#: The answers the ``filled`` fixture stores, as the documented hash input.
FIRST_ANSWERS: dict[str, object] = {
    "chaq_dress_a": 1,
    "chaq_dress_b": "na",
    "chaq_devices": ["wheelchair", "jar_opener"],
}
SECOND_ANSWERS: dict[str, object] = {"vas_pain": 42}


def digest_of(answers: dict[str, object]) -> str:
    """SHA-256 of the canonical JSON, computed here independently of the store's code."""
    text = json.dumps(answers, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def raw_edit(path: Path, statement: str, *args: object) -> None:
    with sqlite3.connect(path) as raw:
        raw.execute(statement, args)
    raw.close()


@pytest.fixture
def submitted(store: Store, filled: list[ResponseMeta]) -> list[ResponseMeta]:
    """The ``filled`` responses, submitted with the hash of their answers (as Submit stores it)."""
    with store.unit_of_work() as uow:
        for meta, answers in zip(filled, (FIRST_ANSWERS, SECOND_ANSWERS), strict=True):
            meta.status = ResponseStatus.SUBMITTED
            meta.answers_sha256 = digest_of(answers)
            uow.responses.update(meta)
        uow.commit()
    return filled


def mismatch(response_id: str) -> str:
    return f"response {response_id}: the stored answers hash does not match its answers"


def test_an_untouched_store_with_stored_hashes_verifies_clean(
    store: Store, submitted: list[ResponseMeta]
) -> None:
    report = store.verify()
    assert (report.ok, report.problems) == (True, [])


def test_an_edited_hash_is_named_by_its_response_without_answers_or_hashes(
    store: Store, db_path: Path, submitted: list[ResponseMeta]
) -> None:
    first, second = submitted
    # Another plausible answer set's hash, as a forger would write: still the wrong one.
    forged = digest_of({**FIRST_ANSWERS, "chaq_dress_a": 3})
    raw_edit(db_path, "UPDATE responses SET answers_sha256 = ? WHERE id = ?", forged, first.id)

    report = store.verify()

    assert report.problems == [mismatch(first.id)]
    assert second.id not in " ".join(report.problems)
    assert forged not in report.problems[0]
    assert digest_of(FIRST_ANSWERS) not in report.problems[0]


def test_a_deleted_answer_no_longer_matches_the_stored_hash(
    store: Store, db_path: Path, submitted: list[ResponseMeta]
) -> None:
    # Every remaining row still authenticates; only the hash shows that one is missing.
    second = submitted[1]
    raw_edit(db_path, "DELETE FROM answers WHERE response_id = ?", second.id)
    assert store.verify().problems == [mismatch(second.id)]


def test_a_response_whose_answer_does_not_authenticate_is_named_once(
    store: Store, db_path: Path, submitted: list[ResponseMeta]
) -> None:
    first = submitted[0]
    raw_edit(
        db_path,
        "UPDATE answers SET ciphertext = zeroblob(40) WHERE response_id = ? AND link_id = ?",
        first.id,
        "chaq_dress_a",
    )
    assert store.verify().problems == [
        f"answer of response {first.id} item chaq_dress_a does not authenticate"
    ]


def test_drafts_and_purged_responses_have_no_answers_to_hold_a_hash_against(
    store: Store, db_path: Path, submitted: list[ResponseMeta]
) -> None:
    first, second = submitted
    # The first as after the server's receipt: answers gone, only the hash kept.
    raw_edit(db_path, "DELETE FROM answers WHERE response_id = ?", first.id)
    raw_edit(db_path, "UPDATE responses SET purged = 1 WHERE id = ?", first.id)
    # The second as a response submitted before hashes were stored.
    raw_edit(db_path, "UPDATE responses SET answers_sha256 = NULL WHERE id = ?", second.id)
    report = store.verify()
    assert (report.ok, report.problems) == (True, [])


def test_epro_verify_exits_non_zero_naming_the_response_with_the_edited_hash(
    store: Store,
    db_path: Path,
    submitted: list[ResponseMeta],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    second = submitted[1]
    monkeypatch.setenv("EPRO_PASSPHRASE", PASSPHRASE)
    store.close()
    assert main(["verify", "--db", str(db_path)]) == 0
    assert capsys.readouterr().out.startswith("ok: 2 responses, 4 answers, ")

    raw_edit(
        db_path,
        "UPDATE responses SET answers_sha256 = ? WHERE id = ?",
        digest_of({"vas_pain": 43}),
        second.id,
    )
    assert main(["verify", "--db", str(db_path)]) == 1
    output = capsys.readouterr()
    assert mismatch(second.id) in output.err
    assert "vas_pain" not in output.out + output.err
