"""Staff PINs: Argon2id hashes, five wrong tries lock the PIN for five minutes, all audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from epro.crypto import FAST_KDF
from epro.errors import StoreError
from epro.store import AuditKind, Store, init_store

from .conftest import NURSE, NURSE_PIN, PASSPHRASE

WRONG_PIN = "9731"


class Clock:
    """A settable clock, so the five-minute lock is tested without sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed_store(tmp_path: Path, clock: Clock) -> Store:
    return init_store(
        tmp_path / "kiosk.db",
        passphrase=PASSPHRASE,
        site="DEMO",
        nurse_name=NURSE,
        nurse_pin=NURSE_PIN,
        kdf=FAST_KDF,
        clock=clock,
    )


def wrong_tries(store: Store, count: int) -> list[bool]:
    results = []
    for _ in range(count):
        with store.unit_of_work() as uow:
            results.append(uow.staff.verify_pin(NURSE, WRONG_PIN))
            uow.commit()
    return results


def test_the_right_pin_verifies_and_a_wrong_one_does_not(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert uow.staff.verify_pin(NURSE, NURSE_PIN) is True
        assert uow.staff.verify_pin(NURSE, "4321") is False
        assert uow.staff.verify_pin("nobody", NURSE_PIN) is False


def test_the_pin_is_stored_only_as_an_argon2id_hash(store: Store, db_path: Path) -> None:
    with store.unit_of_work() as uow:
        uow.staff.add("bram", "86421357")
        uow.commit()
    store.close()
    assert b"86421357" not in db_path.read_bytes()


def test_the_fifth_wrong_pin_locks_it_and_says_until_when(timed_store: Store, clock: Clock) -> None:
    assert wrong_tries(timed_store, 4) == [False] * 4
    with (
        pytest.raises(StoreError, match=r"locked after 5 wrong tries, until 09:05 UTC"),
        timed_store.unit_of_work() as uow,
    ):
        uow.staff.verify_pin(NURSE, WRONG_PIN)
    with timed_store.unit_of_work() as uow:
        (member,) = uow.staff.list()
        assert member.locked_until == clock.now + timedelta(minutes=5)


def test_a_locked_pin_refuses_even_the_right_pin_until_the_lock_ends(
    timed_store: Store, clock: Clock
) -> None:
    with pytest.raises(StoreError):
        wrong_tries(timed_store, 5)
    clock.now += timedelta(minutes=4, seconds=59)
    with timed_store.unit_of_work() as uow, pytest.raises(StoreError, match="locked"):
        uow.staff.verify_pin(NURSE, NURSE_PIN)
    clock.now += timedelta(seconds=2)
    with timed_store.unit_of_work() as uow:
        assert uow.staff.verify_pin(NURSE, NURSE_PIN) is True
        uow.commit()
    with timed_store.unit_of_work() as uow:
        assert uow.staff.list()[0].locked_until is None


def test_a_right_pin_resets_the_failure_count(timed_store: Store) -> None:
    wrong_tries(timed_store, 4)
    with timed_store.unit_of_work() as uow:
        assert uow.staff.verify_pin(NURSE, NURSE_PIN)
        uow.commit()
    assert wrong_tries(timed_store, 4) == [False] * 4  # not locked: the count started again


def test_pin_failures_count_even_when_the_caller_never_commits(timed_store: Store) -> None:
    for _ in range(4):
        with timed_store.unit_of_work() as uow:
            assert uow.staff.verify_pin(NURSE, WRONG_PIN) is False
            # no commit: the failure must be kept anyway
    with timed_store.unit_of_work() as uow:
        assert uow.staff.list()[0].failures == 4
    with pytest.raises(StoreError, match="locked"), timed_store.unit_of_work() as uow:
        uow.staff.verify_pin(NURSE, WRONG_PIN)
    with timed_store.unit_of_work() as uow:
        assert uow.staff.list()[0].locked_until is not None
    assert timed_store.verify().ok


def test_pin_failures_and_the_lock_are_audited_without_the_pin(timed_store: Store) -> None:
    with pytest.raises(StoreError):
        wrong_tries(timed_store, 5)
    with timed_store.unit_of_work() as uow:
        events = uow.audit.list()
    kinds = [event.kind for event in events]
    assert kinds.count(AuditKind.PIN_FAILURE) == 5
    assert kinds[-1] is AuditKind.PIN_LOCKED
    assert all(event.actor == NURSE for event in events)
    assert not any(WRONG_PIN in (event.detail or "") for event in events)


def test_a_second_staff_member_with_the_same_name_is_refused(store: Store) -> None:
    with store.unit_of_work() as uow, pytest.raises(StoreError, match="already exists"):
        uow.staff.add(NURSE, "5555")


def test_failures_after_an_explicit_rollback_are_kept_too(timed_store: Store) -> None:
    with timed_store.unit_of_work() as uow:
        assert uow.staff.verify_pin(NURSE, WRONG_PIN) is False
        uow.rollback()
        assert uow.staff.verify_pin(NURSE, WRONG_PIN) is False
        # leaving without commit
    with timed_store.unit_of_work() as uow:
        assert uow.staff.list()[0].failures == 2
