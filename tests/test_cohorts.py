"""Cohorts: Roman names, pinned curricula, the status path, visibility and tenancy."""

from __future__ import annotations

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from app.models.catalogue import roman
from tests.factories import (
    auth_headers,
    course_payload,
    make_agency,
    make_cohort,
    make_published_course,
    make_user,
    module,
)


def _admin(session: Session, **agency: object) -> dict[str, str]:
    return auth_headers(make_user(session, make_agency(session, **agency), "agency_admin"))


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (1, "I"),
        (4, "IV"),
        (9, "IX"),
        (14, "XIV"),
        (40, "XL"),
        (88, "LXXXVIII"),
        (3999, "MMMCMXCIX"),
    ],
)
def test_roman_numerals(number: int, expected: str) -> None:
    assert roman(number) == expected


@pytest.mark.parametrize("number", [0, -1, 4000])
def test_roman_numerals_refuse_out_of_range(number: int) -> None:
    with pytest.raises(ValueError):
        roman(number)


def test_cohort_gets_its_name_zone_and_pinned_curriculum(
    client: TestClient, session: Session
) -> None:
    headers = _admin(session, timezone="Asia/Makassar")
    course = make_published_course(client, headers)
    cohort = make_cohort(client, headers, course["id"], number=14)
    assert cohort["name"] == "Angkatan XIV"
    assert cohort["timezone"] == "Asia/Makassar"
    assert cohort["curriculum_version"] == 1
    assert cohort["status"] == "draft"
    assert cohort["allowed_transitions"] == ["open", "cancelled"]
    dup = client.post("/v1/cohorts", json={"course_id": course["id"], "number": 14, "year": 2025,
                                           "starts_on": "2025-06-01", "ends_on": "2025-06-02"},
                      headers=headers)  # fmt: skip
    assert dup.status_code == 409
    bad_zone = client.post("/v1/cohorts", json={"course_id": course["id"], "number": 2, "year": 2025,
                                                "starts_on": "2025-06-01", "ends_on": "2025-06-02",
                                                "timezone": "Mars/Olympus"}, headers=headers)  # fmt: skip
    assert bad_zone.status_code == 422


def test_a_new_curriculum_version_does_not_change_a_running_cohort(
    client: TestClient, session: Session
) -> None:
    headers = _admin(session)
    course = make_published_course(client, headers)
    cohort = make_cohort(client, headers, course["id"])
    client.post(
        f"/v1/courses/{course['id']}/curricula", json={"modules": [module(10)]}, headers=headers
    )
    client.post(f"/v1/courses/{course['id']}/curricula/2/publish", headers=headers)
    assert (
        client.get(f"/v1/cohorts/{cohort['id']}", headers=headers).json()["curriculum_version"] == 1
    )
    later = make_cohort(client, headers, course["id"], number=2)
    assert later["curriculum_version"] == 2


def test_status_follows_the_allowed_path(client: TestClient, session: Session) -> None:
    headers = _admin(session)
    course = make_published_course(client, headers)
    cohort = make_cohort(client, headers, course["id"])
    url = f"/v1/cohorts/{cohort['id']}/transitions"
    skip = client.post(url, json={"to": "running"}, headers=headers)
    assert skip.status_code == 409
    assert "allowed: open, cancelled" in skip.json()["detail"]
    for status in ("open", "closed", "running", "evaluation", "completed"):
        r = client.post(url, json={"to": status}, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == status
    final = client.post(url, json={"to": "cancelled"}, headers=headers)
    assert final.status_code == 409
    other = make_cohort(client, headers, course["id"], number=2)
    cancel = client.post(
        f"/v1/cohorts/{other['id']}/transitions", json={"to": "cancelled"}, headers=headers
    )
    assert cancel.status_code == 200
    back = client.post(
        f"/v1/cohorts/{other['id']}/transitions", json={"to": "open"}, headers=headers
    )
    assert back.status_code == 409


def test_cohort_opens_only_on_a_published_course(client: TestClient, session: Session) -> None:
    headers = _admin(session)
    course = client.post("/v1/courses", json=course_payload(), headers=headers).json()
    cohort = make_cohort(client, headers, course["id"])
    r = client.post(f"/v1/cohorts/{cohort['id']}/transitions", json={"to": "open"}, headers=headers)
    assert r.status_code == 409 and r.json()["code"] == "course_not_published"


def test_anonymous_sees_only_public_cohorts(client: TestClient, session: Session) -> None:
    headers = _admin(session)
    course = make_published_course(client, headers)
    draft = make_cohort(client, headers, course["id"], number=1)
    opened = make_cohort(client, headers, course["id"], number=2)
    client.post(f"/v1/cohorts/{opened['id']}/transitions", json={"to": "open"}, headers=headers)
    hidden_course = client.post("/v1/courses", json=course_payload(), headers=headers).json()
    make_cohort(client, headers, hidden_course["id"])
    public = [c["id"] for c in client.get("/v1/cohorts").json()["items"]]
    assert public == [opened["id"]]
    assert client.get(f"/v1/cohorts/{draft['id']}").status_code == 404
    assert client.get(f"/v1/cohorts/{opened['id']}").json()["name"] == "Angkatan II"
    assert len(client.get("/v1/cohorts", headers=headers).json()["items"]) == 3


def test_other_agency_cannot_read_or_change_cohorts(client: TestClient, session: Session) -> None:
    headers = _admin(session)
    other = _admin(session)
    course = make_published_course(client, headers)
    draft = make_cohort(client, headers, course["id"])
    assert client.get(f"/v1/cohorts/{draft['id']}", headers=other).status_code == 404
    assert client.get("/v1/cohorts", headers=other).json()["items"] == []
    assert (
        client.patch(f"/v1/cohorts/{draft['id']}", json={"capacity": 1}, headers=other).status_code
        == 404
    )
    assert (
        client.post(
            f"/v1/cohorts/{draft['id']}/transitions", json={"to": "open"}, headers=other
        ).status_code
        == 404
    )
    steal = client.post("/v1/cohorts", json={"course_id": course["id"], "number": 9, "year": 2025,
                                             "starts_on": "2025-06-01", "ends_on": "2025-06-02"},
                        headers=other)  # fmt: skip
    assert steal.status_code == 404


def test_cohort_etag_and_if_match(client: TestClient, session: Session) -> None:
    headers = _admin(session)
    course = make_published_course(client, headers)
    cohort = make_cohort(client, headers, course["id"])
    url = f"/v1/cohorts/{cohort['id']}"
    etag = client.get(url, headers=headers).headers["ETag"]
    assert client.get(url, headers={**headers, "If-None-Match": etag}).status_code == 304
    assert (
        client.patch(url, json={"capacity": 35}, headers={**headers, "If-Match": etag}).status_code
        == 200
    )
    stale = client.patch(url, json={"capacity": 30}, headers={**headers, "If-Match": etag})
    assert stale.status_code == 412
    assert client.get(url, headers=headers).json()["capacity"] == 35


def test_cohort_dates_must_be_in_order(client: TestClient, session: Session) -> None:
    headers = _admin(session)
    course = make_published_course(client, headers)
    r = client.post("/v1/cohorts", json={"course_id": course["id"], "number": 1, "year": 2025,
                                         "starts_on": "2025-05-26", "ends_on": "2025-05-14"},
                    headers=headers)  # fmt: skip
    assert r.status_code == 422


def _walk(client: TestClient, headers: dict[str, str], params: dict[str, object]) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = client.get("/v1/cohorts", params=query, headers=headers)
        assert r.status_code == 200, r.text
        seen.extend(c["id"] for c in r.json()["items"])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return seen


def test_cohort_pages_show_each_visible_row_once(client: TestClient, session: Session) -> None:
    mine = _admin(session)
    theirs = _admin(session)
    my_course = make_published_course(client, mine)
    their_course = make_published_course(client, theirs)
    expected_mine, expected_public = set(), set()
    for n in range(1, 7):
        day = f"2025-0{1 + n % 3}-1{n}"
        a = make_cohort(client, mine, my_course["id"], number=n, starts_on=day, ends_on=day)
        b = make_cohort(client, theirs, their_course["id"], number=n, starts_on=day, ends_on=day)
        expected_mine.add(a["id"])
        if n % 2:
            client.post(f"/v1/cohorts/{b['id']}/transitions", json={"to": "open"}, headers=theirs)
            expected_public.add(b["id"])
    for sort in ("starts_on", "-starts_on", "created_at", "-created_at"):
        seen = _walk(client, mine, {"limit": 2, "sort": sort})
        assert len(seen) == len(set(seen)) and set(seen) == expected_mine | expected_public, sort
        whole = client.get("/v1/cohorts", params={"limit": 200, "sort": sort}, headers=mine).json()
        assert [c["id"] for c in whole["items"]] == seen, sort
        assert set(_walk(client, {}, {"limit": 2, "sort": sort})) == expected_public
