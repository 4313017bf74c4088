"""The kiosk application: the screen flow, inactivity lock, size guard and one error handler.

``make_kiosk`` builds the app without touching the database; the store (and with it crypto,
scoring and the forms) is loaded only when a nurse unlocks, so the lock screen appears fast.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.theme import Theme
from textual.worker import Worker, WorkerState

from epro.errors import EproError
from epro.kiosk.i18n import tr
from epro.kiosk.messages import (
    ChangeWanted,
    FormSubmitted,
    ReviewWanted,
    SyncFinished,
)
from epro.kiosk.screens.dialogs import ErrorDialog, IdleWarning
from epro.kiosk.screens.lock import LockScreen
from epro.kiosk.screens.too_small import TooSmallScreen
from epro.kiosk.size import MIN_SIZE
from epro.startup import settle_after_startup

if TYPE_CHECKING:
    from epro.session import QuestionnaireSession
    from epro.station import SessionPlan, Station
    from epro.sync_client import BackgroundSync, SyncReport

log = logging.getLogger(__name__)

__all__ = ["MIN_SIZE", "KioskApp", "KioskSettings", "make_kiosk", "run_demo_kiosk"]

HIGH_CONTRAST = Theme(
    name="epro-high-contrast",
    primary="#ffff00",
    secondary="#00ffff",
    accent="#ffffff",
    foreground="#ffffff",
    background="#000000",
    surface="#000000",
    panel="#1a1a1a",
    success="#00ff00",
    warning="#ffaa00",
    error="#ff5555",
    dark=True,
)

#: Opens the store with the site passphrase and returns the nurse-station service.
Opener = Callable[[str], "Station"]


@dataclass
class KioskSettings:
    """How one kiosk runs: where the data is, which language the chrome starts in, timeouts."""

    db: Path
    #: Demo mode only: (passphrase, nurse, PIN) shown on the lock screen. Never in a clinic.
    demo: tuple[str, str, str] | None = None
    #: Demo mode only: the demo study server's console and its made-up accounts.
    demo_console: str | None = None
    language: str = "en"
    high_contrast: bool = False
    idle_warning_s: float = 90.0
    idle_lock_s: float = 120.0
    forms_dir: Path | None = None
    opener: Opener | None = field(default=None, repr=False)
    #: Seconds between background syncs (when the store is enrolled with a study server).
    sync_interval_s: float = 300.0


#: SIGHUP's number (1 where the signal module has no name for it, as on Windows).
_HANGUP: int = getattr(signal, "SIGHUP", 1)


def _end_on_hangup(signum: int = _HANGUP, _frame: object = None) -> None:
    """The terminal is gone: end the process now.

    Nothing is lost by ending at once: every answer is committed durably as it is given, a
    transaction cut short rolls back, a sync cut short is repeated safely, and there is no
    terminal left to restore.
    """
    os._exit(128 + signum)


class TerminalWatch:
    """Ends the process once its terminal has hung up, checked on a thread of its own.

    After a hang-up, asking the terminal for its foreground process group fails with EIO;
    until then it answers. A thread, because the event loop may be the thing that is stuck.
    """

    #: Seconds between two checks.
    INTERVAL = 1.0
    _GONE = (errno.EIO, errno.ENXIO)

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="epro-terminal", daemon=True)
        self._thread.start()

    @classmethod
    def start(cls) -> TerminalWatch | None:
        """A watch on the kiosk's terminal; None when it runs without one (tests, pipes)."""
        if not hasattr(os, "tcgetpgrp"):  # Windows
            return None
        for stream in (sys.__stdin__, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(AttributeError, OSError, ValueError):
                if stream is not None and os.isatty(stream.fileno()):
                    return cls(stream.fileno())
        return None

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self.INTERVAL):
            try:
                os.tcgetpgrp(self._fd)
            except OSError as error:
                if error.errno in self._GONE and not self._stopped.is_set():
                    _end_on_hangup()
                return


class KioskApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "epro"
    # A patient must never reach the command palette (it could quit or change themes).
    ENABLE_COMMAND_PALETTE = False
    #: Textual's own keys that leave the app, rebound: while a patient-facing screen is open
    #: (a questionnaire, its review, the thank-you, the lock screen) none of them leaves it;
    #: only a nurse, after the PIN, closes the kiosk from the station. Ctrl+C says so in the
    #: session's language instead of Textual's English hint; Ctrl+Z never suspends it.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "close_kiosk", "Quit", show=False, priority=True),
        Binding("ctrl+c", "close_hint", show=False, priority=True, system=True),
        Binding("ctrl+z", "close_hint", show=False, priority=True, system=True),
        Binding("ctrl+backslash", "close_hint", show=False, priority=True, system=True),
    ]

    def __init__(self, settings: KioskSettings) -> None:
        super().__init__()
        self.settings = settings
        self.language = settings.language
        #: The language of the staff screens: the site's setting, or what the nurse chose.
        self.staff_language = settings.language
        #: Who the screen on show speaks to ("parent", "child", "staff"), for Dutch u / je.
        self.respondent = "staff"
        #: Where the current form stands in the visit: (number, total), e.g. (2, 4).
        self.place = (1, 1)
        self.station: Station | None = None
        self.actor: str | None = None
        self.session: QuestionnaireSession | None = None
        self.queue: list[SessionPlan] = []
        #: The rest of each queue the inactivity lock cut short, by the draft on screen then,
        #: with the forms done before it: resuming that draft carries on with it. In memory
        #: only, like ``queue`` itself.
        self._waiting: dict[str, tuple[list[SessionPlan], int]] = {}
        self.background: BackgroundSync | None = None
        self._last_input = time.monotonic()
        self._warned = False
        self._previous_hangup: Any = None  # the SIGHUP handler before ours
        self._terminal_watch: TerminalWatch | None = None
        self.register_theme(HIGH_CONTRAST)
        self.theme = "epro-high-contrast" if settings.high_contrast else "textual-dark"

    # -- flow -------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.push_screen(LockScreen())
        self._guard_size(self.size.width, self.size.height)
        self.set_interval(1.0, self._check_idle)
        self._exit_on_hangup(True)

    def _exit_on_hangup(self, watch: bool) -> None:
        """End the process when the terminal goes away, even if the kiosk was started with
        hang-ups ignored (as a child of ``make``, for one). ``watch=False`` undoes it.

        Two ways, because a hang-up does not always arrive as a signal: the kernel sends
        SIGHUP to the terminal's session leader, and when that is ``make`` or a shell, the
        kiosk below it gets none. So a thread also asks the terminal once a second whether it
        is still there (:class:`TerminalWatch`). The SIGHUP handler is a plain one, not one on
        the event loop: with its terminal gone, Textual's writer thread dies and the loop
        blocks for good on the next screen update, so a handler queued on the loop never ran;
        the kiosk kept reading the closed terminal at full speed.
        """
        if watch:
            self._terminal_watch = TerminalWatch.start()
        elif self._terminal_watch is not None:
            self._terminal_watch.stop()
            self._terminal_watch = None
        hangup = getattr(signal, "SIGHUP", None)
        if hangup is None:  # no such signal on Windows
            return
        # Only the main thread may set signal handlers; an app run elsewhere goes without.
        with contextlib.suppress(ValueError):
            if watch:
                self._previous_hangup = signal.signal(hangup, _end_on_hangup)
            elif self._previous_hangup is not None:
                signal.signal(hangup, self._previous_hangup)
                self._previous_hangup = None

    def open_store(self, passphrase: str) -> Station:
        """Unlock with the site passphrase (runs in a worker thread: Argon2id is slow)."""
        if self.settings.opener is not None:
            return self.settings.opener(passphrase)
        from epro.station import open_station

        return open_station(self.settings.db, passphrase, forms_dir=self.settings.forms_dir)

    def show_station(self) -> None:
        from epro.kiosk.screens.station import StationScreen

        self.session = None
        self.language = self.staff_language
        self.respondent = "staff"
        self.start_background_sync()
        self.switch_screen(StationScreen(self.staff_language))
        settle_after_startup()  # the store is open and the forms are parsed: start-up is done

    def set_staff_language(self, language: str) -> None:
        """The nurse chose the language of the staff screens: the station again, in it."""
        from epro.kiosk.screens.station import StationScreen

        self.staff_language = self.language = language
        self.switch_screen(StationScreen(language))
        self.notify(tr(language, "language_changed"))

    def begin(self, plans: list[SessionPlan]) -> None:
        """Hand the kiosk over: start the first form of the queue (the nurse has chosen it)."""
        self.queue = list(plans)
        self.place = (0, len(plans))
        self.next_in_queue()

    def next_in_queue(self) -> None:
        from epro.kiosk.screens.thanks import GiveBackScreen

        if not self.queue or self.station is None:
            self.session = None
            self.switch_screen(GiveBackScreen(self.language, self.respondent))
            return
        plan = self.queue.pop(0)
        session = self.station.start(plan, actor=self.actor or "kiosk")
        self.place = (self.place[0] + 1, self.place[1])
        self._show_form(session, plan)

    def _show_form(self, session: QuestionnaireSession, plan: SessionPlan) -> None:
        from epro.kiosk.screens.questionnaire import QuestionnaireScreen

        self.language = plan.language
        self.respondent = plan.respondent
        self.session = session
        self.switch_screen(QuestionnaireScreen(session, plan, self.place))

    def form_title(self, form_id: str, language: str) -> str:
        """A form's title in ``language`` (its id when this kiosk does not carry it)."""
        form = None if self.station is None else self.station.forms.get(form_id)
        if form is None:
            return form_id
        return form.title.get(language) or next(iter(form.title.values()), form_id)

    def form_name(self, form_id: str, language: str) -> str:
        """A form as staff read it: its title with its short name, ``Pain (VAS-P)``."""
        from epro.kiosk.glyphs import form_name

        return form_name(form_id, self.form_title(form_id, language), language)

    def queue_after(self, response_id: str) -> list[SessionPlan]:
        """The forms that follow the draft ``response_id`` when it is resumed."""
        waiting = self._waiting.get(response_id, ([], 0))[0]
        return [] if self.station is None or not waiting else self.station.still_open(waiting)

    def resume(self, response_id: str) -> None:
        """Reopen a draft, then go on with the rest of its queue (the forms still open)."""
        if self.station is None:
            return
        session, plan = self.station.resume(response_id, actor=self.actor or "kiosk")
        self.queue = self.queue_after(response_id)
        done_before = self._waiting.pop(response_id, ([], 0))[1]
        self.place = (done_before + 1, done_before + 1 + len(self.queue))
        self._show_form(session, plan)

    # -- the walk through one form: screens post these, the app switches -------------------

    def on_review_wanted(self, message: ReviewWanted) -> None:
        from epro.kiosk.screens.review import ReviewScreen

        if self.session is not None:
            self.switch_screen(ReviewScreen(self.session, message.plan, self.place))

    def on_change_wanted(self, message: ChangeWanted) -> None:
        """From the review: that question, and Next brings the respondent back to the review."""
        from epro.kiosk.screens.questionnaire import QuestionnaireScreen

        session = self.session
        if session is None or not self.attempt(lambda: session.go_to(message.link_id)):
            return
        screen = QuestionnaireScreen(session, message.plan, self.place, from_review=True)
        self.switch_screen(screen)

    def on_form_submitted(self, message: FormSubmitted) -> None:
        """Submitted: the thank-you, which names the next form of the visit, if any."""
        from epro.kiosk.screens.thanks import ThanksScreen

        self.session = None
        self.kick_sync()
        following = None
        if self.queue:
            upcoming = self.queue[0]
            title = self.form_title(upcoming.form_id, upcoming.language)
            following = (title, self.place[0] + 1, self.place[1])
        self.switch_screen(ThanksScreen(message.plan.language, message.plan.respondent, following))

    def on_next_form_wanted(self) -> None:
        self.guarded(self.next_in_queue)

    def on_give_back(self) -> None:
        self.lock()

    # -- no way out --------------------------------------------------------------------------

    @property
    def patient_facing(self) -> bool:
        """A screen meant for a patient (or a locked kiosk) is open, maybe under a dialog."""
        return any(getattr(screen, "PATIENT_FACING", False) for screen in self.screen_stack)

    def action_close_kiosk(self) -> None:
        """Ctrl+Q: closes the kiosk from the staff screens only, i.e. after the staff PIN."""
        if self.patient_facing:
            self.action_close_hint()
        else:
            self.exit()

    def action_close_hint(self) -> None:
        """Ctrl+C, Ctrl+Z and friends: a calm word in the session's language, nothing else."""
        if self.patient_facing:
            self.notify(tr(self.language, "ask_nurse"), timeout=4)
        else:
            self.notify(tr(self.language, "quit_hint"), timeout=4)

    def lock(self) -> None:
        """Back to the attract screen; a running session times out and stays as a draft, and
        the rest of its queue waits for it to be resumed."""
        if self.session is not None:
            if self.queue:
                self._waiting[self.session.response_id] = (list(self.queue), self.place[0] - 1)
            try:
                self.session.timeout()
            except EproError as error:
                # Already closed elsewhere (a nurse stopped it): locking must still happen.
                log.warning("timeout not recorded: %s", type(error).__name__)
        self.session = None
        self.queue = []
        self.actor = None
        # The lock screen keeps the language of the session it ended (the family is still in
        # front of it); the staff screens speak the staff language again after the PIN.
        self.respondent = "staff"
        self.stop_background_sync(wait=False)
        self.switch_screen(LockScreen())

    # -- sync (the station service talks to the server; this only schedules it) -------------

    def start_background_sync(self) -> None:
        """After unlock: sync on a timer and after each Submit, when the store is enrolled."""
        if self.background is None and self.station is not None:
            self.background = self.station.sync.background(
                self._sync_reported, interval=self.settings.sync_interval_s
            )

    def kick_sync(self) -> None:
        """Right after a Submit: ask the background sync to run soon (never blocks)."""
        if self.background is not None:
            self.background.kick()

    def stop_background_sync(self, *, wait: bool) -> None:
        background, self.background = self.background, None
        if background is None:
            return
        if wait:
            background.stop(timeout=5.0)
        else:
            # Joining could wait for a sync in flight: let a helper thread do it, not the UI.
            import threading

            threading.Thread(target=background.stop, name="epro-sync-stop", daemon=True).start()

    def sync_now(self) -> None:
        """The nurse's "Sync now": one sync in a worker thread; the result comes back calmly."""
        station = self.station
        if station is None:
            return
        if not station.sync.status().enrolled:
            self.notify(tr(self.language, "sync_offline"))
            return
        self.notify(tr(self.language, "syncing"))
        self.run_worker(
            lambda: self._sync_reported(station.sync.sync_now(), announce=True),
            thread=True,
            group="sync",
            exit_on_error=False,
        )

    def _sync_reported(self, report: SyncReport, *, announce: bool = False) -> None:
        """Called in a sync thread: hand the outcome to the UI thread as a message."""
        message = None
        if announce:
            if report.error is None:
                message = tr(
                    self.language, "sync_done", sent=report.acknowledged, waiting=report.remaining
                )
            else:
                message = tr(self.language, "sync_failed", error=str(report.error))
        self.post_message(SyncFinished(message, failed=report.error is not None))

    def on_sync_finished(self, event: SyncFinished) -> None:
        if event.text:
            self.notify(event.text, severity="warning" if event.failed else "information")
        refresh = getattr(self.screen, "refresh_rows", None)
        if callable(refresh):
            refresh()

    def on_unmount(self) -> None:
        self.stop_background_sync(wait=True)
        self._exit_on_hangup(False)

    # -- inactivity --------------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self._last_input = time.monotonic()
            self._warned = False
        await super().on_event(event)

    def _check_idle(self) -> None:
        # The timer can fire while the app is closing, after its last screen has gone.
        if not self.screen_stack or isinstance(self.screen, LockScreen | TooSmallScreen):
            return
        idle = time.monotonic() - self._last_input
        if idle >= self.settings.idle_lock_s:
            while len(self.screen_stack) > 1 and self.screen.is_modal:
                self.pop_screen()
            self.lock()
        elif idle >= self.settings.idle_warning_s and not self._warned:
            self._warned = True
            self.push_screen(IdleWarning(self.language))

    # -- size guard --------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self._guard_size(event.size.width, event.size.height)

    def _guard_size(self, width: int, height: int) -> None:
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        showing = isinstance(self.screen, TooSmallScreen)
        if small and not showing:
            self.push_screen(TooSmallScreen(self.language))
        elif not small and showing:
            self.pop_screen()

    # -- errors ------------------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed worker becomes a calm dialog (never a traceback)."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.show_error(event.worker.error)

    def show_error(self, error: BaseException) -> None:
        # Logged by type only: messages could one day carry patient data.
        log.error("kiosk action failed: %s", type(error).__name__)
        staff = self.session is None
        detail = str(error) if isinstance(error, EproError) else type(error).__name__
        message = detail if staff else tr(self.language, "error_patient")
        self.push_screen(ErrorDialog(tr(self.language, "error_title"), message))

    def guarded(self, action: Callable[[], Any]) -> Any:
        """Run a quick service call; any failure becomes a calm dialog instead of a crash.

        Unexpected errors are caught too: in front of a child a crash is worse than a
        dialog, and the draft is already safe in the store. Only the error type is logged.
        """
        try:
            return action()
        except Exception as error:  # the one UI edge for quick calls; see the docstring
            self.show_error(error)
            return None

    def attempt(self, action: Callable[[], object]) -> bool:
        """Like :meth:`guarded`, saying whether the call succeeded (so a screen can stay put)."""
        try:
            action()
        except Exception as error:  # same edge as guarded()
            self.show_error(error)
            return False
        return True


def make_kiosk(
    db: Path,
    *,
    demo: tuple[str, str, str] | None = None,
    demo_console: str | None = None,
    language: str = "en",
    high_contrast: bool = False,
    idle_warning_s: float = 90.0,
    idle_lock_s: float = 120.0,
    forms_dir: Path | None = None,
    opener: Opener | None = None,
    sync_interval_s: float = 300.0,
) -> KioskApp:
    """Build the kiosk for the store at ``db``; nothing is opened until a nurse unlocks."""
    settings = KioskSettings(
        db=db,
        demo=demo,
        demo_console=demo_console,
        language=language,
        high_contrast=high_contrast,
        idle_warning_s=idle_warning_s,
        idle_lock_s=idle_lock_s,
        forms_dir=forms_dir,
        opener=opener,
        sync_interval_s=sync_interval_s,
    )
    return KioskApp(settings)


def run_demo_kiosk(
    db: Path, *, idle_warning_s: float, idle_lock_s: float, demo_console: str | None = None
) -> int:
    """``epro demo``: make the demo database if it is missing, then run the kiosk in demo mode
    (with the inactivity times of the ``EPRO_INACTIVITY_*`` settings, as ``epro kiosk``);
    ``demo_console`` is the demo server's console and accounts, for the lock screen."""
    import os

    from epro.demo import DEMO_NURSE, DEMO_PASSPHRASE, DEMO_PIN, make_demo_database

    # The same override as ``epro demo`` itself, so the hint shows the passphrase really in use.
    passphrase = os.environ.get("EPRO_PASSPHRASE") or DEMO_PASSPHRASE
    if not db.exists():
        db.parent.mkdir(parents=True, exist_ok=True)
        make_demo_database(db, passphrase=passphrase)
    demo = (passphrase, DEMO_NURSE, DEMO_PIN)
    make_kiosk(
        db,
        demo=demo,
        demo_console=demo_console,
        idle_warning_s=idle_warning_s,
        idle_lock_s=idle_lock_s,
    ).run()
    return 0
