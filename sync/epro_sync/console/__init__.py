"""The study's web console: server-rendered pages for coordinators, data managers and admins.

Mounted on the study server's app under ``/console`` (``mount.mount_console``, called by
``create_app``). It shows metadata only — what arrived, when, from which kiosk, what is
missing —; answers stay sealed. Every page works without JavaScript and the server sends a
Content-Security-Policy that allows no script and no inline style (``headers``).

Interface for page modules (each is a module with ``router = APIRouter(prefix="/console")``,
listed in ``mount.PAGE_MODULES``):

``access``
    ``Viewer`` (``user_id``, ``email``, ``role``: ``"coordinator" | "data-manager" |
    "admin"``, ``sites``: ``frozenset[str] | None`` — None means every site, ``csrf``) with
    ``can_see_site(site)``, ``require_site(site, what)`` (404 otherwise) and
    ``site_clause(column)`` for queries (``select(...).where(viewer.site_clause(T.site))``).
    ``ViewerDep`` is the one dependency that turns the session into a viewer. Declare every
    route with ``@page(router, "GET", "/path", roles=[...])`` (default: every role) — it
    attaches the role check and records the rule in ``RULES``, which a test compares with the
    app's routes. Raise ``ConsoleError(status, "what to do")`` for an HTML refusal page.
``templates``
    ``render(request, "name.html", viewer=viewer, title=..., **context)``; templates extend
    ``base.html`` (``{% block main %}``), get ``csrf``, ``viewer``, ``nav``; autoescaped, and
    hidden characters are shown as ``\\uXXXX``. ``add_nav(path, label, roles, order=N)`` adds a
    link (kiosks 60, codes 70, audit 80); ``when`` is a filter for times. No inline
    ``<script>`` or ``style=``: put rules in ``static/console.css``.
``forms``
    ``FormDep``: the posted form after its CSRF token (``{% include "csrf.html" %}`` in every
    form) and Origin are checked; ``text_field(form, name, what)`` reads a field or answers 422.
``events``
    ``audit(db, now, "console_…", actor=viewer.email, site=..., **detail)``: every action is a
    server audit event (the caller commits).
``downloads``
    ``csv_response(header, rows, filename)``: a CSV download whose cells cannot run as
    spreadsheet formulas.
``testing``
    ``console_server(fast(settings))`` runs the app under uvicorn with a clock the test moves;
    ``Console.ready(email, role, *sites)`` gives an activated, logged-in httpx browser,
    ``csrf_of(page)`` the form token of a fetched page.

The login steps (``login``) issue a new session id at each step; ``/console/`` is the landing
page after a login. The CSP allows no script: a browser test that injects one (axe-core) must
open its context with Playwright's ``bypass_csp=True``.
"""
