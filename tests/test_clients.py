"""/v1/clients and grant_type=client_credentials: registration, secrets shown once and
stored hashed, rotation (two live at most), disabling, expiry, IP ranges, scope narrowing."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from app.main import create_app
from app.models import ClientSecret
from app.models.base import utcnow
from tests.factories import auth_headers, make_agency, make_user

TOKEN = "/v1/auth/token"
PROBLEM = "application/problem+json"


def register(client: TestClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body = {"name": "ASN Berpijar sync", "scopes": ["catalog:read", "learners:read"]}
    body.update(overrides)
    response = client.post("/v1/clients", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def client_token(
    client: TestClient, client_id: str, secret: str, *, basic: bool = False, scope: str = ""
):
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    if basic:
        raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        return client.post(TOKEN, data=data, headers={"Authorization": f"Basic {raw}"})
    return client.post(TOKEN, data={**data, "client_id": client_id, "client_secret": secret})


def bearer(response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    return auth_headers(make_user(session, make_agency(session), "agency_admin"))


def test_secret_is_shown_once_and_stored_as_sha256(
    client: TestClient, admin: dict[str, str], session: Session
) -> None:
    created = register(client, admin, allowed_ranges=["10.1.2.0/24"])
    secret = created["client_secret"]
    assert created["client_id"].startswith("cli_") and len(secret) >= 43  # 256 bits
    assert created["allowed_ranges"] == ["10.1.2.0/24"]
    stored = session.exec(select(ClientSecret)).one()
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    shown = client.get(f"/v1/clients/{created['client_id']}", headers=admin)
    assert shown.status_code == 200 and "client_secret" not in shown.json()
    assert secret not in shown.text
    listed = client.get("/v1/clients", headers=admin).json()
    assert [c["client_id"] for c in listed["items"]] == [created["client_id"]]


def test_client_credentials_by_basic_and_by_form_fields(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = register(client, admin)
    for basic in (True, False):
        response = client_token(client, created["client_id"], created["client_secret"], basic=basic)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["scope"] == "catalog:read learners:read"
        assert "refresh_token" not in body and body["token_type"] == "bearer"
        assert response.headers["cache-control"] == "no-store"


def test_wrong_secret_is_invalid_client_with_basic_challenge(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = register(client, admin)
    for basic in (True, False):
        response = client_token(client, created["client_id"], "bks_wrong", basic=basic)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["www-authenticate"].startswith("Basic")
    response = client_token(client, "cli_nosuchclient", created["client_secret"])
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_scope_narrowing_and_invalid_scope(client: TestClient, admin: dict[str, str]) -> None:
    created = register(client, admin)
    cid, secret = created["client_id"], created["client_secret"]
    narrowed = client_token(client, cid, secret, scope="catalog:read")
    assert narrowed.status_code == 200 and narrowed.json()["scope"] == "catalog:read"
    refused = client_token(client, cid, secret, scope="catalog:read progress:write")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    assert "progress:write" in refused.json()["detail"]


def test_rotation_two_live_secrets_then_retire(client: TestClient, admin: dict[str, str]) -> None:
    created = register(client, admin)
    cid, old = created["client_id"], created["client_secret"]
    added = client.post(f"/v1/clients/{cid}/secrets", headers=admin)
    assert added.status_code == 201, added.text
    new = added.json()["client_secret"]
    assert client_token(client, cid, old).status_code == 200
    assert client_token(client, cid, new).status_code == 200
    third = client.post(f"/v1/clients/{cid}/secrets", headers=admin)
    assert third.status_code == 409 and third.json()["code"] == "too_many_secrets"
    old_id = client.get(f"/v1/clients/{cid}", headers=admin).json()["secrets"][0]["id"]
    assert client.delete(f"/v1/clients/{cid}/secrets/{old_id}", headers=admin).status_code == 204
    assert client_token(client, cid, old).status_code == 401
    assert client_token(client, cid, new).status_code == 200
    missing = client.delete(f"/v1/clients/{cid}/secrets/{old_id}", headers=admin)
    assert missing.status_code == 404


def test_disabled_client_gets_no_token_and_its_tokens_stop(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = register(client, admin)
    cid, secret = created["client_id"], created["client_secret"]
    headers = bearer(client_token(client, cid, secret))
    assert client.get("/v1/courses", headers=headers).status_code == 200
    etag = client.get(f"/v1/clients/{cid}", headers=admin).headers["etag"]
    patched = client.patch(
        f"/v1/clients/{cid}", json={"disabled": True}, headers={**admin, "If-Match": etag}
    )
    assert patched.status_code == 200 and patched.json()["disabled"] is True
    stale = client.patch(
        f"/v1/clients/{cid}", json={"name": "x"}, headers={**admin, "If-Match": etag}
    )
    assert stale.status_code == 412
    refused = client_token(client, cid, secret)
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"
    gone = client.get("/v1/courses", headers=headers)
    assert gone.status_code == 401 and "client" in gone.json()["detail"]


def test_expired_client_is_refused(client: TestClient, admin: dict[str, str]) -> None:
    soon = (utcnow() + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    created = register(client, admin, expires_at=soon)
    cid, secret = created["client_id"], created["client_secret"]
    assert client_token(client, cid, secret).status_code == 200
    past = (utcnow() - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    assert client.patch(f"/v1/clients/{cid}", json={"expires_at": past}, headers=admin).is_success
    refused = client_token(client, cid, secret)
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"


def test_allowed_ranges_limit_where_tokens_are_asked_for_and_used(
    engine: Any, admin: dict[str, str]
) -> None:
    with TestClient(create_app(), client=("10.1.2.3", 5000)) as inside:
        created = register(inside, admin, allowed_ranges=["10.1.2.0/24"])
        cid, secret = created["client_id"], created["client_secret"]
        headers = bearer(client_token(inside, cid, secret))
        assert inside.get("/v1/courses", headers=headers).status_code == 200
    with TestClient(create_app(), client=("192.0.2.9", 5000)) as outside:
        refused = client_token(outside, cid, secret)
        assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"
        assert outside.get("/v1/courses", headers=headers).status_code == 401


def test_another_agency_cannot_see_or_change_a_client(
    client: TestClient, admin: dict[str, str], session: Session
) -> None:
    created = register(client, admin)
    cid = created["client_id"]
    other = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    assert client.get(f"/v1/clients/{cid}", headers=other).status_code == 404
    assert client.patch(f"/v1/clients/{cid}", json={"name": "x"}, headers=other).status_code == 404
    assert client.post(f"/v1/clients/{cid}/secrets", headers=other).status_code == 404
    assert client.get("/v1/clients", headers=other).json()["items"] == []


def test_viewers_cannot_manage_clients(client: TestClient, session: Session) -> None:
    viewer = auth_headers(make_user(session, make_agency(session), "viewer"))
    response = client.post(
        "/v1/clients", json={"name": "x", "scopes": ["catalog:read"]}, headers=viewer
    )
    assert response.status_code == 403


def test_platform_admin_registers_for_another_agency(client: TestClient, session: Session) -> None:
    platform = auth_headers(make_user(session, make_agency(session), "platform_admin"))
    target = make_agency(session)
    created = register(client, platform, agency_id=target.id)
    assert created["agency_id"] == target.id
    token = client_token(client, created["client_id"], created["client_secret"])
    assert token.status_code == 200


def test_invalid_registration_is_422_in_both_languages(
    client: TestClient, admin: dict[str, str]
) -> None:
    bad = {"name": "x", "scopes": ["catalog:read", "everything"], "allowed_ranges": ["10.1/99"]}
    response = client.post("/v1/clients", json=bad, headers={**admin, "Accept-Language": "id"})
    assert response.status_code == 422
    locs = [e["loc"] for e in response.json()["errors"]]
    assert ["body", "scopes", 1] in locs and ["body", "allowed_ranges", 0] in locs


def test_clients_cannot_manage_clients_users_or_agencies(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = register(client, admin)
    headers = bearer(client_token(client, created["client_id"], created["client_secret"]))
    for method, path in [
        ("GET", "/v1/clients"),
        ("POST", "/v1/clients"),
        ("GET", "/v1/users"),
        ("GET", "/v1/agencies"),
        ("GET", "/v1/me"),
    ]:
        response = client.request(method, path, headers=headers)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["code"] == "humans_only"
