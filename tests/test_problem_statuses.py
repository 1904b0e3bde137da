"""Every error status the API gives, provoked on a real /v1 route (no test-only routes),
is RFC 9457 problem+json; with ``Accept-Language: id`` its title and detail are Indonesian."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from app.models import LoginAttempt
from app.models.base import utcnow
from app.services import courses as course_service
from tests.factories import PASSWORD, auth_headers, course_payload, make_agency, make_user

PROBLEM = "application/problem+json"

# Written out here, not read from app/core/i18n.py, so a wrong translation fails.
TITLES = {
    400: ("Bad request", "Permintaan tidak valid"),
    401: ("Unauthorized", "Tidak terautentikasi"),
    403: ("Forbidden", "Akses ditolak"),
    404: ("Not found", "Tidak ditemukan"),
    405: ("Method not allowed", "Metode tidak diizinkan"),
    409: ("Conflict", "Konflik"),
    412: ("Precondition failed", "Prasyarat gagal"),
    413: ("Payload too large", "Muatan terlalu besar"),
    415: ("Unsupported media type", "Jenis media tidak didukung"),
    422: ("Invalid input", "Masukan tidak valid"),
    429: ("Too many requests", "Terlalu banyak permintaan"),
    500: ("Internal server error", "Kesalahan server"),
}


@dataclass
class World:
    client: TestClient
    session: Session
    admin: dict[str, str]
    viewer: dict[str, str]
    email: str
    course_id: str
    course_etag: str


@pytest.fixture
def world(client: TestClient, session: Session) -> World:
    agency = make_agency(session)
    admin = make_user(session, agency, "agency_admin")
    viewer = make_user(session, agency, "viewer")
    headers = auth_headers(admin)
    created = client.post("/v1/courses", json=course_payload(code="PSK-2025"), headers=headers)
    assert created.status_code == 201
    return World(client, session, headers, auth_headers(viewer), viewer.email,
                 created.json()["id"], created.headers["ETag"])  # fmt: skip


def _400(w: World, lang: dict[str, str]):  # type: ignore[no-untyped-def]
    return w.client.post(
        "/v1/courses",
        content=b'{"code": ',
        headers={**w.admin, **lang, "Content-Type": "application/json"},
    )


def _401(w: World, lang: dict[str, str]):  # type: ignore[no-untyped-def]
    return w.client.get("/v1/me", headers=lang)


def _403(w: World, lang: dict[str, str]):  # type: ignore[no-untyped-def]
    return w.client.post("/v1/courses", json=course_payload(), headers={**w.viewer, **lang})


def _404(w: World, lang: dict[str, str]):  # type: ignore[no-untyped-def]
    return w.client.get("/v1/courses/crs_does_not_exist", headers={**w.admin, **lang})


def _405(w: World, lang: dict[str, str]):  # type: ignore[no-untyped-def]
    return w.client.put(f"/v1/courses/{w.course_id}", json={}, headers={**w.admin, **lang})


def _409(w: World, lang: dict[str, str]):  # type: ignore[no-untyped-def]
    body = course_payload(code="PSK-2025")
    return w.client.post("/v1/courses", json=body, headers={**w.admin, **lang})


def _412(w: World, lang: dict[str, str]):  # type: ignore[no-untyped-def]
    url = f"/v1/courses/{w.course_id}"
    w.client.patch(url, json={"summary": "Diubah"}, headers=w.admin)
    return w.client.patch(
        url, json={"summary": "Lagi"}, headers={**w.admin, **lang, "If-Match": w.course_etag}
    )


def _413(w: World, lang: dict[str, str]):  # type: ignore[no-untyped-def]
    big = b'{"code": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    return w.client.post(
        "/v1/courses", content=big, headers={**w.admin, **lang, "Content-Type": "application/json"}
    )


def _415(w: World, lang: dict[str, str]):  # type: ignore[no-untyped-def]
    return w.client.post(
        "/v1/courses",
        content=b"code=PSK",
        headers={**w.admin, **lang, "Content-Type": "text/plain"},
    )


def _422(w: World, lang: dict[str, str]):  # type: ignore[no-untyped-def]
    body = course_payload(total_jp=0, kind="lecture")
    return w.client.post("/v1/courses", json=body, headers={**w.admin, **lang})


def _429(w: World, lang: dict[str, str]):  # type: ignore[no-untyped-def]
    now = utcnow() - timedelta(seconds=5)
    w.session.add_all(
        LoginAttempt(email_normalized=w.email, address="testclient", created_at=now)
        for _ in range(5)
    )
    w.session.commit()
    return w.client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": w.email, "password": PASSWORD},
        headers=lang,
    )


def _500(w: World, lang: dict[str, str]):  # type: ignore[no-untyped-def]
    def broken(**_: object) -> None:
        raise RuntimeError("connection string postgres://secret@db")

    mp = pytest.MonkeyPatch()
    mp.setattr(course_service, "read_course", broken)
    try:
        return w.client.get(f"/v1/courses/{w.course_id}", headers=lang)
    finally:
        mp.undo()


PROVOKE: dict[int, Callable[..., object]] = {
    400: _400, 401: _401, 403: _403, 404: _404, 405: _405, 409: _409,
    412: _412, 413: _413, 415: _415, 422: _422, 429: _429, 500: _500,
}  # fmt: skip


@pytest.mark.parametrize("status", sorted(PROVOKE))
def test_every_error_status_of_a_real_route_is_problem_json(world: World, status: int) -> None:
    response = PROVOKE[status](world, {})
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == PROBLEM  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status
    assert body["title"] == TITLES[status][0]
    assert body["type"] == f"urn:bangkom:problem:{body['code']}" and body["code"]
    assert body["detail"]
    assert body["instance"] == response.request.url.path  # type: ignore[attr-defined]
    assert body["request_id"] == response.headers["x-request-id"]  # type: ignore[attr-defined]
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")  # type: ignore[attr-defined]
    if status == 429:
        assert int(response.headers["retry-after"]) > 0  # type: ignore[attr-defined]
    if status == 405:
        assert "PATCH" in response.headers["allow"]  # type: ignore[attr-defined]
    if status == 422:
        locs = {tuple(e["loc"]) for e in body["errors"]}
        assert locs == {("body", "total_jp"), ("body", "kind")}
    if status == 500:
        assert "secret" not in response.text and "Traceback" not in response.text  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", sorted(PROVOKE))
def test_accept_language_id_gives_indonesian_title_and_detail(world: World, status: int) -> None:
    english = PROVOKE[status](world, {"Accept-Language": "en"}).json()  # type: ignore[attr-defined]
    if status in (409, 429):  # provoking these twice changes the state: use a fresh one
        world.client.post("/v1/courses", json=course_payload(code="PSK-2025"), headers=world.admin)
    response = PROVOKE[status](world, {"Accept-Language": "id"})
    assert response.status_code == status  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["title"] == TITLES[status][1]
    assert body["code"] == english["code"]
    assert body["detail"] and body["detail"] != english["detail"], body["detail"]
