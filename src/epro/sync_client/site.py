"""Site data exchanged at each sync besides responses: roster and completion (the audit
chain head is ``chain``).

The server is the source of truth for the site's patients and completion across kiosks; the
kiosk pushes what it enrolled, adds what others enrolled, caches completion for the nurse
station.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, TypeVar

import httpx
from pydantic import ValidationError

from epro.protocol import (
    ROSTER_MAX_PATIENTS,
    ROSTER_PAGE_MAX,
    Completion,
    Roster,
    RosterPatient,
    RosterPush,
)
from epro.store.domain import Patient
from epro.sync_client import status as keys_
from epro.sync_client.errors import SyncFailure
from epro.sync_client.http import error_detail

if TYPE_CHECKING:
    from epro.store import Store


class SiteReplies(NamedTuple):
    """The server's replies to one roster and completion exchange (see SiteData.fetch)."""

    pushed: list[httpx.Response]  # one per page of local patients (none: nothing to push)
    roster: list[httpx.Response]  # one per page of the site roster
    completion: httpx.Response


class SiteData:
    """One sync's exchange of site data over an open client; ``check`` vets each reply."""

    def __init__(
        self, store: Store, client: httpx.Client, check: Callable[[httpx.Response], None]
    ) -> None:
        self.store = store
        self.client = client
        self.check = check

    def local_patients(self) -> list[Patient]:
        """The patients enrolled on this kiosk, to push (read on the caller's thread)."""
        with self.store.unit_of_work() as uow:
            return uow.patients.list()

    def fetch(self, patients: list[Patient]) -> SiteReplies:
        """The HTTP half of the roster and completion exchange, touching no store: push the
        kiosk's patients (if any), then pull the site roster and completion. Safe to run on
        another thread while the outbox uploads: neither depends on it."""
        pushed = []
        for start in range(0, len(patients), ROSTER_PAGE_MAX):
            page = patients[start : start + ROSTER_PAGE_MAX]
            push = RosterPush(patients=[_roster_patient(p) for p in page])
            reply = self.client.post("/v1/roster", content=push.model_dump_json())
            pushed.append(reply)
            if reply.status_code != 200:
                break  # the first refusal says what is wrong; the rest would repeat it
        return SiteReplies(pushed, self._roster_pages(), self.client.get("/v1/completion"))

    def _roster_pages(self) -> list[httpx.Response]:
        """Every page of the site roster, or the pages up to the first that is refused, is
        not understood, or goes past :data:`ROSTER_MAX_PATIENTS` (checked in ``apply``)."""
        pages: list[httpx.Response] = []
        params: dict[str, str] = {}
        for _ in range(ROSTER_MAX_PATIENTS // ROSTER_PAGE_MAX + 1):
            reply = self.client.get("/v1/roster", params=params)
            pages.append(reply)
            after = _next_after(reply)
            if after is None:
                break
            params = {"after": after}
        return pages

    def apply(self, replies: SiteReplies) -> SyncFailure | None:
        """Check the replies of :meth:`fetch` in order, add the site's patients enrolled on
        other kiosks and cache the completion; a roster code enrolled differently elsewhere
        is returned (syncing goes on), any other refusal raised."""
        problem = None
        for pushed in replies.pushed:
            if pushed.status_code == 409:
                problem = SyncFailure(
                    f"the site roster disagrees with this kiosk: {error_detail(pushed)}",
                    retryable=False,
                )
                break
            self.check(pushed)
        site_roster: list[RosterPatient] = []
        for page in replies.roster:
            self.check(page)
            roster = _parse(Roster, page)
            site_roster.extend(roster.patients)
            if len(site_roster) > ROSTER_MAX_PATIENTS:
                raise SyncFailure(
                    f"the study server lists more than {ROSTER_MAX_PATIENTS} patients for "
                    "this site, more than a site enrols: the roster was not taken (responses "
                    "still sync); ask the data manager to check the site's roster",
                    retryable=False,
                )
        self.check(replies.completion)
        completion = _parse(Completion, replies.completion)
        with self.store.unit_of_work() as uow:
            known = {p.code for p in uow.patients.list()}
            for p in site_roster:
                if p.code not in known:
                    uow.patients.add(
                        Patient(
                            code=p.code,
                            birth_ym=p.birth_ym,
                            baseline_date=p.baseline_date,
                            site=p.site,
                            language=p.language,
                        )
                    )
            uow.keys.set_setting(keys_.COMPLETION, completion.model_dump_json())
            uow.commit()
        return problem


def _next_after(reply: httpx.Response) -> str | None:
    """Where the next roster page starts, or None (last page, or a reply to vet in apply)."""
    if reply.status_code != 200:
        return None
    try:
        return Roster.model_validate_json(reply.content).next_after
    except ValidationError:
        return None


def _roster_patient(p: Patient) -> RosterPatient:
    return RosterPatient(
        code=p.code,
        site=p.site,
        birth_ym=p.birth_ym,
        baseline_date=p.baseline_date,
        language=p.language,
    )


_M = TypeVar("_M", Roster, Completion)


def _parse(model: type[_M], response: httpx.Response) -> _M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError:
        raise SyncFailure(
            "a reply from the study server was not understood: check that the kiosk and the "
            "server run the same epro version",
            retryable=False,
        ) from None
