"""Invitations: an admin issues a one-time token; the learner makes their own login with it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from app.models import Agency, LearnerInvitation
from app.models.base import utcnow
from tests.factories import (
    PASSWORD,
    auth_headers,
    login_headers,
    make_agency,
    make_learner,
    make_learner_login,
    make_user,
)

ACCEPT = "/v1/auth/invitations/accept"


@pytest.fixture
def agency(session: Session) -> Agency:
    return make_agency(session)


@pytest.fixture
def admin(session: Session, agency: Agency) -> dict[str, str]:
    return auth_headers(make_user(session, agency, "agency_admin"))


def _invite(client: TestClient, admin: dict[str, str], key: str) -> str:
    made = client.post(f"/v1/learners/{key}/invitations", headers=admin)
    assert made.status_code == 201, made.text
    assert made.headers["Cache-Control"] == "no-store"
    assert made.json()["accept_url"] == ACCEPT
    return str(made.json()["token"])


def _accept(token: str, email: str = "budi@mail.example") -> dict[str, str]:
    return {"token": token, "email": email, "password": PASSWORD}


def test_learner_accepts_an_invitation_once_and_logs_in(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    learner = make_learner(client, admin)
    token = _invite(client, admin, learner["learner_key"])
    stored = session.exec(select(LearnerInvitation)).one()
    assert stored.token_hash != token and token not in stored.token_hash  # only a hash
    session.rollback()  # end the read before the app writes (SQLite)
    accepted = client.post(ACCEPT, json=_accept(token))
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["roles"] == ["learner"]
    assert accepted.json()["learner_id"] == learner["id"]
    me = client.get("/v1/me", headers=login_headers(client, "budi@mail.example")).json()
    assert me["learner"]["learner_key"] == learner["learner_key"]
    again = client.post(ACCEPT, json=_accept(token, "lagi@mail.example"))
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_invitation"
    # the learner has a login now: no more invitations
    refused = client.post(f"/v1/learners/{learner['learner_key']}/invitations", headers=admin)
    assert refused.status_code == 409
    assert refused.json()["code"] == "learner_has_login"


def test_unknown_replaced_and_expired_tokens_get_one_answer(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    key = make_learner(client, admin)["learner_key"]
    first = _invite(client, admin, key)
    second = _invite(client, admin, key)  # replaces the first
    unknown = client.post(ACCEPT, json=_accept("inv_never-issued"))
    replaced = client.post(ACCEPT, json=_accept(first))
    assert unknown.status_code == replaced.status_code == 400
    assert unknown.json()["detail"] == replaced.json()["detail"]
    indonesian = client.post(
        ACCEPT, json=_accept("inv_never-issued"), headers={"Accept-Language": "id"}
    )
    assert "Token undangan tidak sah" in indonesian.json()["detail"]
    for row in session.exec(select(LearnerInvitation)).all():
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    session.commit()
    expired = client.post(ACCEPT, json=_accept(second))
    assert expired.status_code == 400
    assert expired.json()["detail"] == unknown.json()["detail"]


def test_accept_applies_the_password_policy_and_unique_email(
    client: TestClient, session: Session, admin: dict[str, str], agency: Agency
) -> None:
    key = make_learner(client, admin)["learner_key"]
    token = _invite(client, admin, key)
    short = client.post(ACCEPT, json={**_accept(token), "password": "pendek"})
    assert short.status_code == 422
    is_email = client.post(ACCEPT, json={**_accept(token), "password": "budi@mail.example".upper()})
    assert is_email.status_code == 422
    taken_by = make_user(session, agency, "viewer")
    taken = client.post(ACCEPT, json=_accept(token, taken_by.email.upper()))
    assert taken.status_code == 409
    assert taken.json()["code"] == "email_taken"
    assert client.post(ACCEPT, json=_accept(token)).status_code == 201  # the token survived


def test_only_the_home_agency_invites(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    key = make_learner(client, admin)["learner_key"]
    stranger = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    assert client.post(f"/v1/learners/{key}/invitations", headers=stranger).status_code == 404
    viewer = auth_headers(make_user(session, make_agency(session), "viewer"))
    assert client.post(f"/v1/learners/{key}/invitations", headers=viewer).status_code == 403
    assert client.post(f"/v1/learners/{key}/invitations").status_code == 401


def test_admin_login_after_an_invitation_makes_the_token_useless(
    client: TestClient, admin: dict[str, str]
) -> None:
    key = make_learner(client, admin)["learner_key"]
    token = _invite(client, admin, key)
    make_learner_login(client, admin, key)
    late = client.post(ACCEPT, json=_accept(token))
    assert late.status_code == 409
    assert late.json()["code"] == "learner_has_login"


def test_parallel_accepts_of_one_token_make_one_login(live_server: str, session: Session) -> None:
    admin = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    session.rollback()  # release SQLite's write lock before the server writes
    with httpx.Client(base_url=live_server, timeout=30) as http:
        key = make_learner(http, admin)["learner_key"]
        made = http.post(f"/v1/learners/{key}/invitations", headers=admin)
        assert made.status_code == 201, made.text
        token = made.json()["token"]

        def accept(i: int) -> httpx.Response:
            return http.post(ACCEPT, json=_accept(token, f"balap{i}@mail.example"))

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(accept, range(4)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses[0] == 201 and statuses.count(201) == 1, [a.text for a in answers]
        assert all(s in (400, 409) for s in statuses[1:])
        users = http.get("/v1/users", headers=admin).json()["items"]
        assert sum(1 for u in users if u["learner_id"]) == 1
