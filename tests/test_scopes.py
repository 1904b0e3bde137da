"""Every /v1 operation declares the OAuth2 scope an integration client needs (or is for
people only, or is the token endpoint's), and a client token without that scope gets 403
``insufficient_scope`` with the RFC 6750 challenge naming it. People keep their roles."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from app.main import create_app
from app.models.client import SCOPE_DESCRIPTIONS, Scope
from tests.factories import auth_headers, course_payload, make_agency, make_user
from tests.test_clients import bearer, client_token, register

# No token at all: logging in, logging out, accepting an invitation.
PUBLIC = {"auth-token", "auth-revoke", "auth-accept-invitation"}
# People only (403 humans_only for a client): accounts, agencies, clients, a learner's own.
HUMANS_ONLY_PREFIXES = ("users-", "agencies-", "clients-", "me-")
HUMANS_ONLY = {"learners-invite"}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = create_app().openapi()
    return [
        (method.upper(), path, op)
        for path, item in schema["paths"].items()
        if path.startswith("/v1/")
        for method, op in item.items()
    ]


OPERATIONS = _operations()


def _humans_only(name: str) -> bool:
    return name in HUMANS_ONLY or name.startswith(HUMANS_ONLY_PREFIXES)


def _scope(op: dict[str, Any]) -> list[str]:
    return [s for req in op.get("security", []) for s in req.get("OAuth2", [])]


def test_every_operation_declares_one_scope_unless_public_or_for_people() -> None:
    missing = []
    for method, path, op in OPERATIONS:
        name = op["operationId"]
        scopes = _scope(op)
        if name in PUBLIC:
            assert "security" not in op, name
        elif _humans_only(name):
            assert scopes == [], name
        elif len(scopes) != 1 or scopes[0] not in SCOPE_DESCRIPTIONS:
            missing.append(f"{method} {path} ({name}): {scopes}")
    assert not missing, "operations without exactly one known scope:\n" + "\n".join(missing)


def test_the_scheme_lists_the_client_credentials_flow_and_every_scope() -> None:
    scheme = create_app().openapi()["components"]["securitySchemes"]["OAuth2"]
    flow = scheme["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/v1/auth/token"
    assert set(flow["scopes"]) == {s.value for s in Scope}
    assert "password" in scheme["flows"]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


@pytest.fixture
def tokens_without(client: TestClient, session: Session) -> dict[str, dict[str, str]]:
    """For each scope, a client token holding every other scope."""
    admin = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    out = {}
    for scope in SCOPE_DESCRIPTIONS:
        others = [s for s in SCOPE_DESCRIPTIONS if s != scope]
        created = register(client, admin, name=f"without {scope}", scopes=others)
        out[scope] = bearer(client_token(client, created["client_id"], created["client_secret"]))
    return out


def test_a_client_without_the_scope_gets_403_with_the_challenge(
    client: TestClient, tokens_without: dict[str, dict[str, str]]
) -> None:
    checked = 0
    for method, path, op in OPERATIONS:
        scopes = _scope(op)
        if op["operationId"] in PUBLIC or _humans_only(op["operationId"]):
            continue
        response = client.request(method, _concrete(path), headers=tokens_without[scopes[0]])
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["code"] == "insufficient_scope"
        assert response.headers["www-authenticate"] == (
            f'Bearer error="insufficient_scope", scope="{scopes[0]}"'
        )
        assert scopes[0] in response.json()["detail"]
        checked += 1
    assert checked > 40


def test_a_client_is_refused_every_route_for_people(
    client: TestClient, tokens_without: dict[str, dict[str, str]]
) -> None:
    headers = tokens_without["webhooks:manage"]  # every scope but one
    for method, path, op in OPERATIONS:
        if not _humans_only(op["operationId"]):
            continue
        response = client.request(method, _concrete(path), headers=headers)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["code"] == "humans_only"


def test_a_client_with_the_scope_reads_and_writes_its_agency(
    client: TestClient, session: Session
) -> None:
    admin = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    created = register(client, admin, scopes=["catalog:read", "catalog:write"])
    headers = bearer(client_token(client, created["client_id"], created["client_secret"]))
    body = course_payload()
    made = client.post("/v1/courses", json=body, headers=headers)
    assert made.status_code == 201, made.text
    course_id = made.json()["id"]
    assert client.get(f"/v1/courses/{course_id}", headers=headers).status_code == 200  # a draft
    narrowed = bearer(
        client_token(client, created["client_id"], created["client_secret"], scope="catalog:read")
    )
    refused = client.post("/v1/courses", json=body, headers=narrowed)
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"


def test_people_keep_role_based_access_without_scopes(client: TestClient, session: Session) -> None:
    admin = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    assert client.get("/v1/learners", headers=admin).status_code == 200
    assert client.get("/v1/courses").status_code == 200  # anonymous: the public catalogue
