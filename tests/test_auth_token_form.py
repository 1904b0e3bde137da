"""Access tokens have one spelling, numeric times, no unknown critical headers, and the
401 says in our words (in both languages) what is wrong. A password change or a disabled
account ends every token issued before it, whatever the clock says."""

from __future__ import annotations

import base64
import json
import time

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from app.core import security
from tests.factories import PASSWORD, auth_headers, make_agency, make_user
from tests.test_tokens import _b64, assert_401, forge, good_claims

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.fixture
def user(session: Session):
    return make_user(session, make_agency(session), "agency_admin")


def _me(client: TestClient, token: str, **headers: str):
    return client.get("/v1/me", headers={"Authorization": f"Bearer {token}", **headers})


def _flip_unused_bits(token: str) -> str:
    """The same signature bytes, spelled with other unused low bits in the last character."""
    last = B64URL.index(token[-1])
    return token[:-1] + B64URL[last ^ 0b01]


@pytest.mark.parametrize(
    "spell",
    [
        pytest.param(lambda t: t + "=", id="padding"),
        pytest.param(lambda t: t + "~~~~", id="tildes"),
        pytest.param(lambda t: t + "%%", id="percent"),
        pytest.param(lambda t: t + " trailing", id="trailing-bytes"),
        pytest.param(lambda t: t + ".", id="fourth-segment"),
        pytest.param(_flip_unused_bits, id="unused-low-bits"),
        pytest.param(lambda t: t.replace("-", "+").replace("_", "/") + "+/", id="std-alphabet"),
    ],
)
def test_only_the_canonical_spelling_of_a_token_is_accepted(
    client: TestClient, user, spell
) -> None:
    token = forge(good_claims(user))
    assert _me(client, token).status_code == 200  # the original works (and is now cached)
    variant = spell(token)
    assert variant != token
    body = assert_401(_me(client, variant))
    assert "compact form" in body["detail"]


def test_low_bit_variant_decodes_to_the_same_signature() -> None:
    # Guards the test above: the variant really is another spelling of the same bytes.
    token = forge({"sub": "x"})
    sig = token.rsplit(".", 1)[1]
    flipped = _flip_unused_bits(token).rsplit(".", 1)[1]
    assert base64.urlsafe_b64decode(sig + "=") == base64.urlsafe_b64decode(flipped + "=")


def _forge_with_header(header: dict, claims: dict) -> str:
    import hashlib
    import hmac

    from tests.test_tokens import SECRET

    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def test_unknown_critical_header_is_refused(client: TestClient, user) -> None:
    header = {"alg": "HS256", "typ": "JWT", "crit": ["x-bangkom-unknown"], "x-bangkom-unknown": 1}
    body = assert_401(_me(client, _forge_with_header(header, good_claims(user))))
    assert "crit" in body["detail"]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"exp": str(int(time.time()) + 600)}, id="exp-string"),
        pytest.param({"iat": str(int(time.time()))}, id="iat-string"),
        pytest.param({"nbf": str(int(time.time()) - 10)}, id="nbf-string"),
        pytest.param({"exp": True}, id="exp-bool"),
    ],
)
def test_times_must_be_numbers(client: TestClient, user, changes: dict) -> None:
    assert_401(_me(client, forge(good_claims(user, **changes))))


def test_an_undecodable_token_is_explained_without_library_text(client: TestClient, user) -> None:
    header = _b64(b"\xb7\xfa\x00not json")  # canonical base64url, not UTF-8
    payload = _b64(json.dumps(good_claims(user)).encode())
    token = f"{header}.{payload}.{_b64(b'0' * 32)}"
    english = assert_401(_me(client, token))
    indonesian = assert_401(_me(client, token, **{"Accept-Language": "id"}))
    for body in (english, indonesian):
        assert "codec" not in body["detail"] and "utf-8" not in body["detail"].lower()
        assert "0xb7" not in body["detail"] and "Invalid header" not in body["detail"]
    assert english["detail"].startswith("The access token is not valid")
    assert indonesian["detail"].startswith("Token akses tidak sah")
    assert "compact" not in indonesian["detail"]  # no English inside the Indonesian sentence


@pytest.mark.parametrize(
    "token_for",
    [
        pytest.param(lambda u: forge(good_claims(u, exp=int(time.time()) - 5)), id="expired"),
        pytest.param(lambda u: forge(good_claims(u), key=b"another-secret-0123456789"), id="sig"),
        pytest.param(lambda u: forge(good_claims(u, aud="someone-else")), id="audience"),
    ],
)
def test_token_errors_speak_indonesian_fully(client: TestClient, user, token_for) -> None:
    token = token_for(user)
    english = assert_401(_me(client, token))
    indonesian = assert_401(_me(client, token, **{"Accept-Language": "id"}))
    assert english["detail"] != indonesian["detail"]
    assert indonesian["detail"].startswith("Token akses tidak sah: ")
    for word in ("Signature", "expired", "audience", "Invalid", "claim"):
        assert word not in indonesian["detail"]


def _next_second() -> None:
    time.sleep(1.02 - time.time() % 1)


def test_a_token_issued_in_the_same_second_as_a_password_change_is_refused(
    client: TestClient, session: Session
) -> None:
    agency = make_agency(session)
    admin = make_user(session, agency, "agency_admin")
    victim = make_user(session, agency, "viewer")
    _next_second()  # token and change in the same wall-clock second (one Argon2 run apart)
    stolen = auth_headers(victim)
    response = client.post(
        f"/v1/users/{victim.id}/password",
        json={"new_password": "a-brand-new-passphrase"},
        headers=auth_headers(admin),
    )
    assert response.status_code == 204, response.text
    assert int(time.time()) == int(security.time.time())  # (the clock is not patched)
    assert client.get("/v1/me", headers=stolen).status_code == 401
    fresh = client.post(
        "/v1/auth/token",
        data={
            "grant_type": "password",
            "username": victim.email,
            "password": "a-brand-new-passphrase",
        },
    )
    assert fresh.status_code == 200
    assert _me(client, fresh.json()["access_token"]).status_code == 200


def test_own_password_change_ends_the_token_used_for_it(client: TestClient, user) -> None:
    headers = auth_headers(user)
    response = client.post(
        f"/v1/users/{user.id}/password",
        json={"current_password": PASSWORD, "new_password": "a-brand-new-passphrase"},
        headers=headers,
    )
    assert response.status_code == 204
    assert client.get("/v1/me", headers=headers).status_code == 401


def test_re_enabling_an_account_does_not_revive_its_old_tokens(
    client: TestClient, session: Session
) -> None:
    agency = make_agency(session)
    admin = make_user(session, agency, "agency_admin")
    user = make_user(session, agency, "viewer")
    old = auth_headers(user)
    for active in (False, True):
        response = client.patch(
            f"/v1/users/{user.id}", json={"is_active": active}, headers=auth_headers(admin)
        )
        assert response.status_code == 200
    assert client.get("/v1/me", headers=old).status_code == 401
    session.refresh(user)
    assert client.get("/v1/me", headers=auth_headers(user)).status_code == 200
