"""Who may see what: the console's viewer, its roles and sites, and every route's access rule.

One dependency, :func:`require_viewer`, turns the session cookie into a :class:`Viewer`, or
refuses the request; every console page declares its roles with :func:`page`, which attaches
that dependency and records the route's rule in :data:`RULES`. A coordinator's sites are
enforced here and by the queries that use :meth:`Viewer.site_clause` — never by hiding links.
A test compares :data:`RULES` with the app's routes: a route nobody declared fails it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, NamedTuple, TypeVar, get_args

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from sqlalchemy.sql.elements import ColumnElement

Role = Literal["coordinator", "data-manager", "admin"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
#: Roles that must give a TOTP code at every login.
TOTP_ROLES: Final = frozenset({"data-manager", "admin"})
STAFF: Final[frozenset[Role]] = frozenset({"data-manager", "admin"})
EVERYONE: Final[frozenset[Role]] = frozenset(ROLES)


class ConsoleError(Exception):
    """A console refusal shown as an HTML page: ``status`` and a sentence saying what to do."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class LoginRequired(Exception):
    """No valid session: a GET is sent to the login page (and back afterwards), a POST gets 401."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """The logged-in console account behind a request.

    ``sites`` is the set of site codes the account may see, or None for every site (data
    managers and admins created without ``--site``). ``csrf`` is the session's form token.
    """

    user_id: int
    email: str
    role: Role
    sites: frozenset[str] | None
    csrf: str
    session_sha256: str

    @property
    def all_sites(self) -> bool:
        return self.sites is None

    def can_see_site(self, site: str | None) -> bool:
        """Whether rows of ``site`` may be shown; events of no site only to all-site viewers."""
        if self.sites is None:
            return True
        return site is not None and site in self.sites

    def site_clause(self, column: Any) -> ColumnElement[bool]:
        """A WHERE clause keeping only the viewer's sites:
        ``query.where(viewer.site_clause(T.site))``."""
        if self.sites is None:
            return sa.true()
        return sa.and_(column.is_not(None), column.in_(sorted(self.sites)))

    def require_site(self, site: str | None, what: str = "this page") -> None:
        """Refuse (404, as if it did not exist) anything of a site the viewer may not see."""
        if not self.can_see_site(site):
            raise ConsoleError(404, f"{what} does not exist or is not at one of your sites")

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles


def require_viewer(request: Request) -> Viewer:
    """The viewer of a fully logged-in session (idle timeout and account state checked)."""
    from epro_sync.console import sessions

    viewer = sessions.viewer_for(request)
    if viewer is None:
        raise LoginRequired()
    return viewer


ViewerDep = Annotated[Viewer, Depends(require_viewer)]


def require_role(*roles: Role) -> Callable[[Viewer], Viewer]:
    """A dependency admitting only ``roles`` (403 for the others)."""
    allowed = frozenset(roles)

    def check(viewer: ViewerDep) -> Viewer:
        if viewer.role not in allowed:
            names = " or ".join(sorted(allowed))
            raise ConsoleError(403, f"this page is for the {names} role; ask an admin")
        return viewer

    return check


# ------------------------------------------------------------------------- the rule registry

RuleKind = Literal["public", "kiosk", "login", "console"]


class Rule(NamedTuple):
    """How a route is protected: ``public`` (anyone), ``kiosk`` (device token and signature),
    ``login`` (the login steps: anyone, with their own checks), ``console`` (these roles)."""

    kind: RuleKind
    roles: frozenset[Role] = frozenset()


PUBLIC: Final = Rule("public")
KIOSK: Final = Rule("kiosk")
LOGIN: Final = Rule("login")

#: Every route of the app, by (method, path): the API's are listed here, the console's are
#: added by :func:`page` and :func:`login_page` as their modules are imported.
RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): PUBLIC,
    ("POST", "/v1/enrol"): PUBLIC,  # a one-time enrolment code, guarded by enrol_guard
    ("POST", "/v1/responses:batch"): KIOSK,
    ("POST", "/v1/roster"): KIOSK,
    ("GET", "/v1/roster"): KIOSK,
    ("GET", "/v1/completion"): KIOSK,
    ("POST", "/v1/audit-head"): KIOSK,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/console/static"): PUBLIC,  # the stylesheet (a mount)
}

F = TypeVar("F", bound=Callable[..., Any])


def _declare(method: str, path: str, rule: Rule) -> None:
    key = (method.upper(), path)
    if key in RULES and RULES[key] != rule:
        raise RuntimeError(f"{method} {path} is declared twice with different access rules")
    RULES[key] = rule


def page(
    router: APIRouter, method: str, path: str, roles: Iterable[Role] = EVERYONE, **kwargs: Any
) -> Callable[[F], F]:
    """Declare a console route for ``roles``: the decorated handler runs only for a logged-in
    viewer of one of them, and the rule is recorded for the route-enumeration test.

    Use it instead of ``@router.get``::

        @page(router, "GET", "/kiosks")
        def kiosks(request: Request, viewer: ViewerDep) -> HTMLResponse: ...
    """
    allowed = frozenset(roles)
    _declare(method, router.prefix + path, Rule("console", allowed))
    dependencies = [*kwargs.pop("dependencies", []), Depends(require_role(*allowed))]
    return router.api_route(
        path,
        methods=[method.upper()],
        include_in_schema=False,
        dependencies=dependencies,
        **kwargs,
    )


def login_page(router: APIRouter, method: str, path: str, **kwargs: Any) -> Callable[[F], F]:
    """Declare a route of the login steps (reachable without a session)."""
    _declare(method, router.prefix + path, LOGIN)
    return router.api_route(path, methods=[method.upper()], include_in_schema=False, **kwargs)


def app_routes(app: Any) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, included routers and mounts flattened (a mount
    counts as GET of its path); HEAD is left out (it follows GET)."""
    from fastapi.routing import iter_route_contexts

    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        methods = route.methods or {"GET"}
        for method in methods:
            if method != "HEAD":
                found.add((method, str(route.path)))
    return found
