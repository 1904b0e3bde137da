"""ETags cover everything a representation shows, including what it borrows from its
parent (a cohort shows its course's title, a curriculum its course's minutes per JP, a
session its cohort's zone): a 304 never hides a change, and lists change their ETag too."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.testclient import TestClient

from tests.factories import auth_headers, make_agency, make_cohort, make_published_course, make_user


def _revalidate(client: TestClient, url: str, headers: dict[str, str], change: Any) -> Any:
    """Read, check 304 while unchanged, apply ``change``, then the old ETag must get a 200."""
    first = client.get(url, headers=headers)
    assert first.status_code == 200, first.text
    etag = first.headers["ETag"]
    assert client.get(url, headers={**headers, "If-None-Match": etag}).status_code == 304
    change()
    again = client.get(url, headers={**headers, "If-None-Match": etag})
    assert again.status_code == 200, url
    assert again.headers["ETag"] != etag
    return again.json()


def _world(client: TestClient, session: Session) -> tuple[dict[str, str], dict, dict]:
    headers = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    course = make_published_course(client, headers)
    cohort = make_cohort(client, headers, course["id"])
    return headers, course, cohort


def test_cohort_etag_changes_when_its_course_title_changes(
    client: TestClient, session: Session
) -> None:
    headers, course, cohort = _world(client, session)

    def rename() -> None:
        r = client.patch(
            f"/v1/courses/{course['id']}", json={"title": "Judul Baru"}, headers=headers
        )
        assert r.status_code == 200

    body = _revalidate(client, f"/v1/cohorts/{cohort['id']}", headers, rename)
    assert body["course_title"] == "Judul Baru"
    # the new ETag is what If-Match compares with
    url = f"/v1/cohorts/{cohort['id']}"
    etag = client.get(url, headers=headers).headers["ETag"]
    ok = client.patch(url, json={"capacity": 33}, headers={**headers, "If-Match": etag})
    assert ok.status_code == 200, ok.text
    assert ok.headers["ETag"] == client.get(url, headers=headers).headers["ETag"]


def test_curriculum_etags_change_when_the_course_minutes_per_jp_change(
    client: TestClient, session: Session
) -> None:
    headers, course, _ = _world(client, session)
    one = f"/v1/courses/{course['id']}/curricula/1"
    many = f"/v1/courses/{course['id']}/curricula"
    minutes = iter([48, 54])

    def slower() -> None:
        r = client.patch(
            f"/v1/courses/{course['id']}", json={"minutes_per_jp": next(minutes)}, headers=headers
        )
        assert r.status_code == 200

    assert _revalidate(client, one, headers, slower)["total_hours"] == 8
    assert _revalidate(client, many, headers, slower)["items"][0]["total_hours"] == 9


def test_session_etags_change_when_the_cohort_zone_changes(
    client: TestClient, session: Session
) -> None:
    headers, _, cohort = _world(client, session)
    created = client.post(
        f"/v1/cohorts/{cohort['id']}/sessions",
        json={"mode": "classroom", "jp": 2, "starts_at": "2025-05-14T08:00:00+07:00",
              "ends_at": "2025-05-14T10:00:00+07:00"},
        headers=headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    one = f"/v1/cohorts/{cohort['id']}/sessions/{created.json()['id']}"
    assert created.headers["ETag"] == client.get(one, headers=headers).headers["ETag"]
    zones = iter(["Asia/Makassar", "Asia/Jayapura"])

    def move() -> None:
        r = client.patch(
            f"/v1/cohorts/{cohort['id']}", json={"timezone": next(zones)}, headers=headers
        )
        assert r.status_code == 200, r.text

    assert _revalidate(client, one, headers, move)["starts_at"] == "2025-05-14T09:00:00+08:00"
    many = f"/v1/cohorts/{cohort['id']}/sessions"
    listed = _revalidate(client, many, headers, move)
    assert listed["items"][0]["starts_at"] == "2025-05-14T10:00:00+09:00"
    # If-Match takes the ETag clients now hold
    etag = client.get(one, headers=headers).headers["ETag"]
    ok = client.patch(one, json={"location": "Aula"}, headers={**headers, "If-Match": etag})
    assert ok.status_code == 200, ok.text
    assert ok.headers["ETag"] == client.get(one, headers=headers).headers["ETag"]


def test_list_pages_answer_304_until_a_row_changes(client: TestClient, session: Session) -> None:
    headers, course, cohort = _world(client, session)

    def change_course() -> None:
        client.patch(f"/v1/courses/{course['id']}", json={"summary": "Baru"}, headers=headers)

    def change_cohort() -> None:
        client.patch(f"/v1/cohorts/{cohort['id']}", json={"capacity": 12}, headers=headers)

    courses = _revalidate(client, "/v1/courses", headers, change_course)
    assert courses["items"][0]["summary"] == "Baru"
    cohorts = _revalidate(client, "/v1/cohorts", headers, change_cohort)
    assert cohorts["items"][0]["capacity"] == 12


def test_cohort_transition_honours_if_match(client: TestClient, session: Session) -> None:
    headers, _, cohort = _world(client, session)
    url = f"/v1/cohorts/{cohort['id']}"
    etag = client.get(url, headers=headers).headers["ETag"]
    client.patch(url, json={"capacity": 20}, headers=headers)
    stale = client.post(
        f"{url}/transitions", json={"to": "open"}, headers={**headers, "If-Match": etag}
    )
    assert stale.status_code == 412
    assert client.get(url, headers=headers).json()["status"] == "draft"
