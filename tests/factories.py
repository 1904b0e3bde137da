"""Test data builders. Users share one precomputed Argon2 hash (hashing costs ~0.2 s)."""

from __future__ import annotations

import itertools
from functools import lru_cache
from typing import Any

from sqlmodel import Session

from app.core.security import Principal, create_access_token, hash_password
from app.models import Agency, User

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


@lru_cache
def password_hash() -> str:
    return hash_password(PASSWORD)


def make_agency(session: Session, **overrides: Any) -> Agency:
    n = next(_seq)
    values: dict[str, Any] = {
        "name": f"Instansi Uji {n}",
        "slug": f"instansi-uji-{n}",
        "kind": "regency_city",
        "timezone": "Asia/Jakarta",
    }
    values.update(overrides)
    agency = Agency(**values)
    session.add(agency)
    session.commit()
    return agency


def make_user(session: Session, agency: Agency, *roles: str, **overrides: Any) -> User:
    n = next(_seq)
    email = overrides.pop("email", f"user{n}@{agency.slug}.example")
    user = User(
        agency_id=agency.id,
        email=email,
        email_normalized=email.lower(),
        full_name=overrides.pop("full_name", f"Pengguna Uji {n}"),
        roles=list(roles or ("agency_admin",)),
        password_hash=overrides.pop("password_hash", password_hash()),
        **overrides,
    )
    session.add(user)
    session.commit()
    return user


def principal_for(user: User) -> Principal:
    return Principal(subject=user.id, agency_id=user.agency_id, roles=frozenset(user.roles))


def auth_headers(user: User, **kwargs: Any) -> dict[str, str]:
    token, _ = create_access_token(principal_for(user), **kwargs)
    return {"Authorization": f"Bearer {token}"}
