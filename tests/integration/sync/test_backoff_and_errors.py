"""Pure parts of the sync client: backoff timing and the httpx → SyncError mapping.

These need no server; they live beside the sync tests because they belong to the same module.
"""

from __future__ import annotations

import inspect
import random
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from epro.errors import SyncError
from epro.sync_client import SyncFailure, backoff_ceiling, backoff_delay, map_http_error
from epro.sync_client.errors import HTTPX_ERRORS, status_error


class Highest:
    """A 'random' source that always draws the top of the range, to see the ceiling."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_backoff_ceiling_doubles_per_attempt_until_the_cap() -> None:
    ceilings = [backoff_ceiling(n, 0.5, 10.0) for n in range(7)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_backoff_delay_draws_from_zero_to_the_ceiling() -> None:
    assert backoff_delay(3, 0.5, 60.0, Highest()) == 4.0


def test_backoff_survives_absurd_attempt_numbers() -> None:
    assert backoff_ceiling(10_000, 0.5, 30.0) == 30.0


def test_backoff_refuses_negative_arguments() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        backoff_ceiling(-1, 0.5, 30.0)


@given(
    attempt=st.integers(0, 200),
    base=st.floats(0, 100, allow_nan=False),
    cap=st.floats(0, 1000, allow_nan=False),
    seed=st.integers(0, 2**32),
)
def test_backoff_delay_is_never_negative_nor_above_cap(
    attempt: int, base: float, cap: float, seed: int
) -> None:
    delay = backoff_delay(attempt, base, cap, random.Random(seed))
    assert 0.0 <= delay <= min(cap, base * 2.0 ** min(attempt, 64))


def test_full_jitter_spreads_delays_of_many_kiosks() -> None:
    rng = random.Random(1)
    delays = {round(backoff_delay(4, 1.0, 60.0, rng), 3) for _ in range(50)}
    assert len(delays) > 40  # not lock-step


def httpx_exception_classes() -> list[type[Exception]]:
    return [
        obj
        for _, obj in inspect.getmembers(httpx, inspect.isclass)
        if issubclass(obj, Exception) and obj.__module__.startswith("httpx")
    ]


def make(cls: type[Exception]) -> Exception:
    request = httpx.Request("POST", "http://127.0.0.1/v1/responses:batch")
    if issubclass(cls, httpx.HTTPStatusError):
        return cls("boom", request=request, response=httpx.Response(500, request=request))
    if issubclass(cls, httpx.RequestError):
        return cls("boom", request=request)
    if issubclass(cls, httpx.StreamError):
        # httpx's stream errors take no arguments, except their base class.
        made: Exception = cast(Any, cls)() if cls is not httpx.StreamError else cls("boom")
        return made
    return cls("boom")


@pytest.mark.parametrize("cls", httpx_exception_classes(), ids=lambda c: c.__name__)
def test_every_httpx_exception_maps_to_a_plain_sync_error(cls: type[Exception]) -> None:
    error = map_http_error(make(cls))
    assert isinstance(error, SyncError)
    assert isinstance(error, SyncFailure)
    message = str(error)
    assert "study server" in message or "server address" in message
    assert "boom" not in message  # httpx internals never reach the nurse
    assert "(" + cls.__name__ not in message  # an explicit message, not the fallback
    assert issubclass(cls, HTTPX_ERRORS), "the client would not catch this class"


def test_the_mapping_covers_at_least_the_known_httpx_tree() -> None:
    names = {c.__name__ for c in httpx_exception_classes()}
    assert {"ConnectError", "ReadTimeout", "RemoteProtocolError", "InvalidURL"} <= names


@pytest.mark.parametrize(
    ("status", "retryable", "words"),
    [
        (500, True, "internal problem"),
        (503, True, "internal problem"),
        (429, True, "busy"),
        (401, False, "token"),
        (404, False, "no sync service"),
        (400, False, "refused the request"),
        (403, False, "Do not reset"),
    ],
)
def test_http_statuses_map_to_plain_messages(status: int, retryable: bool, words: str) -> None:
    error = status_error(status, "server says no.")
    assert error.retryable is retryable
    assert words in str(error)


def test_a_failing_transport_becomes_a_report_error_not_an_exception(tmp_path: Path) -> None:
    from epro.crypto import FAST_KDF
    from epro.store import init_store
    from epro.sync_client import SyncClient
    from epro.sync_client.status import DEVICE_TOKEN, SERVER_URL

    store = init_store(
        tmp_path / "k.db",
        passphrase="correct horse battery",
        site="SITE-A",
        nurse_name="nurse",
        nurse_pin="1234",
        kdf=FAST_KDF,
    )
    with store.unit_of_work() as uow:
        uow.keys.set_setting(SERVER_URL, "http://127.0.0.1:9")
        uow.keys.set_setting(DEVICE_TOKEN, "t", secret=True)
        uow.commit()

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    report = SyncClient(store, transport=httpx.MockTransport(refuse)).sync_once()
    store.close()
    assert report.error is not None
    assert report.error.retryable
    assert "cannot be reached" in str(report.error)


def test_every_sync_verifies_tls_with_one_shared_context() -> None:
    import ssl

    from epro.sync_client.http import tls_context

    context = tls_context()
    assert context is tls_context()  # the CA bundle is loaded once per process
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0
