"""Real parallel HTTP requests against the real server (uvicorn in a child process).

Writes that race are settled by the database (BEGIN IMMEDIATE on SQLite, row locks and
unique constraints on PostgreSQL): one winner, the others told why, nothing lost, no 500.
"""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import Session

from tests.factories import auth_headers, course_payload, make_agency, make_user
from tests.parallel import race

PROBLEM = "application/problem+json"


@pytest.mark.slow
def test_two_admins_patching_with_the_same_if_match_one_wins_the_other_gets_412(
    live_server: str, session: Session
) -> None:
    agency = make_agency(session)
    first = auth_headers(make_user(session, agency, "agency_admin"))
    second = auth_headers(make_user(session, agency, "agency_admin"))
    session.rollback()  # release SQLite's write lock before the server writes
    admins = [first, second]
    for round_ in range(5):
        created = httpx.post(
            f"{live_server}/v1/courses", json=course_payload(), headers=first, timeout=30
        )
        assert created.status_code == 201, created.text
        url = f"{live_server}/v1/courses/{created.json()['id']}"
        etag = created.headers["ETag"]
        titles = [f"Judul Admin Satu {round_}", f"Judul Admin Dua {round_}"]

        def patch(http: httpx.Client, i: int, url: str = url, etag: str = etag,
                  titles: list[str] = titles) -> httpx.Response:  # fmt: skip
            return http.patch(
                url, json={"title": titles[i]}, headers={**admins[i], "If-Match": etag}
            )

        responses = race(2, patch)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200, 412], [r.text for r in responses]
        loser = next(r for r in responses if r.status_code == 412)
        assert loser.headers["content-type"] == PROBLEM
        assert loser.json()["code"] == "precondition_failed"
        winner = next(r for r in responses if r.status_code == 200).json()
        stored = httpx.get(url, headers=first, timeout=30)
        assert stored.json()["title"] == winner["title"] in titles
        assert stored.json()["version"] == 2  # exactly one change applied
        assert stored.headers["ETag"] == loser.headers["ETag"]


@pytest.mark.slow
def test_parallel_creations_with_one_code_give_one_201_and_409s(
    live_server: str, session: Session
) -> None:
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    session.rollback()
    count = 8
    for round_ in range(3):
        code = f"PSK-RACE-{round_}"

        def create(http: httpx.Client, i: int, code: str = code) -> httpx.Response:
            body = course_payload(code=code, title=f"Pelatihan Balapan {i}")
            return http.post(f"{live_server}/v1/courses", json=body, headers=headers)

        responses = race(count, create)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * (count - 1), [r.text for r in responses]
        for refused in (r for r in responses if r.status_code == 409):
            assert refused.headers["content-type"] == PROBLEM
            assert refused.json()["code"] == "duplicate_code"
        listed = httpx.get(
            f"{live_server}/v1/courses", params={"limit": 200}, headers=headers, timeout=30
        ).json()["items"]
        assert [c["code"] for c in listed].count(code) == 1


@pytest.mark.slow
def test_parallel_cohort_creations_with_one_number_give_one_201_and_409s(
    live_server: str, session: Session
) -> None:
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    session.rollback()
    course = httpx.post(
        f"{live_server}/v1/courses", json=course_payload(), headers=headers, timeout=30
    ).json()
    count = 6

    def create(http: httpx.Client, i: int) -> httpx.Response:
        body = {"course_id": course["id"], "number": 3, "year": 2025,
                "starts_on": "2025-05-14", "ends_on": "2025-05-26", "capacity": 10 + i}  # fmt: skip
        return http.post(f"{live_server}/v1/cohorts", json=body, headers=headers)

    responses = race(count, create)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (count - 1), [r.text for r in responses]
    assert all(r.json()["code"] == "duplicate_cohort" for r in responses if r.status_code == 409)


@pytest.mark.slow
def test_parallel_cohort_patches_with_the_same_if_match_one_wins(
    live_server: str, session: Session
) -> None:
    agency = make_agency(session)
    headers = auth_headers(make_user(session, agency, "agency_admin"))
    session.rollback()
    course = httpx.post(
        f"{live_server}/v1/courses", json=course_payload(), headers=headers, timeout=30
    ).json()
    cohort = httpx.post(
        f"{live_server}/v1/cohorts",
        json={"course_id": course["id"], "number": 1, "year": 2025,
              "starts_on": "2025-05-14", "ends_on": "2025-05-26", "capacity": 40},
        headers=headers,
        timeout=30,
    )  # fmt: skip
    assert cohort.status_code == 201, cohort.text
    url = f"{live_server}/v1/cohorts/{cohort.json()['id']}"
    etag = cohort.headers["ETag"]

    def patch(http: httpx.Client, i: int) -> httpx.Response:
        return http.patch(url, json={"capacity": 30 + i}, headers={**headers, "If-Match": etag})

    responses = race(4, patch)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 412, 412, 412], [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 200).json()
    assert httpx.get(url, headers=headers, timeout=30).json()["capacity"] == winner["capacity"]
