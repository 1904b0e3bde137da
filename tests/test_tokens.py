"""Access tokens: every forged, stale or misplaced token is a problem+json 401.

Tokens are forged by hand (base64 + hmac) so the tests do not share the code under test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlmodel import Session
from starlette.testclient import TestClient

from app.core.config import get_settings
from tests.factories import auth_headers, make_agency, make_user

PROBLEM = "application/problem+json"
SECRET = "test-secret-key-that-is-long-enough-0123456789"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def forge(claims: dict[str, Any], *, key: bytes = SECRET.encode(), alg: str = "HS256") -> str:
    header = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    if alg == "none":
        return f"{header}.{payload}."
    signature = hmac.new(key, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def good_claims(user, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": user.id,
        "agency": user.agency_id,
        "roles": list(user.roles),
        "scope": "",
        "iss": "bangkom",
        "aud": "bangkom-api",
        "iat": now,
        "exp": now + 600,
        "jti": "test-jti",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_401(response) -> dict:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["status"] == 401 and body["code"] == "unauthorized"
    return body


@pytest.fixture
def user(session: Session):
    return make_user(session, make_agency(session), "agency_admin")


def test_hand_forged_token_with_the_right_secret_is_accepted(client: TestClient, user) -> None:
    # The forging helper itself works, so the refusals below are about the flaw each injects.
    response = client.get("/v1/me", headers=_bearer(forge(good_claims(user))))
    assert response.status_code == 200
    assert response.json()["user"]["id"] == user.id


@pytest.mark.parametrize(
    "path", ["/v1/me", "/v1/agencies", "/v1/users", "/v1/users/usr_x", "/v1/agencies/agc_x"]
)
def test_without_token_is_401_problem_with_www_authenticate(client: TestClient, path: str) -> None:
    assert_401(client.get(path))


def test_alg_none_is_refused(client: TestClient, user) -> None:
    assert_401(client.get("/v1/me", headers=_bearer(forge(good_claims(user), alg="none"))))


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("expired", {"iat": int(time.time()) - 3600, "exp": int(time.time()) - 60}),
        ("iat far in the future", {"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}),
        ("wrong audience", {"aud": "another-api"}),
        ("wrong issuer", {"iss": "someone-else"}),
        ("missing exp", {"exp": None}),
        ("missing iat", {"iat": None}),
        ("missing aud", {"aud": None}),
        ("missing iss", {"iss": None}),
    ],
)
def test_bad_claims_are_refused(client: TestClient, user, name: str, changes: dict) -> None:
    token = forge(good_claims(user, **changes))
    assert_401(client.get("/v1/me", headers=_bearer(token)))


def test_token_signed_with_another_secret_is_refused(client: TestClient, user) -> None:
    token = forge(good_claims(user), key=b"another-secret-of-sufficient-length-000000")
    assert_401(client.get("/v1/me", headers=_bearer(token)))


def test_tampered_payload_is_refused(client: TestClient, user, session: Session) -> None:
    other = make_agency(session)
    header, _payload, signature = auth_headers(user)["Authorization"][7:].split(".")
    tampered = _b64(json.dumps(good_claims(user, agency=other.id)).encode())
    assert_401(client.get("/v1/me", headers=_bearer(f"{header}.{tampered}.{signature}")))


def test_token_in_query_string_is_refused(client: TestClient, user) -> None:
    token = auth_headers(user)["Authorization"][7:]
    response = client.get(f"/v1/me?access_token={token}")
    # not a parameter of the contract: refused by name, never read as a credential
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["query", "access_token"]


def test_other_authorization_schemes_are_refused(client: TestClient, user) -> None:
    token = auth_headers(user)["Authorization"][7:]
    assert_401(client.get("/v1/me", headers={"Authorization": f"Token {token}"}))


def test_refresh_token_used_as_access_token_is_refused(client: TestClient, user) -> None:
    from tests.factories import PASSWORD

    tokens = client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": user.email, "password": PASSWORD},
    ).json()
    assert_401(client.get("/v1/me", headers=_bearer(tokens["refresh_token"])))
    assert client.get("/v1/me", headers=_bearer(tokens["access_token"])).status_code == 200


# --- asymmetric keys -----------------------------------------------------------


def _pem(private_key: Any) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def use_algorithm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def configure(algorithm: str, private_key: Any) -> None:
        monkeypatch.setenv("BANGKOM_JWT_ALGORITHM", algorithm)
        monkeypatch.setenv("BANGKOM_JWT_PRIVATE_KEY", _pem(private_key))
        get_settings.cache_clear()

    yield configure
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("algorithm", "make_key"),
    [
        ("RS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
    ],
)
def test_asymmetric_tokens_verify_and_jwks_serves_the_public_key(
    client: TestClient, user, use_algorithm, algorithm: str, make_key
) -> None:
    use_algorithm(algorithm, make_key())
    token = auth_headers(user)["Authorization"][7:]
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] == algorithm
    assert client.get("/v1/me", headers=_bearer(token)).status_code == 200
    (key,) = client.get("/.well-known/jwks.json").json()["keys"]
    assert key["kid"] == header["kid"] and key["alg"] == algorithm
    assert "d" not in key  # never the private part


def test_hs256_token_keyed_with_the_rs256_public_key_is_refused(
    client: TestClient, user, use_algorithm
) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    use_algorithm("RS256", private)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = forge(good_claims(user), key=public_pem, alg="HS256")
    assert_401(client.get("/v1/me", headers=_bearer(token)))
    # and with RS256 configured, HS256 tokens signed with the shared secret are refused too
    assert_401(client.get("/v1/me", headers=_bearer(forge(good_claims(user)))))


def test_jwks_is_empty_with_hs256(client: TestClient) -> None:
    assert client.get("/.well-known/jwks.json").json() == {"keys": []}


def test_only_the_security_module_imports_jose() -> None:
    app_dir = Path(__file__).resolve().parents[1] / "app"
    importers = {
        str(p.relative_to(app_dir))
        for p in app_dir.rglob("*.py")
        if any(
            line.strip().startswith(("import jose", "from jose"))
            for line in p.read_text(encoding="utf-8").splitlines()
        )
    }
    assert importers == {"core/security.py"}
