"""Every way talking to the study server can fail, as one :class:`SyncError` family.

httpx raises its own exception tree; the kiosk and the CLI should only ever see
:class:`SyncFailure` (a :class:`~epro.errors.SyncError`) with a plain message and a flag saying
whether trying again later can help. The outbox keeps everything whatever happens here.
"""

from __future__ import annotations

import logging

import httpx

from epro.errors import SyncError

_KEEP = "nothing was lost: the responses stay on this kiosk and go at the next sync"


_log = logging.getLogger(__name__)


class SyncFailure(SyncError):
    """A sync attempt failed; ``retryable`` says whether backing off and retrying can help."""

    revoked: bool = False

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class RevokedError(SyncFailure):
    """The data manager revoked this kiosk (HTTP 403); its data stays on the kiosk."""

    revoked = True

    def __init__(self, server_message: str) -> None:
        super().__init__(
            f"the study server refused this kiosk: {server_message.rstrip('.')}. "
            "Do not reset or wipe the kiosk: every response is still on it. "
            "Ask the data manager to reinstate it (`epro-sync reinstate`), then run `epro sync`",
            retryable=False,
        )


class NotEnrolledError(SyncFailure):
    """The store has no server address or device token yet."""

    def __init__(self) -> None:
        super().__init__(
            "this kiosk is not enrolled with a study server: ask the data manager for a "
            "one-time code and run `epro init --server URL --code CODE`",
            retryable=False,
        )


# Most specific first: the first class in an exception's MRO found here gives the message.
# Each entry: (message, retryable).
_MESSAGES: dict[type[BaseException], tuple[str, bool]] = {
    httpx.ConnectTimeout: ("the study server did not answer the connection in time", True),
    httpx.ReadTimeout: ("the study server stopped answering in the middle of a reply", True),
    httpx.WriteTimeout: ("sending to the study server took too long", True),
    httpx.PoolTimeout: ("no connection to the study server became free in time", True),
    httpx.TimeoutException: ("the study server took too long to answer", True),
    httpx.ConnectError: (
        "the study server cannot be reached: check the network cable or Wi-Fi",
        True,
    ),
    httpx.ReadError: ("the connection to the study server broke while reading the reply", True),
    httpx.WriteError: ("the connection to the study server broke while sending", True),
    httpx.CloseError: ("the connection to the study server did not close cleanly", True),
    httpx.NetworkError: ("the network connection to the study server failed", True),
    httpx.RemoteProtocolError: (
        "the study server's reply was cut off or malformed (the connection dropped)",
        True,
    ),
    httpx.LocalProtocolError: (
        "this kiosk built a request to the study server that HTTP does not allow",
        False,
    ),
    httpx.ProtocolError: ("the conversation with the study server broke off", True),
    httpx.ProxyError: ("the network proxy refused the connection to the study server", True),
    httpx.UnsupportedProtocol: (
        "the server address must start with https:// (or http:// on a test bench)",
        False,
    ),
    httpx.TransportError: ("the connection to the study server failed", True),
    httpx.DecodingError: ("the study server's reply could not be decoded", True),
    httpx.TooManyRedirects: (
        "the server address keeps redirecting: check the address given at enrolment",
        False,
    ),
    httpx.RequestError: ("the request to the study server failed", True),
    httpx.HTTPStatusError: ("the study server answered with an error", True),
    httpx.HTTPError: ("talking to the study server failed", True),
    httpx.InvalidURL: ("the study server address is not a valid URL: check it", False),
    httpx.CookieConflict: ("the study server sent conflicting cookies", False),
    httpx.StreamError: ("a reply from the study server was read twice or too late", False),
}

#: Everything httpx can raise; catch this at each call and pass it to :func:`map_http_error`.
HTTPX_ERRORS: tuple[type[Exception], ...] = (
    httpx.HTTPError,
    httpx.InvalidURL,
    httpx.CookieConflict,
    httpx.StreamError,
)


def map_http_error(error: Exception) -> SyncFailure:
    """Translate an httpx exception into a plain :class:`SyncFailure` (never includes a body)."""
    for cls in type(error).__mro__:
        if cls in _MESSAGES:
            message, retryable = _MESSAGES[cls]
            suffix = f"; {_KEEP}" if retryable else ""
            return SyncFailure(f"{message}{suffix}", retryable=retryable)
    return SyncFailure(
        f"talking to the study server failed ({type(error).__name__})", retryable=True
    )


def status_error(status: int, detail: str) -> SyncFailure:
    """A plain error for an HTTP status the client does not handle itself."""
    detail = detail.strip().rstrip(".")
    if status == 403:
        return RevokedError(detail or "this kiosk is not allowed to sync")
    if status == 401:
        return SyncFailure(
            "the study server did not accept this kiosk's token or signature: ask the data "
            "manager to enrol the kiosk again",
            retryable=False,
        )
    if status == 404:
        return SyncFailure(
            "the study server address answers but has no sync service there: check the "
            "address given at enrolment",
            retryable=False,
        )
    if status >= 500:
        return SyncFailure(
            f"the study server had an internal problem (HTTP {status}); {_KEEP}",
            retryable=True,
        )
    if status == 429:
        return SyncFailure(f"the study server is busy (HTTP 429); {_KEEP}", retryable=True)
    reason = f": {detail}" if detail else ""
    return SyncFailure(
        f"the study server refused the request (HTTP {status}){reason}", retryable=False
    )


def unexpected_failure(error: Exception) -> SyncFailure:
    """A failure nobody foresaw (a reply that breaks a rule, a bug): a retryable failure the
    station shows in words, so the background sync goes on. Only the kind of error is named:
    its text could hold data from the reply."""
    _log.warning("sync stopped on an unexpected %s", type(error).__name__)
    return SyncFailure(
        f"the sync stopped on an unexpected problem ({type(error).__name__}); nothing was "
        "lost and it will be tried again. If this keeps happening, tell the data manager",
        retryable=True,
    )
