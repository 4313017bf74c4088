"""The ``epro-sync`` command: run the study server and administer it from the same database.

Settings come from ``EPRO_SYNC_*`` environment variables (see ``epro_sync.config``); errors are
printed as ``epro-sync: <message>`` with a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from epro.errors import EproError
from epro.protocol import shown_safely
from epro_sync import storage
from epro_sync.config import ServerSettings
from epro_sync.db import make_engine
from epro_sync.migrations import LATEST, current_version, migrate


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="epro-sync",
        description="epro study server. Configure with EPRO_SYNC_* environment variables.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the server (uvicorn)")
    serve.add_argument("--host", help="interface to listen on (default EPRO_SYNC_HOST)")
    serve.add_argument("--port", type=int, help="TCP port (default EPRO_SYNC_PORT)")
    serve.set_defaults(func=cmd_serve)

    code = sub.add_parser("enrol-code", help="make a one-time code to enrol a kiosk")
    code.add_argument("--site", required=True, help="site code the kiosk will belong to")
    code.set_defaults(func=cmd_enrol_code)

    sub.add_parser("devices", help="list enrolled kiosks").set_defaults(func=cmd_devices)

    revoke = sub.add_parser("revoke", help="revoke a kiosk: it can no longer upload")
    revoke.add_argument("device", metavar="DEVICE", help="device id from `epro-sync devices`")
    revoke.set_defaults(func=cmd_revoke)

    reinstate = sub.add_parser("reinstate", help="lift a kiosk's revocation")
    reinstate.add_argument("device", metavar="DEVICE", help="device id from `epro-sync devices`")
    reinstate.set_defaults(func=cmd_reinstate)

    sub.add_parser("status", help="completion per site").set_defaults(func=cmd_status)
    sub.add_parser(
        "verify", help="check every stored response's hash and kiosk signature"
    ).set_defaults(func=cmd_verify)
    sub.add_parser("migrate", help="upgrade the database schema").set_defaults(func=cmd_migrate)
    _add_user_commands(sub)

    bundle = sub.add_parser(
        "bundle",
        help="write the sealed export bundle for the data manager",
        description=(
            "Writes every stored envelope (exactly as the kiosks signed it), the kiosk "
            "registry, the roster, the quarantine and the server audit log to FILE, for "
            "`epro export` on the data manager's offline machine. No answer is readable in it "
            "without the study private key. FILE must not exist yet; it is created with mode "
            "0600 and appears only when complete."
        ),
    )
    bundle.add_argument("--out", required=True, type=Path, metavar="FILE", help="the new file")
    bundle.add_argument("--site", help="only this site (default: every site)")
    bundle.set_defaults(func=cmd_bundle)
    return parser


def _add_user_commands(sub: Any) -> None:
    user = sub.add_parser("user", help="console accounts (coordinators, data managers, admins)")
    users = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = users.add_parser(
        "add",
        help="create an account; prints its one-time code for the first login",
        description=(
            "Creates a console account without a password and prints a one-time code: the "
            "person opens /console/activate, sets a password with it and, as data manager or "
            "admin, sets up an authenticator app (TOTP), asked for at every login."
        ),
    )
    add.add_argument("email", metavar="EMAIL")
    add.add_argument("--role", required=True, choices=["coordinator", "data-manager", "admin"])
    add.add_argument(
        "--site",
        action="extend",
        nargs="+",
        default=[],
        metavar="SITE",
        help="sites the account may see (--site A B, or --site repeated; a coordinator needs "
        "one; none: every site)",
    )
    add.set_defaults(func=cmd_user_add)
    users.add_parser("list", help="list the accounts").set_defaults(func=cmd_user_list)
    disable = users.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("email", metavar="EMAIL")
    disable.set_defaults(func=cmd_user_disable)
    reset = users.add_parser(
        "reset",
        help="new one-time code: clears the password and authenticator, ends sessions",
    )
    reset.add_argument("email", metavar="EMAIL")
    reset.set_defaults(func=cmd_user_reset)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        code: int = args.func(args)
    except ValidationError as error:
        print(f"epro-sync: invalid setting: {_setting_problem(error)}", file=sys.stderr)
        return 2
    except EproError as error:
        print(f"epro-sync: {error}", file=sys.stderr)
        return error.exit_code
    except SQLAlchemyError as error:
        # The driver's message names the problem (no such host, permission denied) and never
        # contains patient data; the full statement and traceback would only confuse.
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        print(f"epro-sync: the database cannot be used: {reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("epro-sync: interrupted", file=sys.stderr)
        return 130
    return code


def _setting_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    name = "EPRO_SYNC_" + "_".join(str(part) for part in problem["loc"]).upper()
    return f"{name}: {problem['msg']}"


def _settings() -> ServerSettings:
    return ServerSettings()


@contextmanager
def _database(settings: ServerSettings) -> Iterator[Engine]:
    settings.ensure_database_dir()
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()


def _now() -> datetime:
    return datetime.now(UTC)


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from epro_sync.app import create_app
    except ModuleNotFoundError as missing:
        raise EproError(
            f"the study server needs its web packages ({missing.name} is not installed); "
            "install them with: pip install 'epro[server]'"
        ) from None

    settings = _settings()
    app = create_app(settings)
    uvicorn.run(
        app,
        host=args.host or settings.host,
        port=settings.port if args.port is None else args.port,
        date_header=False,  # the app sets Date itself
        proxy_headers=True,
    )
    return 0


def cmd_enrol_code(args: argparse.Namespace) -> int:
    site = args.site.strip()
    if not site or not all(ch.isalnum() or ch in "-_." for ch in site):
        raise EproError(f"site {args.site!r}: use letters, digits, '-', '_' or '.' only")
    settings = _settings()
    with _database(settings) as engine, Session(engine) as session:
        code, expires_at = storage.create_enrol_code(
            session, site, _now(), timedelta(minutes=settings.code_expiry_minutes)
        )
        session.commit()
    print(f"enrolment code for site {site}: {code}")
    print(f"valid once, until {expires_at:%Y-%m-%d %H:%M} UTC")
    print("on the kiosk: epro init --server URL --code " + code)
    return 0


def cmd_devices(_args: argparse.Namespace) -> int:
    with _database(_settings()) as engine, Session(engine) as session:
        devices = storage.list_devices(session)
    if not devices:
        print("no kiosks enrolled yet; make a code with `epro-sync enrol-code --site SITE`")
        return 0
    print(f"{'device id':36}  {'site':10}  {'state':8}  {'last seen':16}  label")
    for device in devices:
        state = "revoked" if device.revoked_at else "active"
        seen = _when(device.last_seen_at)
        label = shown_safely(device.label)  # a label stored before the check came in
        print(f"{device.device_id:36}  {device.site:10}  {state:8}  {seen:16}  {label}")
    return 0


def _when(value: datetime | None) -> str:
    return "never" if value is None else f"{value:%Y-%m-%d %H:%M}"


def cmd_revoke(args: argparse.Namespace) -> int:
    with _database(_settings()) as engine, Session(engine) as session:
        device = storage.revoke(session, args.device, _now())
        session.commit()
        print(f"kiosk {device.device_id} ({device.label}, site {device.site}) is revoked")
    return 0


def cmd_reinstate(args: argparse.Namespace) -> int:
    with _database(_settings()) as engine, Session(engine) as session:
        device = storage.reinstate(session, args.device, _now())
        session.commit()
        print(
            f"kiosk {device.device_id} ({device.label}, site {device.site}) is active again; "
            "its next sync uploads what it kept"
        )
    return 0


def cmd_status(_args: argparse.Namespace) -> int:
    with _database(_settings()) as engine, Session(engine) as session:
        sites = storage.status_by_site(session)
    if not sites:
        print("no sites yet")
        return 0
    for site, entry in sites.items():
        print(f"site {site}: {entry['patients']} patients, {entry['devices']} kiosks")
        responses: dict[tuple[str, str], int] = entry["responses"]
        for (visit, form_id), count in sorted(responses.items(), key=_visit_order):
            print(f"  {visit:5} {form_id:16} {count:5} responses")
    return 0


def _visit_order(item: tuple[tuple[str, str], Any]) -> tuple[int, str, str]:
    (visit, form_id), _count = item
    digits = "".join(ch for ch in visit if ch.isdigit())
    return (int(digits) if digits else 0, visit, form_id)


def cmd_verify(_args: argparse.Namespace) -> int:
    """Exit 0 when every stored response checks out, 1 (listing them) when some do not."""
    from epro_sync.verify import verify_responses

    with _database(_settings()) as engine, Session(engine) as session:
        report = verify_responses(session, _now())
        session.commit()
    for finding in report.findings:
        print(f"response {finding.response_id} from kiosk {finding.device_id}: {finding.problem}")
    if report.ok:
        print(f"all {report.checked} stored responses check out (hash and kiosk signature)")
        return 0
    print(
        f"{len(report.findings)} of {report.checked} stored responses failed; keep them out of "
        "the analysis and ask the site which kiosk sent them"
    )
    return 1


def cmd_bundle(args: argparse.Namespace) -> int:
    from epro.crypto import StudyPublicKey
    from epro_sync.bundle import write_bundle
    from epro_sync.study import read_study_public_key

    settings = _settings()
    site = None if args.site is None else args.site.strip()
    fingerprint = None
    if settings.study_public_key_file is not None:
        text = read_study_public_key(settings.study_public_key_file)
        fingerprint = StudyPublicKey.from_json(text).fingerprint()
    with _database(settings) as engine:
        if site is not None and not _site_known(engine, site):
            raise EproError(
                f"no kiosk or patient is registered at site {site!r}; `epro-sync devices` "
                "lists the sites (nothing was written)"
            )
        manifest = write_bundle(
            engine, args.out, site=site, now=_now(), study_key_fingerprint=fingerprint
        )
    counts = manifest.counts
    print(
        f"wrote {args.out}: {counts['response']} responses of {counts['patient']} patients "
        f"from {counts['device']} kiosks, {counts['quarantine']} quarantined, "
        f"{counts['audit']} audit events"
    )
    print(f"sha256 {manifest.sha256}")
    print("export it offline: epro export FILE --study-key STUDY-PRIVATE-KEY --out DIR")
    return 0


def _site_known(engine: Engine, site: str) -> bool:
    from sqlmodel import select

    from epro_sync.db import read_session
    from epro_sync.tables import Device, Patient

    with read_session(engine) as session:
        device = session.exec(select(Device.device_id).where(Device.site == site)).first()
        patient = session.exec(select(Patient.code).where(Patient.site == site)).first()
    return device is not None or patient is not None


def _print_code(email: str, code: str, hours: int) -> None:
    print(f"one-time code for {email}: {code}")
    print(f"valid once, for {hours} hours; it is shown only now")
    print("open /console/activate on the study server and set a password with it")


def cmd_user_add(args: argparse.Namespace) -> int:
    from epro_sync.console import accounts

    settings = _settings()
    with _database(settings) as engine, Session(engine) as session:
        user, code = accounts.add(
            session,
            args.email,
            args.role,
            args.site,
            _now(),
            reset_hours=settings.console_reset_hours,
        )
        session.commit()
        sites = user.sites or "all sites"
        print(f"added {user.email} as {user.role} ({sites})")
        _print_code(user.email, code, settings.console_reset_hours)
    return 0


def cmd_user_list(_args: argparse.Namespace) -> int:
    from epro_sync.console import accounts

    with _database(_settings()) as engine, Session(engine) as session:
        users = accounts.list_all(session)
    if not users:
        print(
            "no console accounts yet; add the first admin with "
            "`epro-sync user add EMAIL --role admin`"
        )
        return 0
    print(f"{'e-mail':32}  {'role':12}  {'state':10}  {'last login':16}  sites")
    for user in users:
        if user.disabled_at is not None:
            state = "disabled"
        elif user.password_hash is None:
            state = "code sent"
        else:
            state = "active"
        print(
            f"{user.email:32}  {user.role:12}  {state:10}  {_when(user.last_login_at):16}  "
            f"{user.sites or 'all'}"
        )
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    from epro_sync.console import accounts

    with _database(_settings()) as engine, Session(engine) as session:
        user = accounts.disable(session, args.email, _now())
        session.commit()
        print(f"{user.email} is disabled; its sessions have ended")
    return 0


def cmd_user_reset(args: argparse.Namespace) -> int:
    from epro_sync.console import accounts

    settings = _settings()
    with _database(settings) as engine, Session(engine) as session:
        user, code = accounts.reset(
            session, args.email, _now(), reset_hours=settings.console_reset_hours
        )
        session.commit()
        print(f"{user.email}: password and authenticator cleared, sessions ended")
        _print_code(user.email, code, settings.console_reset_hours)
    return 0


def cmd_migrate(_args: argparse.Namespace) -> int:
    settings = _settings()
    settings.ensure_database_dir()
    engine = make_engine(settings.database_url)
    try:
        before = current_version(engine)
        applied = migrate(engine)
    finally:
        engine.dispose()
    if applied:
        print(f"schema upgraded from version {before} to {LATEST}")
    else:
        print(f"schema is up to date (version {LATEST})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
