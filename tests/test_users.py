"""/v1/users: agency admins manage their agency's users; people change their own password."""

from __future__ import annotations

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from tests.factories import PASSWORD, auth_headers, make_agency, make_user


def new_user(**changes) -> dict:
    body = {
        "email": "Rina.Wati@Tangerangkab.go.id",
        "full_name": "Dra. Rina Wati, M.Si.",
        "roles": ["instructor"],
        "password": "sebelas-dua-belas",
    }
    body.update(changes)
    return body


@pytest.fixture
def agency(session: Session):
    return make_agency(session)


@pytest.fixture
def admin(session: Session, agency):
    return make_user(session, agency, "agency_admin")


def test_agency_admin_creates_a_user_who_can_log_in(client: TestClient, admin) -> None:
    response = client.post("/v1/users", json=new_user(), headers=auth_headers(admin))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["agency_id"] == admin.agency_id and body["roles"] == ["instructor"]
    assert "password" not in response.text and "hash" not in response.text
    login = client.post(
        "/v1/auth/token",
        data={
            "grant_type": "password",
            "username": "rina.wati@tangerangkab.go.id",
            "password": "sebelas-dua-belas",
        },
    )
    assert login.status_code == 200


def test_email_is_unique_regardless_of_case(client: TestClient, admin) -> None:
    headers = auth_headers(admin)
    assert client.post("/v1/users", json=new_user(), headers=headers).status_code == 201
    again = client.post(
        "/v1/users", json=new_user(email="RINA.WATI@tangerangkab.go.id"), headers=headers
    )
    assert again.status_code == 409 and again.json()["code"] == "email_taken"


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("pendek", "password"),
        ("rina.wati@tangerangkab.go.id", "email"),
        ("RINA.WATI@TANGERANGKAB.GO.ID", "email"),
    ],
)
def test_password_policy(client: TestClient, admin, password: str, fragment: str) -> None:
    response = client.post(
        "/v1/users", json=new_user(password=password), headers=auth_headers(admin)
    )
    assert response.status_code == 422
    assert fragment in response.text


def test_agency_admin_cannot_grant_platform_admin(client: TestClient, admin) -> None:
    headers = auth_headers(admin)
    response = client.post("/v1/users", json=new_user(roles=["platform_admin"]), headers=headers)
    assert response.status_code == 403


def test_agency_admin_cannot_touch_a_platform_admin_of_its_agency(
    client: TestClient, session: Session, agency, admin
) -> None:
    root = make_user(session, agency, "platform_admin")
    response = client.patch(
        f"/v1/users/{root.id}", json={"is_active": False}, headers=auth_headers(admin)
    )
    assert response.status_code == 403


def test_instructors_and_viewers_cannot_manage_users(
    client: TestClient, session: Session, agency, admin
) -> None:
    for role in ("instructor", "viewer"):
        user = make_user(session, agency, role)
        headers = auth_headers(user)
        assert client.post("/v1/users", json=new_user(), headers=headers).status_code == 403
        response = client.patch(f"/v1/users/{admin.id}", json={"full_name": "X"}, headers=headers)
        assert response.status_code == 403
        # reading a colleague is not disclosed, reading oneself works
        assert client.get(f"/v1/users/{admin.id}", headers=headers).status_code == 404
        assert client.get(f"/v1/users/{user.id}", headers=headers).status_code == 200


def test_admin_cannot_disable_themselves(client: TestClient, admin) -> None:
    response = client.patch(
        f"/v1/users/{admin.id}", json={"is_active": False}, headers=auth_headers(admin)
    )
    assert response.status_code == 409


def test_roles_change_takes_effect_on_existing_tokens(
    client: TestClient, session: Session, agency, admin
) -> None:
    deputy = make_user(session, agency, "agency_admin")
    deputy_headers = auth_headers(deputy)
    response = client.patch(
        f"/v1/users/{deputy.id}", json={"roles": ["viewer"]}, headers=auth_headers(admin)
    )
    assert response.status_code == 200 and response.json()["roles"] == ["viewer"]
    assert client.post("/v1/users", json=new_user(), headers=deputy_headers).status_code == 403


def test_own_password_change_needs_the_current_password(
    client: TestClient, session: Session, agency
) -> None:
    user = make_user(session, agency, "viewer")
    headers = auth_headers(user)
    url = f"/v1/users/{user.id}/password"
    wrong = client.post(
        url, json={"current_password": "not-it-at-all", "new_password": "x" * 14}, headers=headers
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "wrong_password"
    missing = client.post(url, json={"new_password": "x" * 14}, headers=headers)
    assert missing.status_code == 422
    as_email = client.post(
        url, json={"current_password": PASSWORD, "new_password": user.email}, headers=headers
    )
    assert as_email.status_code == 422
    ok = client.post(
        url, json={"current_password": PASSWORD, "new_password": "x" * 14}, headers=headers
    )
    assert ok.status_code == 204


def test_viewer_cannot_change_a_colleagues_password(
    client: TestClient, session: Session, agency, admin
) -> None:
    viewer = make_user(session, agency, "viewer")
    response = client.post(
        f"/v1/users/{admin.id}/password",
        json={"current_password": PASSWORD, "new_password": "x" * 14},
        headers=auth_headers(viewer),
    )
    assert response.status_code == 404


def test_admin_sets_a_users_password(client: TestClient, session: Session, agency, admin) -> None:
    user = make_user(session, agency, "viewer")
    response = client.post(
        f"/v1/users/{user.id}/password",
        json={"new_password": "reset-by-the-admin"},
        headers=auth_headers(admin),
    )
    assert response.status_code == 204
    login = client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": user.email, "password": "reset-by-the-admin"},
    )
    assert login.status_code == 200


def test_users_list_pages_with_a_cursor(
    client: TestClient, session: Session, agency, admin
) -> None:
    for _ in range(4):
        make_user(session, agency, "viewer")
    headers = auth_headers(admin)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = client.get("/v1/users", params=params, headers=headers)
        body = response.json()
        seen += [u["id"] for u in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            assert "link" not in response.headers
            break
        assert response.headers["link"].endswith('; rel="next"')
        assert f"cursor={cursor}" in response.headers["link"]
    assert pages == 3 and len(seen) == len(set(seen)) == 5
    # limits above the maximum are capped, as on every list
    capped = client.get("/v1/users", params={"limit": 201}, headers=headers)
    assert capped.status_code == 200 and len(capped.json()["items"]) == 5
    bad = client.get("/v1/users", params={"cursor": "not-a-cursor"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"


def test_taken_email_answer_does_not_say_which_agency_holds_it(
    client: TestClient, session: Session, agency, admin
) -> None:
    other = make_agency(session, name="Polda Rahasia")
    make_user(session, other, "viewer", email="sari@polda.example")
    make_user(session, agency, "viewer", email="budi@tangerang.example")
    headers = auth_headers(admin)

    def refusal(email: str) -> dict:
        response = client.post("/v1/users", json=new_user(email=email), headers=headers)
        assert response.status_code == 409
        body = response.json()
        body.pop("request_id")
        return {k: str(v).replace(email, "<email>") for k, v in body.items()}

    elsewhere, here = refusal("sari@polda.example"), refusal("budi@tangerang.example")
    assert elsewhere == here  # the same answer whichever agency holds the address
    text = str(elsewhere)
    assert other.name not in text and other.id not in text and other.slug not in text
    assert "already exists" not in text and "<email>" not in text


def test_password_errors_are_fully_indonesian(client: TestClient, session: Session, agency) -> None:
    user = make_user(session, agency, "viewer")
    url = f"/v1/users/{user.id}/password"
    headers = {**auth_headers(user), "Accept-Language": "id"}
    wrong = client.post(
        url, json={"current_password": "not-it-at-all", "new_password": "x" * 14}, headers=headers
    ).json()
    assert wrong["detail"].startswith("Kata sandi saat ini salah")
    as_email = client.post(
        url, json={"current_password": PASSWORD, "new_password": user.email}, headers=headers
    ).json()
    assert (
        as_email["detail"] == "new_password tidak boleh sama dengan alamat email; pilih yang lain."
    )
