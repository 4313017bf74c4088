"""The nurse station's sync panel: queue, last success, last error, clock, revocation and a
flagged audit log (the study server found the kiosk file rolled back or altered).

It only renders a :class:`~epro.sync_client.SyncStatus` the station service read from the
store; it never talks to the network itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from epro.kiosk.i18n import tr

if TYPE_CHECKING:
    from epro.sync_client import SyncStatus


def sync_text(status: SyncStatus, language: str) -> Text:
    """Plain words for the nurse: what waits, when the last sync worked, what to do."""
    t = language
    text = Text()
    text.append(tr(t, "outbox", count=status.queue), style="bold")
    if not status.enrolled:
        text.append("  ·  " + tr(t, "sync_offline"))
        return text
    when = status.last_success
    last = tr(t, "sync_never") if when is None else f"{when:%Y-%m-%d %H:%M} UTC"
    text.append("  ·  " + tr(t, "sync_last_success", when=last))
    if status.chain_problem:
        text.append(
            "\n" + tr(t, "sync_chain_flagged", problem=status.chain_problem), style="bold red"
        )
    if status.revoked:
        text.append("\n" + tr(t, "sync_revoked"), style="bold red")
    elif status.last_error and not status.chain_problem:
        text.append("\n" + tr(t, "sync_last_error", error=status.last_error), style="yellow")
    else:
        text.append("\n" + tr(t, "sync_no_error"), style="green")
    if status.skew_flagged and status.skew_seconds is not None:
        minutes = round(abs(status.skew_seconds) / 60)
        text.append("\n" + tr(t, "sync_skew", minutes=minutes), style="bold yellow")
    return text


class SyncPanel(Static):
    """Shows the sync state; call :meth:`show` after every sync and on each screen visit."""

    shown: Text = Text()

    def show(self, status: SyncStatus, language: str) -> None:
        self.shown = sync_text(status, language)
        self.update(self.shown)
