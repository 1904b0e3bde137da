"""``bangkom create-agency`` and ``bangkom create-user``: the first accounts on an empty database."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from pydantic import ValidationError
from sqlmodel import col, select

from app.core.errors import ProblemError
from app.core.security import Principal
from app.models import Agency
from app.models.agency import AgencyCreate, AgencyKind
from app.models.user import Role, UserCreate

# The CLI runs with the rights of whoever can reach the database: act as a platform admin.
_CLI = Principal(subject="cli", agency_id="", roles=frozenset({"platform_admin"}))

Subparsers = argparse._SubParsersAction


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _create_agency(args: argparse.Namespace) -> int:
    from app.core.db import session_scope
    from app.services.agencies import create_agency

    try:
        data = AgencyCreate(name=args.name, slug=args.slug, kind=args.kind, timezone=args.timezone)
    except ValidationError as exc:
        return _fail(str(exc))
    with session_scope(write=True) as session:
        try:
            agency = create_agency(session=session, data=data)
        except ProblemError as exc:
            return _fail(exc.detail or exc.code)
    print(f"created agency {agency.slug} ({agency.id})")
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if os.environ.get("BANGKOM_NEW_USER_PASSWORD"):
        return os.environ["BANGKOM_NEW_USER_PASSWORD"]
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the passwords differ")
    return first


def _create_user(args: argparse.Namespace) -> int:
    from app.core.db import session_scope
    from app.services.users import create_user

    with session_scope() as session:
        agency_id = session.exec(select(Agency.id).where(col(Agency.slug) == args.agency)).first()
    if agency_id is None:
        return _fail(f"no agency has slug '{args.agency}' (bangkom create-agency first)")
    try:
        password = _read_password(args)
        data = UserCreate(
            email=args.email,
            full_name=args.full_name,
            roles=args.role or [Role.agency_admin],
            password=password,
            agency_id=agency_id,
        )
    except (ValueError, ValidationError) as exc:
        return _fail(str(exc))
    with session_scope(write=True) as session:
        try:
            user = create_user(session=session, principal=_CLI, data=data)
        except ProblemError as exc:
            return _fail(exc.detail or exc.code)
    print(f"created user {user.email} ({user.id}) in {args.agency}: {', '.join(user.roles)}")
    return 0


def register(sub: Subparsers) -> None:
    agency = sub.add_parser("create-agency", help="create an agency (instansi)")
    agency.add_argument("--name", required=True, help="e.g. 'BKPSDM Kabupaten Tangerang'")
    agency.add_argument("--slug", required=True, help="e.g. bkpsdm-kab-tangerang")
    agency.add_argument("--kind", choices=[k.value for k in AgencyKind], default="other")
    agency.add_argument("--timezone", default="Asia/Jakarta")
    agency.set_defaults(func=_create_agency)

    user = sub.add_parser(
        "create-user",
        help="create a user; the password is asked for (or read from stdin or "
        "BANGKOM_NEW_USER_PASSWORD), never taken as an argument",
    )
    user.add_argument("--email", required=True)
    user.add_argument("--full-name", required=True)
    user.add_argument("--agency", required=True, help="the agency's slug")
    user.add_argument("--role", action="append", choices=[r.value for r in Role], help="repeatable")
    user.add_argument("--password-stdin", action="store_true", help="read one line from stdin")
    user.set_defaults(func=_create_user)
