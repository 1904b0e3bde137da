"""``updated_since`` on the lists: only rows changed at or after the instant, in
(updated_at, id) order, paged by a cursor that carries both."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import (
    auth_headers,
    course_payload,
    enrol,
    make_agency,
    make_learner,
    make_open_cohort,
    make_published_course,
    make_user,
)


def _admin(session: Session) -> dict[str, str]:
    headers = auth_headers(make_user(session, make_agency(session), "agency_admin"))
    session.commit()
    session.rollback()
    return headers


def _instant() -> str:
    time.sleep(0.01)
    moment = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    return moment


def _pages(client: TestClient, path: str, headers: dict[str, str], since: str) -> list[Any]:
    """Every item, one per page (the cursor carries (updated_at, id))."""
    items: list[Any] = []
    params = {"updated_since": since, "limit": "1"}
    while True:
        got = client.get(path, params=params, headers=headers)
        assert got.status_code == 200, got.text
        items += got.json()["items"]
        if not got.json()["next_cursor"]:
            return items
        params["cursor"] = got.json()["next_cursor"]


def _ordered(items: list[Any]) -> bool:
    keys = [(datetime.fromisoformat(i["updated_at"]), i["id"]) for i in items]
    return keys == sorted(keys)


def test_courses_updated_since(client: TestClient, session: Session) -> None:
    admin = _admin(session)
    old, touched = (client.post("/v1/courses", json=course_payload(), headers=admin).json()
                    for _ in range(2))  # fmt: skip
    since = _instant()
    new = client.post("/v1/courses", json=course_payload(), headers=admin).json()
    client.patch(f"/v1/courses/{touched['id']}", json={"title": "Diubah"}, headers=admin)
    items = _pages(client, "/v1/courses", admin, since)
    assert [i["id"] for i in items] == [new["id"], touched["id"]]
    assert old["id"] not in {i["id"] for i in items}
    # a later instant than every change: nothing
    assert _pages(client, "/v1/courses", admin, _instant()) == []


def test_cohorts_updated_since(client: TestClient, session: Session) -> None:
    admin = _admin(session)
    course = make_published_course(client, admin)
    first = make_open_cohort(client, admin, course["id"], number=1)
    second = make_open_cohort(client, admin, course["id"], number=2)
    since = _instant()
    client.patch(f"/v1/cohorts/{first['id']}", json={"venue": "Aula Baru"}, headers=admin)
    items = _pages(client, "/v1/cohorts", admin, since)
    assert [i["id"] for i in items] == [first["id"]]
    assert second["id"] not in {i["id"] for i in items}


def test_learners_and_enrolments_updated_since(client: TestClient, session: Session) -> None:
    admin = _admin(session)
    course = make_published_course(client, admin)
    cohort = make_open_cohort(client, admin, course["id"])
    keys = [make_learner(client, admin)["learner_key"] for _ in range(3)]
    made = [enrol(client, admin, cohort["id"], k) for k in keys[:2]]
    since = _instant()
    client.patch(f"/v1/learners/{keys[0]}", json={"work_unit": "Bagian Umum"}, headers=admin)
    late = enrol(client, admin, cohort["id"], keys[2])
    withdrawn = client.post(
        f"/v1/enrollments/{made[1]['id']}/transitions",
        json={"to": "withdrawn", "reason": "Tugas dinas"},
        headers=admin,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    learners = _pages(client, "/v1/learners", admin, since)
    assert [i["learner_key"] for i in learners] == [keys[0]] and _ordered(learners)
    roster = _pages(client, f"/v1/cohorts/{cohort['id']}/enrollments", admin, since)
    assert [i["id"] for i in roster] == [late["id"], made[1]["id"]] and _ordered(roster)
    mine = _pages(client, f"/v1/learners/{keys[2]}/enrollments", admin, since)
    assert [i["id"] for i in mine] == [late["id"]]


@pytest.mark.parametrize("bad", ["2025-05-14T08:00:00", "yesterday", "0"])
def test_updated_since_needs_an_rfc3339_instant(
    client: TestClient, session: Session, bad: str
) -> None:
    admin = _admin(session)
    for path in ("/v1/courses", "/v1/cohorts", "/v1/learners"):
        got = client.get(path, params={"updated_since": bad}, headers=admin)
        assert got.status_code == 422, (path, got.text)


def test_a_cursor_of_the_usual_order_is_refused_with_updated_since(
    client: TestClient, session: Session
) -> None:
    admin = _admin(session)
    for _ in range(2):
        client.post("/v1/courses", json=course_payload(), headers=admin)
    cursor = client.get("/v1/courses", params={"limit": "1"}, headers=admin).json()["next_cursor"]
    got = client.get(
        "/v1/courses",
        params={"cursor": cursor, "updated_since": "2020-01-01T00:00:00Z"},
        headers=admin,
    )
    assert got.status_code == 422 and got.json()["code"] == "invalid_cursor"
