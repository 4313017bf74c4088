"""Response ids are time-ordered UUIDs (version 7): later sessions sort later, so a kiosk's
rows sit together in every index keyed by the id."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from epro.store.domain import new_response_id

START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_an_id_is_a_canonical_version_7_uuid_carrying_the_start_in_milliseconds() -> None:
    text = new_response_id(START + timedelta(microseconds=123_456))
    parsed = uuid.UUID(text)
    assert str(parsed) == text  # lower-case, hyphenated
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert parsed.int >> 80 == int(START.timestamp() * 1000) + 123


def test_ids_made_in_the_same_millisecond_differ() -> None:
    assert len({new_response_id(START) for _ in range(1000)}) == 1000


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(min_value=1, max_value=10**10),
)
def test_a_later_start_sorts_later_as_text(start: datetime, later_ms: int) -> None:
    later = start + timedelta(milliseconds=later_ms)
    assert new_response_id(start) < new_response_id(later)
