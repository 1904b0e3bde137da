"""Agency isolation: agency B never reads, lists or changes agency A's rows (404, never 403)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from app.models import Agency, User
from tests.factories import auth_headers, make_agency, make_user


@dataclass
class World:
    a: Agency
    b: Agency
    admin_a: User
    viewer_a: User
    admin_b: User
    viewer_b: User
    root: User


@pytest.fixture
def world(session: Session) -> World:
    a, b, platform = make_agency(session), make_agency(session), make_agency(session)
    return World(
        a=a,
        b=b,
        admin_a=make_user(session, a, "agency_admin"),
        viewer_a=make_user(session, a, "viewer"),
        admin_b=make_user(session, b, "agency_admin"),
        viewer_b=make_user(session, b, "viewer"),
        root=make_user(session, platform, "platform_admin"),
    )


def _ids(response) -> set[str]:
    assert response.status_code == 200, response.text
    return {row["id"] for row in response.json()["items"]}


@pytest.mark.parametrize("who", ["admin_b", "viewer_b"])
def test_other_agency_is_404(client: TestClient, world: World, who: str) -> None:
    headers = auth_headers(getattr(world, who))
    for path in (
        f"/v1/agencies/{world.a.id}",
        f"/v1/users/{world.admin_a.id}",
        f"/v1/users/{world.viewer_a.id}",
    ):
        response = client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"


def test_agency_admin_cannot_change_another_agencys_users(client: TestClient, world: World) -> None:
    headers = auth_headers(world.admin_b)
    target = world.viewer_a
    assert (
        client.patch(
            f"/v1/users/{target.id}", json={"full_name": "Diubah"}, headers=headers
        ).status_code
        == 404
    )
    assert (
        client.patch(
            f"/v1/users/{target.id}", json={"is_active": False}, headers=headers
        ).status_code
        == 404
    )
    response = client.post(
        f"/v1/users/{target.id}/password",
        json={"new_password": "taken-over-by-agency-b"},
        headers=headers,
    )
    assert response.status_code == 404
    unchanged = client.get(f"/v1/users/{target.id}", headers=auth_headers(world.admin_a)).json()
    assert unchanged["full_name"] == target.full_name and unchanged["is_active"] is True


def test_agency_admin_cannot_create_users_in_another_agency(
    client: TestClient, world: World
) -> None:
    response = client.post(
        "/v1/users",
        json={
            "email": "penyusup@example.go.id",
            "full_name": "Penyusup",
            "roles": ["agency_admin"],
            "password": "a-long-enough-password",
            "agency_id": world.a.id,
        },
        headers=auth_headers(world.admin_b),
    )
    assert response.status_code == 404
    assert _ids(client.get("/v1/users", headers=auth_headers(world.admin_a))) == {
        world.admin_a.id,
        world.viewer_a.id,
    }


def test_non_platform_admins_cannot_change_agencies(client: TestClient, world: World) -> None:
    for who in (world.admin_b, world.admin_a):
        response = client.patch(
            f"/v1/agencies/{world.a.id}", json={"name": "Diambil Alih"}, headers=auth_headers(who)
        )
        assert response.status_code == 403
    name = client.get(f"/v1/agencies/{world.a.id}", headers=auth_headers(world.admin_a)).json()
    assert name["name"] == world.a.name


def test_lists_never_return_another_agencys_rows(client: TestClient, world: World) -> None:
    assert _ids(client.get("/v1/agencies", headers=auth_headers(world.admin_b))) == {world.b.id}
    assert _ids(client.get("/v1/agencies", headers=auth_headers(world.viewer_b))) == {world.b.id}
    assert _ids(client.get("/v1/users", headers=auth_headers(world.admin_b))) == {
        world.admin_b.id,
        world.viewer_b.id,
    }
    # asking for agency A's users by filter does not widen the scope
    filtered = client.get(
        "/v1/users", params={"agency_id": world.a.id}, headers=auth_headers(world.admin_b)
    )
    assert _ids(filtered) == set()
    # a viewer only sees themselves
    assert _ids(client.get("/v1/users", headers=auth_headers(world.viewer_b))) == {
        world.viewer_b.id
    }


def test_platform_admin_acts_across_agencies(client: TestClient, world: World) -> None:
    headers = auth_headers(world.root)
    assert {world.a.id, world.b.id} <= _ids(client.get("/v1/agencies", headers=headers))
    assert len(_ids(client.get("/v1/users", headers=headers))) == 5
    assert client.get(f"/v1/users/{world.viewer_a.id}", headers=headers).status_code == 200
    response = client.patch(
        f"/v1/users/{world.viewer_a.id}", json={"full_name": "Nama Baru"}, headers=headers
    )
    assert response.status_code == 200 and response.json()["full_name"] == "Nama Baru"
