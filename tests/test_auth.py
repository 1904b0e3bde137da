"""The token endpoint: password and refresh grants, reuse detection, revocation, throttling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select, update
from starlette.testclient import TestClient

from app.models import LoginAttempt, RefreshToken
from app.models.base import utcnow
from tests.factories import PASSWORD, auth_headers, make_agency, make_user

PROBLEM = "application/problem+json"
TOKEN = "/v1/auth/token"


def login(client: TestClient, email: str, password: str = PASSWORD, **headers: str):
    return client.post(
        TOKEN,
        data={"grant_type": "password", "username": email, "password": password},
        headers=headers,
    )


def refresh(client: TestClient, refresh_token: str):
    return client.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": refresh_token})


def assert_oauth_error(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == error and body["error"] == error
    return body


@pytest.fixture
def user(session: Session):
    return make_user(session, make_agency(session), "instructor", email="Siti.Aminah@Example.go.id")


def test_password_login_returns_a_bearer_pair(client: TestClient, user) -> None:
    response = login(client, "  siti.aminah@EXAMPLE.go.id ")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 900 and body["scope"] == ""
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["user"]["email"] == "Siti.Aminah@Example.go.id"
    assert me.json()["roles"] == ["instructor"]
    assert "password_hash" not in me.text


def test_login_is_a_form_not_json(client: TestClient, user) -> None:
    response = client.post(
        TOKEN, json={"grant_type": "password", "username": user.email, "password": PASSWORD}
    )
    assert_oauth_error(response, 400, "invalid_request")


def test_wrong_email_and_wrong_password_get_the_same_error(client: TestClient, user) -> None:
    wrong_password = assert_oauth_error(
        login(client, user.email, "not-the-password"), 400, "invalid_grant"
    )
    unknown = assert_oauth_error(login(client, "nobody@example.go.id"), 400, "invalid_grant")
    assert wrong_password["detail"] == unknown["detail"]


def test_unknown_grant_type_is_unsupported(client: TestClient) -> None:
    response = client.post(TOKEN, data={"grant_type": "authorization_code", "code": "x"})
    assert_oauth_error(response, 400, "unsupported_grant_type")


def test_refresh_rotates_and_a_reused_token_kills_the_family(client: TestClient, user) -> None:
    first = login(client, user.email).json()
    second = refresh(client, first["refresh_token"])
    assert second.status_code == 200, second.text
    second_pair = second.json()
    assert second_pair["refresh_token"] != first["refresh_token"]
    # the first refresh token is presented again: reuse, so the whole login dies
    assert_oauth_error(refresh(client, first["refresh_token"]), 400, "invalid_grant")
    assert_oauth_error(refresh(client, second_pair["refresh_token"]), 400, "invalid_grant")
    # other logins of the same user are not touched
    other = login(client, user.email).json()
    assert refresh(client, other["refresh_token"]).status_code == 200


def test_access_token_used_as_refresh_token_is_refused(client: TestClient, user) -> None:
    pair = login(client, user.email).json()
    assert_oauth_error(refresh(client, pair["access_token"]), 400, "invalid_grant")


def test_expired_refresh_token_is_refused(client: TestClient, user, session: Session) -> None:
    pair = login(client, user.email).json()
    session.exec(update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert_oauth_error(refresh(client, pair["refresh_token"]), 400, "invalid_grant")


def test_refresh_tokens_are_stored_hashed(client: TestClient, user, session: Session) -> None:
    pair = login(client, user.email).json()
    stored = session.exec(select(RefreshToken.token_hash)).all()
    assert len(stored) == 1 and pair["refresh_token"] not in stored[0]


def test_revoke_logs_out_the_family(client: TestClient, user) -> None:
    first = login(client, user.email).json()
    second = refresh(client, first["refresh_token"]).json()
    response = client.post("/v1/auth/revoke", data={"token": second["refresh_token"]})
    assert response.status_code == 200
    assert_oauth_error(refresh(client, second["refresh_token"]), 400, "invalid_grant")
    # unknown tokens are not an error (RFC 7009)
    assert client.post("/v1/auth/revoke", data={"token": "rt_unknown"}).status_code == 200
    # access tokens cannot be revoked, and the caller is told so
    assert_oauth_error(
        client.post("/v1/auth/revoke", data={"token": first["access_token"]}),
        400,
        "unsupported_token_type",
    )


# --- throttling ------------------------------------------------------------------


def test_sixth_attempt_is_429_even_with_the_right_password_until_the_window_passes(
    client: TestClient, session: Session
) -> None:
    agency = make_agency(session)
    target = make_user(session, agency, "viewer")
    colleague = make_user(session, agency, "viewer")
    for _ in range(5):
        assert_oauth_error(login(client, target.email, "wrong-password-123"), 400, "invalid_grant")
    blocked = login(client, target.email)  # the right password
    assert blocked.status_code == 429
    assert blocked.headers["content-type"] == PROBLEM
    assert 1 <= int(blocked.headers["retry-after"]) <= 900
    # same address, other account: the office can still log in
    assert login(client, colleague.email).status_code == 200
    # the window passes
    session.exec(
        update(LoginAttempt).values(created_at=utcnow() - timedelta(minutes=15, seconds=1))
    )
    session.commit()
    assert login(client, target.email).status_code == 200


def test_email_case_does_not_escape_the_account_limit(client: TestClient, session: Session) -> None:
    target = make_user(session, make_agency(session), "viewer", email="budi@example.go.id")
    now = utcnow()
    for _ in range(5):  # from the test client's address
        session.add(
            LoginAttempt(email_normalized=target.email, address="testclient", created_at=now)
        )
    session.commit()
    assert login(client, "BUDI@Example.go.id").status_code == 429


def test_password_spraying_from_one_address_is_blocked_for_every_account(
    client: TestClient, session: Session
) -> None:
    user = make_user(session, make_agency(session), "viewer")
    now = utcnow()
    # 50 failures against 50 different accounts from the test client's address
    session.add_all(
        LoginAttempt(
            email_normalized=f"victim{i}@example.go.id", address="testclient", created_at=now
        )
        for i in range(50)
    )
    session.commit()
    response = login(client, user.email)
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 0


def test_a_few_typos_in_a_busy_office_do_not_block_the_address(
    client: TestClient, session: Session
) -> None:
    user = make_user(session, make_agency(session), "viewer")
    now = utcnow()
    session.add_all(
        LoginAttempt(
            email_normalized=f"pegawai{i}@example.go.id", address="testclient", created_at=now
        )
        for i in range(49)
    )
    session.commit()
    assert login(client, user.email).status_code == 200


def test_successful_login_clears_the_account_failures(client: TestClient, session: Session) -> None:
    user = make_user(session, make_agency(session), "viewer")
    assert login(client, user.email, "wrong-password-123").status_code == 400
    assert login(client, user.email).status_code == 200
    remaining = session.exec(
        select(LoginAttempt).where(col(LoginAttempt.email_normalized) == user.email)
    ).all()
    assert remaining == []


# --- disabled users and password changes ---------------------------------------------


def test_disabled_user_loses_access_and_refresh_tokens_at_once(
    client: TestClient, session: Session
) -> None:
    agency = make_agency(session)
    admin = make_user(session, agency, "agency_admin")
    user = make_user(session, agency, "instructor")
    pair = login(client, user.email).json()
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}
    assert client.get("/v1/me", headers=bearer).status_code == 200
    response = client.patch(
        f"/v1/users/{user.id}", json={"is_active": False}, headers=auth_headers(admin)
    )
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert client.get("/v1/me", headers=bearer).status_code == 401
    assert_oauth_error(refresh(client, pair["refresh_token"]), 400, "invalid_grant")
    assert_oauth_error(login(client, user.email), 400, "invalid_grant")


def test_disabled_agency_stops_its_users(client: TestClient, session: Session) -> None:
    agency = make_agency(session)
    user = make_user(session, agency, "agency_admin")
    root = make_user(session, make_agency(session), "platform_admin")
    headers = auth_headers(user)
    assert client.get("/v1/me", headers=headers).status_code == 200
    response = client.patch(
        f"/v1/agencies/{agency.id}", json={"is_active": False}, headers=auth_headers(root)
    )
    assert response.status_code == 200
    assert client.get("/v1/me", headers=headers).status_code == 401


def test_changing_password_revokes_refresh_tokens(client: TestClient, user) -> None:
    pair = login(client, user.email).json()
    new_password = "a-brand-new-passphrase"
    response = client.post(
        f"/v1/users/{user.id}/password",
        json={"current_password": PASSWORD, "new_password": new_password},
        headers={"Authorization": f"Bearer {pair['access_token']}"},
    )
    assert response.status_code == 204, response.text
    assert_oauth_error(refresh(client, pair["refresh_token"]), 400, "invalid_grant")
    assert login(client, user.email, PASSWORD).status_code == 400
    assert login(client, user.email, new_password).status_code == 200


def test_revoke_without_a_token_is_invalid_request(client: TestClient) -> None:
    assert_oauth_error(client.post("/v1/auth/revoke", data={}), 400, "invalid_request")


def test_login_prunes_expired_refresh_tokens(client: TestClient, user, session: Session) -> None:
    login(client, user.email)
    session.exec(update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    fresh = login(client, user.email).json()
    stored = session.exec(select(RefreshToken)).all()
    assert len(stored) == 1 and stored[0].expires_at > utcnow()
    session.rollback()  # release SQLite's write lock before the app writes
    assert refresh(client, fresh["refresh_token"]).status_code == 200


def test_a_change_made_by_another_worker_applies_within_the_recheck_interval(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.core.config import get_settings
    from app.models import User

    user = make_user(session, make_agency(session), "viewer")
    headers = auth_headers(user)
    monkeypatch.setenv("BANGKOM_AUTH_RECHECK_SECONDS", "0")
    get_settings.cache_clear()
    try:
        assert client.get("/v1/me", headers=headers).status_code == 200
        # another worker disables the user: only the database knows
        session.exec(update(User).where(col(User.id) == user.id).values(is_active=False))
        session.commit()
        assert client.get("/v1/me", headers=headers).status_code == 401
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_oversized_credentials_are_a_plain_invalid_grant(client: TestClient, user) -> None:
    assert_oauth_error(login(client, "x" * 2000 + "@example.go.id"), 400, "invalid_grant")
    assert_oauth_error(login(client, user.email, "p" * 100_000), 400, "invalid_grant")


def test_revoke_answers_an_empty_200_as_the_contract_says(client: TestClient, user) -> None:
    pair = login(client, user.email).json()
    response = client.post("/v1/auth/revoke", data={"token": pair["refresh_token"]})
    assert response.status_code == 200
    assert response.content == b"" and "content-type" not in response.headers
    declared = client.get("/openapi.json").json()["paths"]["/v1/auth/revoke"]["post"]
    assert declared["responses"]["200"].get("content", {}) == {}


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (
            {
                "grant_type": "password",
                "username": "x@example.go.id",
                "password": "salah-sekali-123",
            },
            "invalid_grant",
        ),
        ({"grant_type": "password"}, "invalid_request"),
        ({"grant_type": "client_magic"}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token", "refresh_token": "rt_unknown"}, "invalid_grant"),
    ],
)
def test_login_errors_are_fully_indonesian(client: TestClient, user, form, error) -> None:
    english = client.post("/v1/auth/token", data=form).json()
    response = client.post("/v1/auth/token", data=form, headers={"Accept-Language": "id"})
    body = assert_oauth_error(response, 400, error)
    assert body["detail"] != english["detail"]
    assert body["error_description"] == body["detail"]  # no English left in the body
    assert body["title"] == "Permintaan tidak valid"
