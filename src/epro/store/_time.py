"""Times in the store: always timezone-aware UTC, stored as fixed-format ISO-8601 text."""

from __future__ import annotations

from datetime import UTC, datetime

from epro.errors import StoreError


def to_text(moment: datetime) -> str:
    """The stored form of a time; a naive time is refused (its zone would be a guess)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise StoreError(
            "a time without a time zone was given to the store; pass an aware time, "
            "e.g. datetime.now(UTC)"
        )
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def to_text_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else to_text(moment)


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def from_text_or_none(text: str | None) -> datetime | None:
    return None if text is None else from_text(text)


def utc_now() -> datetime:
    return datetime.now(UTC)
