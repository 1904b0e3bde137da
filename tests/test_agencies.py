"""/v1/agencies: platform admins create and change agencies; everyone reads their own."""

from __future__ import annotations

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from tests.factories import auth_headers, make_agency, make_user

NEW = {
    "name": "BKPSDM Kabupaten Tangerang",
    "slug": "bkpsdm-kab-tangerang",
    "kind": "regency_city",
}


@pytest.fixture
def root(session: Session):
    return make_user(session, make_agency(session, slug="lan-ri"), "platform_admin")


def test_platform_admin_creates_and_updates_an_agency(client: TestClient, root) -> None:
    headers = auth_headers(root)
    created = client.post("/v1/agencies", json=NEW, headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["timezone"] == "Asia/Jakarta" and body["is_active"] is True
    changed = client.patch(
        f"/v1/agencies/{body['id']}", json={"timezone": "Asia/Makassar"}, headers=headers
    )
    assert changed.status_code == 200 and changed.json()["timezone"] == "Asia/Makassar"
    assert changed.json()["updated_at"] >= body["updated_at"]


def test_duplicate_slug_is_409(client: TestClient, root) -> None:
    headers = auth_headers(root)
    assert client.post("/v1/agencies", json=NEW, headers=headers).status_code == 201
    again = client.post("/v1/agencies", json=NEW, headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "slug_taken"


@pytest.mark.parametrize(
    "changes",
    [{"timezone": "Asia/Singapore"}, {"slug": "Bad Slug"}, {"kind": "village"}, {"name": "x"}],
)
def test_invalid_agency_is_422(client: TestClient, root, changes: dict) -> None:
    response = client.post("/v1/agencies", json=NEW | changes, headers=auth_headers(root))
    assert response.status_code == 422


def test_agency_admin_cannot_create_agencies(client: TestClient, session: Session) -> None:
    admin = make_user(session, make_agency(session), "agency_admin")
    response = client.post("/v1/agencies", json=NEW, headers=auth_headers(admin))
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_everyone_reads_their_own_agency(client: TestClient, session: Session) -> None:
    agency = make_agency(session)
    viewer = make_user(session, agency, "viewer")
    response = client.get(f"/v1/agencies/{agency.id}", headers=auth_headers(viewer))
    assert response.status_code == 200 and response.json()["slug"] == agency.slug
    me = client.get("/v1/me", headers=auth_headers(viewer)).json()
    assert me["agency"]["id"] == agency.id
