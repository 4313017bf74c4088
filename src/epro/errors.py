"""One exception family for the whole of epro, translated into plain words at the edges.

The CLI prints ``str(error)`` to stderr and exits with ``error.exit_code``; the kiosk shows a
calm message to patients and the details to staff. Messages never contain patient answers.
"""

from __future__ import annotations


class EproError(Exception):
    """Base of every deliberate epro error; the message says what is wrong and how to fix it."""

    exit_code: int = 1


class FormError(EproError):
    """A form file or the study protocol is invalid (catalogue in ``epro.forms.errors``)."""


class AnswerError(EproError):
    """An answer does not fit its item (unknown variable, outside the scale, wrong type)."""


class ScheduleError(EproError):
    """The visit schedule cannot answer (dates out of order, unknown visit)."""


class CryptoError(EproError):
    """A key cannot be derived or unwrapped, or a ciphertext does not authenticate."""


class WrongPassphraseError(CryptoError):
    """The site passphrase does not unlock the data key."""


class StoreError(EproError):
    """The local database cannot do what was asked (corrupt, full disk, wrong schema)."""


class SessionError(EproError):
    """A questionnaire session was asked for a transition it does not allow."""


class SyncError(EproError):
    """Talking to the study server failed; the outbox keeps everything for the next try."""


class BundleError(EproError):
    """An export bundle cannot be written or read: truncated, altered, or not a bundle."""

    exit_code = 2


class ExportError(EproError):
    """An export was refused before anything was written (exit status 2)."""

    exit_code = 2
