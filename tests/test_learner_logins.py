"""Learner logins: made by the home agency's admin; what a learner principal sees and may do."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from app.core.security import Principal
from app.models import Agency, Learner
from app.services import visibility
from tests.factories import (
    PASSWORD,
    auth_headers,
    course_payload,
    login_headers,
    make_agency,
    make_learner,
    make_learner_login,
    make_published_course,
    make_user,
)


@pytest.fixture
def agency(session: Session) -> Agency:
    return make_agency(session)


@pytest.fixture
def admin(session: Session, agency: Agency) -> dict[str, str]:
    return auth_headers(make_user(session, agency, "agency_admin"))


def _login_body(key: str, **overrides: object) -> dict[str, object]:
    return {
        "email": "siti@mail.example",
        "full_name": "Siti",
        "roles": ["learner"],
        "learner_key": key,
        "password": PASSWORD,
        **overrides,
    }


def test_admin_gives_a_learner_a_login_and_me_shows_the_learner(
    client: TestClient, admin: dict[str, str], agency: Agency
) -> None:
    learner = make_learner(client, admin, email="siti@instansi.go.id", phone="0812-3456-7890")
    made = client.post("/v1/users", json=_login_body(learner["learner_key"]), headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["roles"] == ["learner"]
    assert made.json()["learner_id"] == learner["id"]
    assert made.json()["agency_id"] == agency.id
    me = client.get("/v1/me", headers=login_headers(client, "siti@mail.example"))
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["roles"] == ["learner"]
    assert body["learner"]["id"] == learner["id"]
    assert body["learner"]["email"] == "siti@instansi.go.id"  # their own personal data
    assert body["learner"]["birth_date"] == learner["birth_date"]
    assert body["agency"]["id"] == agency.id
    staff = client.get("/v1/me", headers=admin).json()
    assert staff["learner"] is None


def test_learner_sees_only_their_own_learner_record(
    client: TestClient, admin: dict[str, str]
) -> None:
    mine = make_learner(client, admin)
    other = make_learner(client, admin)  # same agency
    headers = make_learner_login(client, admin, mine["learner_key"])
    own = client.get(f"/v1/learners/{mine['learner_key']}", headers=headers)
    assert own.status_code == 200
    assert own.json()["phone"] == mine["phone"]
    assert client.get(f"/v1/learners/{other['learner_key']}", headers=headers).status_code == 404
    listed = client.get("/v1/learners", headers=headers)
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["items"]] == [mine["id"]]
    users = client.get("/v1/users", headers=headers).json()["items"]
    assert [u["learner_id"] for u in users] == [mine["id"]]  # never the agency's staff


def test_learner_reads_the_catalogue_as_anonymous_and_writes_nothing(
    client: TestClient, admin: dict[str, str]
) -> None:
    published = make_published_course(client, admin)
    draft = client.post("/v1/courses", json=course_payload(), headers=admin)
    assert draft.status_code == 201, draft.text
    learner = make_learner(client, admin)
    headers = make_learner_login(client, admin, learner["learner_key"])
    assert client.get(f"/v1/courses/{published['id']}", headers=headers).status_code == 200
    # a draft of their own agency is hidden from them, as from anyone outside it
    assert client.get(f"/v1/courses/{draft.json()['id']}", headers=headers).status_code == 404
    listed = {c["id"] for c in client.get("/v1/courses", headers=headers).json()["items"]}
    anonymous = {c["id"] for c in client.get("/v1/courses").json()["items"]}
    assert listed == anonymous
    assert draft.json()["id"] not in listed
    refused = client.post("/v1/courses", json=course_payload(), headers=headers)
    assert refused.status_code == 403
    body = {"asn_type": "pns", "name": "Siti"}
    key = learner["learner_key"]
    assert client.put(f"/v1/learners/{key}", json=body, headers=headers).status_code == 403
    invite = client.post(f"/v1/learners/{key}/invitations", headers=headers)
    assert invite.status_code == 403


def test_other_agency_learner_is_404_and_one_login_per_learner(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    learner = make_learner(client, admin)
    key = learner["learner_key"]
    stranger = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    hidden = client.post("/v1/users", json=_login_body(key), headers=stranger)
    assert hidden.status_code == 404
    assert learner["agency_id"] not in hidden.text
    assert client.post("/v1/users", json=_login_body(key), headers=admin).status_code == 201
    again = client.post(
        "/v1/users", json=_login_body(key, email="lain@mail.example"), headers=admin
    )
    assert again.status_code == 409
    assert again.json()["code"] == "learner_has_login"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"roles": ["learner", "viewer"]}, "roles"),
        ({"learner_key": None}, "learner_key"),
        ({"roles": ["viewer"]}, "learner_key"),
        ({"agency_id": "agn_x"}, "agency_id"),
    ],
)
def test_learner_role_goes_alone_and_with_a_learner_key(
    client: TestClient, admin: dict[str, str], overrides: dict[str, object], field: str
) -> None:
    key = make_learner(client, admin)["learner_key"]
    body = {k: v for k, v in _login_body(key, **overrides).items() if v is not None}
    refused = client.post("/v1/users", json=body, headers=admin)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["loc"] == ["body", field]


def test_staff_cannot_become_a_learner_nor_a_learner_staff(
    client: TestClient, session: Session, admin: dict[str, str], agency: Agency
) -> None:
    staff = make_user(session, agency, "viewer")
    to_learner = client.patch(f"/v1/users/{staff.id}", json={"roles": ["learner"]}, headers=admin)
    assert to_learner.status_code == 422
    key = make_learner(client, admin)["learner_key"]
    login = client.post("/v1/users", json=_login_body(key), headers=admin).json()
    promote = client.patch(
        f"/v1/users/{login['id']}", json={"roles": ["agency_admin"]}, headers=admin
    )
    assert promote.status_code == 422


def test_login_follows_the_learner_on_transfer(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    new_agency = make_agency(session)
    new_admin = auth_headers(make_user(session, new_agency, "agency_admin"))
    learner = make_learner(client, admin)
    key = learner["learner_key"]
    old_token = make_learner_login(client, admin, key, email="pindah@mail.example")
    released = client.post(
        f"/v1/learners/{key}/release", json={"to_agency_id": new_agency.id}, headers=admin
    )
    assert released.status_code == 200, released.text
    assert (
        client.post(f"/v1/learners/{key}/transfer", json={}, headers=new_admin).status_code == 200
    )
    # tokens naming the old agency end; a new login works and is in the new agency
    assert client.get("/v1/me", headers=old_token).status_code == 401
    me = client.get("/v1/me", headers=login_headers(client, "pindah@mail.example")).json()
    assert me["agency"]["id"] == new_agency.id
    assert me["learner"]["id"] == learner["id"]
    users = client.get("/v1/users", headers=new_admin).json()["items"]
    assert learner["id"] in {u["learner_id"] for u in users}
    assert learner["id"] not in {
        u["learner_id"] for u in client.get("/v1/users", headers=admin).json()["items"]
    }


def test_a_malformed_learner_key_is_named_in_the_body(
    client: TestClient, admin: dict[str, str]
) -> None:
    refused = client.post("/v1/users", json=_login_body("12345"), headers=admin)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "learner_key"]


def test_visibility_python_and_sql_forms_agree_for_a_learner_principal(
    client: TestClient, session: Session, admin: dict[str, str], agency: Agency
) -> None:
    mine, other = make_learner(client, admin), make_learner(client, admin)
    me = Principal(
        subject="usr_x", agency_id=agency.id, roles=frozenset({"learner"}), learner_id=mine["id"]
    )
    assert visibility.who(me) is visibility.Who.anonymous
    assert not visibility.owns(me, agency.id)
    sql = visibility.learner_visible_sql(
        visibility.who(me), me.agency_id, visibility.learner_self_id(me)
    )
    seen = set(session.exec(select(Learner.id).where(sql)).all())
    python = {
        row["id"]
        for row in (mine, other)
        if visibility.learner_visible(me, row["agency_id"], row["id"])
    }
    assert seen == python == {mine["id"]}
    assert visibility.learner_personal_visible(me, agency.id, mine["id"])
    assert not visibility.learner_personal_visible(me, agency.id, other["id"])


def test_disabling_the_home_agency_ends_the_learner_login(
    client: TestClient, session: Session, admin: dict[str, str], agency: Agency
) -> None:
    key = make_learner(client, admin)["learner_key"]
    headers = make_learner_login(client, admin, key, email="nonaktif@mail.example")
    platform = auth_headers(make_user(session, make_agency(session), "platform_admin"))
    off = client.patch(f"/v1/agencies/{agency.id}", json={"is_active": False}, headers=platform)
    assert off.status_code == 200, off.text
    assert client.get("/v1/me", headers=headers).status_code == 401
    refused = client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "nonaktif@mail.example", "password": PASSWORD},
    )
    assert refused.status_code == 400
