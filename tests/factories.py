"""Test data builders. Users share one precomputed Argon2 hash (hashing costs ~0.2 s)."""

from __future__ import annotations

import itertools
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache
from typing import Any

from sqlmodel import Session

from app.core.security import Principal, create_access_token, hash_password
from app.models import Agency, Learner, User

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
    return Principal(
        subject=user.id,
        agency_id=user.agency_id,
        roles=frozenset(user.roles),
        generation=user.token_generation,
    )


def auth_headers(user: User, **kwargs: Any) -> dict[str, str]:
    token, _ = create_access_token(principal_for(user), **kwargs)
    return {"Authorization": f"Bearer {token}"}


# --- catalogue -------------------------------------------------------------


def course_payload(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    values: dict[str, Any] = {
        "code": f"CRS-{n}",
        "title": f"Pelatihan Uji {n}",
        "summary": "Ringkasan pelatihan",
        "kind": "training",
        "competency_type": "socio_cultural",
        "delivery": "blended",
        "total_jp": 10,
    }
    values.update(overrides)
    return values


def module(jp: float, mode: str = "self_paced", **overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    values: dict[str, Any] = {"title": f"Mata Pelatihan {n}", "jp": jp, "mode": mode}
    values.update(overrides)
    return values


def assessed_modules(count: int, jp: int = 5) -> list[dict[str, Any]]:
    """``count`` assessed modules of ``jp`` JP each, alternating self-paced and classroom,
    whose weights add up to 100 (the first takes the rounding remainder)."""
    share = Decimal(100) / count
    weights = [share.quantize(Decimal("0.01"), rounding=ROUND_DOWN)] * count
    weights[0] += Decimal(100) - sum(weights)
    modes = ("self_paced", "classroom")
    return [module(jp, modes[k % 2], assessed=True, weight=float(w)) for k, w in enumerate(weights)]


def make_published_course(
    client: Any,
    headers: dict[str, str],
    modules: list[dict[str, Any]] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A published course with a published curriculum (version 1): ``modules``, or two
    assessed modules by default (``total_jp`` must then match their sum)."""
    total = overrides.get("total_jp", 10)
    created = client.post("/v1/courses", json=course_payload(**overrides), headers=headers)
    assert created.status_code == 201, created.text
    course = created.json()
    modules = modules or [
        module(total - 4, "self_paced", assessed=True, weight=60),
        module(4, "classroom", assessed=True, weight=40),
    ]
    cur = client.post(
        f"/v1/courses/{course['id']}/curricula", json={"modules": modules}, headers=headers
    )
    assert cur.status_code == 201, cur.text
    pub = client.post(f"/v1/courses/{course['id']}/curricula/1/publish", headers=headers)
    assert pub.status_code == 200, pub.text
    patched = client.patch(
        f"/v1/courses/{course['id']}", json={"status": "published"}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    return dict(patched.json())


def make_cohort(
    client: Any, headers: dict[str, str], course_id: str, **overrides: Any
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "course_id": course_id,
        "number": 1,
        "year": 2025,
        "starts_on": "2025-05-14",
        "ends_on": "2025-05-26",
        "capacity": 40,
    }
    if "year" in overrides and "starts_on" not in overrides:  # a cohort's year is its start's
        year = overrides["year"]
        values.update(starts_on=f"{year}-05-14", ends_on=f"{year}-05-26")
    values.update(overrides)
    created = client.post("/v1/cohorts", json=values, headers=headers)
    assert created.status_code == 201, created.text
    return dict(created.json())


# --- learners ----------------------------------------------------------------


def nip(
    birth: str = "19800101", start: str = "200501", gender: str = "1", seq: int | None = None
) -> str:
    """A valid NIP (18 digits); each call without ``seq`` gets a fresh sequence number."""
    number = seq if seq is not None else next(_seq) % 999 + 1
    return f"{birth}{start}{gender}{number:03d}"


def learner_payload(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    values: dict[str, Any] = {
        "asn_type": "pns",
        "name": f"Peserta Uji {'abcdefghij'[n % 10]}",
        "position_type": "pelaksana",
        "rank": "III/a",
        "work_unit": "Bidang Pengembangan Kompetensi",
    }
    values.update(overrides)
    return values


def make_learner(
    client: Any, headers: dict[str, str], key: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """PUT a learner (a PNS with a fresh NIP unless ``key`` says otherwise)."""
    key = key or nip()
    created = client.put(f"/v1/learners/{key}", json=learner_payload(**overrides), headers=headers)
    assert created.status_code == 201, created.text
    return dict(created.json())


# --- enrolments -------------------------------------------------------------------


def make_open_cohort(
    client: Any, headers: dict[str, str], course_id: str, **overrides: Any
) -> dict[str, Any]:
    """A cohort moved to ``open`` (enrolment needs it); capacity 40 unless overridden."""
    cohort = make_cohort(client, headers, course_id, **overrides)
    opened = client.post(
        f"/v1/cohorts/{cohort['id']}/transitions", json={"to": "open"}, headers=headers
    )
    assert opened.status_code == 200, opened.text
    return dict(opened.json())


def make_learner_row(session: Session, agency: Agency, i: int, **overrides: Any) -> Learner:
    """A PNS learner inserted directly (fast set-up for many); NIP unique by ``i`` < 12000."""
    key = nip(start=f"20{5 + i // 999 % 12:02d}01", seq=i % 999 + 1)
    values: dict[str, Any] = {
        "learner_key": key,
        "agency_id": agency.id,
        "asn_type": "pns",
        "nip": key,
        "name": f"Peserta Massal {i}",
        "search": f"peserta massal {i} {key}",
    }
    values.update(overrides)
    learner = Learner(**values)
    session.add(learner)
    return learner


def enrol(
    client: Any, headers: dict[str, str], cohort_id: str, key: str, **body: Any
) -> dict[str, Any]:
    created = client.post(
        f"/v1/cohorts/{cohort_id}/enrollments", json={"learner_key": key, **body}, headers=headers
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


def make_learner_login(
    client: Any, admin: dict[str, str], key: str, email: str | None = None
) -> dict[str, str]:
    """An admin gives the learner ``key`` a login; answers the learner's bearer headers."""
    email = email or f"peserta{next(_seq)}@mail.example"
    made = client.post(
        "/v1/users",
        json={
            "email": email,
            "full_name": "Peserta",
            "roles": ["learner"],
            "learner_key": key,
            "password": PASSWORD,
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    return login_headers(client, email)


def login_headers(client: Any, email: str, password: str = PASSWORD) -> dict[str, str]:
    tokens = client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": email, "password": password}
    )
    assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}
